// Ua authentication by HTTP Digest with GBA keys (TS 24.109 §5.2, TS 33.222 §5.3), one request
// at a time and without transport. The Digest checks are gba/digest/server.ts; GBA adds around
// them: the password is base64 of the key the BSF returns over Zn for username = B-TID and
// NAF_Id = FQDN ‖ Ua id (TS 33.220 §4.5.3, H.3), the realm chooses Ks_(ext)_NAF or Ks_int_NAF
// (TS 24.109 §5.2.4), and each nonce-count is accepted once (RFC 7616 §5.4). Answers are tagged
// outcomes carrying the refusal cause; the plugin maps them to HTTP. An outcome comes without a
// promise when the Zn answer is cached and the nonce-counts are kept in this process.
import { BtidError, parseBtid } from "../../../gba/btid.js";
import type { DigestExchange, DigestServer } from "../../../gba/digest/server.js";
import { ksNafPassword } from "../../../gba/digest/aka.js";
import type { NonceIssuer } from "../../../gba/digest/nonce.js";
import { UA_ID, uaIdForTls } from "../../../gba/ua-id.js";
import { tlsSuiteCode } from "../../../wire/tls-suites.js";
import type { NafCause } from "../causes.js";
import { type GbaIdentity, identityFrom, meKeyKind } from "../identity.js";
import { keyChoiceForbidding } from "../key-choice.js";
import type { NonceCounts, NonceUse } from "../store.js";
import { type ZnAnswer, type ZnClient, type ZnClientHandle, ZnFailure } from "../zn-client.js";

export interface UaRefusal {
  kind: "refused";
  cause: NafCause;
  /** what the cause's message names (the bad parameter, the nc, why Zn failed) */
  detail?: string;
  /** answer with a fresh Digest challenge; "stale" when only the nonce expired (RFC 7616 §3.3) */
  challenge?: "fresh" | "stale";
}

/** A Digest answer whose nonce and key checked out (its response too, unless it awaits the body). */
export interface UaDigestState {
  kind: "accepted";
  exchange: DigestExchange;
  /** when the nonce was issued (ms since the epoch) */
  issuedAt: number;
  identity: GbaIdentity;
  /** qop=auth-int with a request body: the response is verified once the body is read (finish) */
  awaitingBody: boolean;
}

export type UaOutcome = UaDigestState | UaRefusal;
type Maybe<T> = T | Promise<T>;

export interface UaRequest {
  method: string;
  /** the request target as received (RFC 7616 §3.4.6 compares the uri parameter with it) */
  target: string;
  authorization: string | undefined;
  /** present when the request came over server-authenticated TLS: the negotiated suite */
  tls?: { cipher: { name?: string; standardName?: string } | undefined };
  hasBody: boolean;
}

export interface UaDigestOptions {
  /** NAF FQDN in NAF_Id */
  fqdn: string;
  zn: ZnClient;
  digest: DigestServer;
  nonces: NonceIssuer;
  counts: NonceCounts;
  /** the realm that selects Ks_int_NAF (TS 24.109 §5.2.4), when offered */
  realmUicc: string;
}

const refused = (cause: NafCause, detail?: string, challenge?: "fresh" | "stale"): UaRefusal => ({
  kind: "refused",
  cause,
  detail,
  challenge,
});

const ZN_REFUSALS: Record<ZnFailure["code"], (message: string) => UaRefusal> = {
  // TS 24.109 §5.2.5 bootstrapping renegotiation
  BTID_UNKNOWN: () => refused("FST_GBA_BTID_UNKNOWN", undefined, "fresh"),
  NAF_NOT_AUTHORIZED: () => refused("FST_GBA_NAF_NOT_AUTHORIZED"),
  BSF_UNAVAILABLE: (message) => refused("FST_GBA_BSF_UNAVAILABLE", message),
};

/** The refusal a Zn failure becomes; anything that is not a ZnFailure is a bug and stays an exception. */
function znRefusal(err: unknown): UaRefusal {
  if (err instanceof ZnFailure) return ZN_REFUSALS[err.code](err.message);
  throw err;
}

export class UaDigest {
  private readonly cachedAnswer: ZnClientHandle["cached"] | undefined;
  private readonly ha1Memo = new WeakMap<ZnAnswer, Map<string, string>>();

  constructor(private readonly o: UaDigestOptions) {
    const zn = o.zn as Partial<ZnClientHandle>;
    // a ZnClientHandle answers cache hits synchronously (no promise per request)
    this.cachedAnswer = typeof zn.cached === "function" ? zn.cached.bind(o.zn) : undefined;
  }

