// A scenario run as the dashboard shows it (`gba scenario run --dashboard`): progress computed
// from the run's Results while it runs, the report's HTML fragment once it ended.
import type { ScenarioFeed } from "../dashboard/scenario-feed.js";
import type { Report } from "./report.js";
import { reportHtmlFragment } from "./report-html.js";
import type { PhaseResults, Results } from "./results.js";

export interface ScenarioSnapshot {
  name: string;
  backend: string;
  state: "starting" | "functional" | "load" | "done";
  /** 0..1 of the current phase */
  fraction: number;
  functional: { devices: number; done: number; ok: number; refused: number; failed: number; steps: Record<string, number> };
  load?: { plannedS?: number; elapsedS: number; flows: number; ok: number; failed: number; perSecond: number[] };
  ok?: boolean;
}

function outcomes(p: PhaseResults): { ok: number; refused: number; failed: number } {
  let ok = 0;
  let refused = 0;
  let failed = 0;
  for (const f of p.flows) {
    if (f.outcome === "success") ok++;
    else if (f.outcome === "denied") refused++;
    else failed++;
  }
  return { ok, refused, failed };
}

export class RunFeed implements ScenarioFeed {
  version = 0;
  private report: Report | undefined;
  private html: string | undefined;

  constructor(
    private readonly results: Results,
    private readonly run: { name: string; backend: string; loadSeconds?: number },
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The run reported something (an engine event). */
  changed(): void {
    this.version++;
  }

  finish(report: Report): void {
    this.report = report;
    this.html = reportHtmlFragment(report);
    this.version++;
  }

  snapshot(): ScenarioSnapshot {
    const fn = this.results.functional;
    const ld = this.results.load;
    const f = outcomes(fn);
    const snap: ScenarioSnapshot = {
      name: this.run.name,
      backend: this.run.backend,
      state: this.report ? "done" : ld.started ? "load" : fn.started ? "functional" : "starting",
      fraction: 0,
      functional: { devices: fn.devices, done: fn.flows.length, ...f, steps: Object.fromEntries(fn.stepOk) },
    };
    if (ld.started) {
      const elapsedMs = ((ld.ended ? ld.endedAtMs : this.now()) ?? 0) - (ld.startedAtMs ?? 0);
      const perSecond: number[] = [];
      for (const flow of ld.flows) {
        if (flow.outcome !== "success") continue;
        const s = Math.floor(flow.endedAt / 1000);
        while (perSecond.length <= s) perSecond.push(0);
        perSecond[s]++;
      }
      const l = outcomes(ld);
      snap.load = {
        plannedS: this.run.loadSeconds,
        elapsedS: elapsedMs / 1000,
        flows: ld.flows.length,
        ok: l.ok,
        failed: l.refused + l.failed,
        perSecond,
      };
    }
    if (this.report) {
      snap.ok = this.report.ok;
      snap.fraction = 1;
    } else if (snap.load) snap.fraction = this.run.loadSeconds ? Math.min(1, snap.load.elapsedS / this.run.loadSeconds) : 0;
    else if (fn.devices > 0) snap.fraction = fn.flows.length / fn.devices;
    return snap;
  }

  reportHtml(): string | undefined {
    return this.html;
  }
}
