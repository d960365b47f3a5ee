// One Ub bootstrapping as an autocannon conversation (TS 33.220 §4.5.2, TS 24.109 A.3/A.4): the
// first GET with the IMPI, the answer to the BSF's 401 AKA challenge computed by the device's
// USIM side (ue/load-ue.ts) when the challenge arrives and sent by the next request, one
// resynchronisation at most, and the BSF's 200 checked (rspauth, BootstrappingInfo) as the Ub
// client checks it. Failures carry the Ub client's error codes, so both load drivers group alike.
import type { FlowFailure } from "../engine/events.js";
import type { LoadUe, UbKeys, UbTurn } from "../../ue/load-ue.js";
import { type HttpAnswer, MAX_RESYNCS, UbError } from "../../ue/ub-client.js";
import { PRODUCT_TOKEN, withProductToken } from "../../wire/ub.js";
import type { Conversation } from "./gate.js";

/** TS 24.109 A.3 User-Agent; "3gpp-gba-uicc" announces a GBA_U capable UICC. */
const USER_AGENT = "gba-emu load UE; Release-6";

export type BootstrapOutcome = { ok: true; keys: UbKeys; resyncs: number } | { ok: false; failure: FlowFailure; resyncs: number };

export function bootstrapConversation(
  ue: LoadUe,
  o: { realm: string; gbaU: boolean },
  done: (r: BootstrapOutcome) => void,
): Conversation {
  const userAgent = o.gbaU ? withProductToken(USER_AGENT, PRODUCT_TOKEN.GBA_UICC) : USER_AGENT;
  let authorization = ue.initialAuthorization(o.realm);
  let sent: UbTurn | undefined;
  let resyncs = 0;
  const failure = (cause: string, message: string): BootstrapOutcome => ({
    ok: false,
    failure: { step: "bootstrap", cause, message },
    resyncs,
  });
  const macFailure = () =>
    failure("NETWORK_AUTH_FAILED", "the USIM rejected the BSF's AUTN (MAC failure): network authentication failed");
  /** the outcome when the answer ends the bootstrapping; else the next request is set */
  const judge = (a: HttpAnswer): BootstrapOutcome | undefined => {
    if (sent?.kind === "mac-failure") return macFailure();
    if (sent?.kind === "answer") return { ok: true, keys: sent.accept(a), resyncs };
    const turn = ue.respond(a);
    if (turn.kind === "resync") {
      if (resyncs >= MAX_RESYNCS)
        return failure("RESYNC_FAILED", "the USIM reported a synchronisation failure again after one resynchronisation");
      resyncs++;
    }
    sent = turn;
    authorization = turn.authorization;
    return undefined;
  };
  return {
    next: () => ({ method: "GET", path: "/", headers: { authorization, "user-agent": userAgent } }),
    answer(status, headers, body) {
      let outcome: BootstrapOutcome | undefined;
      try {
        outcome = judge({ status, headers, body: new Uint8Array(body) });
      } catch (err) {
        const e = err as Error;
        outcome = err instanceof UbError ? failure(err.code, err.message) : failure(e.name ?? "ERROR", e.message ?? String(err));
      }
      if (outcome !== undefined) done(outcome);
      return outcome !== undefined;
    },
    lost(cause) {
      // the UE gives up on the BSF after a MAC failure whether the report is answered or not
      done(sent?.kind === "mac-failure" ? macFailure() : failure("TRANSPORT", `no answer from the BSF (${cause})`));
    },
  };
}
