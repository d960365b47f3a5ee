// One Ub bootstrapping as an autocannon conversation (TS 33.220 §4.5.2, TS 24.109 A.3/A.4): the
// device's load UE (ue/load-ue.ts) runs the Ub client's steps, answering the BSF's 401 AKA
// challenge with its own USIM side when the challenge arrives; each request it hands out goes as
// the next one. Failures carry the Ub client's codes and texts, so both load drivers group alike.
import type { FlowFailure } from "../engine/events.js";
import type { LoadUbStep, LoadUe, UbKeys } from "../../ue/load-ue.js";
import { type UbRequest, ubHeaders } from "../../ue/ub/run.js";
import type { Conversation } from "./gate.js";

export type BootstrapOutcome = { ok: true; keys: UbKeys; resyncs: number } | { ok: false; failure: FlowFailure; resyncs: number };

export function bootstrapConversation(ue: LoadUe, o: { realm: string }, done: (r: BootstrapOutcome) => void): Conversation {
  const run = ue.bootstrap(o.realm);
  let request: UbRequest = run.first();
  const failure = (cause: string, message: string): BootstrapOutcome => ({
    ok: false,
    failure: { step: "bootstrap", cause, message },
    resyncs: run.resyncs,
  });
  /** the outcome when the step ends the bootstrapping; else the next request is set */
  const judge = (step: LoadUbStep): BootstrapOutcome | undefined => {
    if (step.kind === "send") {
      request = step.request;
      return undefined;
    }
    if (step.kind === "done") return { ok: true, keys: step.keys, resyncs: run.resyncs };
    return failure(step.error.code, step.error.message);
  };
  return {
    next: () => ({ method: request.method, path: request.uri, headers: ubHeaders(request) }),
    answer(status, headers, body) {
      let outcome: BootstrapOutcome | undefined;
      try {
        outcome = judge(run.next({ status, headers, body: new Uint8Array(body) }));
      } catch (err) {
        const e = err as Error;
        outcome = failure(e.name ?? "ERROR", e.message ?? String(err));
      }
      if (outcome !== undefined) done(outcome);
      return outcome !== undefined;
    },
    lost(cause) {
      done(judge(run.lost(`no answer from the BSF (${cause})`)) as BootstrapOutcome);
    },
  };
}
