// One Ub bootstrapping run of the ME as a step machine without I/O (TS 33.220 §4.5.2 / §5.3.2,
// TS 24.109 §4 and Annex A, RFC 3310, RFC 4169). The caller sends each request the run hands
// out, gives back the BSF's answer and, when the run asks, what the USIM made of RAND and AUTN;
// the run checks each answer (the AKA challenge, rspauth over the exact body, the
// BootstrappingInfo) and says what comes next. Async or synchronous, with a card or with
// MILENAGE in process, every UE of the project drives this one run.
//
// Requests are data: a caller testing someone else's BSF may change them on purpose before it
// sends them (another nonce, no qop, a wrong response), or answer a challenge with a RES of its
// own choosing, and still let the run judge the BSF's answer.
import { type BootstrappingInfo, parseBootstrappingInfo } from "../../gba/bootstrapping-info.js";
import {
  akav1Password,
  akav2Password,
  type DigestAlgorithm,
  type DigestChallenge,
  DigestParseError,
  type DigestQop,
  digestEquals,
  digestHa1,
  digestResponseFromHa1,
  formatCredentials,
  formatNc,
  parseAkaNonce,
  parseAuthenticationInfo,
  parseDigestChallenge,
  rspauthFromHa1,
} from "../../gba/digest/index.js";
import { bytesToHex } from "../../wire/bytes.js";
import type { RandomBytes } from "../../wire/deps.js";
import { PRODUCT_TOKEN, productTokens } from "../../wire/ub.js";
import { UeError } from "../errors.js";
import { noTrace, type Tracer } from "../trace.js";

/** What the UICC answered to RAND/AUTN (TS 31.102 §7.1.2): 3G context gives CK/IK, GBA_U context RES only. */
export type AkaOutcome =
  | { kind: "success"; res: Uint8Array; ck?: Uint8Array; ik?: Uint8Array }
  | { kind: "sync-failure"; auts: Uint8Array }
  | { kind: "mac-failure" };

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

/** One Ub answer as the ME sees it. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

/** The Digest fields of a Ub request's Authorization (RFC 7616 §3.4; auts: RFC 3310 §3.4). */
export type UbCredentials = Parameters<typeof formatCredentials>[0];

/** A request of the run: GET of the Ub URI with these credentials (TS 24.109 A.3/A.4). */
export interface UbRequest {
  method: "GET";
  uri: string;
  credentials: UbCredentials;
  /** TS 24.109 A.3 User-Agent, with the product tokens the UE supports */
  userAgent: string;
}

/** The header fields of a request, as they go on the wire (Authorization, then User-Agent). */
export function ubHeaders(r: UbRequest): { authorization: string; "user-agent": string } {
  return { authorization: formatCredentials(r.credentials), "user-agent": r.userAgent };
}

/** The BSF's AKA challenge (TS 24.109 A.3): RAND and AUTN (AUTN* for a GBA_U card, TS 33.220 §5.3.2) from the nonce. */
export interface UbChallenge {
  rand: Uint8Array;
  autn: Uint8Array;
  realm: string;
  nonce: string;
  algorithm: "AKAv1-MD5" | "AKAv2-MD5";
  opaque: string | undefined;
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
  /** the 200's Server header carries 3gpp-gba-tmpi: the BSF supports TMPI (TS 33.220 §4.5.2) */
  bsfTmpi: boolean;
}

/** Send this request and give its answer to next(), or the transport failure to lost(). */
export interface UbSend {
  kind: "send";
  request: UbRequest;
}
/** Run AKA on the card with challenge.rand and challenge.autn and give the outcome to aka(). */
export interface UbAka {
  kind: "aka";
  challenge: UbChallenge;
}
/** Bootstrapped: the BSF is authenticated (rspauth), the B-TID and lifetime are known. */
export interface UbDone {
  kind: "done";
  result: UbResult;
}
/** The run has ended without a bootstrapping; answer is the BSF's answer that ended it, if any. */
export interface UbFailed {
  kind: "failed";
  error: UbError;
  answer?: HttpAnswer;
}
/** What the caller does next. */
export type UbStep = UbSend | UbAka | UbDone | UbFailed;

/**
 * Digest fields the caller changes on purpose in its answer to a challenge; the response is
 * computed over them, and rspauth is checked against them, as a client that means them would.
 */
