// A worker thread of the load generator (load-threads.ts): opens its share of the load pool's
// devices (USIM, middleware, client), runs the flows the scheduler in the main thread hands it,
// and reports each finished flow and each freed device. Messages hold no key material.
//
// Memory at fleet scale: the first KEEP_OPEN devices of the share are opened before the phase
// (a pool that fits is then as it always was: every device ready, open failures known first);
// the others are opened when their first flow comes, and while more than KEEP_OPEN are open,
// a device whose flow has ended is closed again (its USIM state file written), so a pool of
// 100,000 OBUs does not keep 100,000 middlewares, key pairs and certificates in memory.
import { parentPort, workerData } from "node:worker_threads";
import { DeviceRuntime } from "./device.js";
import { type Endpoints, type FlowResult, openFailure } from "./events.js";
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
  /** devices kept open between their flows (default KEEP_OPEN) */
  keepOpen?: number;
}

/** main → thread */
export type ToThread = { t: "run"; id: number; device: number; phaseStartAbs: number } | { t: "close" };
/** thread → main */
export type FromThread =
  | { t: "opened"; devices: number[]; failures: Array<{ device: number; cause: string; message: string }> }
  | { t: "flow"; id: number; result: FlowResult }
  /** the device is free again; `open`: devices of the thread open now */
  | { t: "free"; id: number; open: number }
  | { t: "closed" };

const OPEN_AT_ONCE = 32;
/** devices of one thread kept open between their flows (see above) */
export const KEEP_OPEN = 4096;

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("load-thread.js runs as a worker thread");
  const input = workerData as LoadThreadInput;
  const post = (m: FromThread) => port.postMessage(m);
  const runtimes = new Map<number, FlowDevice>();
  const failures: Array<{ device: number; cause: string; message: string }> = [];
  /** a device for the load flow: the real one, or the floor's stub making the same exchanges */
  const open = async (d: PlannedDevice, usimFile: string): Promise<FlowDevice> =>
    input.floor ? new StubFlowDevice(d, input.endpoints) : await DeviceRuntime.open(d, input.endpoints, usimFile);
  const keepOpen = input.keepOpen ?? KEEP_OPEN;
  const eager = Math.min(input.devices.length, keepOpen);
  for (let i = 0; i < eager; i += OPEN_AT_ONCE) {
    await Promise.all(
      input.devices.slice(i, Math.min(i + OPEN_AT_ONCE, eager)).map(async ({ d, usimFile }, k) => {
        try {
          runtimes.set(i + k, await open(d, usimFile));
        } catch (err) {
          const e = err as Error & { code?: string };
          failures.push({ device: i + k, cause: e.code ?? e.name, message: e.message });
        }
      }),
    );
  }
  /** Opens the device if it is not, runs its flow, and closes it again when too many are open. */
  const runOnDevice = async (device: number, phaseStart: number, report: (r: FlowResult) => void): Promise<void> => {
    let rt = runtimes.get(device);
    if (!rt) {
      const { d, usimFile } = input.devices[device];
      const t0 = performance.now();
      try {
        rt = await open(d, usimFile);
      } catch (err) {
        report(openFailure(d.obu, "load", err, t0 - phaseStart, performance.now() - phaseStart));
        return;
      }
      runtimes.set(device, rt);
    }
    try {
      await runLoadFlow(rt, phaseStart, input.flowTimeoutMs, report);
    } finally {
      if (runtimes.size > keepOpen) {
        runtimes.delete(device);
        await rt.close().catch(() => undefined);
      }
    }
  };
  const failed = new Set(failures.map((f) => f.device));
  const usable = input.devices.map((_, i) => i).filter((i) => !failed.has(i));
  post({ t: "opened", devices: usable, failures });
  port.on("message", (m: ToThread) => {
    if (m.t === "run") {
      // performance.now() counts from each thread's own origin: the phase start comes as an absolute time
      const phaseStart = m.phaseStartAbs - performance.timeOrigin;
      const report = (result: FlowResult) => post({ t: "flow", id: m.id, result });
      void runOnDevice(m.device, phaseStart, report).finally(() => post({ t: "free", id: m.id, open: runtimes.size }));
    } else {
      void Promise.allSettled([...runtimes.values()].map((r) => r.close())).then(() => {
        post({ t: "closed" });
        port.close();
      });
    }
  });
}

void main();
