// `gba scenario run`: validate the scenario, plan the OBUs, write their USIMs and provision the
// HSS and the ECA in a temporary data root, start the topology, run the UE population
// (functional phase, then load phase), stop everything, and judge the run.
import { rm, writeFile } from "node:fs/promises";
import { type CpuFigures, type CpuSpan, cpuFigures, cpuSpan } from "../bench/lib/cpu.js";
import { join } from "node:path";
import { Capture, captureStartedLine, captureWrittenLine } from "../nf/common/capture/index.js";
import { defaultConfig, type GbaConfig } from "../nf/config.js";
import { renderMermaid } from "./diagram.js";
import { type EngineInput, runEngine } from "./engine/engine.js";
import type { EngineEvent } from "./engine/events.js";
import type { LoadPlan } from "./load/driver.js";
import { type LoadedScenario, loadScenario } from "./load.js";
import { buildPlan, type Plan } from "./plan.js";
import { Progress } from "./progress.js";
import { hssRows, provisionRun, writeRunUsims } from "./provision.js";
import { peakRssOf } from "../bench/lib/rss.js";
import type { ScenarioFeed } from "../dashboard/scenario-feed.js";
import { EventBus } from "../nf/common/events.js";
import { RunFeed } from "./dashboard-feed.js";
import { buildReport, deviceRow, type Provisioning, provisioningText, renderSummary } from "./report.js";
import { renderReportFile } from "./report-doc.js";
import { Results } from "./results.js";
import { preflight, startBackend } from "./topology/index.js";
import { checkMultiHostShape } from "./topology/multi-host.js";
import { type Backend, type Deployment, TopologyUnavailable } from "./topology/types.js";
import type { LoadPhase } from "./types.js";
import { makeWorkDir, markKept, sweepStaleWorkDirs } from "./workdir.js";
import { checkAssertions, judgeDevice, loadFigures, timingAdvisory } from "./verdict.js";

export interface RunOptions {
  backend?: Backend;
  /** where the JSON report goes; "-": standard output (the summary then goes to `err`) */
  /** OBUs shared among the groups without a count (overrides deviceCount) */
  devices?: number;
  /** true: run the load phase (a default one if the scenario has none); false: skip it */
  load?: boolean;
  /** JSON report, or with a .html / .htm name the self-contained HTML page (scenarios/report-html.ts) */
  report?: string;
  /** Mermaid sequence diagram; a .md file gets it fenced as ```mermaid (GitHub renders that) */
  diagram?: string;
  /** OBU whose flow goes into the diagram (default: the first) */
  diagramDevice?: string;
  quiet?: boolean;
  /** keep the temporary directory (data, USIMs, logs) */
  keep?: boolean;
  /**
   * shows the run on a dashboard: called once with the run's feed, before the NFs start, and
   * with the event bus the NFs report to when they run in this process (backend inprocess)
   */
  dashboard?: (feed: ScenarioFeed, events?: EventBus) => Promise<void>;
  /** report latency and rate assertions without failing the run on them (a shared or busy machine) */
  timingAdvisory?: boolean;
  out: (s: string) => void;
  err: (s: string) => void;
  tty: boolean;
  signal?: AbortSignal;
  /** `--pcap FILE [--pcap-keys]`: every Ub, Ua, Zh and Zn message as pcapng (inprocess backend) */
  pcap?: { file: string; keys: boolean };
}

/** Used by --load when the scenario has no load phase. */
export const DEFAULT_LOAD: LoadPhase = { mode: "rate", rate: 5, durationSeconds: 5 };
const FUNCTIONAL_PARALLEL = 8;
const LOAD_GRACE_SECONDS = 20;
/** below the grace period, so every flow ends with a declared cause before the phase is cut */
const DEFAULT_FLOW_TIMEOUT_SECONDS = 15;
/**
 * The default in-flight bound: this many seconds of arrivals (Little's law: rate × latency), the
 * issue-18 p99 per step. An arrival that would queue longer behind the admitted flows is shed.
 * Measured at 80/s on a busy 2-core machine (process backend, capacity ~30/s): 5 s of arrivals
 * (400) collapsed to 2.4 enrolments/s with FLOW_TIMEOUTs; 1 s (80) held 32/s with none failed,
 * 2 s (160) 29/s with twice the latency.
 */
