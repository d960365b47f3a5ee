// Soak: a scenario's enrolment flow at a steady arrival rate for a long time (default 10 min),
// with the memory of every process (RSS sampled every 10 s: the runner with the UE population,
// and each NF child with the process backend) and the latency per minute (p50/p99 of the
// bootstrap, the enrolment and the whole flow). Flat RSS and flat p99 are what it must show.
// Not part of CI (npm run soak):
//
//   npm run build && node [--expose-gc] dist/bench/soak.js [--scenario FILE] [--rate R] [--minutes M]
//        [--devices N] [--session-lifetime S] [--backend inprocess|process] [--out FILE]
//
// Defaults: scenarios/iot04-obu-enrolment.yaml, 20 arrivals/s, 10 minutes, a pool of
// 2×rate OBUs, bootstrap sessions of 120 s, backend process, bench/out/soak.json. The
// scenario's load phase is replaced by this one; its functional phase runs first, as in
// `gba scenario run`. Every arrival bootstraps afresh, so the BSF's sessions and the NAFs' key
// caches hold rate × lifetime entries at steady state: the short lifetime lets a 10-minute run
// reach it (with the scenario's 3600 s it would take an hour). With --expose-gc each sample
// also records the heap left after a full collection (heapAfterGc): with --backend inprocess
// that is the live memory of every NF and the UEs together.
import { readFileSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runEngine } from "../scenarios/engine/engine.js";
import type { EngineEvent } from "../scenarios/engine/events.js";
import { loadScenario, packageRoot } from "../scenarios/load.js";
import { buildPlan } from "../scenarios/plan.js";
import { provisionEca, provisionHss } from "../scenarios/provision.js";
import { loadPlanOf, runConfig } from "../scenarios/run.js";
import { percentile } from "../scenarios/stats.js";
import { startBackend } from "../scenarios/topology/index.js";
import type { Backend } from "../scenarios/topology/types.js";
import { writeUsims } from "../scenarios/usims.js";
import { makeWorkDir } from "../scenarios/workdir.js";
import { machineInfo } from "./lib/machine.js";
import { formatTable, writeJson } from "./lib/report.js";

const SAMPLE_MS = 10_000;
const MINUTE_MS = 60_000;
const TRACKED = ["bootstrap", "enrol", "flow"] as const;

const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: join(packageRoot(), "scenarios", "iot04-obu-enrolment.yaml") },
    rate: { type: "string", default: "20" },
    minutes: { type: "string", default: "10" },
    devices: { type: "string" },
    "session-lifetime": { type: "string", default: "120" },
    backend: { type: "string", default: "process" },
    out: { type: "string", default: join(packageRoot(), "bench", "out", "soak.json") },
  },
});
const rate = Number(values.rate);
const minutes = Number(values.minutes);
const backend = values.backend as Backend;
if (!(rate > 0) || !(minutes > 0)) throw new RangeError("--rate and --minutes must be positive numbers");
if (backend !== "inprocess" && backend !== "process") throw new RangeError("--backend: inprocess or process");
const pool = values.devices ? Number(values.devices) : Math.ceil(rate * 2);
const sessionLifetime = Number(values["session-lifetime"]);
if (!Number.isInteger(sessionLifetime) || sessionLifetime < 1) throw new RangeError("--session-lifetime: whole seconds ≥ 1");

/**
 * Resident memory of a process in MiB: total (VmRSS), and its anonymous part (heap, stacks) apart
 * from file pages (the LMDB map grows with the store, which is not a leak). Undefined when gone.
 */
function rssMiB(pid: number): { rss: number; anon: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
    const mib = (k: number) => Math.round(k / 102.4) / 10;
    return { rss: mib(kb("VmRSS")), anon: mib(kb("RssAnon")) };
  } catch {
    return undefined;
  }
}

