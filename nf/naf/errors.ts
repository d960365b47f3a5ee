// Named Ua errors with stable codes (as @fastify/basic-auth names its errors). Each carries the
// HTTP status; 401s go out with a fresh WWW-Authenticate challenge set by the plugin. Messages
// never contain key material, nonces or Digest responses.
import { createError } from "../common/problem.js";

/** TS 24.109 §5.2.4: no Authorization header → bootstrapping required indication (401 + challenge). */
export const GbaNoCredentials = createError(
  "FST_GBA_NO_CREDENTIALS",
  "authentication required: answer the Digest challenge with username = B-TID and password = base64(Ks_NAF) (TS 24.109 §5.2)",
  401,
);
/** The Authorization header does not parse as Digest credentials (RFC 7616 §3.4). */
export const GbaBadAuthorization = createError("FST_GBA_BAD_AUTHORIZATION", "malformed Authorization header: %s", 400);
/** algorithm or qop other than the ones offered. */
export const GbaUnsupportedDigest = createError("FST_GBA_UNSUPPORTED_DIGEST", "unsupported Digest parameter: %s", 400);
/** realm in the credentials is not one this NAF offered (TS 24.109 §5.2.4: the UE echoes one realm). */
export const GbaRealmMismatch = createError("FST_GBA_REALM_MISMATCH", "realm is not one offered by this NAF: %s", 401);
/** RFC 7616 §3.4.6: the uri parameter must name the request target. */
export const GbaUriMismatch = createError("FST_GBA_URI_MISMATCH", "Digest uri does not match the request target", 400);
/** The nonce was not issued by this NAF (bad format or HMAC). */
export const GbaBadNonce = createError("FST_GBA_BAD_NONCE", "nonce was not issued by this NAF", 401);
/** RFC 7616 §3.3 stale=true: the nonce has expired; answer the new challenge. */
export const GbaStaleNonce = createError("FST_GBA_STALE_NONCE", "nonce has expired; answer the new challenge (stale=true)", 401);
/** RFC 7616 §5.4: nonce-count not above the highest one seen for this nonce. */
export const GbaNonceCountReplay = createError(
  "FST_GBA_NC_REPLAY",
  "nonce-count %s was already used with this nonce (replay); use a higher nc or the new nonce",
  401,
);
/** username is not a B-TID (TS 33.220 §4.5.2). */
export const GbaBadBtid = createError("FST_GBA_BAD_BTID", "username is not a B-TID: %s", 401);
/** TS 24.109 §5.2.5: the BSF does not know the B-TID (unknown or expired) → bootstrap again. */
export const GbaBtidUnknown = createError(
  "FST_GBA_BTID_UNKNOWN",
  "the BSF does not know this B-TID (unknown or expired): bootstrap again (TS 24.109 §5.2.5)",
  401,
);
/** Wrong Digest response: the key does not match Ks_NAF for this NAF_Id. */
export const GbaBadDigest = createError(
  "FST_GBA_BAD_DIGEST",
  "Digest response does not match (wrong key or key derived for another NAF_Id)",
  401,
);
/** The BSF refused the key to this NAF (TS 33.220 §4.4.3, Diameter 5402). */
export const GbaNafNotAuthorized = createError(
  "FST_GBA_NAF_NOT_AUTHORIZED",
  "the BSF does not authorise this NAF for this subscriber",
  403,
);
/** The UE chose the GBA_U realm but the BSF returned no Ks_int_NAF (not a GBA_U subscription). */
export const GbaNoUiccKey = createError(
  "FST_GBA_NO_UICC_KEY",
  "no Ks_int_NAF for this B-TID: use the 3GPP-bootstrapping realm",
  403,
);
/** The TLS-PSK session's Ks_NAF has expired: reconnect after bootstrapping again. */
export const GbaKeyExpired = createError(
  "FST_GBA_KEY_EXPIRED",
  "the Ks_NAF of this TLS session has expired: bootstrap again and reconnect",
  401,
);
/** Zn failed (BSF down, slow, or answering garbage): 503 with Retry-After. */
export const GbaBsfUnavailable = createError("FST_GBA_BSF_UNAVAILABLE", "the BSF cannot be reached on Zn: %s", 503);
/** auth-int request body larger than the body limit. */
export const GbaBodyTooLarge = createError(
  "FST_GBA_BODY_TOO_LARGE",
  "request body exceeds %s bytes (needed whole for qop=auth-int)",
  413,
);
/** Authentication proxy: X-3GPP-Intended-Identity is not one of the subscriber's identities (TS 24.109 §7.2). */
export const GbaIdentityNotAllowed = createError(
  "FST_GBA_IDENTITY_NOT_ALLOWED",
  "X-3GPP-Intended-Identity is not an identity of this subscriber",
  403,
);

/** True for the errors above (their codes start with FST_GBA_). */
export function isGbaError(err: unknown): err is Error & { code: string; statusCode: number } {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("FST_GBA_");
}

/** Seconds a client should wait before retrying after GbaBsfUnavailable. */
export const BSF_RETRY_AFTER_SECONDS = 5;
