// Ub procedures of the BSF: challenge, answer, resynchronisation (TS 33.220 §4.5.2,
// TS 24.109 §4 and Annex A, RFC 3310, RFC 4169). HTTP framing is in routes.ts.
import { base64ToBytes, bytesToHex } from "../../../wire/bytes.js";
import { buildBootstrappingInfo } from "../../../gba/bootstrapping-info.js";
import { makeBtid } from "../../../gba/btid.js";
import {
  akav1Password,
  akav2Password,
  buildAkaNonce,
  type DigestCredentials,
  digestEquals,
  digestHa1,
  digestResponseFromHa1,
  formatAuthenticationInfo,
  formatChallenge,
  parseAkaNonce,
  rspauthFromHa1,
} from "../../../gba/digest/index.js";
import { toAutnStar } from "../../../gba/gba-u.js";
import { ksFromCkIk } from "../../../gba/keys.js";
import type { CommonConfig } from "../../common/config.js";
import type { BsfConfig } from "../config.js";
import type { NfDeps } from "../../common/deps.js";
import { ProblemError } from "../../common/problem.js";
import { BSF_CAUSE } from "../causes.js";
import type { BootstrapSession, SessionStore } from "../session-store.js";
import type { ResyncInfo } from "../../../wire/zh.js";
import { ZhError, type ZhClient } from "../zh-client.js";
import type { ChallengeStore, PendingChallenge, UbAlgorithm } from "./challenge-store.js";

export interface UbContext {
  bsf: BsfConfig;
  gbaU: CommonConfig["gbaU"];
  zh: ZhClient;
  challenges: ChallengeStore;
  sessions: SessionStore;
  deps: NfDeps;
}

/** The request as Digest sees it (RFC 2617 §3.2.2: method and digest-uri enter A2). */
export interface UbRequest {
  method: string;
  /** request target as received */
  target: string;
}

export type UbOutcome =
  | { kind: "challenge"; wwwAuthenticate: string; impi: string }
  | {
      kind: "bootstrapped";
      impi: string;
      btid: string;
      superseded?: string;
      /** the exact bytes rspauth covers */
      body: string;
      authenticationInfo: string;
      expiresAt: number;
    };

/** TS 24.109 A.3: the BSF answers 401 only with auth-int. */
const QOP = "auth-int";
const EMPTY = new Uint8Array(0);
const AUTS_LENGTH = 14;
const RESPONSE_HEX = /^[0-9a-fA-F]{32}$/;
/** a 503 from the BSF tells the UE when to try again (RFC 9110 §10.2.3) */
export const RETRY_AFTER_SECONDS = 5;

function badRequest(cause: string, detail: string, param?: string): ProblemError {
  return new ProblemError(400, cause, detail, param ? { invalidParams: [{ param, reason: detail }] } : {});
}

/** One body for wrong response, unknown IMPI and rejected AUTS, so none reveals whether the user exists. */
export function authenticationRejected(): ProblemError {
  return new ProblemError(403, BSF_CAUSE.AUTHENTICATION_REJECTED, "authentication failed");
}

function hssUnavailable(): ProblemError {
  return new ProblemError(
    503,
    BSF_CAUSE.HSS_UNAVAILABLE,
    "the HSS is not available, try again later",
    {},
    { "retry-after": String(RETRY_AFTER_SECONDS) },
  );
}

const DECOY_GUSS: Awaited<ReturnType<ZhClient["subscriberData"]>> = { bsfInfo: { uiccType: "GBA" }, ussList: [] };

function isAlgorithm(a: string): a is UbAlgorithm {
  return a === "AKAv1-MD5" || a === "AKAv2-MD5";
}

export class UbProcedures {
  constructor(private readonly ctx: UbContext) {}

