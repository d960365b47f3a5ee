// The NAF side of Ua as a Fastify plugin (TS 24.109 §5, TS 33.222 §5.3/§5.4): HTTP Digest with
// username = B-TID and password = base64(Ks_NAF), keys fetched from the BSF over Zn, and
// request.gba for connections authenticated by the TLS-PSK listener.
//
//   await app.register(gbaNaf, { fqdn: "naf.example.org", zn: createZnClient({ bsfUrl, token }) });
//   app.addHook("onRequest", app.gbaAuthenticate);          // or per route: { onRequest: app.gbaAuthenticate }
//   app.get("/hello", async (req) => ({ impi: req.gba?.impi }));
import { PassThrough, type Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import fp from "fastify-plugin";
import { BtidError, parseBtid } from "../../gba/btid.js";
import {
  type DigestAlgorithm,
  DigestParseError,
  type DigestQop,
  digestAlgorithm as algorithmOf,
  digestEquals,
  digestHa1,
  digestResponseFromHa1,
  formatAuthenticationInfo,
  formatChallenge,
  ksNafPassword,
  parseDigestCredentials,
  rspauthFromHa1,
} from "../../gba/digest/index.js";
import { UA_ID, uaIdForTls } from "../../gba/ua-id.js";
import { REALM_PREFIX_ME, REALM_PREFIX_UICC } from "../../wire/ub.js";
import { tlsSuiteCode } from "../../wire/tls-suites.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import {
  BSF_RETRY_AFTER_SECONDS,
  GbaBadAuthorization,
  GbaBadBtid,
  GbaBadDigest,
  GbaBadNonce,
  GbaBodyTooLarge,
  GbaBsfUnavailable,
  GbaBtidUnknown,
  GbaKeyExpired,
  GbaNafNotAuthorized,
  GbaNoCredentials,
  GbaNonceCountReplay,
  GbaNoUiccKey,
  GbaRealmMismatch,
  GbaStaleNonce,
  GbaUnsupportedDigest,
  GbaUriMismatch,
} from "./errors.js";
import { type GbaIdentity, identityFrom, meKeyKind } from "./identity.js";
import { createNonceIssuer, NonceCounter, type NonceCounts, type NonceUse } from "./nonce.js";
import { tlsPskSessionOf } from "./tls-psk.js";
import type { ZnAnswer, ZnClient, ZnClientHandle } from "./zn-client.js";

export type { GbaIdentity, GbaKeyKind } from "./identity.js";
export type { ZnAnswer, ZnClient } from "./zn-client.js";

export interface GbaNafOptions {
  /** NAF FQDN: realm "3GPP-bootstrapping@<fqdn>" and NAF_Id = fqdn ‖ Ua id */
  fqdn: string;
  zn: ZnClient;
  /** algorithm offered in the challenge (default MD5, TS 24.109 §5.2; SHA-256 per RFC 7616) */
  digestAlgorithm?: "MD5" | "SHA-256";
  /** TS 24.109 §5.2.4: offer the ME key realm, the UICC key realm, or both (default gba-me) */
  realms?: "gba-me" | "gba-u" | "both";
  /** seconds a server nonce stays valid (default 300) */
  nonceTtl?: number;
  /** HMAC key for nonces (default: 32 random octets per process) */
  nonceSecret?: Uint8Array;
  /** most nonces tracked for nonce-count replay at once (default 100000) */
  maxTrackedNonces?: number;
  /** where nonce-counts are kept (default: this process's memory, maxTrackedNonces entries) */
  nonceCounts?: NonceCounts;
  deps?: Partial<NfDeps>;
}

declare module "fastify" {
  interface FastifyRequest {
    /** the authenticated GBA subscriber, or null before / without authentication */
    gba: GbaIdentity | null;
  }
  interface FastifyInstance {
    /** onRequest hook: authenticates the request (Digest, or the TLS-PSK session) or answers 401/4xx/503 */
    gbaAuthenticate: onRequestAsyncHookHandler;
  }
}

/** Per-request Digest state, from the Authorization header to Authentication-Info. */
interface DigestState {
  ha1: string;
  algorithm: DigestAlgorithm;
  qop: DigestQop;
  nonce: string;
  issuedAt: number;
  nc: string;
  cnonce: string;
  uri: string;
  response: string;
  identity: GbaIdentity;
  /** qop=auth-int with a request body: verified in preParsing once the body is read */
  awaitingBody: boolean;
}

