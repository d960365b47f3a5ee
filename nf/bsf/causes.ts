// Every application cause the BSF sends, with its HTTP status, in one table so a correction is
// one line. TS 24.109 and TS 29.309 name no causes for these failures: the names are the
// project's own, in the TS 29.571 style (docs/architecture.md "Causes").
import { problemFactory } from "../common/causes.js";

export const BSF_CAUSES = {
  // Ub (TS 24.109 §4, RFC 3310)
  /** the Authorization header is missing or does not parse as Digest credentials */
  MALFORMED_AUTHORIZATION: 400,
  /** realm in the answer is not the BSF FQDN (TS 24.109 A.3) */
  REALM_MISMATCH: 400,
  /** uri in the credentials is not the request target (RFC 2617 §3.2.2.5) */
  URI_MISMATCH: 400,
  /** qop other than auth-int, or an unsupported algorithm (TS 24.109 A.4) */
  UNSUPPORTED_DIGEST_PARAMETER: 400,
  /** wrong response, unknown IMPI or rejected AUTS: one cause, one body, so the user's existence does not leak */
  AUTHENTICATION_REJECTED: 403,
  /**
   * a TMPI username the BSF cannot resolve to an IMPI: TS 33.220 §4.5.2 has the UE delete its TMPI
   * and bootstrap again with the IMPI; the status is our reading (README "Deviations")
   */
  TMPI_UNKNOWN: 403,
  /** the nonce was already answered once */
  NONCE_ALREADY_USED: 403,
  /** Ub is GET only (TS 24.109 A.3) */
  METHOD_NOT_ALLOWED: 405,
  /** Ub carries no request body (TS 24.109 A.3 GET) */
  UNEXPECTED_BODY: 400,
  /** HSS unreachable, slow or answering garbage on Zh; sent with Retry-After */
  HSS_UNAVAILABLE: 503,
  // Zn (TS 29.309 Nbsp_GBA)
  /** no or unknown bearer token */
  NAF_NOT_AUTHENTICATED: 401,
  /** the NAF asked for a NAF_Id that is not its own (TS 33.220 §4.4.3); Diameter 5402 */
  NAF_NOT_AUTHORIZED: 403,
  /** unknown, expired or superseded B-TID; Diameter 5403 (TS 29.109) */
  BTID_NOT_FOUND: 404,
  /** a present field with a wrong value */
  MANDATORY_IE_INCORRECT: 400,
} as const;

export type BsfCause = keyof typeof BSF_CAUSES;

export const bsfProblem = problemFactory(BSF_CAUSES);

/** a 503 from the BSF tells the client when to try again (RFC 9110 §10.2.3) */
export const RETRY_AFTER_SECONDS = 5;
