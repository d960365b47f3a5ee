// Ub procedures of the BSF: challenge, answer, resynchronisation (TS 33.220 §4.5.2, TS 24.109 §4
// and Annex A, RFC 3310, RFC 4169). No HTTP here: every request ends in a tagged outcome (a
// challenge to send, a bootstrapping done, or a refusal with its cause and the reason behind it),
// which routes/ub.ts turns into the answer.
import { buildBootstrappingInfo } from "../../../gba/bootstrapping-info.js";
import { deriveTmpi, makeBtid, TMPI_REALM } from "../../../gba/btid.js";
import {
  akav1Password,
  akav2Password,
  buildAkaNonce,
  type DigestCredentials,
  digestEquals,
  digestHa1,
  digestResponseFromHa1,
  type formatAuthenticationInfo,
  type formatChallenge,
  parseAkaNonce,
  rspauthFromHa1,
} from "../../../gba/digest/index.js";
import { toAutnStar } from "../../../gba/gba-u.js";
import { ksFromCkIk } from "../../../gba/keys.js";
import { base64ToBytes, bytesToHex } from "../../../wire/bytes.js";
import type { AuthVector, Guss, ResyncInfo } from "../../../wire/zh.js";
import type { CommonConfig } from "../../common/config.js";
import type { NfDeps } from "../../common/deps.js";
import type { BsfCause } from "../causes.js";
import type { BsfConfig, UbAlgorithm } from "../config.js";
import type { BsfSession, BsfStore, PendingChallenge } from "../store.js";
import { ZhError, type ZhClient } from "../zh-client.js";

export interface UbContext {
  bsf: BsfConfig;
  gbaU: CommonConfig["gbaU"];
  zh: ZhClient;
  store: BsfStore;
  deps: NfDeps;
}

/** The request as Digest sees it (RFC 2617 §3.2.2: method and digest-uri enter A2). */
export interface UbRequest {
  method: string;
  /** request target as received */
  target: string;
  /** the User-Agent announces 3gpp-gba-tmpi (TS 33.220 §4.5.2): the new session gets a TMPI */
  ueTmpi?: boolean;
}

/** Who a request names: the IMPI, and the TMPI when the username was one (TS 33.220 §4.5.2). */
interface Identity {
  impi: string;
  tmpi?: string;
}

/** The WWW-Authenticate parameters of a challenge (RFC 7616 §3.3). */
export type UbChallenge = Parameters<typeof formatChallenge>[0];

/** Why a refused request was refused: for the operator's log, never in the answer. */
export type UbRefusalReason =
  | "malformed-authorization"
  | "uri-mismatch"
  | "realm-mismatch"
  | "unsupported-digest-parameter"
  | "unexpected-body"
  | "method-not-allowed"
  | "wrong-response"
  | "unknown-impi"
  | "unknown-tmpi"
  | "username-mismatch"
  | "auts-rejected"
  | "hss-rejected"
  | "nonce-replayed"
  | "hss-unavailable";

export interface UbRefusal {
  kind: "refused";
  cause: BsfCause;
  reason: UbRefusalReason;
  /** the ProblemDetails detail: the same text whatever the reason behind one cause */
  detail: string;
  invalidParams?: Array<{ param: string; reason: string }>;
  /** the IMPI the request named, when it named one */
  impi?: string;
  /** what the operator needs besides the reason (e.g. what was wrong with the HSS's answer); log only */
  note?: string;
}

export type UbOutcome =
  | { kind: "challenge"; impi: string; challenge: UbChallenge }
  | {
      kind: "bootstrapped";
      impi: string;
      btid: string;
      superseded?: string;
      /** the exact bytes rspauth covers */
      body: string;
      /** the Authentication-Info parameters (RFC 7616 §3.5) */
      authenticationInfo: Parameters<typeof formatAuthenticationInfo>[0];
      expiresAt: number;
    }
  | UbRefusal;

/** TS 24.109 A.3: the BSF answers 401 only with auth-int. */
const QOP = "auth-int";
const EMPTY = new Uint8Array(0);
const AUTS_LENGTH = 14;
const RESPONSE_HEX = /^[0-9a-fA-F]{32}$/;

/** A 400-class refusal of one Authorization parameter. */
function badParameter(cause: BsfCause, reason: UbRefusalReason, detail: string, param: string, impi?: string): UbRefusal {
  return { kind: "refused", cause, reason, detail, invalidParams: [{ param, reason: detail }], impi };
}

/** One body for wrong response, unknown IMPI and rejected AUTS, so none reveals whether the user exists. */
function authenticationRejected(reason: UbRefusalReason, impi: string): UbRefusal {
  return { kind: "refused", cause: "AUTHENTICATION_REJECTED", reason, detail: "authentication failed", impi };
}

