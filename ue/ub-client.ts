// Ub client of the ME (TS 33.220 §4.5.2 / §5.3.2, TS 24.109 §4 and Annex A, RFC 3310, RFC 4169):
// the bootstrapping run against the BSF, with resynchronisation and server authentication.
import { request } from "undici";
import type { Dispatcher } from "undici";
import { type BootstrappingInfo, parseBootstrappingInfo } from "../gba/bootstrapping-info.js";
import {
  akav1Password,
  akav2Password,
  type DigestAlgorithm,
  type DigestChallenge,
  DigestParseError,
  digestEquals,
  digestHa1,
  digestResponseFromHa1,
  formatCredentials,
  formatNc,
  parseAkaNonce,
  parseAuthenticationInfo,
  parseDigestChallenge,
  rspauthFromHa1,
} from "../gba/digest/index.js";
import { bytesToHex } from "../wire/bytes.js";
import type { UeDeps } from "./deps.js";
import { UeError } from "./errors.js";
import { noTrace, type Tracer } from "./trace.js";

/** What the UICC answered to RAND/AUTN (TS 31.102 §7.1.2): 3G context gives CK/IK, GBA_U context RES only. */
export type AkaOutcome =
  | { kind: "success"; res: Uint8Array; ck?: Uint8Array; ik?: Uint8Array }
  | { kind: "sync-failure"; auts: Uint8Array }
  | { kind: "mac-failure" };

/** Runs AKA on the card; the middleware picks the 3G or the GBA (bootstrapping mode) context. */
export type AkaRunner = (rand: Uint8Array, autn: Uint8Array) => Promise<AkaOutcome>;

export type UbErrorCode =
  | "TRANSPORT"
  | "UNEXPECTED_STATUS"
  | "BAD_CHALLENGE"
  | "UNSUPPORTED_ALGORITHM"
  | "NETWORK_AUTH_FAILED"
  | "RESYNC_FAILED"
  | "REJECTED"
  | "BSF_UNAVAILABLE"
  | "SERVER_AUTH_FAILED"
  | "BAD_BOOTSTRAPPING_INFO";

export class UbError extends UeError<UbErrorCode> {}

export interface UbOptions {
  /** Ub URL of the BSF, e.g. http://bsf.example:8080/ */
  bsfUrl: string;
  /** realm of the first request: the BSF FQDN (TS 24.109 A.3) */
  bsfFqdn: string;
  /** username: the IMPI (TS 24.109 A.3) */
  impi: string;
  aka: AkaRunner;
  /** TS 24.109 A.3 User-Agent, with the product tokens the UE supports */
  userAgent: string;
  deps: UeDeps;
  tracer?: Tracer;
  dispatcher?: Dispatcher;
}

export interface UbResult extends BootstrappingInfo {
  rand: Uint8Array;
  /** realm of the BSF's challenge (the BSF FQDN) */
  realm: string;
  algorithm: "AKAv1-MD5" | "AKAv2-MD5";
  /** 3G context only (GBA_ME): the ME needs them for Ks = CK || IK */
  ck?: Uint8Array;
  ik?: Uint8Array;
  /** how many AUTS were sent before success (0 or 1) */
  resyncs: number;
}

const UB_URI = "/";
const QOP = "auth-int";
const EMPTY = new Uint8Array(0);
const CNONCE_BYTES = 16;
/** RFC 3310 §3.4 / TS 24.109 A.4: one resynchronisation per bootstrapping run. */
export const MAX_RESYNCS = 1;

