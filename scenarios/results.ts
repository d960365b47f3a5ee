// Everything the UE population reported, gathered per phase: flows, per-step samples, failures
// grouped by cause, the load phase's totals and completions per second.
import type { DiagramItem } from "./engine/diagram-recorder.js";
import type { EngineEvent, FlowResult, Phase } from "./engine/events.js";
import type { LoadOutcome } from "./load/driver.js";
import { StepTable } from "./stats.js";

export interface PhaseResults {
  flows: FlowResult[];
  /** flows by outcome so far (live progress without a pass over every flow) */
  outcomes: Record<FlowResult["outcome"], number>;
  steps: StepTable;
  /** step name → successful runs so far (live progress) */
  stepOk: Map<string, number>;
  started: boolean;
  ended: boolean;
  startedAtMs?: number;
  endedAtMs?: number;
  devices: number;
}

function newPhase(): PhaseResults {
  return {
    flows: [],
    outcomes: { success: 0, denied: 0, failed: 0 },
    steps: new StepTable(),
    stepOk: new Map(),
    started: false,
    ended: false,
    devices: 0,
  };
}

export class Results {
  readonly functional = newPhase();
  readonly load = newPhase();
  loadOutcome: LoadOutcome | undefined;
  diagram: { obu: string; items: DiagramItem[] } | undefined;
  readonly errors: string[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  phase(p: Phase): PhaseResults {
    return p === "functional" ? this.functional : this.load;
  }

  add(e: EngineEvent): void {
    switch (e.t) {
      case "step": {
        const ph = this.phase(e.phase);
        ph.steps.add(e.step, e.ms, e.ok);
        if (e.ok) ph.stepOk.set(e.step, (ph.stepOk.get(e.step) ?? 0) + 1);
        return;
      }
      case "flow": {
        const ph = this.phase(e.result.phase);
        ph.flows.push(e.result);
        ph.outcomes[e.result.outcome]++;
        return;
      }
      case "phase": {
        const ph = this.phase(e.phase);
        ph.devices = e.devices;
        if (e.state === "start") {
          ph.started = true;
          ph.startedAtMs = this.now();
        } else {
          ph.ended = true;
          ph.endedAtMs = this.now();
        }
        return;
      }
      case "diagram":
        this.diagram = { obu: e.obu, items: e.items };
        return;
      case "load-done":
        this.loadOutcome = e.outcome;
        return;
      case "error":
        this.errors.push(e.message);
        return;
    }
  }
}

/** Failures grouped by "step: cause" with their count. */
export function errorsByCause(flows: FlowResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of flows) {
    if (!f.failure) continue;
    const key = `${f.failure.step}: ${f.failure.cause}${f.failure.status ? ` (${f.failure.status})` : ""}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