  /**
   * TS 33.220 §4.5.2 steps 2-3: one AV (and the GUSS) over Zh, the challenge stored, the
   * WWW-Authenticate value returned. GBA_U subscribers get AUTN* in the nonce (§5.3.2).
   */
  async challenge(impi: string, opts: { stale?: boolean; resync?: ResyncInfo } = {}): Promise<UbOutcome> {
    const { bsf, gbaU, zh, challenges, deps } = this.ctx;
    let av: Awaited<ReturnType<ZhClient["generateAuthData"]>>;
    let guss: Awaited<ReturnType<ZhClient["subscriberData"]>>;
    let decoy = false;
    try {
      [av, guss] = await Promise.all([zh.generateAuthData(impi, opts.resync), zh.subscriberData(impi)]);
    } catch (err) {
      if (err instanceof ZhError) {
        if (err.kind === "UNAVAILABLE") throw hssUnavailable();
        // An unknown IMPI gets a challenge like any other, made of random values that no answer
        // matches, so it ends in the same 403 as a wrong password and the first answer does not
        // tell whether the subscriber exists. A rejected AUTS is refused at once.
        if (err.kind !== "USER_UNKNOWN" || opts.resync) throw authenticationRejected();
        [av, guss, decoy] = [this.decoyVector(), DECOY_GUSS, true];
      } else throw err;
    }
    const gbaUChallenge = guss.bsfInfo.uiccType === "GBA_U" && gbaU.autnStar;
    const autn = gbaUChallenge ? toAutnStar(av.autn, av.ik) : av.autn;
    const nonce = buildAkaNonce(av.rand, autn);
    const opaque = bytesToHex(deps.randomBytes(16));
    const algorithm = bsf.algorithm;
    await challenges.put(nonce, {
      impi,
      rand: av.rand,
      xres: av.xres,
      ck: av.ck,
      ik: av.ik,
      algorithm,
      opaque,
      guss,
      expiresAt: deps.clock() + bsf.nonceTtl * 1000,
      ...(decoy ? { decoy: true as const } : {}),
    });
    const wwwAuthenticate = formatChallenge({
      realm: bsf.fqdn,
      nonce,
      algorithm,
      qop: [QOP],
      opaque,
      stale: opts.stale,
    });
    return { kind: "challenge", wwwAuthenticate, impi };
  }

  private decoyVector(): Awaited<ReturnType<ZhClient["generateAuthData"]>> {
    const r = this.ctx.deps.randomBytes;
    return { rand: r(16), autn: r(16), xres: r(8), ck: r(16), ik: r(16) };
  }

  /** Dispatches an Authorization header: first request, answer, or resynchronisation. */
  async handle(creds: DigestCredentials, req: UbRequest): Promise<UbOutcome> {
    if (creds.username === "")
      throw badRequest(BSF_CAUSE.MALFORMED_AUTHORIZATION, 'parameter "username": the IMPI is empty', "username");
    if (creds.uri !== req.target) {
      throw badRequest(BSF_CAUSE.URI_MISMATCH, `parameter "uri" does not match the request target ${req.target}`, "uri");
    }
    // TS 24.109 A.3: the first request carries nonce="" and response="": get a challenge.
    if (creds.nonce === "") return this.challenge(creds.username);
    if (creds.realm !== this.ctx.bsf.fqdn) {
      throw badRequest(BSF_CAUSE.REALM_MISMATCH, 'parameter "realm" is not the realm of the challenge (the BSF FQDN)', "realm");
    }
    if (!isAlgorithm(creds.algorithm)) {
      throw badRequest(
        BSF_CAUSE.UNSUPPORTED_DIGEST_PARAMETER,
        `algorithm "${creds.algorithm}" is not offered; AKAv1-MD5 or AKAv2-MD5`,
        "algorithm",
      );
    }
    try {
      parseAkaNonce(creds.nonce);
    } catch {
      throw badRequest(BSF_CAUSE.MALFORMED_AUTHORIZATION, 'parameter "nonce" is not base64(RAND ‖ AUTN)', "nonce");
    }
    if (creds.auts !== undefined) return this.resync(creds, decodeAuts(creds.auts));
    if (creds.qop !== QOP) {
      throw badRequest(BSF_CAUSE.UNSUPPORTED_DIGEST_PARAMETER, 'parameter "qop" must be auth-int (TS 24.109 A.4)', "qop");
    }
    if (!RESPONSE_HEX.test(creds.response)) {
      throw badRequest(BSF_CAUSE.MALFORMED_AUTHORIZATION, 'parameter "response" must be 32 hex digits', "response");
    }
    return this.answer(creds, req);
  }

  /**
   * TS 33.220 §4.5.2 steps 5-7; RFC 3310 §3.3: verify the response with password RES (or the
   * AKAv2 password); on success Ks, B-TID and lifetime make the new session, which replaces the
   * IMPI's old one. Spending the nonce and storing the session are one LMDB commit.
   */
  private async answer(creds: DigestCredentials, req: UbRequest): Promise<UbOutcome> {
    const { deps, sessions } = this.ctx;
    const now = deps.clock();
    const taken = await this.ctx.challenges.take(creds.nonce, now, (c) => {
      const ha1 = this.verifiedHa1(c, creds, req);
      if (ha1 === undefined) return undefined;
      const session = this.newSession(c, now);
      return { ha1, session, superseded: sessions.createInTxn(session) };
    });
    switch (taken.kind) {
      case "unknown":
        // RFC 7616 §3.3: a nonce the server does not know gets a new challenge
        return this.challenge(creds.username);
      case "spent":
        throw new ProblemError(403, BSF_CAUSE.NONCE_ALREADY_USED, "this nonce was already answered; start a new bootstrapping");
      case "stale":
        // RFC 7616 §3.3: stale=true only when the digest was right for the expired nonce
        if (this.verifiedHa1(taken.challenge, creds, req) === undefined) throw authenticationRejected();
        return this.challenge(taken.challenge.impi, { stale: true });
      case "fresh": {
        if (taken.outcome === undefined) throw authenticationRejected();
        const { ha1, session, superseded } = taken.outcome;
        return this.bootstrapped(ha1, session, superseded, creds);
      }
    }
  }