/** One Ub answer as the ME sees it. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

function headerValue(h: HttpAnswer["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

function flatHeaders(h: HttpAnswer["headers"]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
  }
  return out;
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** One Ub bootstrapping run (TS 33.220 §4.5.2 steps 1-8, TS 24.109 A.3/A.4). */
export async function runUbBootstrap(o: UbOptions): Promise<UbResult> {
  const tracer = o.tracer ?? noTrace;
  const url = new URL(UB_URI, o.bsfUrl).toString();

  const send = async (authorization: string): Promise<HttpAnswer> => {
    const headers: Array<[string, string]> = [
      ["authorization", authorization],
      ["user-agent", o.userAgent],
    ];
    tracer.message({ iface: "Ub", direction: "request", url, startLine: `GET ${UB_URI} HTTP/1.1`, headers });
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: "GET", headers: Object.fromEntries(headers), dispatcher: o.dispatcher });
    } catch (err) {
      throw new UbError("TRANSPORT", `cannot reach the BSF at ${url}: ${(err as Error).message}`);
    }
    const body = new Uint8Array(await res.body.arrayBuffer());
    const answer: HttpAnswer = { status: res.statusCode, headers: res.headers, body };
    tracer.message({
      iface: "Ub",
      direction: "response",
      url,
      startLine: `HTTP/1.1 ${answer.status} ${STATUS_TEXT[answer.status] ?? ""}`.trimEnd(),
      headers: flatHeaders(answer.headers),
      body: Buffer.from(body).toString("utf8"),
    });
    return answer;
  };

  // TS 24.109 A.3: username, realm, nonce="", uri, response="" — nothing else.
  let answer = await send(formatCredentials({ username: o.impi, realm: o.bsfFqdn, nonce: "", uri: UB_URI, response: "" }));
  let resyncs = 0;
  for (;;) {
    if (answer.status !== 401) throw statusError(answer, "a 401 challenge");
    const ch = akaChallenge(answer);
    const { rand, autn } = akaNonce(ch.nonce);
    tracer.value("RAND", rand);
    tracer.value("AUTN", autn);
    const outcome = await o.aka(rand, autn);
    const cnonce = bytesToHex(o.deps.randomBytes(CNONCE_BYTES));
    const nc = formatNc(1);
    const base = { username: o.impi, realm: ch.realm, nonce: ch.nonce, uri: UB_URI, opaque: ch.opaque, algorithm: ch.algorithm };
    if (outcome.kind === "success") {
      tracer.value("RES", outcome.res, "key");
      if (outcome.ck) tracer.value("CK", outcome.ck, "key");
      if (outcome.ik) tracer.value("IK", outcome.ik, "key");
      const password = passwordFor(ch.algorithm, outcome);
      tracer.value("password", typeof password === "string" ? password : bytesToHex(password), "key");
      const ha1 = digestHa1({ algorithm: ch.algorithm, username: o.impi, realm: ch.realm, password, nonce: ch.nonce });
      const fields = { algorithm: ch.algorithm, nonce: ch.nonce, nc, cnonce, qop: QOP } as const;
      const response = digestResponseFromHa1(ha1, { ...fields, method: "GET", uri: UB_URI, body: EMPTY });
      answer = await send(formatCredentials({ ...base, qop: QOP, nc, cnonce, response }));
      if (answer.status === 403)
        throw new UbError("REJECTED", "the BSF rejected the response (user authentication failure, 403)");
      if (answer.status === 401)
        throw new UbError("REJECTED", "the BSF challenged again after the response (user authentication failure)");
      if (answer.status !== 200) throw statusError(answer, "200 OK");
      // RFC 2617 §3.2.3 / RFC 3310 §3.3: authenticate the BSF before trusting anything in the answer.
      verifyRspauth(answer, ha1, { ...fields, uri: UB_URI });
      tracer.note("rspauth verified: the BSF is authenticated");
      const info = bootstrappingInfo(answer);
      tracer.value("B-TID", info.btid);
      tracer.value("lifetime", info.lifetime.toISOString());
      return { ...info, rand, realm: ch.realm, algorithm: ch.algorithm, ck: outcome.ck, ik: outcome.ik, resyncs };
    }
    // RFC 3310 §3.4 (sync failure: auts) and §3.5 (MAC failure): the response uses an empty password.
    const ha1 = digestHa1({ algorithm: ch.algorithm, username: o.impi, realm: ch.realm, password: EMPTY, nonce: ch.nonce });
    const response = digestResponseFromHa1(ha1, {
      algorithm: ch.algorithm,
      nonce: ch.nonce,
      nc,
      cnonce,
      qop: QOP,
      method: "GET",
      uri: UB_URI,
      body: EMPTY,
    });
    if (outcome.kind === "mac-failure") {
      tracer.note("the USIM rejected AUTN (MAC failure): the network is not authenticated");
      await send(formatCredentials({ ...base, qop: QOP, nc, cnonce, response })).catch(() => undefined);
      throw new UbError("NETWORK_AUTH_FAILED", "the USIM rejected the BSF's AUTN (MAC failure): network authentication failed");
    }
    if (resyncs >= MAX_RESYNCS) {
      throw new UbError("RESYNC_FAILED", "the USIM reported a synchronisation failure again after one resynchronisation");
    }
    resyncs++;
    tracer.value("AUTS", outcome.auts);
    tracer.note("synchronisation failure: sending AUTS for resynchronisation (TS 24.109 A.4)");
    const auts = Buffer.from(outcome.auts).toString("base64");
    answer = await send(formatCredentials({ ...base, qop: QOP, nc, cnonce, response, auts }));
  }
}

export function statusError(a: HttpAnswer, expected: string): UbError {
  if (a.status === 503) {
    const after = headerValue(a.headers, "retry-after");
    return new UbError("BSF_UNAVAILABLE", `the BSF is unavailable (503)${after ? `, retry after ${after} s` : ""}`);
  }
  if (a.status === 403) return new UbError("REJECTED", "the BSF refused the bootstrapping (403)");
  const detail = problemDetail(a);
  return new UbError("UNEXPECTED_STATUS", `expected ${expected} from the BSF, got ${a.status}${detail ? `: ${detail}` : ""}`);
}

