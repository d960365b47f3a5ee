// Formatting of Digest headers: WWW-Authenticate, Authorization, Authentication-Info
// (RFC 7616 §3.3-3.5; quoted-string escaping per RFC 9110 §5.6.4).
import { BACKSLASH, DQUOTE, isQdtext, isTokenString } from "./chars.js";

/** One auth-param to format: name, value, and whether to send it as a quoted-string. */
export type DigestParam = readonly [name: string, value: string, quoted: boolean];

function quote(name: string, value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === DQUOTE || c === BACKSLASH) plain = false;
    else if (!isQdtext(c)) throw new RangeError(`parameter "${name}": control character 0x${c.toString(16)} cannot be sent`);
  }
  return plain ? `"${value}"` : `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Formats `Digest a="b", c=d` (scheme "Digest") or `a="b", c=d` (scheme null, Authentication-Info).
 * Quoted values are escaped (RFC 9110 §5.6.4); unquoted values must be tokens.
 */
export function formatDigestHeader(scheme: "Digest" | null, params: readonly DigestParam[]): string {
  const parts: string[] = [];
  for (const [name, value, quoted] of params) {
    if (!isTokenString(name)) throw new RangeError(`parameter name "${name}" is not a token`);
    if (quoted) parts.push(`${name}=${quote(name, value)}`);
    else if (isTokenString(value)) parts.push(`${name}=${value}`);
    else throw new RangeError(`parameter "${name}": an unquoted value must be a non-empty token`);
  }
  const list = parts.join(", ");
  return scheme === null ? list : `${scheme} ${list}`;
}

/** WWW-Authenticate value for a Digest challenge, quoting as RFC 7616 §3.3 shows. */
export function formatChallenge(c: {
  realm: string;
  nonce: string;
  algorithm?: string;
  qop?: readonly string[];
  opaque?: string;
  domain?: readonly string[];
  stale?: boolean;
}): string {
  const params: DigestParam[] = [
    ["realm", c.realm, true],
    ["nonce", c.nonce, true],
  ];
  if (c.algorithm !== undefined) params.push(["algorithm", c.algorithm, false]);
  if (c.qop !== undefined && c.qop.length > 0) params.push(["qop", c.qop.join(","), true]);
  if (c.opaque !== undefined) params.push(["opaque", c.opaque, true]);
  if (c.domain !== undefined && c.domain.length > 0) params.push(["domain", c.domain.join(" "), true]);
  if (c.stale) params.push(["stale", "true", false]);
  return formatDigestHeader("Digest", params);
}

/** Authorization value for Digest credentials; qop, nc and algorithm unquoted (RFC 7616 §3.4). */
export function formatCredentials(c: {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  opaque?: string;
  auts?: string;
}): string {
  const params: DigestParam[] = [
    ["username", c.username, true],
    ["realm", c.realm, true],
    ["nonce", c.nonce, true],
    ["uri", c.uri, true],
  ];
  if (c.qop !== undefined) {
    if (c.nc === undefined || c.cnonce === undefined) throw new RangeError("qop needs nc and cnonce");
    params.push(["qop", c.qop, false], ["nc", c.nc, false], ["cnonce", c.cnonce, true]);
  }
  params.push(["response", c.response, true]);
  if (c.opaque !== undefined) params.push(["opaque", c.opaque, true]);
  if (c.algorithm !== undefined) params.push(["algorithm", c.algorithm, false]);
  if (c.auts !== undefined) params.push(["auts", c.auts, true]);
  return formatDigestHeader("Digest", params);
}

/** Authentication-Info value (RFC 7616 §3.5): qop and nc unquoted. */
export function formatAuthenticationInfo(i: {
  rspauth?: string;
  qop?: string;
  cnonce?: string;
  nc?: string;
  nextnonce?: string;
}): string {
  const params: DigestParam[] = [];
  if (i.qop !== undefined) params.push(["qop", i.qop, false]);
  if (i.rspauth !== undefined) params.push(["rspauth", i.rspauth, true]);
  if (i.cnonce !== undefined) params.push(["cnonce", i.cnonce, true]);
  if (i.nc !== undefined) params.push(["nc", i.nc, false]);
  if (i.nextnonce !== undefined) params.push(["nextnonce", i.nextnonce, true]);
  if (params.length === 0) throw new RangeError("Authentication-Info needs at least one parameter");
  return formatDigestHeader(null, params);
}