function nonceReplayed(impi: string): UbRefusal {
  return {
    kind: "refused",
    cause: "NONCE_ALREADY_USED",
    reason: "nonce-replayed",
    detail: "this nonce was already answered; start a new bootstrapping",
    impi,
  };
}

const DECOY_GUSS: Guss = { bsfInfo: { uiccType: "GBA" }, ussList: [] };

/** TS 33.220 B.4: a TMPI is base64(24 octets) "@tmpi.bsf.3gppnetwork.org"; the realm tells it from an IMPI. */
function isTmpi(username: string): boolean {
  const at = username.lastIndexOf("@");
  return at > 0 && username.slice(at + 1).toLowerCase() === TMPI_REALM;
}

function isAlgorithm(a: string): a is UbAlgorithm {
  return a === "AKAv1-MD5" || a === "AKAv2-MD5";
}

export class UbProcedures {
  constructor(private readonly ctx: UbContext) {}

  /**
   * TS 33.220 §4.5.2 steps 2-3: one AV (and the GUSS) over Zh, the challenge stored, its
   * WWW-Authenticate parameters returned. GBA_U subscribers get AUTN* in the nonce (§5.3.2).
   */
  async challenge(id: Identity, opts: { stale?: boolean; resync?: ResyncInfo } = {}): Promise<UbOutcome> {
    const { impi } = id;
    const { bsf, gbaU, zh, store, deps } = this.ctx;
    let av: AuthVector;
    let guss: Guss;
    let decoy = false;
    try {
      ({ av, guss } = await zh.authData(impi, opts.resync));
    } catch (err) {
      if (!(err instanceof ZhError)) throw err;
      if (err.kind === "UNAVAILABLE") {
        return {
          kind: "refused",
          cause: "HSS_UNAVAILABLE",
          reason: "hss-unavailable",
          detail: "the HSS is not available, try again later",
          impi,
          note: err.message,
        };
      }
      // An unknown IMPI gets a challenge like any other, made of random values that no answer
      // matches, so it ends in the same 403 as a wrong password and the first answer does not
      // tell whether the subscriber exists. A rejected AUTS is refused at once.
      if (err.kind !== "USER_UNKNOWN" || opts.resync) {
        const reason = err.kind === "USER_UNKNOWN" ? "unknown-impi" : opts.resync ? "auts-rejected" : "hss-rejected";
        return authenticationRejected(reason, impi);
      }
      [av, guss, decoy] = [this.decoyVector(), DECOY_GUSS, true];
    }
    const gbaUChallenge = guss.bsfInfo.uiccType === "GBA_U" && gbaU.autnStar;
    const autn = gbaUChallenge ? toAutnStar(av.autn, av.ik) : av.autn;
    const nonce = buildAkaNonce(av.rand, autn);
    const opaque = bytesToHex(deps.randomBytes(16));
    const algorithm = bsf.algorithm;
    await store.putChallenge(nonce, {
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
      ...(id.tmpi !== undefined ? { tmpi: id.tmpi } : {}),
    });
    return { kind: "challenge", impi, challenge: { realm: bsf.fqdn, nonce, algorithm, qop: [QOP], opaque, stale: opts.stale } };
  }

  private decoyVector(): AuthVector {
    const r = this.ctx.deps.randomBytes;
    return { rand: r(16), autn: r(16), xres: r(8), ck: r(16), ik: r(16) };
  }

