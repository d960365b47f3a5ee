// The NAF side of Ua as a Fastify plugin (TS 24.109 §5, TS 33.222 §5.3/§5.4): HTTP Digest with
// username = B-TID and password = base64(Ks_NAF), keys fetched from the BSF over Zn, and
// request.gba for connections authenticated by the TLS-PSK listener. The HTTP binding only: the
// Digest procedure is procedures/ua.ts, the causes and their statuses are causes.ts.
//
//   await app.register(gbaNaf, { fqdn: "naf.example.org", zn: createZnClient({ bsfUrl, token }), publicPaths: ["/health"] });
//   app.get("/hello", async (req) => ({ impi: req.gba?.impi }));
//
// Every request in the protected space (default: the whole origin) is authenticated before it is
// routed, unknown paths included when the plugin is registered where the not-found handler lives
// (the root, as above): only an authenticated client learns that a path does not exist.
import { PassThrough, type Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
} from "fastify";
import fp from "fastify-plugin";
import { createNonceIssuer } from "../../gba/digest/nonce.js";
import type { DigestQop } from "../../gba/digest/compute.js";
import { createDigestServer } from "../../gba/digest/server.js";
import { REALM_PREFIX_ME, REALM_PREFIX_UICC } from "../../wire/ub.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import type { EventNf } from "../common/events.js";
import { type ProblemError, sendProblem } from "../common/problem.js";
import { BSF_RETRY_AFTER_SECONDS, isGbaError, nafProblem } from "./causes.js";
import type { GbaIdentity } from "./identity.js";
import { UaDigest, type UaDigestState, type UaOutcome, type UaRefusal } from "./procedures/ua.js";
import type { NonceCounts } from "./store.js";
import { NonceCounter } from "./store-memory.js";
import { type ProtectedSpaceOptions, protectedSpace } from "./protected-space.js";
import { tlsPskSessionOf } from "./tls-psk.js";
import { installUaEvents } from "./ua-events.js";
import type { ZnClient } from "./zn-client.js";

export type { GbaIdentity, GbaKeyKind } from "./identity.js";
export type { ZnAnswer, ZnClient } from "./zn-client.js";

