// Every application cause the HSS sends, with its HTTP status, in one table so a correction
// is one line. Names as in TS 29.503 / TS 29.562 (Nhss_gbaUEAU, Nhss_gbaSDM) where those define
// one; the provisioning API's are our own. Schema failures raised by Fastify before a handler
// runs use MANDATORY_IE_MISSING / MANDATORY_IE_INCORRECT from nf/common/problem.ts.
import { problemFactory } from "../common/causes.js";

export const HSS_CAUSES = {
  // Zh (TS 29.562 Nhss_gbaUEAU / Nhss_gbaSDM)
  /** unknown IMPI, IMSI or MSISDN in {ueId} */
  USER_NOT_FOUND: 404,
  /** AUTS whose MAC-S does not verify (TS 33.102 §6.3.5), or an SQN space that is used up */
  AUTHENTICATION_REJECTED: 403,
  /** a present field with a wrong value */
  MANDATORY_IE_INCORRECT: 400,
  /** GBA_Digest (authenticationScheme DIGEST_HTTP, TS 33.220 Annex M) or a scheme we do not know: not implemented */
  UNSUPPORTED_AUTHENTICATION_SCHEME: 501,
  // provisioning API
  /** a subscriber body that fails validation; invalidParams names each field or line */
  INVALID_SUBSCRIBER_DATA: 400,
  /** IMPI, IMSI or MSISDN already belongs to a subscriber */
  SUBSCRIBER_EXISTS: 409,
  /** no or wrong bearer token */
  UNAUTHORIZED: 401,
} as const;

export type HssCause = keyof typeof HSS_CAUSES;

export const hssProblem = problemFactory(HSS_CAUSES);
