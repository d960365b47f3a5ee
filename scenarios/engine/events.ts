// What the UE population reports while it runs: one event per step, one per finished flow, the
// recorded diagram and the load phase's totals. The same events travel as JSON lines when the
// population runs in its own process (netns backend), so they hold no key material.
import type { LoadOutcome } from "../load/driver.js";
import type { DiagramItem } from "./diagram-recorder.js";

export type Phase = "functional" | "load";

/** Where the UE population reaches the NFs (URLs as seen from the UE). */
export interface Endpoints {
  bsfUb: string;
  bsfFqdn: string;
  nafHttp: string;
  nafTlsPsk: string;
  nafFqdn: string;
  ecaHttp: string;
  ecaTlsPsk: string;
  ecaFqdn: string;
}

export interface FlowFailure {
  step: string;
  /** HTTP status of a NAF / ECA answer, when the failure was one */
  status?: number;
  /** ProblemDetails cause, UE error code or error name: what failures are grouped by */
  cause: string;
  message: string;
}

export interface StepRecord {
  step: string;
  ms: number;
  ok: boolean;
}

export interface FlowResult {
  obu: string;
  phase: Phase;
  outcome: "success" | "denied" | "failed";
  failure?: FlowFailure;
  steps: StepRecord[];
  ms: number;
  /** Ub runs that ended with a B-TID */
  bootstraps: number;
  /** bootstrappings dropped because a NAF refused the B-TID (TS 24.109 §5.2.5) */
  rebootstraps: number;
  /** AKA synchronisation failures answered with AUTS */
  resyncs: number;
  /** ms since the phase started, when the flow started and when it ended */
  startedAt: number;
  endedAt: number;
}

/** The failed flow of a device that could not be opened (step "open", the error's code or name as cause). */
export function openFailure(obu: string, phase: Phase, err: unknown, startedAt: number, endedAt: number): FlowResult {
  const e = err as Error & { code?: string };
  return {
    obu,
    phase,
    outcome: "failed",
    failure: { step: "open", cause: e.code ?? e.name, message: e.message },
    steps: [],
    ms: endedAt - startedAt,
    bootstraps: 0,
    rebootstraps: 0,
    resyncs: 0,
    startedAt,
    endedAt,
  };
}

export type EngineEvent =
  | { t: "step"; phase: Phase; obu: string; step: string; ms: number; ok: boolean }
  | { t: "flow"; result: FlowResult }
  | { t: "phase"; phase: Phase; state: "start" | "end"; devices: number }
  | { t: "diagram"; obu: string; items: DiagramItem[] }
  | { t: "load-done"; outcome: LoadOutcome }
  | { t: "error"; message: string };

export type Emit = (e: EngineEvent) => void;
