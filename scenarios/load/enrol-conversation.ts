// One IoT.04 enrolment as an autocannon conversation: POST /enrol with the CSR over Ua HTTP
// Digest (TS 24.109 §5.2, TS 33.222 §5.3): username = B-TID, password = base64(Ks_NAF) for the
// NAF_Id of the ECA (TS 33.220 B.3, Ua id 01 00 00 00 02, H.3). As the UE's gbaFetch does, a
// device keeps the ECA's nonce between enrolments (nc counts up), answers the 401 challenge
// when it has none or it went stale, and checks the ECA's rspauth over the certificate.
import { randomBytes } from "node:crypto";
import { ksNafPassword } from "../../gba/digest/index.js";
import { deriveKsNaf, nafId } from "../../gba/keys.js";
import { UA_ID } from "../../gba/ua-id.js";
import { bytesToHex } from "../../wire/bytes.js";
import { PRODUCT_TOKEN, withProductToken } from "../../wire/ub.js";
import { bootstrappingChallengeIn, checkRealmHost, nafSpaceOf } from "../../ue/ua/gba-fetch.js";
import {
  isUnauthenticatedNafFailure,
  type NafCredentials,
  type NafSpace,
  nafCredentials,
  UaError,
  verifyRspauth,
} from "../../ue/ua/naf-digest.js";
import { causeOf } from "../engine/device.js";
import type { FlowFailure } from "../engine/events.js";
import type { Conversation } from "./gate.js";

const PATH = "/enrol";
/** TS 24.109 Table E.3.1-1 content type of the enrolment request (base64 of the DER CSR). */
const CSR_CONTENT_TYPE = "application/x-pkcs10";
/** TS 24.109 §5.2.1: the UE announces GBA in User-Agent. */
const USER_AGENT = withProductToken("gba-emu load UE", PRODUCT_TOKEN.GBA);
const CNONCE_BYTES = 16;
/** first try, the answer to a challenge, one stale nonce */
const MAX_SENDS = 3;

export type { NafSpace } from "../../ue/ua/naf-digest.js";

export interface EnrolInput {
  impi: string;
  btid: string;
  /** Ks (or the card's Ks for GBA_U) and RAND of the bootstrapping */
  ks: Uint8Array;
  rand: Uint8Array;
  /** base64 of the DER CSR */
  body: Buffer;
  /** the ECA's FQDN, which the URL's address stands for: the realm must name it (TS 33.222 §5.3.0) */
  nafFqdn: string;
  /** the device's remembered space; set and updated here */
  device: { space?: NafSpace };
  /** source of the cnonce (default node:crypto) */
  randomBytes?: (n: number) => Uint8Array;
}

export type EnrolOutcome = { ok: true; certificate: Uint8Array } | { ok: false; failure: FlowFailure };

/** TS 33.220 B.3: password = base64(Ks_NAF) for NAF_Id = ECA FQDN ‖ Ua id (H.3: HTTP Digest over plain HTTP). */
function credentialsFor(space: NafSpace, e: EnrolInput): NafCredentials {
  const key = deriveKsNaf(e.ks, e.rand, e.impi, nafId(space.nafFqdn, UA_ID.HTTP_DIGEST));
  const password = ksNafPassword(key);
  key.fill(0);
  const cnonce = bytesToHex(e.randomBytes?.(CNONCE_BYTES) ?? randomBytes(CNONCE_BYTES));
  return nafCredentials(space, { btid: e.btid, password, cnonce, method: "POST", uri: PATH, body: e.body });
}

/**
 * RFC 7616 §3.5: the ECA proves it knows Ks_NAF with rspauth (over the certificate for auth-int);
 * a 5xx without Authentication-Info is the ECA's own failure, judged by its cause.
 */
function checkRspauth(status: number, header: string | undefined, body: Uint8Array, c: NafCredentials): void {
  if (header === undefined) {
    if (isUnauthenticatedNafFailure(status)) return;
    throw new UaError(
      "SERVER_AUTH_FAILED",
      `the NAF's ${status} answer has no Authentication-Info: the NAF is not authenticated`,
    );
  }
  verifyRspauth(header, body, c);
}

export function enrolConversation(e: EnrolInput, done: (r: EnrolOutcome) => void): Conversation {
  let creds = e.device.space ? credentialsFor(e.device.space, e) : undefined;
  let sends = 0;
  const failure = (f: Omit<FlowFailure, "step">): EnrolOutcome => ({ ok: false, failure: { step: "enrol", ...f } });
  const refused = (status: number, body: Uint8Array) =>
    failure({ status, cause: causeOf(status, body), message: `POST ${PATH} answered ${status}` });
  /** the outcome when the answer ends the enrolment; else the credentials of the next request are set */
  const judge = (status: number, headers: Record<string, string>, body: Uint8Array): EnrolOutcome | undefined => {
    if (status !== 401) {
      if (creds) checkRspauth(status, headers["authentication-info"], body, creds);
      return status === 200 ? { ok: true, certificate: body } : refused(status, body);
    }
    const found = bootstrappingChallengeIn(headers["www-authenticate"]);
    // TS 24.109 §5.2.5: a challenge that is not stale after credentials means the B-TID was refused;
    // the UE would bootstrap again, which an ECA connection cannot do: the flow ends with the cause
    if (found === undefined || sends >= MAX_SENDS || (creds !== undefined && !found.ch.stale)) {
      e.device.space = undefined;
      return refused(status, body);
    }
    checkRealmHost(found, e.nafFqdn, new URL(`http://${e.nafFqdn}${PATH}`));
    const space = nafSpaceOf(found);
    e.device.space = space;
    creds = credentialsFor(space, e);
    return undefined;
  };
  return {
    next() {
      sends++;
      const headers: Record<string, string> = { "content-type": CSR_CONTENT_TYPE, "user-agent": USER_AGENT };
      if (creds) headers.authorization = creds.authorization;
      return { method: "POST", path: PATH, headers, body: e.body };
    },
    answer(status, headers, raw) {
      let outcome: EnrolOutcome | undefined;
      try {
        outcome = judge(status, headers, new Uint8Array(raw));
      } catch (err) {
        const x = err as Error;
        outcome =
          err instanceof UaError
            ? failure({ cause: err.code, message: err.message })
            : failure({ cause: x.name ?? "ERROR", message: x.message ?? String(err) });
      }
      if (outcome !== undefined) done(outcome);
      return outcome !== undefined;
    },
    lost(cause) {
      done(failure({ cause, message: `no answer from the ECA (${cause})` }));
    },
  };
}
