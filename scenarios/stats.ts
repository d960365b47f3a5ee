// Latency samples per step and their percentiles (nearest-rank, as load tools report them).

export interface StepFigures {
  count: number;
  ok: number;
  failed: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted samples: the smallest value with at least p% of samples ≤ it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** Samples of one step: latencies of successful runs, and counts. */
export class StepSamples {
  private readonly ms: number[] = [];
  ok = 0;
  failed = 0;

  add(ms: number, ok: boolean): void {
    if (ok) {
      this.ok++;
      this.ms.push(ms);
    } else this.failed++;
  }

  figures(): StepFigures {
    const s = [...this.ms].sort((a, b) => a - b);
    const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0;
    return {
      count: this.ok + this.failed,
      ok: this.ok,
      failed: this.failed,
      p50: round(percentile(s, 50)),
      p90: round(percentile(s, 90)),
      p95: round(percentile(s, 95)),
      p99: round(percentile(s, 99)),
      max: round(s.length ? s[s.length - 1] : 0),
      mean: round(mean),
    };
  }
}

/** Step name → samples, in the order steps were first seen. */
export class StepTable {
  private readonly steps = new Map<string, StepSamples>();

  add(step: string, ms: number, ok: boolean): void {
    let s = this.steps.get(step);
    if (!s) {
      s = new StepSamples();
      this.steps.set(step, s);
    }
    s.add(ms, ok);
  }

  get(step: string): StepSamples | undefined {
    return this.steps.get(step);
  }

  counts(): Record<string, { ok: number; failed: number }> {
    return Object.fromEntries([...this.steps].map(([k, v]) => [k, { ok: v.ok, failed: v.failed }]));
  }

  figures(): Record<string, StepFigures> {
    return Object.fromEntries([...this.steps].map(([k, v]) => [k, v.figures()]));
  }
}