const IN_FLIGHT_SECONDS = 1;
const MIN_IN_FLIGHT = 32;

export function loadPlanOf(l: LoadPhase): LoadPlan {
  const mode = l.mode ?? (l.rate === undefined && l.concurrency !== undefined ? "concurrency" : "rate");
  return {
    driver: l.driver ?? "scheduler",
    mode,
    rate: l.rate ?? DEFAULT_LOAD.rate,
    concurrency: l.concurrency ?? 1,
    poisson: l.poisson ?? false,
    rampSeconds: l.rampSeconds ?? 0,
    durationSeconds: l.durationSeconds,
    count: l.count,
    graceSeconds: LOAD_GRACE_SECONDS,
    seed: 1,
    maxInFlight:
      mode === "rate"
        ? (l.maxInFlight ?? Math.max(MIN_IN_FLIGHT, Math.ceil((l.rate ?? DEFAULT_LOAD.rate ?? 1) * IN_FLIGHT_SECONDS)))
        : undefined,
    workers: l.workers,
    flowTimeoutSeconds: l.flowTimeoutSeconds ?? DEFAULT_FLOW_TIMEOUT_SECONDS,
  };
}

/** The NFs' configuration for this run: its data root and the scenario's operator settings. */
export function runConfig(s: LoadedScenario, plan: Plan, dataDir: string, backend: Backend): GbaConfig {
  const cfg = defaultConfig();
  cfg.data = dataDir;
  // in one process NF logs would interleave with the progress; child processes log to files
  cfg.logLevel = backend === "inprocess" ? "silent" : "info";
  cfg.bsf.fqdn = plan.bsfFqdn;
  if (s.operator?.sessionLifetime !== undefined) cfg.bsf.sessionLifetime = s.operator.sessionLifetime;
  if (s.operator?.algorithm !== undefined) cfg.bsf.algorithm = s.operator.algorithm;
  // every reference point over Diameter: Zh BSF → HSS, Zn NAF and ECA → BSF (TS 29.109)
  if (s.operator?.binding === "diameter") {
    cfg.bsf.zh = "diameter";
    cfg.naf.zn = "diameter";
    cfg.eca.zn = "diameter";
  }
  return cfg;
}

/** CPU time of every process of the deployment over the load phase (issue 18: cost accounting). */
class LoadCpu {
  private end: (() => CpuSpan) | undefined;
  private span: CpuSpan | undefined;
  private note: string | undefined;

  mark(state: "start" | "end", d: Deployment | undefined): void {
    if (state === "start" && d?.cpu) {
      const { sources, note } = d.cpu();
      this.note = note;
      this.end = cpuSpan(sources);
    } else if (state === "end" && this.end) {
      this.span = this.end();
      this.end = undefined;
    }
  }

  /** CPU µs per successful load flow, per process; a note instead when it was not measurable. */
  figures(okFlows: number, backend: Backend): CpuFigures {
    if (!this.span)
      return { usPerOp: {}, cores: {}, note: `not measured: the ${backend} backend's processes are not visible from here` };
    return cpuFigures([this.span], okFlows, this.note) as CpuFigures;
  }
}