  /** Dispatches an Authorization header: first request, answer, or resynchronisation. */
  async handle(creds: DigestCredentials, req: UbRequest): Promise<UbOutcome> {
    if (creds.username === "")
      return badParameter(
        "MALFORMED_AUTHORIZATION",
        "malformed-authorization",
        'parameter "username": the IMPI is empty',
        "username",
      );
    const id = await this.identity(creds.username);
    if ("kind" in id) return id;
    const { impi } = id;
    if (creds.uri !== req.target) {
      return badParameter(
        "URI_MISMATCH",
        "uri-mismatch",
        `parameter "uri" does not match the request target ${req.target}`,
        "uri",
        impi,
      );
    }
    // TS 24.109 A.3: the first request carries nonce="" and response="": get a challenge.
    if (creds.nonce === "") return this.challenge(id);
    if (creds.realm !== this.ctx.bsf.fqdn) {
      return badParameter(
        "REALM_MISMATCH",
        "realm-mismatch",
        'parameter "realm" is not the realm of the challenge (the BSF FQDN)',
        "realm",
        impi,
      );
    }
    if (!isAlgorithm(creds.algorithm)) {
      return badParameter(
        "UNSUPPORTED_DIGEST_PARAMETER",
        "unsupported-digest-parameter",
        `algorithm "${creds.algorithm}" is not offered; AKAv1-MD5 or AKAv2-MD5`,
        "algorithm",
        impi,
      );
    }
    try {
      parseAkaNonce(creds.nonce);
    } catch {
      return badParameter(
        "MALFORMED_AUTHORIZATION",
        "malformed-authorization",
        'parameter "nonce" is not base64(RAND ‖ AUTN)',
        "nonce",
        impi,
      );
    }
    if (creds.auts !== undefined) {
      const auts = decodeAuts(creds.auts, impi);
      return auts instanceof Uint8Array ? this.resync(id, creds, auts) : auts;
    }
    if (creds.qop !== QOP) {
      return badParameter(
        "UNSUPPORTED_DIGEST_PARAMETER",
        "unsupported-digest-parameter",
        'parameter "qop" must be auth-int (TS 24.109 A.4)',
        "qop",
        impi,
      );
    }
    if (!RESPONSE_HEX.test(creds.response)) {
      return badParameter(
        "MALFORMED_AUTHORIZATION",
        "malformed-authorization",
        'parameter "response" must be 32 hex digits',
        "response",
        impi,
      );
    }
    return this.answer(id, creds, req);
  }

  /**
   * TS 33.220 §4.5.2: a username in the TMPI realm (B.4) is looked up; one the BSF cannot resolve
   * is refused, so the UE deletes its TMPI and bootstraps with the IMPI. Without TMPI support
   * (bsf.tmpi false) every username is an IMPI.
   */
  private async identity(username: string): Promise<Identity | UbRefusal> {
    if (!this.ctx.bsf.tmpi || !isTmpi(username)) return { impi: username };
    const impi = await this.ctx.store.impiOfTmpi(username);
    if (impi !== undefined) return { impi, tmpi: username };
    return {
      kind: "refused",
      cause: "TMPI_UNKNOWN",
      reason: "unknown-tmpi",
      detail: "this TMPI is not known (any more): bootstrap again with the IMPI (TS 33.220 §4.5.2)",
      invalidParams: [{ param: "username", reason: "unknown TMPI" }],
    };
  }

  /**
   * TS 33.220 §4.5.2 steps 5-7; RFC 3310 §3.3: verify the response with password RES (or the
   * AKAv2 password); on success Ks, B-TID and lifetime make the new session, which replaces the
   * IMPI's old one. Spending the nonce and storing the session are one store step.
   */
  private async answer(id: Identity, creds: DigestCredentials, req: UbRequest): Promise<UbOutcome> {
    const { deps, store } = this.ctx;
    const { impi } = id;
    const now = deps.clock();
    const found = await store.challenge(impi, creds.nonce);
    // RFC 7616 §3.3: a nonce the server does not know gets a new challenge
    if (found.kind === "unknown") return this.challenge(id);
    if (found.kind === "spent") return nonceReplayed(impi);
    const c = found.challenge;
    const ha1 = this.verifiedHa1(c, creds, req);
    const session = ha1 !== undefined && c.expiresAt > now ? this.newSession(c, now, req.ueTmpi === true) : undefined;
    const spent = await store.spendChallenge(impi, creds.nonce, now, session);
    switch (spent.kind) {
      case "unknown":
        return this.challenge(id);
      case "spent":
        return nonceReplayed(impi);
      case "stale":
        // RFC 7616 §3.3: stale=true only when the digest was right for the expired nonce
        if (ha1 === undefined) return authenticationRejected(this.whyRejected(c, creds), impi);
        return this.challenge(challenged(c), { stale: true });
      case "fresh":
        if (ha1 === undefined || session === undefined) return authenticationRejected(this.whyRejected(c, creds), impi);
        return this.bootstrapped(ha1, session, spent.superseded, creds);
    }
  }

  private whyRejected(c: PendingChallenge, creds: DigestCredentials): UbRefusalReason {
    if (c.decoy) return "unknown-impi";
    return creds.username === usernameOf(c) ? "wrong-response" : "username-mismatch";
  }

