// The load phase's scheduler: arrivals at a rate (schedule.ts) or a fixed number of concurrent
// flows, each given an idle device from a bounded pool (a device never runs two flows at once,
// as a real OBU would not). Bounded in time, count and flows in flight: arrivals stop at the end
// of the phase; an arrival finding maxInFlight flows admitted (running or waiting for a device)
// is shed, counted with its time, never queued; flows still running get a grace period,
// arrivals still waiting for a device are not started.
import { setTimeout as sleep } from "node:timers/promises";
import { arrivalOffsets, seededRandom } from "./schedule.js";

export interface LoadPlan {
  /** who makes the arrivals: this scheduler (default) or autocannon (load/autocannon-driver.ts) */
  driver?: "scheduler" | "autocannon";
  mode: "rate" | "concurrency";
  rate?: number;
  concurrency?: number;
  poisson: boolean;
  rampSeconds: number;
  durationSeconds?: number;
  count?: number;
  /** seconds to wait for running flows after the last arrival */
  graceSeconds: number;
  /** seed of the Poisson draws */
  seed?: number;
  /** rate mode: flows admitted at once (running or waiting for a device); an arrival beyond it is shed */
  maxInFlight?: number;
  /** worker threads running the flows (scheduler driver); 0: the engine's own thread */
  workers?: number;
  /** a load flow still running after this many seconds fails with cause FLOW_TIMEOUT */
  flowTimeoutSeconds?: number;
}

export interface LoadOutcome {
  /** arrivals the schedule made */
  arrivals: number;
  /** flows started on a device */
  started: number;
  /** flows that ended (successfully or not) */
  completed: number;
  /** arrivals still waiting for a device when the phase ended */
  notStarted: number;
  /** flows still running when the grace period ended */
  unfinished: number;
  /** ms from the first arrival until arrivals stopped */
  arrivalWindowMs: number;
  /** ms until the last flow ended (or the grace period did) */
  elapsedMs: number;
  maxInFlight: number;
  /** the bound on flows in flight, when there was one */
  inFlightBound?: number;
  /** ms each started flow waited for an idle device */
  queueWaitMs: number[];
  /** ms since the phase started of every arrival the schedule made */
  arrivalAtMs: number[];
  /** arrivals shed because maxInFlight flows were admitted, and when (ms since the phase started) */
  shed: number;
  shedAtMs: number[];
}

export type Job<D> = (device: D, arrival: number, startedAt: number) => Promise<void>;

/**
 * First in, first out in O(1) per operation: Array.shift() moves the whole array once it is
 * too large to be trimmed in place, which over a pool of 100,000 devices made the load phase
 * quadratic.
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  constructor(items: Iterable<T> = []) {
    this.items = [...items];
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined as T;
    this.head++;
    // the dead prefix is dropped once it is half of the array: amortised O(1)
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** A pool of devices handed out first-come first-served to waiting arrivals. */
class DevicePool<D> {
  private readonly idle: Fifo<D>;
  private readonly waiting = new Fifo<(d: D | undefined) => void>();

  constructor(devices: D[]) {
    this.idle = new Fifo(devices);
  }