export interface UbDeviation {
  username?: string;
  realm?: string;
  nonce?: string;
  uri?: string;
  nc?: string;
  cnonce?: string;
  /** null: no qop, nc or cnonce (the RFC 2069 form) */
  qop?: DigestQop | null;
  /** null: no opaque */
  opaque?: string | null;
}

export interface UbRunOptions {
  /** the IMPI (TS 24.109 A.3) */
  impi: string;
  /** username instead of the IMPI: the TMPI of the last bootstrapping (TS 33.220 §4.5.2) */
  username?: string;
  /** realm of the first request: the BSF FQDN (TS 24.109 A.3) */
  realm: string;
  userAgent: string;
  /** source of the cnonce */
  randomBytes: RandomBytes;
  tracer?: Tracer;
}

const UB_URI = "/";
const QOP = "auth-int";
const EMPTY = new Uint8Array(0);
const CNONCE_BYTES = 16;
/** RFC 3310 §3.4 / TS 24.109 A.4: one resynchronisation per bootstrapping run. */
const MAX_RESYNCS = 1;

/**
 * The USIM's MAC check failed (TS 33.102 §6.3.3). From the UE its two usual causes look alike: the
 * card's K/OPc differ from the HSS's, or the BSF does not know the IMPI and sent a decoy challenge
 * (it hides from the UE whether a subscriber exists). The operator's side tells them apart.
 */
function macFailure(impi: string): string {
  return (
    `the USIM rejected the BSF's AUTN (MAC failure): either the card's K/OPc differ from the HSS's, ` +
    `or ${impi} is not provisioned (the BSF then sends a challenge no card can verify); ` +
    `\`gba provision show ${impi}\` tells them apart`
  );
}

/** The Digest fields of an answer to a challenge, as sent and as the response is computed over them. */
interface AnswerFields {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  algorithm: "AKAv1-MD5" | "AKAv2-MD5";
  qop: DigestQop | undefined;
  nc: string | undefined;
  cnonce: string | undefined;
  opaque: string | undefined;
}

type State =
  | { at: "start" }
  /** a request went out; the BSF's 401 challenge is due */
  | { at: "challenge" }
  /** the card is running AKA on the challenge */
  | { at: "aka"; ch: UbChallenge }
  /** the response went out; the BSF's 200 is due */
  | { at: "result"; ch: UbChallenge; ha1: string; f: AnswerFields; ck?: Uint8Array; ik?: Uint8Array }
  /** the MAC failure went out (RFC 3310 §3.5): the run has failed whatever the BSF answers */
  | { at: "reported" }
  | { at: "over" };

/** One bootstrapping run (TS 33.220 §4.5.2 steps 1-8, TS 24.109 A.3/A.4). */
export class UbRun {
  private state: State = { at: "start" };
  private resyncCount = 0;
  private readonly tracer: Tracer;

  constructor(private readonly o: UbRunOptions) {
    this.tracer = o.tracer ?? noTrace;
  }

  private get username(): string {
    return this.o.username ?? this.o.impi;
  }

  /** how many AUTS the run has sent */
  get resyncs(): number {
    return this.resyncCount;
  }

  /** The first request: TS 24.109 A.3 username, realm, nonce="", uri, response="" — nothing else. */
  first(): UbRequest {
    if (this.state.at !== "start") throw new Error(`UbRun.first() while ${this.state.at}: a run sends one first request`);
    this.state = { at: "challenge" };
    return this.request({ username: this.username, realm: this.o.realm, nonce: "", uri: UB_URI, response: "" });
  }

  /** The BSF's answer to the last request. */
  next(answer: HttpAnswer): UbAka | UbDone | UbFailed {
    const s = this.state;
    try {
      if (s.at === "challenge") return this.challenged(answer);
      if (s.at === "result") return this.concluded(answer, s);
      if (s.at === "reported") return this.fail(new UbError("NETWORK_AUTH_FAILED", macFailure(this.o.impi)), answer);
    } catch (err) {
      if (err instanceof UbError) return this.fail(err, answer);
      throw err;
    }
    throw new Error(`UbRun.next() while ${s.at}: no request is waiting for an answer`);
  }

