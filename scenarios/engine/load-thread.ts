// A worker thread of the load generator (load-threads.ts): opens its share of the load pool's
// devices (USIM, middleware, client), runs the flows the scheduler in the main thread hands it,
// and reports each finished flow and each freed device. Messages hold no key material.
import { parentPort, workerData } from "node:worker_threads";
import { DeviceRuntime } from "./device.js";
import type { Endpoints, FlowResult } from "./events.js";
import { type FlowDevice, runLoadFlow } from "./load-flow.js";
import { StubFlowDevice } from "../../bench/lib/stub-flow-ue.js";
import type { PlannedDevice } from "../plan.js";

export interface LoadThreadInput {
  endpoints: Endpoints;
  /** this thread's devices with their USIM state files */
  devices: Array<{ d: PlannedDevice; usimFile: string }>;
  flowTimeoutMs?: number;
  /** the flow floor (bench/flow.ts): stub devices making the same exchanges with no work */
  floor?: boolean;
}

/** main → thread */
export type ToThread = { t: "run"; id: number; device: number; phaseStartAbs: number } | { t: "close" };
/** thread → main */
export type FromThread =
  | { t: "opened"; devices: number[]; failures: Array<{ device: number; cause: string; message: string }> }
  | { t: "flow"; id: number; result: FlowResult }
  | { t: "free"; id: number }
  | { t: "closed" };

const OPEN_AT_ONCE = 32;

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("load-thread.js runs as a worker thread");
  const input = workerData as LoadThreadInput;
  const post = (m: FromThread) => port.postMessage(m);
  const runtimes = new Map<number, FlowDevice>();
  const failures: Array<{ device: number; cause: string; message: string }> = [];
  for (let i = 0; i < input.devices.length; i += OPEN_AT_ONCE) {
    await Promise.all(
      input.devices.slice(i, i + OPEN_AT_ONCE).map(async ({ d, usimFile }, k) => {
        try {
          runtimes.set(
            i + k,
            input.floor ? new StubFlowDevice(d, input.endpoints) : await DeviceRuntime.open(d, input.endpoints, usimFile),
          );
        } catch (err) {
          const e = err as Error & { code?: string };
          failures.push({ device: i + k, cause: e.code ?? e.name, message: e.message });
        }
      }),
    );
  }
  post({ t: "opened", devices: [...runtimes.keys()], failures });
  port.on("message", (m: ToThread) => {
    if (m.t === "run") {
      const rt = runtimes.get(m.device) as FlowDevice;
      // performance.now() counts from each thread's own origin: the phase start comes as an absolute time
      const phaseStart = m.phaseStartAbs - performance.timeOrigin;
      void runLoadFlow(rt, phaseStart, input.flowTimeoutMs, (result) => post({ t: "flow", id: m.id, result })).finally(() =>
        post({ t: "free", id: m.id }),
      );
    } else {
      void Promise.allSettled([...runtimes.values()].map((r) => r.close())).then(() => {
        post({ t: "closed" });
        port.close();
      });
    }
  });
}

void main();