  /** An idle device, or undefined when the wait was abandoned. */
  acquire(): Promise<D | undefined> {
    const d = this.idle.shift();
    if (d !== undefined) return Promise.resolve(d);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(d: D): void {
    const next = this.waiting.shift();
    if (next) next(d);
    else this.idle.push(d);
  }

  /** Ends the wait of every waiting arrival (they get no device). */
  abandonWaiting(): void {
    for (let w = this.waiting.shift(); w !== undefined; w = this.waiting.shift()) w(undefined);
  }
}

/** A load outcome before the first arrival. */
export function emptyOutcome(): LoadOutcome {
  return {
    arrivals: 0,
    started: 0,
    completed: 0,
    notStarted: 0,
    unfinished: 0,
    arrivalWindowMs: 0,
    elapsedMs: 0,
    maxInFlight: 0,
    queueWaitMs: [],
    arrivalAtMs: [],
    shed: 0,
    shedAtMs: [],
  };
}

export async function driveLoad<D>(plan: LoadPlan, devices: D[], job: Job<D>, signal?: AbortSignal): Promise<LoadOutcome> {
  if (devices.length === 0) throw new Error("the load phase has no devices");
  const pool = new DevicePool(devices);
  const t0 = performance.now();
  const out = emptyOutcome();
  out.inFlightBound = plan.mode === "rate" ? plan.maxInFlight : undefined;
  const running = new Set<Promise<void>>();
  let inFlight = 0;
  /** arrivals admitted and not yet ended: running or waiting for a device */
  let admitted = 0;

  const launch = (arrival: number): Promise<void> => {
    const arrivedAt = performance.now();
    admitted++;
    const p = pool.acquire().then(async (device) => {
      if (device === undefined) {
        out.notStarted++;
        admitted--;
        return;
      }
      const startedAt = performance.now();
      out.queueWaitMs.push(startedAt - arrivedAt);
      out.started++;
      inFlight++;
      out.maxInFlight = Math.max(out.maxInFlight, inFlight);
      try {
        await job(device, arrival, startedAt - t0);
      } finally {
        inFlight--;
        admitted--;
        out.completed++;
        pool.release(device);
      }
    });
    const tracked = p.finally(() => running.delete(tracked));
    running.add(tracked);
    return tracked;
  };

  if (plan.mode === "rate") {
    const offsets = arrivalOffsets(
      {
        rate: plan.rate ?? 1,
        rampSeconds: plan.rampSeconds,
        poisson: plan.poisson,
        durationSeconds: plan.durationSeconds,
        count: plan.count,
      },
      seededRandom(plan.seed ?? 1),
    );
    for (const at of offsets) {
      if (signal?.aborted) break;
      const wait = at - (performance.now() - t0);
      if (wait > 1) await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal?.aborted) break;
      const now = performance.now() - t0;
      out.arrivalAtMs.push(now);
      out.arrivals++;
      if (plan.maxInFlight !== undefined && admitted >= plan.maxInFlight) {
        out.shed++;
        out.shedAtMs.push(now);
        continue;
      }
      void launch(out.arrivals - 1);
    }
  } else {
    const workers = plan.concurrency ?? 1;
    const deadline = plan.durationSeconds === undefined ? Number.POSITIVE_INFINITY : plan.durationSeconds * 1000;
    const more = () =>
      !signal?.aborted && performance.now() - t0 < deadline && (plan.count === undefined || out.arrivals < plan.count);
    const worker = async (w: number) => {
      // a ramp starts the workers one after another across rampSeconds
      const delay = workers > 1 ? (plan.rampSeconds * 1000 * w) / workers : 0;
      if (delay > 0) await sleep(delay, undefined, { signal }).catch(() => undefined);
      while (more()) {
        out.arrivalAtMs.push(performance.now() - t0);
        await launch(out.arrivals++);
      }
    };
    const all = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
    await Promise.race([all, untilDeadline(deadline, t0, signal)]);
  }
  out.arrivalWindowMs = performance.now() - t0;
  const graceEnds = sleep(plan.graceSeconds * 1000, "grace", { ref: false });
  // arrivals still waiting for a device are dropped so the phase stays bounded
  pool.abandonWaiting();
  const settle = async () => {
    while (running.size > 0) await Promise.race([...running]);
    return "done" as const;
  };
  const how = await Promise.race([settle(), graceEnds]);
  if (how === "grace") out.unfinished = inFlight;
  out.elapsedMs = performance.now() - t0;
  return out;
}

function untilDeadline(deadlineMs: number, t0: number, signal?: AbortSignal): Promise<void> {
  if (!Number.isFinite(deadlineMs)) return new Promise(() => undefined);
  return sleep(Math.max(0, deadlineMs - (performance.now() - t0)), undefined, { signal, ref: false }).catch(() => undefined);
}