  /** H(A1) when username, algorithm, opaque and the request-digest all match the challenge (constant-time compare). */
  private verifiedHa1(c: PendingChallenge, creds: DigestCredentials, req: UbRequest): string | undefined {
    if (c.decoy) return undefined;
    const username = usernameOf(c);
    if (creds.username !== username || creds.algorithm !== c.algorithm || creds.opaque !== c.opaque) return undefined;
    const password = c.algorithm === "AKAv1-MD5" ? akav1Password(c.xres) : akav2Password(c.xres, c.ik, c.ck);
    const ha1 = digestHa1({ algorithm: c.algorithm, username, realm: this.ctx.bsf.fqdn, password, nonce: creds.nonce });
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

  /**
   * TS 33.220 §4.5.2 step 6: Ks = CK ‖ IK, B-TID = base64(RAND)@BSF, key lifetime; and, when the
   * UE and the BSF both support it, the TMPI of B.4 with BSF_Id = the BSF FQDN of the B-TID (for
   * GBA_U the same KDF: Ks_ext_NAF's).
   */
  private newSession(c: PendingChallenge, now: number, ueTmpi: boolean): BsfSession {
    const { bsf } = this.ctx;
    // TS 29.109 / TS 29.562 GUSS bsfInfo.lifeTime is the key lifetime when present; else local policy
    const lifetimeS = c.guss.bsfInfo.lifeTime ?? bsf.sessionLifetime;
    const ks = ksFromCkIk(c.ck, c.ik);
    return {
      btid: makeBtid(c.rand, bsf.fqdn),
      impi: c.impi,
      ks,
      rand: c.rand,
      createdAt: now,
      expiresAt: Math.floor(now / 1000) * 1000 + lifetimeS * 1000,
      uiccType: c.guss.bsfInfo.uiccType,
      guss: c.guss,
      ...(bsf.tmpi && ueTmpi ? { tmpi: deriveTmpi(ks, c.rand, c.impi, bsf.fqdn) } : {}),
    };
  }

  /** TS 33.220 §4.5.2 step 7 / TS 24.109 Annex C: the 200 body and its Authentication-Info parameters. */
  private bootstrapped(ha1: string, s: BsfSession, superseded: string | undefined, creds: DigestCredentials): UbOutcome {
    const body = buildBootstrappingInfo({ btid: s.btid, lifetime: new Date(s.expiresAt) });
    // RFC 2617 §3.2.3 / RFC 3310: rspauth with the same password, A2 over the exact 200 body
    const rspauth = rspauthFromHa1(ha1, {
      algorithm: creds.algorithm as UbAlgorithm,
      nonce: creds.nonce,
      nc: creds.nc,
      cnonce: creds.cnonce,
      qop: QOP,
      uri: creds.uri,
      responseBody: Buffer.from(body, "utf8"),
    });
    return {
      kind: "bootstrapped",
      impi: s.impi,
      btid: s.btid,
      superseded,
      body,
      authenticationInfo: { qop: QOP, rspauth, cnonce: creds.cnonce, nc: creds.nc },
      expiresAt: s.expiresAt,
    };
  }

  /**
   * TS 24.109 A.4 / TS 33.102 §6.3.5: the UE sent AUTS for the RAND of our challenge. The HSS
   * checks MAC-S; the Digest response (computed with an empty password, RFC 3310 §3.4) holds
   * no secret, so it is not checked here.
   */
  private async resync(id: Identity, creds: DigestCredentials, auts: Uint8Array): Promise<UbOutcome> {
    const { impi } = id;
    const spent = await this.ctx.store.spendChallenge(impi, creds.nonce, this.ctx.deps.clock());
    if (spent.kind === "unknown") return this.challenge(id);
    if (spent.kind === "spent") return nonceReplayed(impi);
    const c = spent.challenge;
    if (c.decoy) return authenticationRejected("unknown-impi", impi);
    if (creds.username !== usernameOf(c)) return authenticationRejected("username-mismatch", impi);
    return this.challenge(challenged(c), { resync: { rand: c.rand, auts } });
  }
}

/** The Digest username a challenge was sent to: the TMPI when the UE named one, else the IMPI. */
function usernameOf(c: PendingChallenge): string {
  return c.tmpi ?? c.impi;
}

/** The identity a challenge was for, to challenge it again (stale nonce, resynchronisation). */
function challenged(c: PendingChallenge): Identity {
  return c.tmpi !== undefined ? { impi: c.impi, tmpi: c.tmpi } : { impi: c.impi };
}

/** RFC 3310 §3.4: auts = base64(AUTS), AUTS 14 octets (TS 33.102 §6.3.3). */
function decodeAuts(b64: string, impi: string): Uint8Array | UbRefusal {
  const auts = base64ToBytes(b64);
  if (auts === undefined)
    return badParameter("MALFORMED_AUTHORIZATION", "malformed-authorization", 'parameter "auts" is not base64', "auts", impi);
  if (auts.length !== AUTS_LENGTH) {
    return badParameter(
      "MALFORMED_AUTHORIZATION",
      "malformed-authorization",
      `parameter "auts" holds ${auts.length} octets, AUTS is ${AUTS_LENGTH}`,
      "auts",
      impi,
    );
  }
  return auts;
}
