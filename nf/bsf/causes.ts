// Every application cause the BSF sends, in one table so a correction is one line
// (shared/spec/sbi-shapes.md "Errors and bodies": cause names are a project decision until
// confirmed in TS 29.309 / TS 24.109 text).
export const BSF_CAUSE = {
  // Ub (TS 24.109 §4, RFC 3310)
  /** the Authorization header is missing or does not parse as Digest credentials */
  MALFORMED_AUTHORIZATION: "MALFORMED_AUTHORIZATION",
  /** realm in the answer is not the BSF FQDN (TS 24.109 A.3) */
  REALM_MISMATCH: "REALM_MISMATCH",
  /** uri in the credentials is not the request target (RFC 2617 §3.2.2.5) */
  URI_MISMATCH: "URI_MISMATCH",
  /** qop other than auth-int, or an unsupported algorithm (TS 24.109 A.4) */
  UNSUPPORTED_DIGEST_PARAMETER: "UNSUPPORTED_DIGEST_PARAMETER",
  /** wrong response, unknown IMPI or rejected AUTS: one cause, one body, so the user's existence does not leak */
  AUTHENTICATION_REJECTED: "AUTHENTICATION_REJECTED",
  /** the nonce was already answered once */
  NONCE_ALREADY_USED: "NONCE_ALREADY_USED",
  /** Ub is GET only (TS 24.109 A.3) */
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  /** Ub carries no request body (TS 24.109 A.3 GET) */
  UNEXPECTED_BODY: "UNEXPECTED_BODY",
  /** HSS unreachable, slow or answering garbage on Zh */
  HSS_UNAVAILABLE: "HSS_UNAVAILABLE",
  // Zn (TS 29.309 Nbsp_GBA)
  /** no or unknown bearer token */
  NAF_NOT_AUTHENTICATED: "NAF_NOT_AUTHENTICATED",
  /** the NAF asked for a NAF_Id that is not its own (TS 33.220 §4.4.3); Diameter 5402 */
  NAF_NOT_AUTHORIZED: "NAF_NOT_AUTHORIZED",
  /** unknown, expired or superseded B-TID; Diameter 5403 (TS 29.109) */
  BTID_NOT_FOUND: "BTID_NOT_FOUND",
  MANDATORY_IE_INCORRECT: "MANDATORY_IE_INCORRECT",
} as const;

export type BsfCause = (typeof BSF_CAUSE)[keyof typeof BSF_CAUSE];
