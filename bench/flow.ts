// The IoT.04 flow against its protocol floor (issue 18 goal 3): whole enrolment flows per second
// — bootstrap (2 Ub, Zh), P-256 key, CSR, enrolment over Ua (HTTP Digest or TLS-PSK, Zn), the
// certificate checked — on our HSS, BSF and ECA as `gba scenario run` starts them (process
// backend, each NF its own process, provisioned as scenarios/iot04-1k.yaml provisions), against
// a stub chain making the same exchanges with no crypto and no storage: stub HSS, stub BSF
// (answering Zh and Zn) and stub ECA processes (bench/lib/stub-chain.ts), stub devices
// (bench/lib/stub-flow-ue.ts). Both are driven by the scenario's own load generator (the
// scheduler in concurrency mode, --connections flows in flight, flows on worker threads), in
// interleaved rounds of the same run; CPU µs per flow for every process over each load phase.
import { join } from "node:path";
import { type EngineInput, runEngine } from "../scenarios/engine/engine.js";
import type { EngineEvent, Endpoints } from "../scenarios/engine/events.js";
import type { LoadPlan } from "../scenarios/load/driver.js";
import { loadScenario, packageRoot } from "../scenarios/load.js";
import { buildPlan } from "../scenarios/plan.js";
import { provisionEca, provisionHss } from "../scenarios/provision.js";
import { runConfig } from "../scenarios/run.js";
import { startBackend } from "../scenarios/topology/index.js";
import type { Deployment } from "../scenarios/topology/types.js";
import { writeUsims } from "../scenarios/usims.js";
import { str } from "./lib/child.js";
import { type CpuSource, type CpuSpan, cpuSpan } from "./lib/cpu.js";
import { countError, interleave, newSample, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, loadConfig, roundPlan } from "./lib/options.js";
import { type BenchResult, compare } from "./lib/result.js";
import { LOAD_GENERATOR, Rig } from "./lib/rig.js";
import { STUB_BSF_REALM, STUB_ECA_FQDN } from "./lib/stub-flow-ue.js";
import { BSF_ZH_EXCHANGES } from "./ub.js";

/** the shipped 1,000/s scenario: its operator settings, flow and device kinds */
const SCENARIO = join("scenarios", "iot04-1k.yaml");
/** load-pool devices per flow in flight: a device runs one flow at a time */
const DEVICES_PER_FLOW = 4;
const GRACE_SECONDS = 20;
const FLOW_TIMEOUT_SECONDS = 15;

/** One load phase of `seconds` through the scenario engine; CPU measured from its start to its end. */
async function loadRound(input: EngineInput, sources: readonly CpuSource[], seconds: number): Promise<Sample> {
  const s = newSample();
  let end: (() => CpuSpan) | undefined;
  const load: LoadPlan = { ...(input.load as LoadPlan), durationSeconds: seconds };
  const emit = (e: EngineEvent) => {
    if (e.t === "phase" && e.phase === "load" && e.state === "start") end = cpuSpan(sources);
    else if (e.t === "load-done") {
      if (end) s.cpu = end();
      s.seconds = e.outcome.elapsedMs / 1000;
      if (e.outcome.unfinished > 0) s.errors.set("unfinished", e.outcome.unfinished);
    } else if (e.t === "flow" && e.result.phase === "load") {
      if (e.result.outcome === "success") {
        s.ok++;
        s.latency.add(e.result.ms);
      } else countError(s, `${e.result.failure?.step ?? "flow"}: ${e.result.failure?.cause ?? e.result.outcome}`);
    } else if (e.t === "error") countError(s, e.message);
  };
  await runEngine({ ...input, load }, emit);
  return s;
}

