// The UE population: the functional phase (every planned OBU runs its flow once, a bounded
// number at a time) and then the load phase (arrivals driven by load/driver.ts over a pool of
// OBUs, or by autocannon: load/autocannon-driver.ts). Reports everything as events; runs in
// the runner's process or in a worker process. The scheduler's load flows run on worker threads
// (load-threads.ts; plan.workers, default one per core; 0: in this thread).
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { driveAutocannon, type LoadDevice, openLoadDevice } from "../load/autocannon-driver.js";
import { driveLoad, type LoadPlan } from "../load/driver.js";
import type { PlannedDevice } from "../plan.js";
import { DeviceRuntime } from "./device.js";
import { DiagramRecorder, type OriginMap } from "./diagram-recorder.js";
import { type Emit, type Endpoints, type FlowResult, openFailure, type Phase } from "./events.js";
import { flowEvents, runLoadFlow } from "./load-flow.js";
import { LoadThreads } from "./load-threads.js";

export interface EngineInput {
  endpoints: Endpoints;
  devices: PlannedDevice[];
  loadDevices: PlannedDevice[];
  /** USIM state files are <usimDir>/<OBU>.json */
  usimDir: string;
  /** OBUs of the functional phase running at the same time */
  parallel: number;
  load?: LoadPlan;
  /** OBU whose functional flow is recorded for the sequence diagram */
  diagramObu?: string;
  /**
   * The flow floor (bench/flow.ts): the load flows run on stub devices that make the same
   * exchanges with no work (bench/lib/stub-flow-ue.ts); worker threads only, no USIM files.
   */
  floor?: boolean;
}

export function usimFileOf(usimDir: string, obu: string): string {
  return join(usimDir, `${obu}.json`);
}

function originsOf(ep: Endpoints): OriginMap {
  const o = (url: string) => new URL(url).origin;
  return [
    { origin: o(ep.bsfUb), nf: "BSF" },
    { origin: o(ep.nafHttp), nf: "NAF" },
    { origin: o(ep.nafTlsPsk), nf: "NAF" },
    { origin: o(ep.ecaHttp), nf: "ECA" },
    { origin: o(ep.ecaTlsPsk), nf: "ECA" },
  ];
}

function totalWait(d: PlannedDevice): number {
  return d.flow.reduce((sum, s) => sum + (typeof s === "object" && "wait" in s ? s.wait : 0), 0);
}

/** The failed flow of a device that could not be opened. */
function openFailed(d: PlannedDevice, phase: Phase, t0: number, err: unknown): FlowResult {
  const now = performance.now() - t0;
  return openFailure(d.obu, phase, err, now, now);
}

/** Opens a device; a failure to open becomes the device's failed flow instead of an exception. */
async function openOrFail(
  d: PlannedDevice,
  input: EngineInput,
  phase: Phase,
  t0: number,
  diagram?: DiagramRecorder,
): Promise<DeviceRuntime | FlowResult> {
  try {
    return await DeviceRuntime.open(d, input.endpoints, usimFileOf(input.usimDir, d.obu), diagram);
  } catch (err) {
    return openFailed(d, phase, t0, err);
  }
}

async function functionalPhase(input: EngineInput, emit: Emit, signal?: AbortSignal): Promise<void> {
  const queue = [...input.devices].sort((a, b) => totalWait(b) - totalWait(a));
  emit({ t: "phase", phase: "functional", state: "start", devices: queue.length });
  const t0 = performance.now();
  const worker = async () => {
    for (let d = queue.shift(); d !== undefined && !signal?.aborted; d = queue.shift()) {
      const diagram = d.obu === input.diagramObu ? new DiagramRecorder(originsOf(input.endpoints)) : undefined;
      const rt = await openOrFail(d, input, "functional", t0, diagram);
      if (!(rt instanceof DeviceRuntime)) {
        emit({ t: "flow", result: rt });
        continue;
      }
      const device = d;
      try {
        const result = await rt.runFlow(d.flow, "functional", t0, (s) =>
          emit({ t: "step", phase: "functional", obu: device.obu, step: s.step, ms: s.ms, ok: s.ok }),
        );
        emit({ t: "flow", result });
      } finally {
        await rt.close();
      }
      if (diagram) emit({ t: "diagram", obu: d.obu, items: diagram.items });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.parallel) }, worker));
  emit({ t: "phase", phase: "functional", state: "end", devices: input.devices.length });
}

