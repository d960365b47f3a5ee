// HTTP Digest computation: RFC 2617 §3.2.2-3.2.3, RFC 7616 §3.4.1-3.4.3 and §3.5,
// with the AKA algorithms of RFC 3310 §3.3 (AKAv1-MD5) and RFC 4169 (AKAv2-MD5), which hash like MD5.
import { hash } from "node:crypto";
import { concatBytes, constantTimeEqual } from "../../wire/bytes.js";

export type DigestAlgorithm = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess" | "AKAv1-MD5" | "AKAv2-MD5";
export type DigestQop = "auth" | "auth-int";

interface AlgorithmInfo {
  hash: "md5" | "sha256";
  sess: boolean;
  /** H("") for auth-int with an empty entity body */
  emptyBodyHash: string;
}

const md5Empty = hash("md5", "", "hex");
const sha256Empty = hash("sha256", "", "hex");

const ALGORITHMS: Record<DigestAlgorithm, AlgorithmInfo> = {
  MD5: { hash: "md5", sess: false, emptyBodyHash: md5Empty },
  "MD5-sess": { hash: "md5", sess: true, emptyBodyHash: md5Empty },
  "SHA-256": { hash: "sha256", sess: false, emptyBodyHash: sha256Empty },
  "SHA-256-sess": { hash: "sha256", sess: true, emptyBodyHash: sha256Empty },
  // RFC 3310 §3.3 / RFC 4169: the "-MD5" suffix names the hash; A1/A2 as for MD5.
  "AKAv1-MD5": { hash: "md5", sess: false, emptyBodyHash: md5Empty },
  "AKAv2-MD5": { hash: "md5", sess: false, emptyBodyHash: md5Empty },
};

export const DIGEST_ALGORITHMS = Object.keys(ALGORITHMS) as readonly DigestAlgorithm[];

const BY_LOWER = new Map(DIGEST_ALGORITHMS.map((a) => [a.toLowerCase(), a]));

/** The algorithm named by a header token (case-insensitive, RFC 7616 §3.3), or undefined. */
export function digestAlgorithm(token: string): DigestAlgorithm | undefined {
  return BY_LOWER.get(token.toLowerCase());
}

function info(algorithm: DigestAlgorithm): AlgorithmInfo {
  const a = ALGORITHMS[algorithm];
  if (a === undefined) throw new RangeError(`unsupported Digest algorithm "${algorithm}"`);
  return a;
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  /** text (UTF-8) or raw octets: RES for AKAv1-MD5 (RFC 3310 §3.2) */
  password: Uint8Array | string;
  nonce: string;
  /** 8 hex digits; required with qop */
  nc?: string;
  /** required with qop and for the -sess algorithms */
  cnonce?: string;
  qop: DigestQop | undefined;
  method: string;
  /** digest-uri as sent in the "uri" parameter */
  uri: string;
  /** entity body for qop=auth-int; absent means empty */
  body?: Uint8Array;
}

export type Ha1Input = Pick<DigestInput, "algorithm" | "username" | "realm" | "password" | "nonce" | "cnonce">;

const encoder = new TextEncoder();

/**
 * H(A1) (RFC 7616 §3.4.2): H(username ":" realm ":" password), and for the -sess algorithms
 * H( H(username:realm:password) ":" nonce ":" cnonce ). Lower-case hex. Cache it per user/realm
 * (and per nonce/cnonce for -sess) to avoid rehashing the password.
 */
export function digestHa1(input: Ha1Input): string {
  const a = info(input.algorithm);
  const prefix = `${input.username}:${input.realm}:`;
  const ha1 =
    typeof input.password === "string"
      ? hash(a.hash, prefix + input.password, "hex")
      : hash(a.hash, concatBytes(encoder.encode(prefix), input.password), "hex");
  if (!a.sess) return ha1;
  if (input.cnonce === undefined) throw new RangeError(`${input.algorithm} needs a cnonce`);
  return hash(a.hash, `${ha1}:${input.nonce}:${input.cnonce}`, "hex");
}

/** H(A2) (RFC 7616 §3.4.3): H(method ":" uri), or H(method ":" uri ":" H(body)) for auth-int. */
export function digestHa2(
  algorithm: DigestAlgorithm,
  qop: DigestQop | undefined,
  method: string,
  uri: string,
  body?: Uint8Array,
): string {
  const a = info(algorithm);
  if (qop !== "auth-int") return hash(a.hash, `${method}:${uri}`, "hex");
  const bodyHash = body === undefined || body.length === 0 ? a.emptyBodyHash : hash(a.hash, body, "hex");
  return hash(a.hash, `${method}:${uri}:${bodyHash}`, "hex");
}

type ResponseFields = Pick<DigestInput, "algorithm" | "nonce" | "nc" | "cnonce" | "qop">;

function combine(ha1: string, ha2: string, f: ResponseFields): string {
  const a = info(f.algorithm);
  if (f.qop === undefined) return hash(a.hash, `${ha1}:${f.nonce}:${ha2}`, "hex"); // RFC 2069 compatibility
  if (f.qop !== "auth" && f.qop !== "auth-int") throw new RangeError(`unsupported qop "${f.qop}"`);
  if (f.nc === undefined || f.cnonce === undefined) throw new RangeError("qop needs nc and cnonce");
  return hash(a.hash, `${ha1}:${f.nonce}:${f.nc}:${f.cnonce}:${f.qop}:${ha2}`, "hex");
}

/** request-digest (RFC 7616 §3.4.1) from a precomputed H(A1). */
export function digestResponseFromHa1(ha1: string, input: Omit<DigestInput, keyof Ha1Input> & ResponseFields): string {
  return combine(ha1, digestHa2(input.algorithm, input.qop, input.method, input.uri, input.body), input);
}

/** The Digest "response" value (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1), lower-case hex. */
export function digestResponse(input: DigestInput): string {
  return digestResponseFromHa1(digestHa1(input), input);
}

export type RspauthInput = Omit<DigestInput, "method" | "body"> & {
  /** the entity body of the response, for qop=auth-int; absent means empty */
  responseBody?: Uint8Array;
};

/**
 * Authentication-Info rspauth (RFC 2617 §3.2.3, RFC 7616 §3.5): as the response, with an empty
 * method in A2 and, for auth-int, the hash of the response body: A2 = ":" uri [":" H(body)].
 */
export function rspauth(input: RspauthInput): string {
  return combine(digestHa1(input), digestHa2(input.algorithm, input.qop, "", input.uri, input.responseBody), input);
}

/** rspauth from a precomputed H(A1). */
export function rspauthFromHa1(ha1: string, input: Omit<RspauthInput, keyof Ha1Input> & ResponseFields): string {
  return combine(ha1, digestHa2(input.algorithm, input.qop, "", input.uri, input.responseBody), input);
}

/** Compares an expected digest with a received one in constant time (hex case-insensitive). */
export function digestEquals(expected: string, received: string): boolean {
  return constantTimeEqual(encoder.encode(expected.toLowerCase()), encoder.encode(received.toLowerCase()));
}

/** True when `received` is the response the server expects for `input` (constant-time compare). */
export function verifyDigestResponse(input: DigestInput, received: string): boolean {
  return digestEquals(digestResponse(input), received);
}

/** nc as sent on the wire: 8 lower-case hex digits (RFC 7616 §3.4). */
export function formatNc(count: number): string {
  if (!Number.isInteger(count) || count < 1 || count > 0xffffffff) throw new RangeError("nc must be 1..2^32-1");
  return count.toString(16).padStart(8, "0");
}