  /** Checks the credentials of a request and looks its key up; verifies the response unless the body is awaited. */
  start(req: UaRequest): Maybe<UaOutcome> {
    const { digest } = this.o;
    const c = digest.offered(req.authorization, req.target);
    if (!c.ok) {
      switch (c.refusal) {
        case "no-credentials":
          return refused("FST_GBA_NO_CREDENTIALS", undefined, "fresh");
        case "malformed":
          return refused("FST_GBA_BAD_AUTHORIZATION", c.detail);
        case "unsupported":
          return refused("FST_GBA_UNSUPPORTED_DIGEST", c.detail);
        case "realm-mismatch":
          return refused("FST_GBA_REALM_MISMATCH", c.realm, "fresh");
        case "uri-mismatch":
          return refused("FST_GBA_URI_MISMATCH");
      }
    }
    const n = this.o.counts.known?.(c.nonce) ?? this.o.nonces.check(c.nonce);
    if (!n.ok)
      return n.reason === "stale"
        ? refused("FST_GBA_STALE_NONCE", undefined, "stale")
        : refused("FST_GBA_BAD_NONCE", undefined, "fresh");
    const uaId = uaIdOf(req);
    if (!(uaId instanceof Uint8Array)) return uaId;

    const proceed = (answer: ZnAnswer): Maybe<UaOutcome> => {
      const uicc = c.realm === this.o.realmUicc;
      const key = uicc ? answer.uiccKeyMaterial : answer.meKeyMaterial;
      if (key === undefined) return refused("FST_GBA_NO_UICC_KEY");
      // TS 33.220 §4.4.6 / TS 29.309 Uss keyChoice: the subscription decides, not the realms offered
      const forbidding = keyChoiceForbidding(answer.ussList, uicc ? "uicc" : "me");
      if (forbidding !== undefined) return refused("FST_GBA_KEY_CHOICE", forbidding);
      const state: UaDigestState = {
        kind: "accepted",
        exchange: {
          ha1: this.ha1Of(answer, key, c.username, c.realm),
          algorithm: c.algorithm,
          qop: c.qop,
          nonce: c.nonce,
          nc: c.nc,
          cnonce: c.cnonce,
          uri: c.uri,
          response: c.response,
        },
        issuedAt: n.issuedAt,
        identity: identityFrom(answer, "digest", uicc ? "ks-int-naf" : meKeyKind(answer)),
        awaitingBody: c.qop === "auth-int" && req.hasBody,
      };
      return state.awaitingBody ? state : this.finish(state, req.method, undefined);
    };

    const hit = this.cachedAnswer?.(c.username, this.o.fqdn, uaId);
    if (hit !== undefined) return proceed(hit);
    try {
      parseBtid(c.username);
    } catch (err) {
      if (err instanceof BtidError) return refused("FST_GBA_BAD_BTID", err.message, "fresh");
      throw err;
    }
    return this.o.zn.lookup(c.username, this.o.fqdn, uaId).then(proceed, znRefusal);
  }

  /** Verifies the response (over `body` for auth-int), then counts the nonce. */
  finish(s: UaDigestState, method: string, body: Uint8Array | undefined): Maybe<UaOutcome> {
    if (!this.o.digest.verify(s.exchange, method, body)) return refused("FST_GBA_BAD_DIGEST", undefined, "fresh");
    // counted only once the response is proven, so a forger cannot burn a UE's nonce-counts
    const counted = (use: NonceUse): UaOutcome => {
      if (use === "replay") return refused("FST_GBA_NC_REPLAY", s.exchange.nc, "fresh");
      if (use === "stale") return refused("FST_GBA_STALE_NONCE", undefined, "stale");
      s.awaitingBody = false;
      return s;
    };
    const use = this.o.counts.use(s.exchange.nonce, s.issuedAt, Number.parseInt(s.exchange.nc, 16));
    return typeof use === "string" ? counted(use) : use.then(counted);
  }

  /** Authentication-Info of the answer (TS 24.109 §5.2.2, RFC 7616 §3.5): rspauth over the response body for auth-int. */
  authenticationInfo(s: UaDigestState, responseBody: Uint8Array | undefined): string {
    return this.o.digest.authenticationInfo(s.exchange, responseBody);
  }

  /** H(A1) per (Zn answer, realm): TS 24.109 §5.2.2 password = base64(Ks_(ext/int)_NAF). */
  private ha1Of(answer: ZnAnswer, key: Uint8Array, username: string, realm: string): string {
    let byRealm = this.ha1Memo.get(answer);
    if (!byRealm) {
      byRealm = new Map();
      this.ha1Memo.set(answer, byRealm);
    }
    let ha1 = byRealm.get(realm);
    if (ha1 === undefined) {
      ha1 = this.o.digest.ha1(username, realm, ksNafPassword(key));
      byRealm.set(realm, ha1);
    }
    return ha1;
  }
}

/** TS 33.220 H.3: 01 00 00 00 02 over plain HTTP, 01 00 01 yy zz over server-authenticated TLS (TS 33.222 §5.3). */
function uaIdOf(req: UaRequest): Uint8Array | UaRefusal {
  if (req.tls === undefined) return UA_ID.HTTP_DIGEST;
  const code = tlsSuiteCode(req.tls.cipher);
  if (code === undefined) {
    const name = req.tls.cipher?.standardName ?? "?";
    return refused("FST_GBA_UNSUPPORTED_DIGEST", `TLS cipher suite ${name} has no known IANA code for NAF_Id`);
  }
  return uaIdForTls(code);
}