function problemDetail(a: HttpAnswer): string | undefined {
  if (!headerValue(a.headers, "content-type")?.includes("json")) return undefined;
  try {
    const p = JSON.parse(Buffer.from(a.body).toString("utf8")) as { detail?: unknown };
    return typeof p.detail === "string" ? p.detail.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

export interface AkaChallenge extends DigestChallenge {
  algorithm: "AKAv1-MD5" | "AKAv2-MD5";
}

/** TS 24.109 A.3: the 401 carries a Digest challenge with algorithm AKAv1-MD5 (or AKAv2-MD5) and qop auth-int. */
export function akaChallenge(a: HttpAnswer): AkaChallenge {
  const header = headerValue(a.headers, "www-authenticate");
  if (header === undefined) throw new UbError("BAD_CHALLENGE", "the BSF's 401 has no WWW-Authenticate header");
  let challenges: DigestChallenge[];
  try {
    challenges = parseDigestChallenge(header);
  } catch (err) {
    if (err instanceof DigestParseError) throw new UbError("BAD_CHALLENGE", `BSF WWW-Authenticate: ${err.message}`);
    throw err;
  }
  const ch = challenges.find((c) => c.algorithm.toLowerCase().startsWith("akav"));
  if (ch === undefined) {
    const offered = challenges.map((c) => c.algorithm).join(", ") || "none";
    throw new UbError("UNSUPPORTED_ALGORITHM", `the BSF offers no Digest AKA challenge (algorithms: ${offered})`);
  }
  const algorithm =
    ch.algorithm.toUpperCase() === "AKAV2-MD5"
      ? "AKAv2-MD5"
      : ch.algorithm.toUpperCase() === "AKAV1-MD5"
        ? "AKAv1-MD5"
        : undefined;
  if (algorithm === undefined) throw new UbError("UNSUPPORTED_ALGORITHM", `unsupported Ub algorithm "${ch.algorithm}"`);
  if (!ch.qop.includes(QOP)) {
    throw new UbError(
      "BAD_CHALLENGE",
      `the BSF does not offer qop=auth-int (TS 24.109 A.3); offered: ${ch.qop.join(",") || "none"}`,
    );
  }
  return { ...ch, algorithm };
}

export function akaNonce(nonce: string): { rand: Uint8Array; autn: Uint8Array } {
  try {
    return parseAkaNonce(nonce);
  } catch (err) {
    if (err instanceof DigestParseError) throw new UbError("BAD_CHALLENGE", `BSF nonce: ${err.message}`);
    throw err;
  }
}

/** RFC 3310 §3.2: AKAv1 password = RES; RFC 4169 §3: AKAv2 needs IK and CK too. */
export function passwordFor(algorithm: DigestAlgorithm, o: Extract<AkaOutcome, { kind: "success" }>): Uint8Array | string {
  if (algorithm === "AKAv1-MD5") return akav1Password(o.res);
  if (o.ck === undefined || o.ik === undefined) {
    throw new UbError("UNSUPPORTED_ALGORITHM", "AKAv2-MD5 needs CK and IK, which a GBA_U card keeps on the UICC");
  }
  return akav2Password(o.res, o.ik, o.ck);
}

export function verifyRspauth(
  a: HttpAnswer,
  ha1: string,
  f: { algorithm: DigestAlgorithm; nonce: string; nc: string; cnonce: string; qop: "auth-int"; uri: string },
): void {
  const header = headerValue(a.headers, "authentication-info");
  if (header === undefined)
    throw new UbError("SERVER_AUTH_FAILED", "the BSF's 200 has no Authentication-Info: the BSF is not authenticated");
  let rsp: string | undefined;
  try {
    rsp = parseAuthenticationInfo(header).rspauth;
  } catch (err) {
    if (err instanceof DigestParseError) throw new UbError("SERVER_AUTH_FAILED", `BSF Authentication-Info: ${err.message}`);
    throw err;
  }
  if (rsp === undefined) throw new UbError("SERVER_AUTH_FAILED", "the BSF's Authentication-Info has no rspauth");
  const expected = rspauthFromHa1(ha1, { ...f, responseBody: a.body });
  if (!digestEquals(expected, rsp)) {
    throw new UbError("SERVER_AUTH_FAILED", "rspauth in the BSF's Authentication-Info does not verify: answer refused");
  }
}

export function bootstrappingInfo(a: HttpAnswer): BootstrappingInfo {
  try {
    return parseBootstrappingInfo(a.body);
  } catch (err) {
    throw new UbError("BAD_BOOTSTRAPPING_INFO", (err as Error).message);
  }
}
