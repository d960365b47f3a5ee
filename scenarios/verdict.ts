// Did each OBU behave as designed, what did the load phase achieve, and do the scenario's
// assertions hold.
import type { CpuFigures } from "../bench/lib/cpu.js";
import type { FlowResult } from "./engine/events.js";
import type { LoadPlan } from "./load/driver.js";
import type { PlannedDevice } from "./plan.js";
import { FLOW_TIMEOUT_CAUSE } from "./engine/load-flow.js";
import { errorsByCause, type Results } from "./results.js";
import { percentile, type StepFigures } from "./stats.js";
import type { Scenario } from "./types.js";

export interface DeviceVerdict {
  asDesigned: boolean;
  /** e.g. "enrolled", "enrolled after resync", "refused 403 MSISDN_MISMATCH", "failed at enrol: ..." */
  outcome: string;
  /** why it is not as designed */
  why?: string;
}

export function judgeDevice(d: PlannedDevice, f: FlowResult | undefined): DeviceVerdict {
  if (!f) return { asDesigned: false, outcome: "did not run", why: "the run ended before this OBU's flow" };
  const enrols = d.flow.includes("enrol");
  let outcome: string;
  if (f.outcome === "success") {
    const how = [f.rebootstraps > 0 ? "re-bootstrap" : "", f.resyncs > 0 ? "resync" : ""].filter(Boolean).join(" + ");
    outcome = `${enrols ? "enrolled" : "ok"}${how ? ` after ${how}` : ""}`;
  } else if (f.outcome === "denied") outcome = `refused ${f.failure?.status} ${f.failure?.cause}`;
  else outcome = `failed at ${f.failure?.step}: ${f.failure?.cause}`;

  const e = d.expect;
  const why: string[] = [];
  if (f.outcome !== e.outcome) why.push(`expected ${e.outcome === "denied" ? "a refusal" : "success"}`);
  if (e.outcome === "denied" && f.outcome === "denied") {
    if (e.status !== undefined && f.failure?.status !== e.status) why.push(`expected status ${e.status}`);
    if (e.reason !== undefined && f.failure?.cause !== e.reason) why.push(`expected cause ${e.reason}`);
  }
  if (e.rebootstrap === true && f.rebootstraps === 0) why.push("expected a re-bootstrap after the NAF refused the B-TID");
  if (e.rebootstrap === false && f.rebootstraps > 0) why.push("expected no re-bootstrap");
  if (e.resync === true && f.resyncs === 0) why.push("expected an AKA resynchronisation");
  if (e.resync === false && f.resyncs > 0) why.push("expected no resynchronisation");
  return { asDesigned: why.length === 0, outcome, why: why.length ? why.join("; ") : undefined };
}

