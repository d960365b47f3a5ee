// What every benchmark returns and `gba bench` writes: measurements of the system under test
// and of its same-run baseline, the ratio between them and the target it is held to.
import type { CpuFigures } from "./cpu.js";
import type { Histogram, LatencySummary } from "./latency.js";
import type { MachineInfo } from "./machine.js";

export interface Measurement {
  /** what was measured, e.g. "BSF bootstraps (2 Ub + Zh)" */
  label: string;
  /** what one operation is, e.g. "bootstrap", "request", "handshake", "AV" */
  unit: string;
  /** successful operations per second */
  perSec: number;
  ok: number;
  /** failed operations by cause ("HTTP 503", "ECONNRESET", "timeout", "USIM refused", ...) */
  errors: Record<string, number>;
  seconds: number;
  /** latency of successful operations in ms; absent for CPU-bound loops */
  latencyMs?: LatencySummary;
  histogram?: Histogram;
  /** CPU µs per operation and cores busy, per process (the system's NFs and the load generator) */
  cpu?: CpuFigures;
}

export interface Goal {
  /** "min": ratio ≥ value; "max": ratio ≤ value */
  kind: "min" | "max";
  value: number;
  met: boolean;
}

/** One row of the report: the subject against its baseline. */
export interface Comparison {
  name: string;
  subject: Measurement;
  baseline: Measurement;
  /** how the ratio is formed, e.g. "bootstraps/s ÷ stub-chain bootstraps/s (2 Ub + 2 Zh)" */
  ratioOf: string;
  ratio: number;
  goal?: Goal;
}

export interface BenchResult {
  bench: string;
  title: string;
  /** "built-in" (our NFs started by the bench) or the external URL */
  target: string;
  machine: MachineInfo;
  config: Record<string, unknown>;
  comparisons: Comparison[];
  /** figures that are not a ratio (memory, store sizes), name → value */
  facts?: Record<string, number | string>;
  notes?: string[];
}

export function goal(kind: Goal["kind"], value: number, ratio: number): Goal {
  return { kind, value, met: kind === "min" ? ratio >= value : ratio <= value };
}

/** subject ÷ (baseline ÷ divisor), with the goal when the bench has one. */
export function compare(
  name: string,
  subject: Measurement,
  baseline: Measurement,
  o: { ratioOf: string; divisor?: number; goal?: { kind: Goal["kind"]; value: number } },
): Comparison {
  const floor = baseline.perSec / (o.divisor ?? 1);
  const ratio = floor > 0 ? subject.perSec / floor : 0;
  return { name, subject, baseline, ratioOf: o.ratioOf, ratio, goal: o.goal && goal(o.goal.kind, o.goal.value, ratio) };
}

export function totalErrors(m: Measurement): number {
  return Object.values(m.errors).reduce((a, b) => a + b, 0);
}
