// Load generation shared by the benchmarks: autocannon runs and closed loops of async
// operations, both reduced to Samples (successes, failures by cause, every latency), merged
// into one Measurement per system across interleaved rounds, so load from elsewhere on the
// machine hits the subject and its baseline alike.
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { type CpuSource, type CpuSpan, cpuFigures, cpuSpan } from "./cpu.js";
import { LatencyRecorder } from "./latency.js";
import type { Measurement } from "./result.js";

export interface Sample {
  ok: number;
  errors: Map<string, number>;
  seconds: number;
  latency: LatencyRecorder;
  /** CPU time of the processes involved while the sample ran (metered()) */
  cpu?: CpuSpan;
}

export function newSample(): Sample {
  return { ok: 0, errors: new Map(), seconds: 0, latency: new LatencyRecorder() };
}

export function countError(s: Sample, cause: string): void {
  s.errors.set(cause, (s.errors.get(cause) ?? 0) + 1);
}

/** Short cause of a failed operation: an errno code, an error name, or the message's start. */
export function causeOf(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (typeof e?.code === "string") return e.code;
  if (typeof e?.message === "string" && e.message !== "") return e.message.slice(0, 60);
  return typeof e?.name === "string" ? e.name : String(err).slice(0, 60);
}

/**
 * A sample run whose CPU time, per process of `sources`, is measured across the run (the
 * processes of the system under test and the load generator: bench/lib/cpu.ts).
 */
export function metered(
  sources: readonly CpuSource[],
  run: (seconds: number) => Promise<Sample>,
): (seconds: number) => Promise<Sample> {
  return async (seconds) => {
    const end = cpuSpan(sources);
    const s = await run(seconds);
    s.cpu = end();
    return s;
  };
}

export function toMeasurement(label: string, unit: string, samples: Sample[], cpuNote?: string): Measurement {
  const latency = new LatencyRecorder();
  const errors: Record<string, number> = {};
  let ok = 0;
  let seconds = 0;
  const spans: CpuSpan[] = [];
  for (const s of samples) {
    if (s.cpu) spans.push(s.cpu);
    ok += s.ok;
    seconds += s.seconds;
    latency.addAll(s.latency);
    for (const [k, v] of s.errors) errors[k] = (errors[k] ?? 0) + v;
  }
  return {
    label,
    unit,
    perSec: seconds > 0 ? ok / seconds : 0,
    ok,
    errors,
    seconds,
    latencyMs: latency.count ? latency.summary() : undefined,
    histogram: latency.count ? latency.histogram() : undefined,
    cpu: cpuFigures(spans, ok, cpuNote),
  };
}

/** How a response status counts: a success, an expected intermediate answer (a 401 challenge), or a failure. */
export type Classify = (status: number) => "ok" | "step" | "error";
export const ok2xx: Classify = (s) => (s >= 200 && s < 300 ? "ok" : "error");

export interface AutocannonRun {
  /** or a function of the sample, for requests that record their own outcomes in it */
  opts: autocannon.Options | ((s: Sample) => autocannon.Options);
  classify?: Classify;
  /** false when the caller records latencies itself (e.g. per bootstrap, across two requests) */
  recordLatency?: boolean;
}

/**
 * An autocannon window lasts its seconds and, on a machine too busy to finish an operation in
 * them (an operation of several requests, such as a bootstrap, stops at the window's end), on
 * until one finished, well or not: a window with nothing done measures nothing. It ends at this
 * many seconds past its time, with the cause below counted as an error (the subject hangs).
 */
export const MAX_WINDOW_EXTENSION_S = 60;
export const NOTHING_COMPLETED = `no operation completed within ${MAX_WINDOW_EXTENSION_S} s past the window`;

/** After its window an autocannon run stops at the first operation done (or at the extension's end). */
export async function runAutocannon(run: AutocannonRun): Promise<Sample> {
  const s = newSample();
  const opts = typeof run.opts === "function" ? run.opts(s) : run.opts;
  const classify = run.classify ?? ok2xx;
  const record = run.recordLatency !== false;
  const started = performance.now();
  const windowMs = opts.duration === undefined ? undefined : Number(opts.duration) * 1000;
  await new Promise<autocannon.Result>((resolve, reject) => {
    let over = false;
    let timer: NodeJS.Timeout | undefined;
    const instance = autocannon(
      windowMs === undefined ? opts : { ...opts, duration: windowMs / 1000 + MAX_WINDOW_EXTENSION_S },
      (err, result) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(result);
      },
    );
    if (windowMs !== undefined) {
      timer = setTimeout(() => {
        over = true;
        if (s.ok > 0 || s.errors.size > 0) instance.stop();
      }, windowMs);
    }
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      const c = classify(status);
      if (c === "ok") {
        s.ok++;
        if (record) s.latency.add(ms);
      } else if (c === "error") countError(s, `HTTP ${status}`);
      if (over && c !== "step") instance.stop();
    });
    instance.on("reqError", (err: unknown) => {
      countError(s, causeOf(err));
      if (over) instance.stop();
    });
  });
  if (s.ok === 0 && s.errors.size === 0 && windowMs !== undefined) countError(s, NOTHING_COMPLETED);
  s.seconds = (performance.now() - started) / 1000;
  return s;
}

/**
 * `concurrency` loops each running `op` back to back for `seconds` (or, with `rate`, starting
 * ops on a fixed schedule of `rate` per second over all loops); an op that throws counts as a
 * failure by cause. For work autocannon cannot drive (TLS handshakes). An op running when the
 * window ends is awaited, so a window always has at least one op done.
 */
export async function runClosedLoop(
  op: () => Promise<void>,
  concurrency: number,
  seconds: number,
  rate?: number,
): Promise<Sample> {
  const s = newSample();
  const start = performance.now();
  const end = start + seconds * 1000;
  let issued = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        if (rate !== undefined) {
          const due = start + (issued++ * 1000) / rate;
          if (due >= end) break;
          if (due > performance.now()) await sleep(due - performance.now());
        }
        const t0 = performance.now();
        try {
          await op();
          s.ok++;
          s.latency.add(performance.now() - t0);
        } catch (err) {
          countError(s, causeOf(err));
        }
      }
    }),
  );
  s.seconds = (performance.now() - start) / 1000;
  return s;
}

/**
 * Runs every system's sample in turn, `rounds` times over (A B A B ...), after one untimed
 * warm-up of each; returns the samples per system in the order given. `balanced`: each round
 * runs the systems forward and then backward for half the time each (A B B A), so none is
 * always the one that follows the other's load (a same-machine comparison of two near-equal
 * systems needs it: going first costs measurably).
 */
export async function interleave(
  systems: Array<(seconds: number) => Promise<Sample>>,
  o: { seconds: number; rounds: number; warmupSeconds: number; balanced?: boolean },
): Promise<Sample[][]> {
  if (o.warmupSeconds > 0) for (const run of systems) await run(o.warmupSeconds);
  const out: Sample[][] = systems.map(() => []);
  const order = [...systems.entries()];
  const passes = o.balanced ? [order, [...order].reverse()] : [order];
  for (let r = 0; r < o.rounds; r++) {
    for (const pass of passes) {
      for (const [i, run] of pass) out[i].push(await run(o.seconds / o.rounds / passes.length));
    }
  }
  return out;
}