const kDigest = Symbol("gbaDigest");
const kGba = Symbol("gba");
type WithState = FastifyRequest & { [kDigest]: DigestState | null };
type WithGba = FastifyRequest & { [kGba]: GbaIdentity | null };

const QOP_OFFER = ["auth-int", "auth"] as const;

function hasBody(request: FastifyRequest): boolean {
  const h = request.headers;
  return h["transfer-encoding"] !== undefined || (h["content-length"] !== undefined && h["content-length"] !== "0");
}

/** TS 33.220 H.3: 01 00 00 00 02 over plain HTTP, 01 00 01 yy zz over server-authenticated TLS (TS 33.222 §5.3). */
function uaIdOf(request: FastifyRequest): Uint8Array {
  const socket = request.raw.socket as TLSSocket | null;
  if (!socket?.encrypted) return UA_ID.HTTP_DIGEST;
  const cipher = socket.getCipher();
  const code = tlsSuiteCode(cipher);
  if (code === undefined)
    throw new GbaUnsupportedDigest(`TLS cipher suite ${cipher?.standardName ?? "?"} has no known IANA code for NAF_Id`);
  return uaIdForTls(code);
}

async function readAll(payload: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > limit) throw new GbaBodyTooLarge(String(limit));
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

const gbaNafPlugin: FastifyPluginAsync<GbaNafOptions> = async (app: FastifyInstance, opts: GbaNafOptions) => {
  if (typeof opts.fqdn !== "string" || opts.fqdn === "") throw new RangeError("gbaNaf: fqdn is required");
  if (typeof opts.zn?.lookup !== "function") throw new RangeError("gbaNaf: zn (a ZnClient) is required");
  const deps = withDeps(opts.deps);
  const fqdn = opts.fqdn;
  const zn = opts.zn;
  // a ZnClientHandle answers cache hits synchronously (no promise per request)
  const cachedAnswer =
    typeof (zn as Partial<ZnClientHandle>).cached === "function" ? (zn as ZnClientHandle).cached.bind(zn) : undefined;
  const algorithm: DigestAlgorithm = opts.digestAlgorithm ?? "MD5";
  const nonceTtl = opts.nonceTtl ?? 300;
  const nonces = createNonceIssuer({
    secret: opts.nonceSecret ?? deps.randomBytes(32),
    ttlSeconds: nonceTtl,
    fqdn,
    clock: deps.clock,
    randomBytes: deps.randomBytes,
  });
  const counter = opts.nonceCounts ?? new NonceCounter(nonceTtl * 1000, opts.maxTrackedNonces ?? 100_000, deps.clock);
  const bodyLimit = app.initialConfig.bodyLimit ?? 1024 * 1024;

  // TS 24.109 §5.2.4: 3GPP-bootstrapping@ selects Ks_(ext)_NAF, 3GPP-bootstrapping-uicc@ Ks_int_NAF;
  // "both" lists them in one realm separated by ";" and the UE echoes the one it chose.
  const realmMe = REALM_PREFIX_ME + fqdn;
  const realmUicc = REALM_PREFIX_UICC + fqdn;
  const policy = opts.realms ?? "gba-me";
  const offered = policy === "gba-me" ? [realmMe] : policy === "gba-u" ? [realmUicc] : [realmUicc, realmMe];
  const challengeRealm = offered.join(";");

  function challenge(reply: FastifyReply, err: Error, stale = false): Error {
    reply.header(
      "www-authenticate",
      formatChallenge({ realm: challengeRealm, nonce: nonces.issue(), algorithm, qop: QOP_OFFER, stale }),
    );
    return err;
  }

  function znFailure(request: FastifyRequest, reply: FastifyReply, err: unknown): unknown {
    switch ((err as { code?: unknown } | null)?.code) {
      case "BTID_UNKNOWN": // TS 24.109 §5.2.5 bootstrapping renegotiation
        return challenge(reply, new GbaBtidUnknown());
      case "NAF_NOT_AUTHORIZED":
        return new GbaNafNotAuthorized();
      case "BSF_UNAVAILABLE":
        request.log.warn({ reason: (err as Error).message }, "Zn lookup failed");
        reply.header("retry-after", String(BSF_RETRY_AFTER_SECONDS));
        return new GbaBsfUnavailable((err as Error).message);
      default:
        return err;
    }
  }

  const ha1Memo = new WeakMap<ZnAnswer, Map<string, string>>();
  function ha1Of(answer: ZnAnswer, key: Uint8Array, username: string, realm: string): string {
    let byRealm = ha1Memo.get(answer);
    if (!byRealm) {
      byRealm = new Map();
      ha1Memo.set(answer, byRealm);
    }
    let ha1 = byRealm.get(realm);
    if (ha1 === undefined) {
      // TS 24.109 §5.2.2: password = base64(Ks_(ext/int)_NAF); algorithm is MD5 or SHA-256 (not -sess)
      ha1 = digestHa1({ algorithm, username, realm, password: ksNafPassword(key), nonce: "", cnonce: undefined });
      byRealm.set(realm, ha1);
    }
    return ha1;
  }

  /** Verifies the response, then counts the nonce; a promise only when the counts are kept out of process. */
  function finish(
    request: FastifyRequest,
    reply: FastifyReply,
    s: DigestState,
    body: Uint8Array | undefined,
  ): Promise<void> | undefined {
    const expected = digestResponseFromHa1(s.ha1, {
      algorithm: s.algorithm,
      nonce: s.nonce,
      nc: s.nc,
      cnonce: s.cnonce,
      qop: s.qop,
      method: request.method,
      uri: s.uri,
      body,
    });
    if (!digestEquals(expected, s.response)) throw challenge(reply, new GbaBadDigest());
    // counted only once the response is proven, so a forger cannot burn a UE's nonce-counts
    const counted = (use: NonceUse): undefined => {
      if (use === "replay") throw challenge(reply, new GbaNonceCountReplay(s.nc));
      if (use === "stale") throw challenge(reply, new GbaStaleNonce(), true);
      s.awaitingBody = false;
      request.gba = s.identity;
      return undefined;
    };
    const use = counter.use(s.nonce, s.issuedAt, Number.parseInt(s.nc, 16));
    return typeof use === "string" ? counted(use) : use.then(counted);
  }

  /** Authenticates synchronously when the Zn answer is cached and the nonce-counts are in memory; else a promise. */
  function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> | undefined {
    const tlsSession = tlsPskSessionOf(request.raw.socket);
    if (tlsSession) {
      if (tlsSession.expiresAt <= deps.clock()) {
        reply.header("connection", "close");
        throw new GbaKeyExpired();
      }
      request.gba = tlsSession.identity;
      return undefined;
    }
    if (request.gba) return undefined;
    const header = request.headers.authorization;
    if (header === undefined) throw challenge(reply, new GbaNoCredentials());
    let cred: ReturnType<typeof parseDigestCredentials>;
    try {
      cred = parseDigestCredentials(header);
    } catch (err) {
      if (!(err instanceof DigestParseError)) throw err;
      if (err.code === "NOT_DIGEST") throw challenge(reply, new GbaNoCredentials());
      throw new GbaBadAuthorization(err.message);
    }
    if (algorithmOf(cred.algorithm) !== algorithm)
      throw new GbaUnsupportedDigest(`algorithm ${cred.algorithm.slice(0, 32)} (offered ${algorithm})`);
    const qop = cred.qop;
    if (qop !== "auth" && qop !== "auth-int") {
      throw new GbaUnsupportedDigest(qop === undefined ? 'qop missing (offered "auth-int,auth")' : `qop ${qop.slice(0, 32)}`);
    }
    const realm = cred.realm;
    if (!offered.includes(realm)) throw challenge(reply, new GbaRealmMismatch(realm.slice(0, 200)));
    // RFC 7616 §3.4.6: the digest covers this uri, so it must be the one requested
    if (cred.uri !== request.raw.url) throw new GbaUriMismatch();
    const n = counter.known(cred.nonce) ?? nonces.check(cred.nonce);
    if (!n.ok) throw n.reason === "stale" ? challenge(reply, new GbaStaleNonce(), true) : challenge(reply, new GbaBadNonce());
    const username = cred.username;
    const uaId = uaIdOf(request);

    const proceed = (answer: ZnAnswer): Promise<void> | undefined => {
      const uicc = realm === realmUicc;
      const key = uicc ? answer.uiccKeyMaterial : answer.meKeyMaterial;
      if (key === undefined) throw new GbaNoUiccKey();
      const state: DigestState = {
        ha1: ha1Of(answer, key, username, realm),
        algorithm,
        qop,
        nonce: cred.nonce,
        issuedAt: n.issuedAt,
        nc: cred.nc as string,
        cnonce: cred.cnonce as string,
        uri: cred.uri,
        response: cred.response,
        identity: identityFrom(answer, "digest", uicc ? "ks-int-naf" : meKeyKind(answer)),
        awaitingBody: qop === "auth-int" && hasBody(request),
      };
      (request as WithState)[kDigest] = state;
      return state.awaitingBody ? undefined : finish(request, reply, state, undefined);
    };

    const hit = cachedAnswer?.(username, fqdn, uaId);
    if (hit !== undefined) return proceed(hit);
    try {
      parseBtid(username);
    } catch (err) {
      if (err instanceof BtidError) throw challenge(reply, new GbaBadBtid(err.message));
      throw err;
    }
    return zn.lookup(username, fqdn, uaId).then(proceed, (err: unknown) => {
      throw znFailure(request, reply, err);
    });
  }

  // Called by Fastify with `done` (callback style, no promise on the cached path), or directly
  // as `await app.gbaAuthenticate(request, reply)`.
  const gbaAuthenticate = function gbaAuthenticate(
    request: FastifyRequest,
    reply: FastifyReply,
    done?: (err?: Error) => void,
  ): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    try {
      pending = authenticate(request, reply);
    } catch (err) {
      if (!done) return Promise.reject(err);
      done(err as Error);
      return undefined;
    }
    if (!done) return pending ?? Promise.resolve();
    if (pending) pending.then(() => done(), done);
    else done();
    return undefined;
  } as onRequestAsyncHookHandler;

  app.decorateRequest(kGba, null);
  app.decorateRequest("gba", {
    // a request on a TLS-PSK connection is authenticated by the handshake, whatever its hooks
    getter(this: FastifyRequest) {
      const own = (this as WithGba)[kGba];
      if (own !== null) return own;
      const t = tlsPskSessionOf(this.raw.socket);
      return t && t.expiresAt > deps.clock() ? t.identity : null;
    },
    setter(this: FastifyRequest, v: GbaIdentity | null) {
      (this as WithGba)[kGba] = v;
    },
  });
  app.decorateRequest(kDigest, null);
  app.decorate("gbaAuthenticate", gbaAuthenticate);

  // RFC 7616 §3.4.3 qop=auth-int: H(entity-body) needs the whole request body.
  app.addHook("preParsing", (request, reply, payload, done) => {
    const s = (request as WithState)[kDigest];
    if (!s?.awaitingBody) {
      done(null, payload);
      return;
    }
    readAll(payload, bodyLimit)
      .then(async (body) => {
        await finish(request, reply, s, body);
        return body;
      })
      .then((body) => {
        const replay = new PassThrough() as PassThrough & { receivedEncodedLength?: number };
        replay.receivedEncodedLength = body.length;
        replay.end(body);
        done(null, replay);
      }, done);
  });

  // TS 24.109 §5.2.2, RFC 7616 §3.5: Authentication-Info with rspauth (over the response body for auth-int).
  app.addHook("onSend", (request, reply, payload, done) => {
    const s = (request as WithState)[kDigest];
    if (!s || s.awaitingBody || request.gba !== s.identity) {
      done(null, payload);
      return;
    }
    const sign = (body: Uint8Array | undefined) => {
      const rspauth = rspauthFromHa1(s.ha1, {
        algorithm: s.algorithm,
        nonce: s.nonce,
        nc: s.nc,
        cnonce: s.cnonce,
        qop: s.qop,
        uri: s.uri,
        responseBody: body,
      });
      reply.header("authentication-info", formatAuthenticationInfo({ qop: s.qop, rspauth, cnonce: s.cnonce, nc: s.nc }));
    };
    if (s.qop === "auth" || payload === null || payload === undefined) {
      sign(undefined);
      done(null, payload);
    } else if (typeof payload === "string" || payload instanceof Uint8Array) {
      sign(typeof payload === "string" ? Buffer.from(payload) : payload);
      done(null, payload);
    } else {
      // a stream (e.g. the proxied answer): auth-int signs the whole body, so it is read first
      readAll(payload as Readable, Number.POSITIVE_INFINITY).then((body) => {
        reply.removeHeader("transfer-encoding");
        reply.header("content-length", String(body.length));
        sign(body);
        done(null, body);
      }, done);
    }
  });
};

/** The GBA NAF plugin (fastify-plugin "gba-naf"): decorates request.gba and app.gbaAuthenticate. */
export const gbaNaf = fp(gbaNafPlugin, { name: "gba-naf", fastify: "5.x" });
