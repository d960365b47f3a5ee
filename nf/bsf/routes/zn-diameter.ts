// Zn Diameter binding of the BSF (TS 29.109 §6, §6.1): Bootstrapping-Info-Request/Answer,
// application 16777220, beside the HTTP binding of routes/zn.ts and through the same Zn
// procedures and NAF authorisation. The NAF is the peer its Origin-Host names (admitted at the
// capabilities exchange only when a bsf.nafs entry has it). Refusals: an unknown or expired
// B-TID → Experimental-Result 10415:5403, a NAF asking for another NAF's key → 10415:5402
// (TS 29.109 §6.2.2.2, §6.2.2.3), a malformed value → DIAMETER_INVALID_AVP_VALUE naming the AVP.
import type { FastifyBaseLogger } from "fastify";
import { bytesToHex, hexToBytes } from "../../../wire/bytes.js";
import {
  APP_ZN,
  AVP,
  type BiaBody,
  type BirRequest,
  COMMAND,
  DiameterError,
  type DiameterMessage,
  encodeBia,
  encodeBiaBody,
  EXPERIMENTAL_RESULT_3GPP,
  findAvp,
  type GbaType,
  parseBir,
  RESULT,
  type Result,
  resultCode,
  VENDOR_3GPP,
} from "../../../wire/diameter/index.js";
import type { BootstrappingInfoRequest, BootstrappingInfoResponse } from "../../../wire/zn.js";
import type { DiameterRoutes } from "../../common/diameter/index.js";
import type { EventBus } from "../../common/events.js";
import type { BsfCause } from "../causes.js";
import type { ZnProcedures, ZnRefusal } from "../procedures/zn.js";
import { isRefusal, onOutcome } from "./outcomes.js";

export interface ZnDiameterRoutesOptions {
  /** a ZnProcedures of its own: its answer cache holds encoded BIA bodies */
  procedures: ZnProcedures;
  log: FastifyBaseLogger;
  /** the dashboard's event bus, when one listens */
  events?: EventBus;
}

const experimental = (code: number): Result => ({ vendorId: VENDOR_3GPP, code });
const SUCCESS = resultCode(RESULT.SUCCESS);
const NO_BODY = new Uint8Array(0);

/** TS 29.109 §6.2.2: the result a refusal's cause is answered with. */
const RESULTS: Partial<Record<BsfCause, Result>> = {
  BTID_NOT_FOUND: experimental(EXPERIMENTAL_RESULT_3GPP.TRANSACTION_IDENTIFIER_INVALID),
  NAF_NOT_AUTHORIZED: experimental(EXPERIMENTAL_RESULT_3GPP.NOT_AUTHORIZED),
  NAF_NOT_AUTHENTICATED: experimental(EXPERIMENTAL_RESULT_3GPP.NOT_AUTHORIZED),
};

/** The BIR as the procedures read a Zn request (TS 29.309 shapes: NAF_Id split, Ua id in hex). */
function asRequest(bir: BirRequest): BootstrappingInfoRequest {
  const req: BootstrappingInfoRequest = {
    btId: bir.btid,
    nafId: { nafFqdn: bir.nafId.fqdn, uaSecProtId: bytesToHex(bir.nafId.uaId) },
  };
  if (bir.gbaUAware !== undefined) req.gbaUAware = bir.gbaUAware;
  if (bir.gsIds !== undefined) req.gsIds = bir.gsIds;
  return req;
}

/** The body of the BIA: the same answer as over HTTP, keys as octets and times as Diameter Time. */
function biaBody(r: BootstrappingInfoResponse): Uint8Array {
  const body: BiaBody = {
    impi: r.impi,
    meKeyMaterial: hexToBytes(r.meKeyMaterial, "meKeyMaterial", 32),
    keyExpiryTime: Date.parse(r.keyExpiryTime),
    bootstrapInfoCreationTime: Date.parse(r.bootstrappingInfoCreationTime),
    ussList: r.ussList,
    gbaType: r.gbaType as GbaType,
  };
  if (r.uiccKeyMaterial !== undefined) body.uiccKeyMaterial = hexToBytes(r.uiccKeyMaterial, "uiccKeyMaterial", 32);
  return encodeBiaBody(body);
}

/** A malformed value in the request: DIAMETER_INVALID_AVP_VALUE with the AVP it was in (RFC 6733 §7.5). */
function invalidValue(r: ZnRefusal, msg: DiameterMessage): DiameterError {
  const avp = r.reason === "malformed-btid" ? AVP.TransactionIdentifier : AVP.NafId;
  return new DiameterError(RESULT.INVALID_AVP_VALUE, r.detail, findAvp(msg.avps, avp));
}

export const znDiameterRoutes: DiameterRoutes<ZnDiameterRoutesOptions> = (node, { procedures, log, events }) => {
  node.onRequest(APP_ZN, COMMAND.BootstrappingInfo.code, async (msg, peer) => {
    // a malformed BIR throws DiameterError: the node answers it (RFC 6733 §7.2)
    const startedAt = events && performance.now();
    const bir = parseBir(msg);
    const naf = procedures.authenticatePeer(peer.originHost);
    const outcome = isRefusal(naf) ? naf : await procedures.retrieve(naf, asRequest(bir), biaBody);
    onOutcome(outcome, {
      iface: "Zn/Diameter",
      log,
      events,
      startedAt,
      btid: bir.btid,
      nafFqdn: bir.nafId.fqdn,
      naf: isRefusal(naf) ? peer.originHost : naf.id,
    });
    const { originHost, originRealm } = node.origin;
    if (outcome.kind === "delivered")
      return encodeBia({ originHost, originRealm, sessionId: bir.sessionId, result: SUCCESS }, msg, outcome.body);
    const result = RESULTS[outcome.cause];
    if (result === undefined) throw invalidValue(outcome, msg);
    return encodeBia({ originHost, originRealm, sessionId: bir.sessionId, result }, msg, NO_BODY);
  });
};