export async function runScenario(file: string, o: RunOptions): Promise<number> {
  const t0 = performance.now();
  const startedAt = new Date();
  const s = loadScenario(file);
  const backend = o.backend ?? s.topology?.backend ?? "inprocess";
  const scenario: LoadedScenario = o.load === true && !s.load ? { ...s, load: DEFAULT_LOAD } : s;
  const plan = buildPlan(scenario, { devices: o.devices, load: o.load });
  if (o.diagramDevice !== undefined && !plan.devices.some((d) => d.obu === o.diagramDevice)) {
    throw new RangeError(
      `--diagram-device: no OBU ${o.diagramDevice} in this run (${plan.devices[0]?.obu} .. ${plan.devices.at(-1)?.obu})`,
    );
  }
  const loadPlan = scenario.load && plan.loadDevices.length > 0 ? loadPlanOf(scenario.load) : undefined;
  if (o.pcap && backend !== "inprocess")
    throw new RangeError(`--pcap records the NFs of the inprocess backend only, not ${backend}`);
  if (backend !== "multi-host" && s.topology?.multiHost)
    throw new RangeError(`topology.multiHost configures the multi-host backend, not ${backend}`);
  if (backend === "multi-host") checkMultiHostShape(s.topology?.multiHost);
  if (backend === "multi-host" && (s.topology?.latencyMs ?? 0) > 0)
    throw new RangeError(
      "topology.latencyMs is not available on the multi-host backend (its hosts are namespaces without a delay proxy)",
    );
  if (s.operator?.binding === "diameter" && (backend === "netns" || backend === "container" || backend === "multi-host"))
    throw new RangeError(`operator.binding diameter runs on the inprocess and process backends, not ${backend}`);
  try {
    await preflight(backend);
  } catch (err) {
    if (!(err instanceof TopologyUnavailable)) throw err;
    o.out(`${err.message}\n`);
    return 0;
  }

  const info = (line: string) => {
    if (!o.quiet) o.err(`${line}\n`);
  };
  for (const dir of await sweepStaleWorkDirs()) info(`removed ${dir}, left by a run that was killed`);
  let capture: Capture | undefined;
  if (o.pcap) {
    try {
      capture = Capture.toFile(o.pcap.file, { keys: o.pcap.keys });
    } catch (err) {
      throw new RangeError(`--pcap: cannot write ${o.pcap.file}: ${(err as Error).message}`);
    }
    o.err(`gba scenario: ${captureStartedLine(o.pcap.file, o.pcap.keys)}\n`);
  }
  const workDir = await makeWorkDir();
  const results = new Results();
  const feed = o.dashboard
    ? new RunFeed(results, { name: plan.name, backend, loadSeconds: loadPlan?.durationSeconds })
    : undefined;
  const events = feed && backend === "inprocess" ? new EventBus() : undefined;
  if (feed) await o.dashboard?.(feed, events);
  const loadCpu = new LoadCpu();
  let deployment: Deployment | undefined;
  let progress: Progress | undefined;
  let provisioning: Provisioning | undefined;
  let peakRss: Record<string, number> = {};
  try {
    const cfg = runConfig(scenario, plan, join(workDir, "data"), backend);
    const usimDir = join(workDir, "usim");
    const pool = `${plan.devices.length} OBUs${plan.loadDevices.length ? ` + ${plan.loadDevices.length} in the load pool` : ""}`;
    // multi-host: the stores are on a Redis Cluster inside the topology's namespaces; the backend provisions them
    const selfProvisioning = backend === "multi-host";
    if (!selfProvisioning) {
      provisioning = await provisionRun(cfg, plan, usimDir, info);
      info(`${plan.name}: ${pool}, ${provisioningText(provisioning)}, backend ${backend}`);
    } else {
      await writeRunUsims(cfg, plan, usimDir);
      info(`${plan.name}: ${pool}, backend ${backend} (the topology provisions its stores)`);
    }
    deployment = await startBackend(backend, {
      cfg,
      workDir,
      latencyMs: scenario.topology?.latencyMs ?? 0,
      info,
      events,
      capture,
      multiHost: scenario.topology?.multiHost,
      provision: selfProvisioning ? { rows: hssRows(plan.subscribers), bindings: plan.bindings } : undefined,
    });
    const input: EngineInput = {
      endpoints: deployment.endpoints,
      devices: plan.devices,
      loadDevices: plan.loadDevices,
      usimDir,
      parallel: FUNCTIONAL_PARALLEL,
      load: loadPlan,
      diagramObu: o.diagram ? (o.diagramDevice ?? plan.devices[0]?.obu) : undefined,
    };
    if (!o.quiet) {
      progress = new Progress(results, {
        write: o.err,
        tty: o.tty,
        loadSeconds: loadPlan?.durationSeconds,
        loadCount: loadPlan?.count,
      });
      progress.start();
    }
    const emit = (e: EngineEvent) => {
      results.add(e);
      feed?.changed();
      if (e.t === "phase" && e.phase === "load") loadCpu.mark(e.state, deployment);
      if (e.t === "phase" && e.state === "end") progress?.phaseDone();
    };
    const signal = o.signal ?? new AbortController().signal;
    if (deployment.runUe) await deployment.runUe(input, emit, signal);
    else await runEngine(input, emit, signal);
  } finally {
    progress?.stop();
    // read before the children stop: the kernel's high-water mark of each process
    peakRss = peakRssOf(deployment?.cpu?.().sources ?? [{ name: "runner", pid: "self" }]);
    await deployment?.stop().catch((err: unknown) => o.err(`gba scenario: stopping the topology: ${(err as Error).message}\n`));
    if (capture && o.pcap) {
      const file = o.pcap.file;
      await capture.close().then(
        () => o.err(`gba scenario: ${captureWrittenLine(file)}\n`),
        (err: Error) => o.err(`gba scenario: capture ${file} is incomplete: ${err.message}\n`),
      );
    }
    if (o.keep) {
      await markKept(workDir);
      o.err(`gba scenario: kept ${workDir} (data, USIM state files with K: delete it when done)\n`);
    } else await rm(workDir, { recursive: true, force: true });
  }

  const flows = new Map(results.functional.flows.map((f) => [f.obu, f]));
  const judged = plan.devices.map((d) => ({ d, f: flows.get(d.obu), verdict: judgeDevice(d, flows.get(d.obu)) }));
  const load = loadPlan ? loadFigures(results, loadPlan) : undefined;
  if (load) load.cpu = loadCpu.figures(load.ok, backend);
  const found = o.signal?.aborted ? undefined : deployment?.findings?.();
  const checked = [...checkAssertions(scenario, judged, results, load), ...(found?.checks ?? [])];
  const assertions = o.timingAdvisory ? timingAdvisory(checked) : checked;
  if (o.signal?.aborted) assertions.push({ name: "interrupted", ok: false, detail: "the run was interrupted" });
  const report = buildReport({
    plan,
    file,
    backend,
    startedAt,
    wallMs: performance.now() - t0,
    rows: judged.map((j) => deviceRow(j.d, j.f, j.verdict)),
    results,
    load,
    assertions,
    provisioning,
    peakRss,
    topology: found?.figures,
  });
  // with the report on stdout, stdout is the JSON alone: the summary goes to stderr
  (o.report === "-" ? o.err : o.out)(`${renderSummary(report, plan, !o.quiet)}\n`);
  feed?.finish(report);
  if (o.report === "-") o.out(renderReportFile("report.json", report));
  else if (o.report) await writeFile(o.report, renderReportFile(o.report, report));
  if (o.diagram) {
    if (results.diagram) {
      const mermaid = renderMermaid(results.diagram.obu, results.diagram.items);
      await writeFile(o.diagram, /\.(md|markdown)$/i.test(o.diagram) ? `\`\`\`mermaid\n${mermaid}\`\`\`\n` : mermaid);
    } else o.err("gba scenario: no flow was recorded for the diagram (the OBU did not run)\n");
  }
  return report.ok ? 0 : 1;
}
