// Zh Diameter binding of the HSS (TS 29.109 §5, §6.1): Multimedia-Auth-Request/Answer,
// application 16777221, beside the HTTP binding of routes/zh.ts and through the same Zh
// procedures. Maps their outcomes to result codes: an unknown IMPI to Experimental-Result
// 10415:5401 (TS 29.109 §6.2.2.1), a refused AUTS to DIAMETER_AUTHENTICATION_REJECTED and a
// used-up SQN space to DIAMETER_AUTHORIZATION_REJECTED (RFC 6733 §7.1.4, §7.1.5).
import {
  APP_ZH,
  COMMAND,
  encodeMaa,
  EXPERIMENTAL_RESULT_3GPP,
  type MaaAnswer,
  parseMar,
  RESULT,
  type Result,
  resultCode,
  VENDOR_3GPP,
} from "../../../wire/diameter/index.js";
import type { FastifyBaseLogger } from "fastify";
import type { DiameterRoutes } from "../../common/diameter/index.js";
import type { EventBus } from "../../common/events.js";
import type { ZhProcedures } from "../procedures/zh.js";
import { onAvDelivered, onAvRefused } from "./outcomes.js";

export interface ZhDiameterRoutesOptions {
  procedures: ZhProcedures;
  log: FastifyBaseLogger;
  /** the dashboard's event bus, when one listens */
  events?: EventBus;
}

const IDENTITY_UNKNOWN: Result = { vendorId: VENDOR_3GPP, code: EXPERIMENTAL_RESULT_3GPP.IDENTITY_UNKNOWN };

export const zhDiameterRoutes: DiameterRoutes<ZhDiameterRoutesOptions> = (node, { procedures, log, events }) => {
  node.onRequest(APP_ZH, COMMAND.MultimediaAuth.code, async (msg, peer) => {
    // a malformed MAR throws DiameterError: the node answers it (RFC 6733 §7.2)
    const mar = parseMar(msg);
    const answer = (m: Omit<MaaAnswer, "originHost" | "originRealm" | "sessionId">) =>
      encodeMaa({ ...node.origin, sessionId: mar.sessionId, ...m }, msg);
    const report = { log, events, startedAt: events && performance.now(), diameter: true };
    const out = await procedures.generateAuthData(mar.impi, mar.resync);
    // the log lines an operator acts on and the dashboard's event, as over SBI (one "zh-av"
    // event: the GUSS travels in the same answer)
    if (out.kind === "ok") onAvDelivered(out, report);
    else onAvRefused(out, mar.impi, report);
    switch (out.kind) {
      case "not-found":
        log.info({ impi: mar.impi, peer: peer.originHost }, "Zh MAR for an unknown IMPI (5401)");
        return answer({ result: IDENTITY_UNKNOWN });
      case "mac-s-failure":
        return answer({ result: resultCode(RESULT.AUTHENTICATION_REJECTED), impi: out.impi });
      case "sqn-exhausted":
        return answer({ result: resultCode(RESULT.AUTHORIZATION_REJECTED), impi: out.impi });
    }
    const m: Omit<MaaAnswer, "originHost" | "originRealm" | "sessionId"> = {
      result: resultCode(RESULT.SUCCESS),
      impi: out.impi,
      av: out.av,
    };
    // TS 29.109 §4.2.2: a GUSS the BSF holds (GUSS-Timestamp) that is still current is not sent again;
    // read from the record the vector was made from, not in a second store read
    const guss = procedures.gussUnlessHeld(out.record, mar.gussTimestamp);
    if (guss) m.guss = guss;
    return answer(m);
  });
};
