// A load flow bounded in time (scenarios/engine/load-flow.ts): one still running at the flow
// timeout is reported failed with the declared cause FLOW_TIMEOUT, naming the step it was in,
// while its device stays busy until the flow really ends (its SQN order is kept).
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { DeviceRuntime } from "../scenarios/engine/device.js";
import type { FlowResult, StepRecord } from "../scenarios/engine/events.js";
import { FLOW_TIMEOUT_CAUSE, flowEvents, runLoadFlow } from "../scenarios/engine/load-flow.js";

/** A device whose steps take the given ms each. */
function fakeDevice(stepMs: number[]): DeviceRuntime {
  const flow = ["bootstrap", "keygen", "csr", "enrol", "verify"].slice(0, stepMs.length);
  return {
    d: { obu: "OBU-1", flow },
    async runFlow(_f: unknown, phase: string, phaseStart: number, onStep: (r: StepRecord) => void): Promise<FlowResult> {
      const t0 = performance.now();
      const steps: StepRecord[] = [];
      for (const [i, ms] of stepMs.entries()) {
        await sleep(ms);
        const r = { step: flow[i], ms, ok: true };
        steps.push(r);
        onStep(r);
      }
      const end = performance.now();
      return {
        obu: "OBU-1",
        phase,
        outcome: "success",
        steps,
        ms: end - t0,
        bootstraps: 1,
        rebootstraps: 0,
        resyncs: 0,
        startedAt: t0 - phaseStart,
        endedAt: end - phaseStart,
      } as FlowResult;
    },
  } as unknown as DeviceRuntime;
}

describe("a load flow bounded in time", () => {
  it("within the timeout: the flow's own result", async () => {
    const results: FlowResult[] = [];
    await runLoadFlow(fakeDevice([10, 10]), performance.now(), 1000, (r) => results.push(r));
    expect(results).toHaveLength(1);
    expect(results[0].outcome).toBe("success");
    expect(flowEvents(results[0]).map((e) => e.t)).toEqual(["step", "step", "flow"]);
  });

  it("past the timeout: FLOW_TIMEOUT in the step it was in, reported at the timeout; the device is freed only when the flow ends", async () => {
    const results: Array<{ r: FlowResult; at: number }> = [];
    const t0 = performance.now();
    const free = runLoadFlow(fakeDevice([20, 400, 20]), t0, 100, (r) => results.push({ r, at: performance.now() - t0 }));
    await sleep(250);
    expect(results).toHaveLength(1);
    const { r, at } = results[0];
    expect(at).toBeLessThan(250);
    expect(r.outcome).toBe("failed");
    expect(r.failure).toMatchObject({ step: "keygen", cause: FLOW_TIMEOUT_CAUSE });
    expect(r.steps.map((s) => [s.step, s.ok])).toEqual([
      ["bootstrap", true],
      ["keygen", false],
    ]);
    let freed = false;
    void free.then(() => (freed = true));
    await sleep(10);
    expect(freed).toBe(false);
    await free;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(430);
    // the late result is not reported a second time
    expect(results).toHaveLength(1);
  });
});

describe("flows that end after the load phase", () => {
  it("are not reported: the scheduler counted them as unfinished, and closing their device is no failure of theirs", async () => {
    const { reportUntilOver } = await import("../scenarios/engine/engine.js");
    const events: string[] = [];
    const r = reportUntilOver((e) => events.push(e.t));
    const result = { obu: "O", phase: "load", outcome: "failed", steps: [{ step: "bootstrap", ms: 1, ok: false }] } as FlowResult;
    r.flow(result);
    r.over();
    r.flow({ ...result, failure: { step: "bootstrap", cause: "CLOSED", message: "simulated USIM is closed" } });
    expect(events).toEqual(["step", "flow"]);
  });
});
