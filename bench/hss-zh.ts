// AVs/s over Zh (TS 29.562 generate-auth-data) under autocannon, against a bare Fastify JSON
// route in the same run, and AV latency with a small and a large subscriber store. Each
// request names a random subscriber, so with the large store the key cache mostly misses and
// LMDB reads spread over the whole file. Every vector costs one durable LMDB commit (batched
// per event turn) before it leaves the HSS.
//
//   node dist/bench/hss-zh.js [--duration S] [--connections N] [--subscribers-small N]
//                             [--subscribers-large N] [--store-dir DIR] [--out FILE]
//
// --duration: seconds per measurement (default 10); --connections (default 32);
// --subscribers-small (default 1,000) and --subscribers-large (default 1,000,000): store sizes;
// --store-dir: where the stores are built once and reused (default <tmp>/gba-hss-bench);
// --out: JSON result file (default bench/out/hss-zh.json).
// Throughput is taken at saturation (every connection busy); latency is compared at one fixed
// offered load for both stores (half the lower of the two saturation rates), where it shows the
// service time instead of queueing. Each figure is the median of 3 interleaved samples.
// Targets: AV/s ÷ bare req/s reported (no fixed target: an AV pays a flushed commit);
// p99(large) ÷ p99(small) ≤ 1.2.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { writeRows } from "../nf/hss/bulk.js";
import { HssStore } from "../nf/hss/store.js";
import { type SubscriberData, validateCreate } from "../nf/hss/subscriber.js";
import { machineInfo } from "./lib/machine.js";
import { formatTable, writeJson } from "./lib/report.js";

const P99_RATIO_TARGET = 1.2;
const MAIN = fileURLToPath(new URL("../cli/main.js", import.meta.url));
const BARE = fileURLToPath(new URL("./hss-bare-target.js", import.meta.url));

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    "subscribers-small": { type: "string", default: "1000" },
    "subscribers-large": { type: "string", default: "1000000" },
    "store-dir": { type: "string", default: join(tmpdir(), "gba-hss-bench") },
    out: { type: "string", default: "bench/out/hss-zh.json" },
  },
});
const durationS = Number(values.duration);
const connections = Number(values.connections);
const small = Number(values["subscribers-small"]);
const large = Number(values["subscribers-large"]);
for (const [name, v] of Object.entries({ durationS, connections, small, large })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
}

const impiOf = (i: number) => `bench-${i}@ims.mnc001.mcc001.3gppnetwork.org`;

/** Builds (once) a store of n subscribers under dir; a marker file says it is complete. */
async function ensureStore(dir: string, n: number): Promise<string> {
  const data = join(dir, `subs-${n}`);
  const marker = join(data, "complete");
  if (existsSync(marker)) return data;
  rmSync(data, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  const store = HssStore.open(data, { env: {} });
  const started = performance.now();
  const CHUNK = 50_000;
  const keys = { defaultAmf: "8000" };
  for (let from = 0; from < n; from += CHUNK) {
    const batch: SubscriberData[] = [];
    for (let i = from; i < Math.min(n, from + CHUNK); i++) {
      const v = validateCreate(
        { impi: impiOf(i), k: randomBytes(16).toString("hex"), opc: randomBytes(16).toString("hex") },
        keys,
      );
      if (!v.ok) throw new Error(v.errors.join("; "));
      batch.push(v.value);
    }
    await writeRows(store, batch);
    process.stderr.write(
      `\rbuilding ${n.toLocaleString("en-US")}-subscriber store: ${Math.min(n, from + CHUNK).toLocaleString("en-US")}`,
    );
  }
  await store.close();
  process.stderr.write(` (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  writeFileSync(marker, `${n}\n`);
  return data;
}

interface Child {
  url: string;
  stop(): Promise<void>;
}

/** Starts a child and resolves with the URL from its first stdout line. */
function startChild(args: string[], urlOf: (line: unknown) => string): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buf = "";
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code} before it was ready`)));
    child.stdout?.on("data", (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      resolve({
        url: urlOf(JSON.parse(buf.slice(0, nl))),
        stop: () =>
          new Promise<void>((r) => {
            child.once("exit", () => r());
            child.kill("SIGTERM");
          }),
      });
    });
  });
}

interface Figures {
  okPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  ok: number;
  non2xx: number;
  errors: number;
}

/** One autocannon run on random subscribers; `rate` (requests/s overall) fixes the offered load. */
function load(base: string, subscribers: number, seconds: number, rate?: number): Promise<Figures> {
  let ok = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections,
        duration: seconds,
        overallRate: rate,
        requests: [
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: "{}",
            setupRequest: (req) => ({
              ...req,
              path: `/nhss-gba-ueau/v1/${encodeURIComponent(impiOf(Math.floor(Math.random() * subscribers)))}/security-information/generate-auth-data`,
            }),
          },
        ],
      },
      (err, r) => {
        if (err) return reject(err);
        resolve({
          okPerSec: ok / r.duration,
          p50: r.latency.p50,
          p90: r.latency.p90,
          p99: r.latency.p99,
          max: r.latency.max,
          ok,
          non2xx: r.non2xx,
          errors: r.errors,
        });
      },
    );
    instance.on("response", (_c: unknown, status: number) => {
      if (status === 200) ok++;
    });
  });
}

