// One load-phase flow on a device, bounded in time: a flow still running after the flow timeout
// is reported as failed with cause FLOW_TIMEOUT (a declared cause, like the scheduler's "shed"),
// the steps it finished and the one it was in. The device stays busy until the flow really ends,
// so its SQN sequence stays in order; only then is it handed to the next arrival.
import type { DeviceRuntime } from "./device.js";
import type { FlowResult, StepRecord } from "./events.js";

export const FLOW_TIMEOUT_CAUSE = "FLOW_TIMEOUT";

/** What runs a load flow: a device of the scenario, or the flow floor's stub (bench/lib/stub-flow-ue.ts). */
export type FlowDevice = Pick<DeviceRuntime, "d" | "runFlow" | "close">;

function stepNameAt(rt: FlowDevice, i: number): string {
  const s = rt.d.flow[i];
  if (s === undefined) return "flow";
  return typeof s === "string" ? s : "wait" in s ? "wait" : "fetch";
}

/** Runs the device's flow; `report` gets its result (or the timeout's), then the promise resolves when the device is free. */
export async function runLoadFlow(
  rt: FlowDevice,
  phaseStart: number,
  timeoutMs: number | undefined,
  report: (r: FlowResult) => void,
): Promise<void> {
  const t0 = performance.now();
  const done: StepRecord[] = [];
  const flow = rt.runFlow(rt.d.flow, "load", phaseStart, (s) => done.push(s));
  if (timeoutMs === undefined) {
    report(await flow);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), timeoutMs);
  });
  const first = await Promise.race([flow, timeout]);
  clearTimeout(timer);
  if (first !== "timeout") {
    report(first);
    return;
  }
  const now = performance.now();
  const inStep = stepNameAt(rt, done.length);
  const stepStart = t0 + done.reduce((ms, s) => ms + s.ms, 0);
  report({
    obu: rt.d.obu,
    phase: "load",
    outcome: "failed",
    failure: { step: inStep, cause: FLOW_TIMEOUT_CAUSE, message: `the flow did not end within ${timeoutMs} ms` },
    steps: [...done, { step: inStep, ms: now - stepStart, ok: false }],
    ms: now - t0,
    bootstraps: 0,
    rebootstraps: 0,
    resyncs: 0,
    startedAt: t0 - phaseStart,
    endedAt: now - phaseStart,
  });
  await flow.catch(() => undefined);
}

/** The events of a finished flow: one per step, then the flow. */
export function flowEvents(result: FlowResult) {
  return [
    ...result.steps.map((s) => ({ t: "step" as const, phase: result.phase, obu: result.obu, step: s.step, ms: s.ms, ok: s.ok })),
    { t: "flow" as const, result },
  ];
}
