// Every cause the NAF answers a refused Ua request with, in the one shape of nf/common/causes.ts:
// cause → HTTP status, and the factory of the error. The causes are the stable error codes
// (FST_GBA_..., as @fastify/basic-auth names its errors) that clients see as the ProblemDetails
// cause; the errors carry code and statusCode as Fastify's own do, so an application without
// installGbaErrorHandler still answers with the right status. 401s go out with a fresh
// WWW-Authenticate challenge set by the plugin.
import { type CauseTable, problemFactory } from "../common/causes.js";
import type { ProblemError } from "../common/problem.js";

export const NAF_CAUSES = {
  /** TS 24.109 §5.2.4: no Authorization header → bootstrapping required indication (401 + challenge). */
  FST_GBA_NO_CREDENTIALS: 401,
  /** The Authorization header does not parse as Digest credentials (RFC 7616 §3.4). */
  FST_GBA_BAD_AUTHORIZATION: 400,
  /** algorithm or qop other than the ones offered. */
  FST_GBA_UNSUPPORTED_DIGEST: 400,
  /** realm in the credentials is not one this NAF offered (TS 24.109 §5.2.4: the UE echoes one realm). */
  FST_GBA_REALM_MISMATCH: 401,
  /** RFC 7616 §3.4.6: the uri parameter must name the request target. */
  FST_GBA_URI_MISMATCH: 400,
  /** The nonce was not issued by this NAF (bad format or HMAC). */
  FST_GBA_BAD_NONCE: 401,
  /** RFC 7616 §3.3 stale=true: the nonce has expired; answer the new challenge. */
  FST_GBA_STALE_NONCE: 401,
  /** RFC 7616 §5.4: nonce-count not above the highest one seen for this nonce. */
  FST_GBA_NC_REPLAY: 401,
  /** username is not a B-TID (TS 33.220 §4.5.2). */
  FST_GBA_BAD_BTID: 401,
  /** TS 24.109 §5.2.5: the BSF does not know the B-TID (unknown or expired) → bootstrap again. */
  FST_GBA_BTID_UNKNOWN: 401,
  /** Wrong Digest response: the key does not match Ks_NAF for this NAF_Id. */
  FST_GBA_BAD_DIGEST: 401,
  /** The BSF refused the key to this NAF (TS 33.220 §4.4.3, Diameter 5402). */
  FST_GBA_NAF_NOT_AUTHORIZED: 403,
  /** The UE chose the GBA_U realm but the BSF returned no Ks_int_NAF (not a GBA_U subscription). */
  FST_GBA_NO_UICC_KEY: 403,
  /** The subscription's USS names another key than the one used (keyChoice, TS 33.220 §4.4.6, TS 29.309). */
  FST_GBA_KEY_CHOICE: 403,
  /** The TLS-PSK session's Ks_NAF has expired: reconnect after bootstrapping again. */
  FST_GBA_KEY_EXPIRED: 401,
  /** Zn failed (BSF down, slow, or answering garbage): 503 with Retry-After. */
  FST_GBA_BSF_UNAVAILABLE: 503,
  /** auth-int request body larger than the body limit. */
  FST_GBA_BODY_TOO_LARGE: 413,
  /** Authentication proxy: X-3GPP-Intended-Identity is not one of the subscriber's identities (TS 24.109 §7.2). */
  FST_GBA_IDENTITY_NOT_ALLOWED: 403,
} as const satisfies CauseTable;

export type NafCause = keyof typeof NAF_CAUSES;

/**
 * What each refusal says; "%s" is the refusal's detail (the bad parameter, the nc, why Zn
 * failed). Messages never contain key material, nonces or Digest responses.
 */
const MESSAGES: Readonly<Record<NafCause, string>> = {
  FST_GBA_NO_CREDENTIALS:
    "authentication required: answer the Digest challenge with username = B-TID and password = base64(Ks_NAF) (TS 24.109 §5.2)",
  FST_GBA_BAD_AUTHORIZATION: "malformed Authorization header: %s",
  FST_GBA_UNSUPPORTED_DIGEST: "unsupported Digest parameter: %s",
  FST_GBA_REALM_MISMATCH: "realm is not one offered by this NAF: %s",
  FST_GBA_URI_MISMATCH: "Digest uri does not match the request target",
  FST_GBA_BAD_NONCE: "nonce was not issued by this NAF",
  FST_GBA_STALE_NONCE: "nonce has expired; answer the new challenge (stale=true)",
  FST_GBA_NC_REPLAY: "nonce-count %s was already used with this nonce (replay); use a higher nc or the new nonce",
  FST_GBA_BAD_BTID: "username is not a B-TID: %s",
  FST_GBA_BTID_UNKNOWN: "the BSF does not know this B-TID (unknown or expired): bootstrap again (TS 24.109 §5.2.5)",
  FST_GBA_BAD_DIGEST: "Digest response does not match (wrong key or key derived for another NAF_Id)",
  FST_GBA_NAF_NOT_AUTHORIZED: "the BSF does not authorise this NAF for this subscriber",
  FST_GBA_NO_UICC_KEY: "no Ks_int_NAF for this B-TID: use the 3GPP-bootstrapping realm",
  FST_GBA_KEY_CHOICE: "the subscription's keyChoice is %s: this key may not be used for this service",
  FST_GBA_KEY_EXPIRED: "the Ks_NAF of this TLS session has expired: bootstrap again and reconnect",
  FST_GBA_BSF_UNAVAILABLE: "the BSF cannot be reached on Zn: %s",
  FST_GBA_BODY_TOO_LARGE: "request body exceeds %s bytes (needed whole for qop=auth-int)",
  FST_GBA_IDENTITY_NOT_ALLOWED: "X-3GPP-Intended-Identity is not an identity of this subscriber",
};

const problem = problemFactory(NAF_CAUSES);

/** The error of a refused Ua request: its cause's status and message, `detail` in place of "%s". */
export function nafProblem(cause: NafCause, detail?: string): ProblemError {
  const message = MESSAGES[cause];
  return problem(cause, detail === undefined ? message : message.replace("%s", () => detail));
}

/** Seconds a client should wait before retrying after FST_GBA_BSF_UNAVAILABLE. */
export const BSF_RETRY_AFTER_SECONDS = 5;

/** True for the NAF's refusals (their codes start with FST_GBA_). */
export function isGbaError(err: unknown): err is Error & { code: string; statusCode: number } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("FST_GBA_");
}