  /**
   * What the USIM made of the challenge: the answer to send (RFC 3310 §3.3 with RES, §3.4 AUTS
   * and §3.5 MAC failure with an empty password), or the end of the run.
   */
  aka(outcome: AkaOutcome, deviate: UbDeviation = {}): UbSend | UbFailed {
    const s = this.state;
    if (s.at !== "aka") throw new Error(`UbRun.aka() while ${s.at}: no challenge is waiting for the USIM`);
    const { ch } = s;
    const f = answerFields(this.username, ch, deviate, () => bytesToHex(this.o.randomBytes(CNONCE_BYTES)));
    if (outcome.kind === "success") {
      this.tracer.value("RES", outcome.res, "key");
      if (outcome.ck) this.tracer.value("CK", outcome.ck, "key");
      if (outcome.ik) this.tracer.value("IK", outcome.ik, "key");
      let password: Uint8Array | string;
      try {
        password = passwordFor(ch.algorithm, outcome);
      } catch (err) {
        if (err instanceof UbError) return this.fail(err);
        throw err;
      }
      this.tracer.value("password", typeof password === "string" ? password : bytesToHex(password), "key");
      const ha1 = digestHa1({ algorithm: ch.algorithm, username: f.username, realm: f.realm, password, nonce: f.nonce });
      this.state = { at: "result", ch, ha1, f, ck: outcome.ck, ik: outcome.ik };
      return this.send(credentialsOf(f, requestDigest(ha1, f)));
    }
    // RFC 3310 §3.4 (sync failure: auts) and §3.5 (MAC failure): the response uses an empty password
    const ha1 = digestHa1({ algorithm: ch.algorithm, username: f.username, realm: f.realm, password: EMPTY, nonce: f.nonce });
    const response = requestDigest(ha1, f);
    if (outcome.kind === "mac-failure") {
      this.tracer.note("the USIM rejected AUTN (MAC failure): the network is not authenticated");
      this.state = { at: "reported" };
      return this.send(credentialsOf(f, response));
    }
    if (this.resyncCount >= MAX_RESYNCS) {
      return this.fail(
        new UbError("RESYNC_FAILED", "the USIM reported a synchronisation failure again after one resynchronisation"),
      );
    }
    this.resyncCount++;
    this.tracer.value("AUTS", outcome.auts);
    this.tracer.note("synchronisation failure: sending AUTS for resynchronisation (TS 24.109 A.4)");
    this.state = { at: "challenge" };
    return this.send(credentialsOf(f, response, Buffer.from(outcome.auts).toString("base64")));
  }

  /**
   * The last request got no answer; `message` says why, for the user. After a MAC failure the
   * run has failed on that anyway: the UE gives up on the BSF whether the report arrives or not.
   */
  lost(message: string): UbFailed {
    if (this.state.at === "reported") return this.fail(new UbError("NETWORK_AUTH_FAILED", macFailure(this.o.impi)));
    return this.fail(new UbError("TRANSPORT", message));
  }

  // ---------------------------------------------------------------- steps

  private challenged(a: HttpAnswer): UbAka {
    if (a.status !== 401) throw statusError(a, "a 401 challenge");
    const ch = akaChallenge(a);
    this.tracer.value("RAND", ch.rand);
    this.tracer.value("AUTN", ch.autn);
    this.state = { at: "aka", ch };
    return { kind: "aka", challenge: ch };
  }

  private concluded(a: HttpAnswer, s: Extract<State, { at: "result" }>): UbDone {
    if (a.status === 403) throw new UbError("REJECTED", "the BSF rejected the response (user authentication failure, 403)");
    if (a.status === 401)
      throw new UbError("REJECTED", "the BSF challenged again after the response (user authentication failure)");
    if (a.status !== 200) throw statusError(a, "200 OK");
    // RFC 2617 §3.2.3 / RFC 3310 §3.3: authenticate the BSF before trusting anything in the answer
    verifyRspauth(a, s.ha1, s.f);
    this.tracer.note("rspauth verified: the BSF is authenticated");
    const info = bootstrappingInfo(a);
    this.tracer.value("B-TID", info.btid);
    this.tracer.value("lifetime", info.lifetime.toISOString());
    this.state = { at: "over" };
    const { ch } = s;
    return {
      kind: "done",
      result: {
        btid: info.btid,
        lifetime: info.lifetime,
        currentTime: info.currentTime,
        rand: ch.rand,
        realm: ch.realm,
        algorithm: ch.algorithm,
        ck: s.ck,
        ik: s.ik,
        resyncs: this.resyncCount,
        bsfTmpi: productTokens(headerValue(a.headers, "server"), [PRODUCT_TOKEN.GBA_TMPI]).length > 0,
      },
    };
  }

  private request(credentials: UbCredentials): UbRequest {
    return { method: "GET", uri: UB_URI, credentials, userAgent: this.o.userAgent };
  }

