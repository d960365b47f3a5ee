// The load generator on worker threads: the load pool's devices are dealt round-robin to N
// threads (load-thread.ts), each with its own event loop, USIMs, middleware and HTTP clients;
// the scheduler (load/driver.ts) stays in this thread, makes the arrivals and hands each flow to
// the thread holding the device it picked. Flows report back as whole results (their step
// events are derived here), so crossing threads costs two messages per flow.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { packageRoot } from "../load.js";
import type { PlannedDevice } from "../plan.js";
import type { Endpoints, FlowResult } from "./events.js";
import type { FromThread, LoadThreadInput, ToThread } from "./load-thread.js";

/** A device of the pool: which thread holds it and its index there. */
export interface ThreadDevice {
  thread: number;
  index: number;
  d: PlannedDevice;
}

/** The compiled worker script (tests that run this module from source use the build's). */
function threadScript(): string {
  const here = fileURLToPath(new URL("./load-thread.js", import.meta.url));
  return existsSync(here) ? here : join(packageRoot(), "dist", "scenarios", "engine", "load-thread.js");
}

interface Pending {
  thread: number;
  obu: string;
  phaseStart: number;
  onResult: (r: FlowResult) => void;
  free: () => void;
}

export class LoadThreads {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** most devices one thread held open at the end of a flow (bounded by keepOpen + flows in flight) */
  maxOpen = 0;

  private constructor(
    private readonly workers: Worker[],
    readonly devices: ThreadDevice[],
    readonly openFailures: Array<{ d: PlannedDevice; cause: string; message: string }>,
  ) {
    for (const [t, w] of workers.entries()) {
      w.on("message", (m: FromThread) => {
        if (m.t === "flow") this.pending.get(m.id)?.onResult(m.result);
        else if (m.t === "free") {
          this.maxOpen = Math.max(this.maxOpen, m.open);
          this.pending.get(m.id)?.free();
          this.pending.delete(m.id);
        }
      });
      // a thread that dies takes its flows with it: each ends failed, naming the thread's error
      w.on("error", (err) => this.lost(t, `load thread ${t} failed: ${err.message}`));
      w.on("exit", (code) => this.lost(t, `load thread ${t} exited with code ${code}`));
    }
  }

  private lost(thread: number, message: string): void {
    for (const [id, p] of this.pending) {
      if (p.thread !== thread) continue;
      this.pending.delete(id);
      const now = performance.now() - p.phaseStart;
      p.onResult({
        obu: p.obu,
        phase: "load",
        outcome: "failed",
        failure: { step: "flow", cause: "LOAD_THREAD_LOST", message },
        steps: [],
        ms: 0,
        bootstraps: 0,
        rebootstraps: 0,
        resyncs: 0,
        startedAt: now,
        endedAt: now,
      });
      p.free();
    }
  }

  /** Starts `n` threads and opens the devices (USIM state files in usimDir); resolves once all are open. */
  static async start(
    n: number,
    endpoints: Endpoints,
    devices: Array<{ d: PlannedDevice; usimFile: string }>,
    flowTimeoutMs: number | undefined,
    opts: { floor?: boolean; keepOpen?: number } = {},
  ): Promise<LoadThreads> {
    const count = Math.max(1, Math.min(n, devices.length));
    const shares = Array.from({ length: count }, (_, t) => devices.filter((_, i) => i % count === t));
    const workers: Worker[] = [];
    const opened: ThreadDevice[] = [];
    const failures: Array<{ d: PlannedDevice; cause: string; message: string }> = [];
    try {
      await Promise.all(
        shares.map(
          (share, t) =>
            new Promise<void>((resolve, reject) => {
              const input: LoadThreadInput = {
                endpoints,
                devices: share,
                flowTimeoutMs,
                floor: opts.floor,
                keepOpen: opts.keepOpen,
              };
              const w = new Worker(threadScript(), { workerData: input });
              workers.push(w);
              w.once("error", reject);
              w.once("exit", (code) => reject(new Error(`load thread ${t} exited with code ${code} while opening its devices`)));
              w.once("message", (m: FromThread) => {
                if (m.t !== "opened") return reject(new Error(`load thread ${t}: unexpected ${m.t}`));
                for (const index of m.devices) opened.push({ thread: t, index, d: share[index].d });
                for (const f of m.failures) failures.push({ d: share[f.device].d, cause: f.cause, message: f.message });
                w.removeAllListeners("error");
                w.removeAllListeners("exit");
                resolve();
              });
            }),
        ),
      );
    } catch (err) {
      await Promise.allSettled(workers.map((w) => w.terminate()));
      throw err;
    }
    // interleave the threads in the pool's order, so consecutive arrivals go to different threads
    opened.sort((a, b) => a.index - b.index || a.thread - b.thread);
    return new LoadThreads(workers, opened, failures);
  }

  /** Runs the device's flow in its thread; `onResult` gets the result, the promise resolves when the device is free. */
  run(dev: ThreadDevice, phaseStart: number, onResult: (r: FlowResult) => void): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((free) => {
      this.pending.set(id, { thread: dev.thread, obu: dev.d.obu, phaseStart, onResult, free });
      const m: ToThread = { t: "run", id, device: dev.index, phaseStartAbs: performance.timeOrigin + phaseStart };
      this.workers[dev.thread].postMessage(m);
    });
  }

  /** Closes every device (USIM state written) and ends the threads. */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const done = () => resolve();
            w.once("exit", done);
            w.on("message", (m: FromThread) => m.t === "closed" && void w.terminate().then(done));
            w.postMessage({ t: "close" } satisfies ToThread);
          }),
      ),
    );
  }
}