export interface GbaNafOptions extends ProtectedSpaceOptions {
  /** NAF FQDN: realm "3GPP-bootstrapping@<fqdn>" and NAF_Id = fqdn ‖ Ua id */
  fqdn: string;
  zn: ZnClient;
  /** algorithm offered in the challenge (default MD5, TS 24.109 §5.2; SHA-256 per RFC 7616) */
  digestAlgorithm?: "MD5" | "SHA-256";
  /** qop values offered (default auth-int, auth; RFC 7616 §3.3, TS 24.109 §5.2.2) */
  qop?: readonly DigestQop[];
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
  /** deps.events: the dashboard's event bus, one "ua" event per request the plugin handles */
  deps?: Partial<NfDeps>;
  /** the NF those events are of (default "naf"; the ECA says "eca") */
  eventNf?: EventNf;
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

const kDigest = Symbol("gbaDigest");
const kGba = Symbol("gba");
type WithState = FastifyRequest & { [kDigest]: UaDigestState | null };
type WithGba = FastifyRequest & { [kGba]: GbaIdentity | null };

function hasBody(request: FastifyRequest): boolean {
  const h = request.headers;
  return h["transfer-encoding"] !== undefined || (h["content-length"] !== undefined && h["content-length"] !== "0");
}

async function readAll(payload: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > limit) throw nafProblem("FST_GBA_BODY_TOO_LARGE", String(limit));
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

const gbaNafPlugin: FastifyPluginAsync<GbaNafOptions> = async (app: FastifyInstance, opts: GbaNafOptions) => {
  if (typeof opts.fqdn !== "string" || opts.fqdn === "") throw new RangeError("gbaNaf: fqdn is required");
  if (typeof opts.zn?.lookup !== "function") throw new RangeError("gbaNaf: zn (a ZnClient) is required");
  const deps = withDeps(opts.deps);
  const fqdn = opts.fqdn;
  const nonceTtl = opts.nonceTtl ?? 300;
  const nonces = createNonceIssuer({
    secret: opts.nonceSecret ?? deps.randomBytes(32),
    ttlSeconds: nonceTtl,
    fqdn,
    clock: deps.clock,
    randomBytes: deps.randomBytes,
  });
  // TS 24.109 §5.2.4: 3GPP-bootstrapping@ selects Ks_(ext)_NAF, 3GPP-bootstrapping-uicc@ Ks_int_NAF;
  // "both" lists them in one realm separated by ";" and the UE echoes the one it chose.
  const realmMe = REALM_PREFIX_ME + fqdn;
  const realmUicc = REALM_PREFIX_UICC + fqdn;
  const policy = opts.realms ?? "gba-me";
  const digest = createDigestServer({
    realms: policy === "gba-me" ? [realmMe] : policy === "gba-u" ? [realmUicc] : [realmUicc, realmMe],
    algorithm: opts.digestAlgorithm ?? "MD5",
    qop: opts.qop,
    nonces,
  });
  const inSpace = protectedSpace(opts);
  const ua = new UaDigest({
    fqdn,
    zn: opts.zn,
    digest,
    nonces,
    counts: opts.nonceCounts ?? new NonceCounter(nonceTtl * 1000, opts.maxTrackedNonces ?? 100_000, deps.clock),
    realmUicc,
  });
  const bodyLimit = app.initialConfig.bodyLimit ?? 1024 * 1024;
  const events = deps.events && installUaEvents(app, { bus: deps.events, nf: opts.eventNf ?? "naf", fqdn });

  /** The refusal as the error the hook fails with, its challenge or Retry-After set on the reply. */
  function refusal(request: FastifyRequest, reply: FastifyReply, r: UaRefusal): ProblemError {
    events?.refused(request, r.cause);
    if (r.challenge) reply.header("www-authenticate", digest.challenge(r.challenge === "stale"));
    if (r.cause === "FST_GBA_BSF_UNAVAILABLE") {
      request.log.warn({ reason: r.detail }, "Zn lookup failed");
      reply.header("retry-after", String(BSF_RETRY_AFTER_SECONDS));
    }
    return nafProblem(r.cause, r.detail);
  }

  function settled(request: FastifyRequest, reply: FastifyReply, o: UaOutcome): void {
    if (o.kind === "refused") throw refusal(request, reply, o);
    (request as WithState)[kDigest] = o;
    if (!o.awaitingBody) request.gba = o.identity;
  }

  /** Applies an outcome: synchronously when it came without a promise. Throws (or rejects) with the refusal. */
  function settle(request: FastifyRequest, reply: FastifyReply, o: UaOutcome | Promise<UaOutcome>): Promise<void> | undefined {
    if (o instanceof Promise) return o.then((r) => settled(request, reply, r));
    settled(request, reply, o);
    return undefined;
  }

  function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> | undefined {
    const tlsSession = tlsPskSessionOf(request.raw.socket);
    if (tlsSession) {
      events?.start(request, "tls-psk");
      if (tlsSession.expiresAt <= deps.clock()) {
        events?.refused(request, "FST_GBA_KEY_EXPIRED");
        reply.header("connection", "close");
        throw nafProblem("FST_GBA_KEY_EXPIRED");
      }
      if (tlsSession.keyChoiceRefusal !== undefined) throw nafProblem("FST_GBA_KEY_CHOICE", tlsSession.keyChoiceRefusal);
      request.gba = tlsSession.identity;
      return undefined;
    }
    if (request.gba) return undefined;
    events?.start(request, "digest");
    const socket = request.raw.socket as TLSSocket | null;
    const outcome = ua.start({
      method: request.method,
      target: request.raw.url ?? "",
      authorization: request.headers.authorization,
      tls: socket?.encrypted ? { cipher: socket.getCipher() } : undefined,
      hasBody: hasBody(request),
    });
    return settle(request, reply, outcome);
  }

  // Called by Fastify with `done` (callback style, no promise on the cached path), or directly
  // as `await app.gbaAuthenticate(request, reply)`.
  function authenticateHook(
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
  }
  const gbaAuthenticate = authenticateHook as onRequestAsyncHookHandler;

  app.decorateRequest(kGba, null);
  app.decorateRequest("gba", {
    // a request on a TLS-PSK connection is authenticated by the handshake, whatever its hooks
    getter(this: FastifyRequest) {
      const own = (this as WithGba)[kGba];
      if (own !== null) return own;
      const t = tlsPskSessionOf(this.raw.socket);
      return t && t.expiresAt > deps.clock() && t.keyChoiceRefusal === undefined ? t.identity : null;
    },
    setter(this: FastifyRequest, v: GbaIdentity | null) {
      (this as WithGba)[kGba] = v;
    },
  });
  app.decorateRequest(kDigest, null);
  app.decorate("gbaAuthenticate", gbaAuthenticate);

  // TS 33.220 §4.5.1, TS 24.109 §5.2.4: a request in the protected space without GBA credentials
  // gets the bootstrapping 401 whatever path it names; routing comes after authentication.
  app.addHook("onRequest", (request, reply, done) => {
    if (!inSpace(request.raw.url ?? "/")) {
      done();
      return;
    }
    authenticateHook(request, reply, done);
  });

  // RFC 7616 §3.4.3 qop=auth-int: H(entity-body) needs the whole request body.
  app.addHook("preParsing", (request, reply, payload, done) => {
    const s = (request as WithState)[kDigest];
    if (!s?.awaitingBody) {
      done(null, payload);
      return;
    }
    readAll(payload, bodyLimit)
      .then(async (body) => {
        await settle(request, reply, ua.finish(s, request.method, body));
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
    const sign = (body: Uint8Array | undefined) => reply.header("authentication-info", ua.authenticationInfo(s, body));
    if (s.exchange.qop === "auth" || payload === null || payload === undefined) {
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

const GBA_ERROR_TITLES: Readonly<Record<number, string>> = {
  401: "Unauthorized",
  403: "Forbidden",
  413: "Payload Too Large",
  503: "Service Unavailable",
};

/** Renders the plugin's errors as ProblemDetails with the error code as cause; others go to the app's handler. */
export function installGbaErrorHandler(scope: FastifyInstance): void {
  scope.setErrorHandler((err: FastifyError, request, reply) => {
    if (!isGbaError(err)) throw err;
    request.log.info({ cause: err.code, status: err.statusCode }, "GBA authentication refused");
    return sendProblem(reply, {
      title: GBA_ERROR_TITLES[err.statusCode] ?? "Bad Request",
      status: err.statusCode,
      detail: err.message,
      cause: err.code,
    });
  });
}