const SAMPLES = 3;

/** The sample with the median value of `by` (robust against a noisy neighbour in one sample). */
function median(samples: Figures[], by: (f: Figures) => number): Figures {
  return [...samples].sort((a, b) => by(a) - by(b))[Math.floor(samples.length / 2)];
}

interface Target {
  name: string;
  url: string;
  subscribers: number;
}

/** SAMPLES rounds, each running every target once in turn, so load from elsewhere hits all alike. */
async function interleaved(targets: Target[], seconds: number, rate?: number): Promise<Figures[][]> {
  const out: Figures[][] = targets.map(() => []);
  for (let s = 0; s < SAMPLES; s++) {
    for (const [i, t] of targets.entries()) out[i].push(await load(t.url, t.subscribers, seconds, rate));
  }
  return out;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const storeDir = values["store-dir"]!;
  const smallData = await ensureStore(storeDir, small);
  const largeData = await ensureStore(storeDir, large);
  const hssArgs = (data: string) => [MAIN, "hss", "--data", data, "--ephemeral-ports", "--log-level", "warn"];
  const children = [
    await startChild([BARE], (l) => (l as { url: string }).url),
    await startChild(hssArgs(smallData), (l) => (l as { hss: { zh: string } }).hss.zh),
    await startChild(hssArgs(largeData), (l) => (l as { hss: { zh: string } }).hss.zh),
  ];
  const [bare, hssSmall, hssLarge] = children;
  const targets: Target[] = [
    { name: "bare Fastify JSON route", url: bare.url, subscribers: small },
    { name: "HSS Zh generate-auth-data", url: hssSmall.url, subscribers: small },
    { name: "HSS Zh generate-auth-data", url: hssLarge.url, subscribers: large },
  ];
  try {
    // warm-up: JIT, page cache, key cache
    for (const t of targets) await load(t.url, t.subscribers, Math.min(3, durationS));
    const sample = durationS / SAMPLES;
    const sat = (await interleaved(targets, sample)).map((f) => median(f, (x) => x.okPerSec));
    // latency at one offered load both stores carry (half the lower saturation rate), so the
    // figures show service time rather than queueing at saturation
    const rate = Math.max(1, Math.round(Math.min(sat[1].okPerSec, sat[2].okPerSec) / 2));
    const fixed = (await interleaved(targets.slice(1), sample, rate)).map((f) => median(f, (x) => x.p99));

    const ratio = sat[1].okPerSec / sat[0].okPerSec;
    const p99Ratio = fixed[1].p99 / fixed[0].p99;
    const rows = [
      ...targets.map((t, i) => ({
        target: t.name,
        subscribers: i === 0 ? "-" : t.subscribers,
        load: "saturation",
        "ok/s": sat[i].okPerSec,
        "p50 ms": sat[i].p50,
        "p99 ms": sat[i].p99,
      })),
      ...targets.slice(1).map((t, i) => ({
        target: t.name,
        subscribers: t.subscribers,
        load: `${rate}/s`,
        "ok/s": fixed[i].okPerSec,
        "p50 ms": fixed[i].p50,
        "p99 ms": fixed[i].p99,
      })),
    ];
    process.stdout.write(`${formatTable(rows)}\n\n`);
    process.stdout.write(`AV/s ÷ bare req/s (${small} subscribers, ${connections} connections): ${ratio.toFixed(3)}\n`);
    process.stdout.write(
      `p99 ${large} ÷ p99 ${small} subscribers at ${rate}/s: ${p99Ratio.toFixed(3)} (target ≤ ${P99_RATIO_TARGET}: ${p99Ratio <= P99_RATIO_TARGET ? "met" : "NOT met"}); at saturation: ${(sat[2].p99 / sat[1].p99).toFixed(3)}\n`,
    );
    for (const f of [...sat, ...fixed]) {
      if (f.non2xx > 0 || f.errors > 0)
        process.stdout.write(`warning: a run had ${f.non2xx} non-2xx answers and ${f.errors} errors\n`);
    }
    await writeJson(values.out!, {
      machine,
      settings: { durationS, connections, samples: SAMPLES, subscribersSmall: small, subscribersLarge: large, fixedRate: rate },
      saturation: { bare: sat[0], small: sat[1], large: sat[2] },
      fixedRate: { small: fixed[0], large: fixed[1] },
      avPerSecOverBare: ratio,
      p99LargeOverSmall: p99Ratio,
      p99LargeOverSmallAtSaturation: sat[2].p99 / sat[1].p99,
      p99Target: P99_RATIO_TARGET,
    });
    process.stdout.write(`written to ${values.out}\n`);
  } finally {
    for (const c of children) await c.stop();
  }
}

await main();
