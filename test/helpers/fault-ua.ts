// A bare Ua client for the reliability and security suites, built from gba/ primitives only:
// answers a NAF's Digest challenge with username = B-TID and password = base64(Ks_NAF)
// (TS 24.109 §5.2), with the nonce, nonce-count and key under the test's control.
import { randomBytes } from "node:crypto";
import { request } from "undici";
import {
  type DigestChallenge,
  digestResponse,
  formatCredentials,
  formatNc,
  ksNafPassword,
  parseDigestChallenge,
} from "../../gba/digest/index.js";
import { deriveKsNaf, nafId } from "../../gba/keys.js";
import { UA_ID } from "../../gba/ua-id.js";

export interface UaSession {
  btid: string;
  impi: string;
  ks: Uint8Array;
  rand: Uint8Array;
}

export interface UaAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read problem bodies field by field
  json: any;
}

export async function uaRequest(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<UaAnswer> {
  const res = await request(url, { method: (o.method ?? "GET") as "GET", headers: o.headers, body: o.body });
  const text = await res.body.text();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers, text, json };
}

/** Ks_NAF for a NAF FQDN over plain-HTTP Digest (TS 33.220 B.3, H.3 01 00 00 00 02). */
export function ksNafFor(s: UaSession, nafFqdn: string): Uint8Array {
  return deriveKsNaf(s.ks, s.rand, s.impi, nafId(nafFqdn, UA_ID.HTTP_DIGEST));
}

/** The NAF's challenge: a request without credentials must be 401 with a Digest challenge. */
export async function challengeOf(url: string, method = "GET"): Promise<DigestChallenge> {
  const r = await uaRequest(url, { method });
  if (r.status !== 401) throw new Error(`expected a 401 challenge from ${url}, got ${r.status}: ${r.text}`);
  return parseDigestChallenge(r.headers["www-authenticate"])[0];
}

/** Authorization for one request (qop=auth) with the given key, nonce-count and uri. */
export function uaAuthorization(
  ch: DigestChallenge,
  o: { btid: string; key: Uint8Array; uri: string; method?: string; nc?: number; cnonce?: string; realm?: string },
): string {
  const nc = formatNc(o.nc ?? 1);
  const cnonce = o.cnonce ?? randomBytes(8).toString("hex");
  const realm = o.realm ?? ch.realm.split(";")[0];
  const algorithm = (ch.algorithm ?? "MD5") as "MD5";
  const response = digestResponse({
    algorithm,
    username: o.btid,
    realm,
    password: ksNafPassword(o.key),
    nonce: ch.nonce,
    nc,
    cnonce,
    qop: "auth",
    method: o.method ?? "GET",
    uri: o.uri,
  });
  return formatCredentials({
    username: o.btid,
    realm,
    nonce: ch.nonce,
    uri: o.uri,
    response,
    algorithm,
    qop: "auth",
    nc,
    cnonce,
  });
}

/** A Digest-authenticated GET of `path` on a NAF with the session's Ks_NAF for `nafFqdn`. */
export async function uaGet(base: string, path: string, s: UaSession, nafFqdn: string): Promise<UaAnswer> {
  const ch = await challengeOf(new URL(path, base).href);
  const authorization = uaAuthorization(ch, { btid: s.btid, key: ksNafFor(s, nafFqdn), uri: path });
  return uaRequest(new URL(path, base).href, { headers: { authorization } });
}
