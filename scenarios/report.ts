// The run's JSON report (per-step counts and percentiles, load figures, failures with their
// reasons, assertions) and the table printed at the end. Identifiers only: no key material.
import { cpuText } from "../bench/lib/cpu.js";
import { rssText } from "../bench/lib/rss.js";
import type { FlowResult } from "./engine/events.js";
import type { Plan, PlannedDevice } from "./plan.js";
import { errorsByCause, type Results } from "./results.js";
import type { StepFigures } from "./stats.js";
import { type AssertionResult, assertionsHold, type DeviceVerdict, type LoadFigures } from "./verdict.js";

export interface DeviceRow {
  obu: string;
  vehicle: string;
  group: string;
  gbaType: string;
  tunnel: string;
  expected: PlannedDevice["expect"];
  outcome: string;
  asDesigned: boolean;
  why?: string;
  steps: Array<{ step: string; ms: number; ok: boolean }>;
  ms: number;
  bootstraps: number;
  rebootstraps: number;
  resyncs: number;
  failure?: FlowResult["failure"];
}

export interface Report {
  scenario: string;
  file: string;
  backend: string;
  startedAt: string;
  wallMs: number;
  ok: boolean;
  devices: DeviceRow[];
  functional: { wallMs: number; steps: Record<string, StepFigures>; errors: Record<string, number> };
  load?: LoadFigures;
  failures: Array<{
    phase: string;
    obu: string;
    step: string;
    status?: number;
    cause: string;
    message: string;
    expected: boolean;
  }>;
  assertions: AssertionResult[];
  /** USIM files, HSS subscribers and ECA bindings written before the NFs started, with their times */
  provisioning?: Provisioning;
  /** peak resident memory (VmHWM) per process, bytes */
  peakRss?: Record<string, number>;
  /** what the topology measured beyond the flows (multi-host: Zn p99, resyncs, lost sessions, faults) */
  topology?: Record<string, number | string>;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** What one part of the provisioning wrote, and how long it took. */
export interface Provisioned {
  count: number;
  ms: number;
}

/** The run's provisioning, part by part (issue 18 goal 5 reports each). */
export interface Provisioning {
  usims: Provisioned;
  subscribers: Provisioned;
  bindings: Provisioned;
}

export const secondsText = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function provisioningText(p: Provisioning): string {
  return (
    `${p.subscribers.count} subscribers and ${p.bindings.count} vehicle bindings provisioned, ${p.usims.count} USIMs ` +
    `(${secondsText(p.usims.ms + p.subscribers.ms + p.bindings.ms)}: USIMs ${secondsText(p.usims.ms)}, HSS ${secondsText(p.subscribers.ms)}, ECA ${secondsText(p.bindings.ms)})`
  );
}

export function deviceRow(d: PlannedDevice, f: FlowResult | undefined, v: DeviceVerdict): DeviceRow {
  return {
    obu: d.obu,
    vehicle: d.vehicle,
    group: d.group,
    gbaType: d.uicc,
    tunnel: d.tunnel,
    expected: d.expect,
    outcome: v.outcome,
    asDesigned: v.asDesigned,
    why: v.why,
    steps: (f?.steps ?? []).map((s) => ({ ...s, ms: r1(s.ms) })),
    ms: r1(f?.ms ?? 0),
    bootstraps: f?.bootstraps ?? 0,
    rebootstraps: f?.rebootstraps ?? 0,
    resyncs: f?.resyncs ?? 0,
    failure: f?.failure,
  };
}

export function buildReport(o: {
  plan: Plan;
  file: string;
  backend: string;
  startedAt: Date;
  wallMs: number;
  rows: DeviceRow[];
  results: Results;
  load?: LoadFigures;
  assertions: AssertionResult[];
  provisioning?: Provisioning;
  peakRss?: Record<string, number>;
  topology?: Record<string, number | string>;
}): Report {
  const { results } = o;
  const fn = results.functional;
  const expectedDenied = new Set(o.rows.filter((r) => r.asDesigned && r.failure).map((r) => r.obu));
  const failures = [...fn.flows, ...results.load.flows]
    .filter((f) => f.failure)
    .map((f) => ({
      phase: f.phase,
      obu: f.obu,
      step: f.failure!.step,
      status: f.failure!.status,
      cause: f.failure!.cause,
      message: f.failure!.message,
      expected: f.phase === "functional" && expectedDenied.has(f.obu),
    }));
  return {
    scenario: o.plan.name,
    file: o.file,
    backend: o.backend,
    startedAt: o.startedAt.toISOString(),
    wallMs: Math.round(o.wallMs),
    ok: assertionsHold(o.assertions),
    devices: o.rows,
    functional: {
      wallMs: Math.round((fn.endedAtMs ?? 0) - (fn.startedAtMs ?? 0)),
      steps: fn.steps.figures(),
      errors: errorsByCause(fn.flows),
    },
    load: o.load,
    failures,
    assertions: o.assertions,
    provisioning: o.provisioning,
    peakRss: o.peakRss,
    ...(o.topology ? { topology: o.topology } : {}),
  };
}

/** PASS, FAIL, or WARN for a timing assertion that missed its bound in a --timing-advisory run. */
export function assertionMark(a: AssertionResult): string {
  return a.ok ? "PASS" : a.advisory ? "WARN" : "FAIL";
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => [...r[i]].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + " ".repeat(widths[i] - [...c].length))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function stepsCell(r: DeviceRow, planned: number): string {
  const ok = r.steps.filter((s) => s.ok).length;
  const failed = r.steps.find((s) => !s.ok);
  return failed ? `${ok}/${planned} (${failed.step})` : `${ok}/${planned}`;
}

export const DEVICE_COLUMNS = ["", "OBU", "vehicle", "GBA type", "tunnel", "outcome", "steps", "ms"];

/** One OBU's row of the summary table (terminal and HTML report alike). */
export function deviceCells(r: DeviceRow, plannedSteps: number): string[] {
  return [
    r.asDesigned ? "✓" : "✗",
    r.obu,
    r.vehicle,
    r.gbaType,
    r.tunnel,
    r.asDesigned && r.failure ? `${r.outcome} (as designed)` : r.why ? `${r.outcome} — ${r.why}` : r.outcome,
    stepsCell(r, plannedSteps),
    String(Math.round(r.ms)),
  ];
}

/** One row per OBU, then the step percentiles, the load figures and the assertions. */
export function renderSummary(report: Report, plan: Plan, withDevices: boolean): string {
  const out: string[] = [];
  const planned = new Map(plan.devices.map((d) => [d.obu, d.flow.length]));
  if (withDevices) {
    out.push(
      table(
        DEVICE_COLUMNS,
        report.devices.map((r) => deviceCells(r, planned.get(r.obu) ?? r.steps.length)),
      ),
      "",
    );
  }
  const stepRows = (steps: Record<string, StepFigures>) =>
    Object.entries(steps)
      .filter(([name]) => name !== "wait")
      .map(([name, f]) => [name, String(f.ok), String(f.failed), String(f.p50), String(f.p95), String(f.p99), String(f.max)]);
  out.push("functional phase, ms per step:");
  out.push(table(["step", "ok", "failed", "p50", "p95", "p99", "max"], stepRows(report.functional.steps)), "");
  const l = report.load;
  if (l) {
    out.push(
      `load phase (${l.driver}): ${l.mode === "rate" ? `${l.targetRate}/s${l.poisson ? " Poisson" : ""}` : `${l.concurrency} concurrent`}` +
        `${l.rampSeconds ? `, ${l.rampSeconds} s ramp` : ""}, ${l.durationS} s: ${l.arrivals} arrivals, ${l.ok} ok, ${l.failed} failed` +
        `${l.notStarted ? `, ${l.notStarted} not started` : ""}${l.unfinished ? `, ${l.unfinished} unfinished` : ""}`,
    );
    out.push(
      `  offered ${l.offeredRate}/s, achieved ${l.achievedRate}/s, shed ${l.shedRate}/s (${l.shed} arrivals; bound ${l.inFlightBound ?? "none"} in flight, max ${l.maxInFlight}); steady ${l.steady ? "yes" : "no"}`,
      `  ${l.enrolmentsPerSecond} enrolments/s, ${l.bootstrapsPerSecond} bootstraps/s`,
    );
    out.push(table(["step", "ok", "failed", "p50", "p95", "p99", "max"], stepRows(l.steps)));
    if (l.cpu) out.push(`  CPU per successful flow: ${cpuText(l.cpu)}`);
    for (const [cause, n] of Object.entries(l.errors)) out.push(`  error ${cause}: ${n}`);
    out.push("");
  }
  if (report.provisioning) out.push(`provisioning: ${provisioningText(report.provisioning)}`);
  if (report.peakRss && Object.keys(report.peakRss).length) out.push(`peak RSS: ${rssText(report.peakRss)}`);
  if (report.topology) {
    out.push(`topology (${report.backend}):`);
    for (const [k, v] of Object.entries(report.topology)) out.push(`  ${k}: ${v}`);
    out.push("");
  }
  for (const a of report.assertions) out.push(`${assertionMark(a)} ${a.name}: ${a.detail}`);
  out.push(`${report.ok ? "PASS" : "FAIL"} ${report.scenario} (${report.backend}, ${(report.wallMs / 1000).toFixed(1)} s)`);
  return out.join("\n");
}