  /** H(A1) when username, algorithm, opaque and the request-digest all match the challenge (constant-time compare). */
  private verifiedHa1(c: PendingChallenge, creds: DigestCredentials, req: UbRequest): string | undefined {
    if (c.decoy) return undefined;
    if (creds.username !== c.impi || creds.algorithm !== c.algorithm || creds.opaque !== c.opaque) return undefined;
    const password = c.algorithm === "AKAv1-MD5" ? akav1Password(c.xres) : akav2Password(c.xres, c.ik, c.ck);
    const ha1 = digestHa1({ algorithm: c.algorithm, username: c.impi, realm: this.ctx.bsf.fqdn, password, nonce: creds.nonce });
    const expected = digestResponseFromHa1(ha1, {
      algorithm: c.algorithm,
      nonce: creds.nonce,
      nc: creds.nc,
      cnonce: creds.cnonce,
      qop: QOP,
      method: req.method,
      uri: creds.uri,
      body: EMPTY,
    });
    return digestEquals(expected, creds.response) ? ha1 : undefined;
  }

  /** TS 33.220 §4.5.2 step 6: Ks = CK ‖ IK, B-TID = base64(RAND)@BSF, key lifetime. */
  private newSession(c: PendingChallenge, now: number): BootstrapSession {
    // TS 29.109 / TS 29.562 GUSS bsfInfo.lifeTime is the key lifetime when present; else local policy
    const lifetimeS = c.guss.bsfInfo.lifeTime ?? this.ctx.bsf.sessionLifetime;
    return {
      btid: makeBtid(c.rand, this.ctx.bsf.fqdn),
      impi: c.impi,
      ks: ksFromCkIk(c.ck, c.ik),
      rand: c.rand,
      createdAt: now,
      expiresAt: Math.floor(now / 1000) * 1000 + lifetimeS * 1000,
      uiccType: c.guss.bsfInfo.uiccType,
      guss: c.guss,
    };
  }

  /** TS 33.220 §4.5.2 step 7 / TS 24.109 Annex C: the 200 body and its Authentication-Info. */
  private bootstrapped(ha1: string, s: BootstrapSession, superseded: string | undefined, creds: DigestCredentials): UbOutcome {
    const body = buildBootstrappingInfo({ btid: s.btid, lifetime: new Date(s.expiresAt) });
    // RFC 2617 §3.2.3 / RFC 3310: rspauth with the same password, A2 over the exact 200 body
    const rsp = rspauthFromHa1(ha1, {
      algorithm: creds.algorithm as UbAlgorithm,
      nonce: creds.nonce,
      nc: creds.nc,
      cnonce: creds.cnonce,
      qop: QOP,
      uri: creds.uri,
      responseBody: Buffer.from(body, "utf8"),
    });
    const authenticationInfo = formatAuthenticationInfo({ qop: QOP, rspauth: rsp, cnonce: creds.cnonce, nc: creds.nc });
    return { kind: "bootstrapped", impi: s.impi, btid: s.btid, superseded, body, authenticationInfo, expiresAt: s.expiresAt };
  }

  /**
   * TS 24.109 A.4 / TS 33.102 §6.3.5: the UE sent AUTS for the RAND of our challenge. The HSS
   * checks MAC-S; the Digest response (computed with an empty password, RFC 3310 §3.4) holds
   * no secret, so it is not checked here.
   */
  private async resync(creds: DigestCredentials, auts: Uint8Array): Promise<UbOutcome> {
    const taken = await this.ctx.challenges.take(creds.nonce, this.ctx.deps.clock());
    if (taken.kind === "unknown") return this.challenge(creds.username);
    if (taken.kind === "spent") {
      throw new ProblemError(403, BSF_CAUSE.NONCE_ALREADY_USED, "this nonce was already answered; start a new bootstrapping");
    }
    const c = taken.challenge;
    if (creds.username !== c.impi || c.decoy) throw authenticationRejected();
    return this.challenge(c.impi, { resync: { rand: c.rand, auts } });
  }
}

/** RFC 3310 §3.4: auts = base64(AUTS), AUTS 14 octets (TS 33.102 §6.3.3). */
function decodeAuts(b64: string): Uint8Array {
  const auts = base64ToBytes(b64);
  if (auts === undefined) throw badRequest(BSF_CAUSE.MALFORMED_AUTHORIZATION, 'parameter "auts" is not base64', "auts");
  if (auts.length !== AUTS_LENGTH) {
    throw badRequest(
      BSF_CAUSE.MALFORMED_AUTHORIZATION,
      `parameter "auts" holds ${auts.length} octets, AUTS is ${AUTS_LENGTH}`,
      "auts",
    );
  }
  return auts;
}