/** The NF child processes of this process: name (hss, bsf, ...) → pid. */
function nfChildren(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    let pids: string[] = [];
    try {
      pids = readFileSync(`/proc/${process.pid}/task/${tid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch {}
    for (const p of pids) {
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      const nf = argv.find((a) => ["hss", "bsf", "naf", "eca"].includes(a));
      if (nf) out[nf] = Number(p);
    }
  }
  return out;
}

interface Minute {
  samples: Record<(typeof TRACKED)[number], number[]>;
  ok: number;
  failed: number;
}
const newMinute = (): Minute => ({ samples: { bootstrap: [], enrol: [], flow: [] }, ok: 0, failed: 0 });

async function main(): Promise<void> {
  const base = loadScenario(values.scenario);
  const scenario = {
    ...base,
    operator: { ...base.operator, sessionLifetime },
    load: { ...base.load, mode: "rate" as const, rate, rampSeconds: 5, durationSeconds: minutes * 60, devices: pool },
  };
  delete scenario.load.count;
  delete scenario.load.concurrency;
  const plan = buildPlan(scenario, {});
  const workDir = await makeWorkDir();
  const cfg = runConfig(scenario, plan, join(workDir, "data"), backend);
  const usimDir = join(workDir, "usim");
  await writeUsims(usimDir, [...plan.devices, ...plan.loadDevices], plan.subscribers, {
    indBits: cfg.hss.indBits,
    autnStar: cfg.gbaU.autnStar,
  });
  await provisionHss(cfg, plan.subscribers);
  await provisionEca(cfg, plan.bindings);
  const deployment = await startBackend(backend, { cfg, workDir, latencyMs: 0, info: (l) => console.error(l) });
  const minutesSeen: Minute[] = [];
  const rss: Array<{ atS: number } & Record<string, number | undefined>> = [];
  const failures: Record<string, number> = {};
  let loadStart: number | undefined;
  const children = backend === "process" ? nfChildren() : {};
  const t0 = performance.now();
  const sample = () => {
    const row: (typeof rss)[number] = { atS: Math.round((performance.now() - t0) / 1000) };
    // with node --expose-gc: the live heap of this process (all NFs with --backend inprocess)
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      row.heapAfterGc = Math.round(process.memoryUsage().heapUsed / 104857.6) / 10;
    }
    for (const [name, pid] of [["runner", process.pid] as const, ...Object.entries(children)]) {
      const m = rssMiB(pid);
      row[name] = m?.rss;
      row[`${name}Anon`] = m?.anon;
    }
    rss.push(row);
    console.error(`soak: t=${row.atS}s rss ${JSON.stringify(row)}`);
  };
  sample();
  const sampler = setInterval(sample, SAMPLE_MS);
  const minuteOf = () => {
    const i = Math.floor((performance.now() - (loadStart ?? performance.now())) / MINUTE_MS);
    while (minutesSeen.length <= i) minutesSeen.push(newMinute());
    return minutesSeen[i];
  };
  const functional = { ok: 0, failed: 0 };
  let outcome: Record<string, unknown> | undefined;
  const emit = (e: EngineEvent) => {
    if (e.t === "phase" && e.phase === "load" && e.state === "start") loadStart = performance.now();
    if (e.t === "load-done") {
      const { queueWaitMs, ...totals } = e.outcome;
      outcome = {
        ...totals,
        queueWaitP99Ms: Math.round(
          percentile(
            [...queueWaitMs].sort((a, b) => a - b),
            99,
          ),
        ),
      };
    }
    if (e.t === "step" && e.phase === "load" && e.ok && (e.step === "bootstrap" || e.step === "enrol"))
      minuteOf().samples[e.step].push(e.ms);
    if (e.t !== "flow") return;
    const r = e.result;
    if (r.phase === "functional") {
      if (r.outcome === "failed") functional.failed++;
      else functional.ok++;
      return;
    }
    const m = minuteOf();
    if (r.outcome === "success") {
      m.ok++;
      m.samples.flow.push(r.ms);
    } else {
      m.failed++;
      const key = `${r.failure?.step}: ${r.failure?.cause}`;
      failures[key] = (failures[key] ?? 0) + 1;
    }
  };
  try {
    await runEngine(
      {
        endpoints: deployment.endpoints,
        devices: plan.devices,
        loadDevices: plan.loadDevices,
        usimDir,
        parallel: 8,
        load: loadPlanOf(scenario.load),
      },
      emit,
    );
  } finally {
    clearInterval(sampler);
    sample();
    await deployment.stop();
    await rm(workDir, { recursive: true, force: true });
  }
  // flows still finishing after the last full minute would make a misleading one-sample row
  const perMinute = minutesSeen.slice(0, Math.ceil(minutes)).map((m, i) => {
    const row: Record<string, number> = { minute: i + 1, ok: m.ok, failed: m.failed };
    for (const k of TRACKED) {
      const s = [...m.samples[k]].sort((a, b) => a - b);
      row[`${k}P50`] = Math.round(percentile(s, 50));
      row[`${k}P99`] = Math.round(percentile(s, 99));
    }
    return row;
  });
  const firstMin = rss.filter((r) => loadStart !== undefined && r.atS * 1000 <= loadStart - t0 + MINUTE_MS);
  const lastMin = rss.filter((r) => r.atS >= rss[rss.length - 1].atS - 60);
  const result = {
    machine: machineInfo(),
    scenario: values.scenario,
    backend,
    rate,
    minutes,
    pool,
    sessionLifetime,
    functional,
    load: outcome,
    failures,
    perMinute,
    rssMiB: rss,
    rssFirstMinute: firstMin.at(-1),
    rssLastMinute: lastMin.at(-1),
  };
  console.log(formatTable(perMinute));
  console.log(formatTable(rss.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v ?? "-"])))));
  console.log(JSON.stringify({ functional, load: outcome, failures }));
  await writeJson(values.out, result);
  console.log(`soak: written ${values.out}`);
}

await main();
