// Latency samples of one measurement: every sample is kept (a few hundred thousand doubles at
// most), so percentiles are exact (nearest rank, as load tools report them) and the histogram
// for the report is drawn from the same data.
import { percentile } from "../../scenarios/stats.js";

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Log-spaced buckets: `upperMs[i]` is the upper bound of bucket i, `counts[i]` how many fell in it. */
export interface Histogram {
  upperMs: number[];
  counts: number[];
}

const BUCKETS_PER_DECADE = 10;
const round = (ms: number) => Math.round(ms * 1000) / 1000;

export class LatencyRecorder {
  private samples = new Float64Array(4096);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.n++] = ms;
  }

  addAll(other: LatencyRecorder): void {
    for (let i = 0; i < other.n; i++) this.add(other.samples[i]);
  }

  get count(): number {
    return this.n;
  }

  private sorted(): Float64Array {
    return this.samples.slice(0, this.n).sort();
  }

  summary(): LatencySummary {
    const s = this.sorted();
    const arr = s as unknown as number[];
    let sum = 0;
    for (let i = 0; i < s.length; i++) sum += s[i];
    return {
      count: s.length,
      mean: round(s.length ? sum / s.length : 0),
      p50: round(percentile(arr, 50)),
      p95: round(percentile(arr, 95)),
      p99: round(percentile(arr, 99)),
      max: round(s.length ? s[s.length - 1] : 0),
    };
  }

  /** Buckets from the decade below the fastest sample to the one above the slowest. */
  histogram(): Histogram {
    if (this.n === 0) return { upperMs: [], counts: [] };
    const s = this.sorted();
    const lo = Math.floor(Math.log10(Math.max(s[0], 0.001)));
    const hi = Math.ceil(Math.log10(Math.max(s[s.length - 1], 0.001)));
    const upperMs: number[] = [];
    for (let e = lo * BUCKETS_PER_DECADE + 1; e <= Math.max(hi, lo + 1) * BUCKETS_PER_DECADE; e++)
      upperMs.push(10 ** (e / BUCKETS_PER_DECADE));
    const counts = new Array<number>(upperMs.length).fill(0);
    let b = 0;
    for (let i = 0; i < s.length; i++) {
      while (b < upperMs.length - 1 && s[i] > upperMs[b]) b++;
      counts[b]++;
    }
    return { upperMs: upperMs.map((u) => Number(u.toPrecision(3))), counts };
  }
}