export interface LoadFigures {
  /** who made the arrivals */
  driver: "scheduler" | "autocannon";
  mode: "rate" | "concurrency";
  targetRate?: number;
  concurrency?: number;
  poisson: boolean;
  rampSeconds: number;
  arrivals: number;
  started: number;
  ok: number;
  failed: number;
  notStarted: number;
  unfinished: number;
  /** seconds from the first arrival to the last */
  durationS: number;
  /** the part of the phase after the ramp, over which rates are computed */
  steadyWindowS: number;
  /** arrivals per second in the steady window (what the schedule offered) */
  offeredRate: number;
  /** flows ended successfully per second in the steady window */
  achievedRate: number;
  /** arrivals shed per second in the steady window (the in-flight bound was reached) */
  shedRate: number;
  /** arrivals shed over the whole phase: the bound on flows in flight was reached */
  shed: number;
  /** the bound on flows in flight (rate mode) */
  inFlightBound?: number;
  enrolmentsPerSecond: number;
  bootstrapsPerSecond: number;
  /** successful flows ended in each second of the phase */
  perSecond: number[];
  /** the phase kept up with its arrivals: achieved ≥ 90 % of offered, nothing shed, dropped or left running */
  steady: boolean;
  maxInFlight: number;
  queueWaitMs: { p50: number; p95: number; p99: number };
  steps: Record<string, StepFigures>;
  errors: Record<string, number>;
  /** CPU µs per successful flow and cores busy, per process, over the load phase */
  cpu?: CpuFigures;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

export function loadFigures(results: Results, plan: LoadPlan): LoadFigures | undefined {
  const o = results.loadOutcome;
  if (!o) return undefined;
  const flows = results.load.flows;
  const windowEnd = o.arrivalWindowMs;
  const rampMs = Math.min(plan.rampSeconds * 1000, windowEnd / 2);
  const windowS = Math.max(0.001, (windowEnd - rampMs) / 1000);
  const inWindow = (t: number) => t >= rampMs && t <= windowEnd;
  const okFlows = flows.filter((f) => f.outcome === "success");
  const ended = okFlows.filter((f) => inWindow(f.endedAt));
  // arrivals the schedule made in the window (a driver that does not record them: flows started)
  const offered = o.arrivalAtMs.length
    ? o.arrivalAtMs.filter(inWindow).length
    : flows.filter((f) => inWindow(f.startedAt)).length;
  const shedInWindow = o.shedAtMs.filter(inWindow).length;
  const enrolled = ended.filter((f) => f.steps.some((s) => s.step === "enrol" && s.ok)).length;
  const bootstraps = flows.filter((f) => inWindow(f.endedAt)).reduce((n, f) => n + f.bootstraps, 0);
  const perSecond = new Array(Math.max(1, Math.ceil(o.elapsedMs / 1000))).fill(0);
  for (const f of okFlows) perSecond[Math.min(perSecond.length - 1, Math.floor(f.endedAt / 1000))]++;
  const waits = [...o.queueWaitMs].sort((a, b) => a - b);
  const achievedRate = ended.length / windowS;
  const offeredRate = offered / windowS;
  return {
    driver: plan.driver ?? "scheduler",
    mode: plan.mode,
    targetRate: plan.mode === "rate" ? plan.rate : undefined,
    concurrency: plan.mode === "concurrency" ? plan.concurrency : undefined,
    poisson: plan.poisson,
    rampSeconds: plan.rampSeconds,
    arrivals: o.arrivals,
    started: o.started,
    ok: okFlows.length,
    failed: flows.length - okFlows.length,
    notStarted: o.notStarted,
    unfinished: o.unfinished,
    durationS: r2(windowEnd / 1000),
    steadyWindowS: r2(windowS),
    offeredRate: r2(offeredRate),
    achievedRate: r2(achievedRate),
    shedRate: r2(shedInWindow / windowS),
    shed: o.shed,
    inFlightBound: o.inFlightBound,
    enrolmentsPerSecond: r2(enrolled / windowS),
    bootstrapsPerSecond: r2(bootstraps / windowS),
    perSecond,
    steady: o.notStarted === 0 && o.unfinished === 0 && o.shed === 0 && offered > 0 && achievedRate >= 0.9 * offeredRate,
    maxInFlight: o.maxInFlight,
    queueWaitMs: { p50: r2(percentile(waits, 50)), p95: r2(percentile(waits, 95)), p99: r2(percentile(waits, 99)) },
    steps: results.load.steps.figures(),
    errors: errorsByCause(flows),
  };
}

/**
 * The causes a load flow may fail with when the deployment is overloaded, each declared by the
 * side that gives up: an NF shedding (503 NF_CONGESTION, TS 29.500 §5.2.7.2; the UE's Ub client
 * names the BSF's BSF_UNAVAILABLE), a NAF or ECA whose BSF did not answer Zn in time (503
 * FST_GBA_BSF_UNAVAILABLE over Digest, internal_error over TLS-PSK), a TLS handshake past its
 * timer, the load generator's flow timeout. Anything else (a reset, an authentication failure)
 * under load is a defect to find, not overload.
 */
export const OVERLOAD_CAUSES: ReadonlySet<string> = new Set([
  "NF_CONGESTION",
  "BSF_UNAVAILABLE",
  "FST_GBA_BSF_UNAVAILABLE",
  "NAF_INTERNAL_ERROR",
  "TIMEOUT",
  FLOW_TIMEOUT_CAUSE,
]);

/** The failed load flows whose cause is not a declared overload cause, counted by step and cause. */
export function undeclaredFailures(results: Results): Record<string, number> {
  return errorsByCause(results.load.flows.filter((f) => f.failure && !OVERLOAD_CAUSES.has(f.failure.cause)));
}

export interface AssertionResult {
  name: string;
  ok: boolean;
  detail: string;
  /** a bound on speed (latency, rate): it depends on the machine as much as on the code */
  timing?: true;
  /** a timing assertion the run reports without failing on it (`--timing-advisory`) */
  advisory?: true;
}

/** Whether the run holds: every assertion, a timing one only when it is not advisory. */
export function assertionsHold(as: AssertionResult[]): boolean {
  return as.every((a) => a.ok || a.advisory === true);
}

/** Marks the timing assertions advisory (`gba scenario run --timing-advisory`). */
export function timingAdvisory(as: AssertionResult[]): AssertionResult[] {
  return as.map((a) => (a.timing ? { ...a, advisory: true } : a));
}

export function checkAssertions(
  s: Scenario,
  devices: Array<{ verdict: DeviceVerdict }>,
  results: Results,
  load: LoadFigures | undefined,
): AssertionResult[] {
  const a = s.assertions ?? {};
  const out: AssertionResult[] = [];
  const designed = devices.filter((d) => d.verdict.asDesigned).length;
  const ratio = devices.length ? designed / devices.length : 0;
  const want = a.successRatio ?? 1;
  out.push({
    name: "devices as designed",
    ok: devices.length > 0 && ratio >= want,
    detail: `${designed}/${devices.length} OBUs enrolled or refused as designed (ratio ${r2(ratio)}, need ≥ ${want})`,
  });
  if (load) {
    const total = load.ok + load.failed;
    const lr = total ? load.ok / total : 0;
    const lwant = a.loadSuccessRatio ?? 1;
    out.push({
      name: "load success ratio",
      ok: total > 0 && lr >= lwant,
      detail: `${load.ok}/${total} load flows succeeded (ratio ${r2(lr)}, need ≥ ${lwant})`,
    });
    out.push({
      name: "load bounded",
      ok: load.unfinished === 0,
      detail: `${load.unfinished} flows still running at the end of the grace period, ${load.notStarted} arrivals never got a device, ${load.shed} shed at the bound of ${load.inFlightBound ?? "no"} flows in flight`,
    });
    if (a.declaredCausesOnly) {
      const undeclared = Object.entries(undeclaredFailures(results));
      out.push({
        name: "declared causes",
        ok: undeclared.length === 0,
        detail: undeclared.length
          ? `load failures without a declared overload cause: ${undeclared.map(([k, n]) => `${k} ×${n}`).join(", ")}`
          : `all ${load.failed} failed load flows carry a declared overload cause, ${load.shed} arrivals shed at the in-flight bound`,
      });
    }
    if (a.minRate !== undefined) {
      out.push({
        name: "minimum rate",
        ok: load.achievedRate >= a.minRate,
        timing: true,
        detail: `${load.achievedRate} flows/s in the steady window (need ≥ ${a.minRate})`,
      });
    }
  }
  for (const l of a.latency ?? []) {
    const phase = l.phase ?? (load ? "load" : "functional");
    if (phase === "load" && !load) {
      out.push({
        name: `${l.step} p${l.percentile} (load)`,
        ok: true,
        timing: true,
        detail: "skipped: the load phase did not run",
      });
      continue;
    }
    const f = results.phase(phase).steps.get(l.step)?.figures();
    const key = `p${l.percentile}` as "p50" | "p90" | "p95" | "p99";
    const value = f?.[key];
    out.push({
      name: `${l.step} ${key} (${phase})`,
      ok: value !== undefined && f !== undefined && f.ok > 0 && value <= l.maxMs,
      timing: true,
      detail:
        value === undefined || !f?.ok
          ? `no successful ${l.step} samples in the ${phase} phase`
          : `${value} ms (bound ${l.maxMs} ms)`,
    });
  }
  if (results.errors.length) out.push({ name: "UE population", ok: false, detail: results.errors.join("; ") });
  return out;
}