  private send(credentials: UbCredentials): UbSend {
    return { kind: "send", request: this.request(credentials) };
  }

  private fail(error: UbError, answer?: HttpAnswer): UbFailed {
    this.state = { at: "over" };
    return { kind: "failed", error, answer };
  }
}

/** TS 24.109 A.4: the answer's Digest fields (qop=auth-int, nc 00000001, a fresh cnonce), with the caller's deviations. */
function answerFields(impi: string, ch: UbChallenge, d: UbDeviation, cnonce: () => string): AnswerFields {
  const qop = d.qop === null ? undefined : (d.qop ?? QOP);
  return {
    username: d.username ?? impi,
    realm: d.realm ?? ch.realm,
    nonce: d.nonce ?? ch.nonce,
    uri: d.uri ?? UB_URI,
    algorithm: ch.algorithm,
    qop,
    nc: qop === undefined ? undefined : (d.nc ?? formatNc(1)),
    cnonce: qop === undefined ? undefined : (d.cnonce ?? cnonce()),
    opaque: d.opaque === null ? undefined : (d.opaque ?? ch.opaque),
  };
}

/** RFC 2617 §3.2.2.1: the response of a GET of the Ub URI with an empty body (qop=auth-int hashes it). */
function requestDigest(ha1: string, f: AnswerFields): string {
  const { algorithm, nonce, nc, cnonce, qop, uri } = f;
  return digestResponseFromHa1(ha1, { algorithm, nonce, nc, cnonce, qop, method: "GET", uri, body: EMPTY });
}

/** The credentials of an answer (RFC 7616 §3.4), written out: an object spread costs microseconds here. */
function credentialsOf(f: AnswerFields, response: string, auts?: string): UbCredentials {
  const { username, realm, nonce, uri, algorithm, qop, nc, cnonce, opaque } = f;
  return { username, realm, nonce, uri, response, algorithm, qop, nc, cnonce, opaque, auts };
}

function headerValue(h: HttpAnswer["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

function statusError(a: HttpAnswer, expected: string): UbError {
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

/**
 * TS 24.109 A.3: the 401 carries a Digest challenge with algorithm AKAv1-MD5 (or AKAv2-MD5) and
 * qop auth-int, its nonce RAND ‖ AUTN (A.4).
 */
function akaChallenge(a: HttpAnswer): UbChallenge {
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
  const { rand, autn } = akaNonce(ch.nonce);
  return { rand, autn, realm: ch.realm, nonce: ch.nonce, algorithm, opaque: ch.opaque };
}

function akaNonce(nonce: string): { rand: Uint8Array; autn: Uint8Array } {
  try {
    return parseAkaNonce(nonce);
  } catch (err) {
    if (err instanceof DigestParseError) throw new UbError("BAD_CHALLENGE", `BSF nonce: ${err.message}`);
    throw err;
  }
}

/** RFC 3310 §3.2: AKAv1 password = RES; RFC 4169 §3: AKAv2 needs IK and CK too. */
function passwordFor(algorithm: DigestAlgorithm, o: Extract<AkaOutcome, { kind: "success" }>): Uint8Array | string {
  if (algorithm === "AKAv1-MD5") return akav1Password(o.res);
  if (o.ck === undefined || o.ik === undefined) {
    throw new UbError("UNSUPPORTED_ALGORITHM", "AKAv2-MD5 needs CK and IK, which a GBA_U card keeps on the UICC");
  }
  return akav2Password(o.res, o.ik, o.ck);
}

/** RFC 2617 §3.2.3 / RFC 7616 §3.5: rspauth over the exact body of the 200, compared in constant time. */
function verifyRspauth(a: HttpAnswer, ha1: string, f: AnswerFields): void {
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
  const { algorithm, nonce, nc, cnonce, qop, uri } = f;
  const expected = rspauthFromHa1(ha1, { algorithm, nonce, nc, cnonce, qop, uri, responseBody: a.body });
  if (!digestEquals(expected, rsp)) {
    throw new UbError("SERVER_AUTH_FAILED", "rspauth in the BSF's Authentication-Info does not verify: answer refused");
  }
}

function bootstrappingInfo(a: HttpAnswer): BootstrappingInfo {
  try {
    return parseBootstrappingInfo(a.body);
  } catch (err) {
    throw new UbError("BAD_BOOTSTRAPPING_INFO", (err as Error).message);
  }
}
