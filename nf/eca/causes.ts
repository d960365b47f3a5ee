// Every application cause the ECA sends in its ProblemDetails, in the one shape of
// nf/common/causes.ts: cause → HTTP status (a correction is one line) and the factory of the
// error. Schema and body-limit failures raised by Fastify before a handler runs use the causes of
// nf/common/problem.ts (PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE).
import { type CauseTable, problemFactory } from "../common/causes.js";
import type { CsrCause } from "./csr.js";

export const ECA_CAUSES = {
  // POST /enrol (GSMA IoT.04 scenario 7; TS 24.109 §6.2, Annex E)
  /** the request did not pass the GBA plugin (never sent when the plugin guards the route) */
  NOT_AUTHENTICATED: 401,
  /** response= other than "single" (TS 24.109 Table E.3.1-1) */
  UNSUPPORTED_RESPONSE_TYPE: 400,
  /** the CSR is not sent as application/x-pkcs10 or application/pkcs10 */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** the body is not DER, base64 of DER or PEM of a PKCS#10 request (RFC 2986) */
  CSR_UNPARSEABLE: 400,
  /** RFC 2986 §3: the signature does not prove possession of the key */
  CSR_BAD_SIGNATURE: 400,
  /** a key type or size the ECA does not certify */
  CSR_UNSUPPORTED_KEY: 400,
  /** subject CN (OBU ID) or serialNumber (vehicle ID) missing, repeated or malformed */
  CSR_BAD_SUBJECT: 400,
  /** the OBU is not in the VehicleMan binding registry */
  OBU_UNKNOWN: 403,
  /** the CSR names a vehicle the OBU is not bound to */
  OBU_BOUND_TO_OTHER_VEHICLE: 403,
  /** the USS the BSF returned holds no tel: identity */
  MSISDN_NOT_IN_USS: 403,
  /** the OBU is bound to another subscriber's MSISDN */
  MSISDN_MISMATCH: 403,
  // GET /getcertificate (TS 24.109 E.5, E.6)
  MANDATORY_IE_MISSING: 400,
  MANDATORY_IE_INCORRECT: 400,
  CA_CERTIFICATE_NOT_FOUND: 404,
  // GET /certificates
  ADMIN_LOOPBACK_ONLY: 403,
} as const satisfies CauseTable & Record<CsrCause, 400>;

export type EcaCause = keyof typeof ECA_CAUSES;

export const ecaProblem = problemFactory(ECA_CAUSES);
