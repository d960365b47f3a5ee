// Throughput of synchronous operations: warm up, then several timed samples; the median
// sample is the figure (robust against a GC pause or a noisy neighbour in one sample).
// measureAll interleaves the samples of several operations, so that load from elsewhere on
// the machine hits all of them alike and their ratios stay meaningful.

export interface Throughput {
  /** median operations per second over the samples */
  opsPerSec: number;
  samples: number[];
  operations: number;
  /** timed seconds over all samples */
  seconds: number;
  /** CPU µs of this process over all samples (process.cpuUsage) */
  cpuUs: number;
}

export interface MeasureOptions {
  /** total timed duration in milliseconds, split into `samples` */
  durationMs: number;
  samples?: number;
  /** untimed warm-up in milliseconds (JIT) */
  warmupMs?: number;
}

const BATCH = 256;

function runFor(fn: () => unknown, ms: number): { operations: number; seconds: number; cpuUs: number } {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(ms * 1e6));
  let operations = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < BATCH; i++) fn();
    operations += BATCH;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpu0);
  return { operations, seconds: Number(now - start) / 1e9, cpuUs: cpu.user + cpu.system };
}

export function measure(fn: () => unknown, options: MeasureOptions): Throughput {
  return measureAll({ fn }, options).fn;
}

export function measureAll<K extends string>(fns: Record<K, () => unknown>, options: MeasureOptions): Record<K, Throughput> {
  const names = Object.keys(fns) as K[];
  const samples = options.samples ?? 5;
  for (const name of names) runFor(fns[name], options.warmupMs ?? Math.min(500, options.durationMs / 4));
  const rates = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  const operations = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  const seconds = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  const cpuUs = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  for (let s = 0; s < samples; s++) {
    for (const name of names) {
      const r = runFor(fns[name], options.durationMs / samples);
      rates[name].push(r.operations / r.seconds);
      operations[name] += r.operations;
      seconds[name] += r.seconds;
      cpuUs[name] += r.cpuUs;
    }
  }
  const result = {} as Record<K, Throughput>;
  for (const name of names) {
    const sorted = [...rates[name]].sort((a, b) => a - b);
    result[name] = {
      opsPerSec: sorted[Math.floor(sorted.length / 2)],
      samples: rates[name],
      operations: operations[name],
      seconds: seconds[name],
      cpuUs: cpuUs[name],
    };
  }
  return result;
}