export async function benchFlow(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  let deployment: Deployment | undefined;
  try {
    const scenario = loadScenario(join(packageRoot(), SCENARIO));
    const pool = o.connections * DEVICES_PER_FLOW;
    const plan = buildPlan({ ...scenario, load: { ...scenario.load, devices: pool } }, { devices: 4 });
    const work = rig.tmp("flow");
    const cfg = runConfig(scenario, plan, join(work, "data"), "process");
    const usimDir = join(work, "usim");
    o.log(`flow: provisioning ${pool} OBUs (USIM files, HSS subscribers, ECA bindings)`);
    await writeUsims(usimDir, plan.loadDevices, plan.subscribers, { indBits: cfg.hss.indBits, autnStar: cfg.gbaU.autnStar });
    await provisionHss(cfg, plan.subscribers);
    await provisionEca(cfg, plan.bindings);
    deployment = await startBackend("process", { cfg, workDir: work, latencyMs: 0, info: o.log });
    const ours = deployment.cpu?.().sources ?? [LOAD_GENERATOR];

    const hss = await rig.target("stub-hss", [], "stub HSS");
    // the same number of Zh exchanges per bootstrap as our BSF makes (bench/ub.ts)
    const bsf = await rig.target("stub-bsf", [hss, String(BSF_ZH_EXCHANGES)], "stub BSF");
    const eca = await rig.targetChild("stub-eca", [bsf], "stub ECA");
    const stubEndpoints: Endpoints = {
      bsfUb: bsf,
      bsfFqdn: STUB_BSF_REALM,
      ecaHttp: str(eca.info, "url"),
      ecaTlsPsk: str(eca.info, "tlsPsk"),
      ecaFqdn: STUB_ECA_FQDN,
      nafHttp: str(eca.info, "url"),
      nafTlsPsk: str(eca.info, "tlsPsk"),
      nafFqdn: STUB_ECA_FQDN,
    };
    const load: LoadPlan = {
      mode: "concurrency",
      concurrency: o.connections,
      poisson: false,
      rampSeconds: 0,
      graceSeconds: GRACE_SECONDS,
      flowTimeoutSeconds: FLOW_TIMEOUT_SECONDS,
    };
    const input: EngineInput = {
      endpoints: deployment.endpoints,
      devices: [],
      loadDevices: plan.loadDevices,
      usimDir,
      parallel: 1,
      load,
    };
    const stubInput: EngineInput = { ...input, endpoints: stubEndpoints, floor: true };
    o.log(`flow: ${o.connections} flows in flight over ${pool} OBUs, our NFs vs the stub chain, ${o.durationS} s each`);
    const [s, b] = await interleave(
      [
        (seconds) => loadRound(input, ours, seconds),
        (seconds) => loadRound(stubInput, rig.cpu("stub HSS", "stub BSF", "stub ECA"), seconds),
      ],
      roundPlan(o),
    );
    return {
      bench: "flow",
      title:
        "IoT.04 flow: bootstrap + P-256 key + CSR + enrolment (Digest / TLS-PSK) + certificate check, vs its stub-chain floor",
      target: "built-in",
      machine,
      config: loadConfig(o, { devices: pool, scenario: SCENARIO, backend: "process" }),
      comparisons: [
        compare(
          "flow",
          toMeasurement("HSS + BSF + ECA (process backend), scenario load generator", "enrolment", s),
          toMeasurement("stub chain: same exchanges (2 Ub, 2 Zh, Ua, Zn), no crypto, no storage", "enrolment", b),
          { ratioOf: "enrolments/s ÷ stub-chain enrolments/s" },
        ),
      ],
      notes: [
        "both systems are driven by the scenario engine's load generator (scheduler, concurrency mode, flows on worker threads, the runner's process)",
        "Ua as the devices of scenarios/iot04-1k.yaml use it: half HTTP Digest (a 401 on a device's first enrolment, then one POST with credentials), half TLS 1.2 PSK (a handshake and one POST per enrolment)",
        "the real flow's NAF runs too (the process backend starts it) but takes no part in the flow",
      ],
    };
  } finally {
    await deployment?.stop().catch(() => undefined);
    await rig.close();
  }
}
