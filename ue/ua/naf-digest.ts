// The UE side of Ua HTTP Digest with GBA keys (TS 24.109 §5.2, TS 33.222 §5.3, RFC 7616):
// username = B-TID, password = base64(Ks_(ext)_NAF); the answer's rspauth proves the NAF holds
// the same key. Shared by gbaFetch (ue/ua/gba-fetch.ts) and the autocannon load driver.
import { UeError } from "../errors.js";
import {
  type DigestAlgorithm,
  DigestParseError,
  type DigestQop,
  digestEquals,
  digestHa1,
  digestResponseFromHa1,
  formatCredentials,
  formatNc,
  parseAuthenticationInfo,
  rspauthFromHa1,
} from "../../gba/digest/index.js";

export type UaErrorCode =
  | "SERVER_AUTH_FAILED"
  | "UNSUPPORTED_CHALLENGE"
  | "BAD_REQUEST"
  | "TLS_SUITE_UNKNOWN"
  | "REALM_HOST_MISMATCH"
  | "NAF_FQDN_UNKNOWN";

export class UaError extends UeError<UaErrorCode> {}

/** A protection space of one NAF (origin + realm) with its current server nonce. */
export interface NafSpace {
  realm: string;
  nafFqdn: string;
  algorithm: DigestAlgorithm;
  qop: DigestQop | undefined;
  nonce: string;
  opaque: string | undefined;
  nc: number;
}

export interface NafCredentials {
  authorization: string;
  btid: string;
  ha1: string;
  nc: string;
  cnonce: string;
  uri: string;
  space: NafSpace;
}

/** RFC 7616 §3.4: the next request's Authorization in `space` (nc counted up), password = base64(Ks_NAF). */
export function nafCredentials(
  space: NafSpace,
  r: { btid: string; password: string; cnonce: string; method: string; uri: string; body: Uint8Array | undefined },
): NafCredentials {
  space.nc += 1;
  const nc = formatNc(space.nc);
  const withQop = space.qop ? { nc, cnonce: r.cnonce } : { nc: undefined, cnonce: undefined };
  const ha1 = digestHa1({
    algorithm: space.algorithm,
    username: r.btid,
    realm: space.realm,
    password: r.password,
    nonce: space.nonce,
    cnonce: r.cnonce,
  });
  const response = digestResponseFromHa1(ha1, {
    algorithm: space.algorithm,
    nonce: space.nonce,
    ...withQop,
    qop: space.qop,
    method: r.method,
    uri: r.uri,
    body: r.body,
  });
  const authorization = formatCredentials({
    username: r.btid,
    realm: space.realm,
    nonce: space.nonce,
    uri: r.uri,
    response,
    algorithm: space.algorithm,
    qop: space.qop,
    ...withQop,
    opaque: space.opaque,
  });
  return { authorization, btid: r.btid, ha1, nc, cnonce: r.cnonce, uri: r.uri, space };
}

/**
 * Whether an answer to a credentialed request without Authentication-Info is the NAF's own
 * failure rather than a failed server authentication. RFC 7616 §3.5: the server sends
 * Authentication-Info with the final answer of a request it authenticated. A 5xx is an answer
 * the NAF gave before or instead of authenticating (503 when its BSF does not answer Zn in time,
 * or when it sheds load): it reaches the caller as the NAF's answer, unauthenticated, with the
 * NAF's cause. A 2xx, 3xx or 4xx without it fails server authentication (SERVER_AUTH_FAILED).
 */
export function isUnauthenticatedNafFailure(status: number): boolean {
  return status >= 500;
}

/**
 * RFC 7616 §3.5: the NAF's rspauth (over the response body for auth-int) checked in constant
 * time; returns the parsed Authentication-Info (its nextnonce). Throws UaError SERVER_AUTH_FAILED.
 */
export function verifyRspauth(
  header: string,
  responseBody: Uint8Array,
  c: NafCredentials,
): ReturnType<typeof parseAuthenticationInfo> {
  let info: ReturnType<typeof parseAuthenticationInfo>;
  try {
    info = parseAuthenticationInfo(header);
  } catch (err) {
    if (err instanceof DigestParseError) throw new UaError("SERVER_AUTH_FAILED", `NAF Authentication-Info: ${err.message}`);
    throw err;
  }
  if (info.rspauth === undefined) throw new UaError("SERVER_AUTH_FAILED", "the NAF's Authentication-Info has no rspauth");
  const s = c.space;
  const expected = rspauthFromHa1(c.ha1, {
    algorithm: s.algorithm,
    nonce: s.nonce,
    nc: s.qop ? c.nc : undefined,
    cnonce: s.qop ? c.cnonce : undefined,
    qop: s.qop,
    uri: c.uri,
    responseBody,
  });
  if (!digestEquals(expected, info.rspauth))
    throw new UaError("SERVER_AUTH_FAILED", "rspauth in the NAF's Authentication-Info does not verify: answer refused");
  return info;
}