/** The load phase under autocannon: the pool's USIMs computed in the load generator (load/autocannon-driver.ts). */
async function autocannonLoadPhase(input: EngineInput, plan: LoadPlan, emit: Emit, signal?: AbortSignal): Promise<void> {
  const t0 = performance.now();
  const devices: LoadDevice[] = [];
  for (const d of input.loadDevices) {
    try {
      devices.push(await openLoadDevice(d, usimFileOf(input.usimDir, d.obu)));
    } catch (err) {
      emit({ t: "flow", result: openFailed(d, "load", t0, err) });
    }
  }
  emit({ t: "phase", phase: "load", state: "start", devices: devices.length });
  if (devices.length === 0) throw new Error("no device of the load pool could be opened");
  const outcome = await driveAutocannon({ endpoints: input.endpoints, devices, plan, emit, signal });
  emit({ t: "load-done", outcome });
  emit({ t: "phase", phase: "load", state: "end", devices: devices.length });
}

/**
 * Emits each load flow's events until the phase is over. A flow still running then is counted
 * as unfinished by the scheduler; closing its device afterwards must not add it as a failure.
 */
export function reportUntilOver(emit: Emit): { flow: (r: FlowResult) => void; over: () => void } {
  let over = false;
  return {
    flow: (result) => {
      if (over) return;
      for (const e of flowEvents(result)) emit(e);
    },
    over: () => {
      over = true;
    },
  };
}

/** Worker threads of the load generator when the plan does not say: one per core. */
export function defaultLoadThreads(): number {
  return availableParallelism();
}

/** The scheduler's load phase with the flows on worker threads (load-threads.ts). */
async function threadedLoadPhase(
  input: EngineInput,
  plan: LoadPlan,
  threads: number,
  emit: Emit,
  signal?: AbortSignal,
): Promise<void> {
  const t0 = performance.now();
  const pool = await LoadThreads.start(
    threads,
    input.endpoints,
    input.loadDevices.map((d) => ({ d, usimFile: usimFileOf(input.usimDir, d.obu) })),
    plan.flowTimeoutSeconds === undefined ? undefined : plan.flowTimeoutSeconds * 1000,
    { floor: input.floor },
  );
  try {
    for (const f of pool.openFailures)
      emit({ t: "flow", result: openFailed(f.d, "load", t0, Object.assign(new Error(f.message), { code: f.cause })) });
    emit({ t: "phase", phase: "load", state: "start", devices: pool.devices.length });
    if (pool.devices.length === 0) throw new Error("no device of the load pool could be opened");
    const start = performance.now();
    const report = reportUntilOver(emit);
    const outcome = await driveLoad(plan, pool.devices, (dev) => pool.run(dev, start, report.flow), signal);
    report.over();
    emit({ t: "load-done", outcome });
    emit({ t: "phase", phase: "load", state: "end", devices: pool.devices.length });
  } finally {
    await pool.close();
  }
}

async function loadPhase(input: EngineInput, plan: LoadPlan, emit: Emit, signal?: AbortSignal): Promise<void> {
  if (plan.driver === "autocannon") return autocannonLoadPhase(input, plan, emit, signal);
  const threads = plan.workers ?? defaultLoadThreads();
  if (threads > 0) return threadedLoadPhase(input, plan, threads, emit, signal);
  if (input.floor) throw new Error("the flow floor runs its load flows on worker threads (load.workers ≥ 1)");
  const t0 = performance.now();
  const runtimes: DeviceRuntime[] = [];
  try {
    for (const d of input.loadDevices) {
      const rt = await openOrFail(d, input, "load", t0);
      if (rt instanceof DeviceRuntime) runtimes.push(rt);
      else emit({ t: "flow", result: rt });
    }
    emit({ t: "phase", phase: "load", state: "start", devices: runtimes.length });
    if (runtimes.length === 0) throw new Error("no device of the load pool could be opened");
    const start = performance.now();
    const report = reportUntilOver(emit);
    const timeoutMs = plan.flowTimeoutSeconds === undefined ? undefined : plan.flowTimeoutSeconds * 1000;
    const outcome = await driveLoad(plan, runtimes, (rt) => runLoadFlow(rt, start, timeoutMs, report.flow), signal);
    report.over();
    emit({ t: "load-done", outcome });
    emit({ t: "phase", phase: "load", state: "end", devices: runtimes.length });
  } finally {
    await Promise.allSettled(runtimes.map((r) => r.close()));
  }
}

export async function runEngine(input: EngineInput, emit: Emit, signal?: AbortSignal): Promise<void> {
  await functionalPhase(input, emit, signal);
  if (input.load && input.loadDevices.length > 0 && !signal?.aborted) await loadPhase(input, input.load, emit, signal);
}
