// Ua over PSK-TLS (TS 33.222 §5.4, TS 24.109 §5.3.3): psk_identity_hint "3GPP-bootstrapping",
// psk_identity "3GPP-bootstrapping." B-TID, PSK = Ks_(ext)_NAF for NAF_Id = FQDN ‖ Ua id, where
// the Ua id is 01 00 01 yy zz (negotiated TLS 1.2 PSK suite) or 01 00 00 00 07 (TLS 1.3 external
// PSK, TS 33.222 §5.4.0.2). Authenticated sockets are handed to the Fastify app's HTTP server;
// their requests carry request.gba from the TLS session.
//
// node's pskCallback is synchronous and the key comes from the BSF over Zn (async), so the
// listener reads the identity off the wire before OpenSSL needs the key:
//  - TLS 1.3: the identity is in the ClientHello (pre_shared_key). The raw socket is read until
//    the ClientHello is complete, the key is fetched, then the bytes are put back (unshift) and
//    the socket is handed to node's TLS unchanged (no copy in JS afterwards).
//  - TLS 1.2: the identity only arrives in the ClientKeyExchange, after the server's first
//    flight. The socket goes through a small gate (a Duplex) that holds the client's second
//    flight until the key is fetched. Which suite the server will pick is decided up front from
//    the ClientHello (server preference order) and the connection goes to a TLS server that
//    offers only that suite, so the PSK callback knows the Ua id without asking node for the
//    cipher (getCipher() is empty while the callback runs).
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { constants as cryptoConstants } from "node:crypto";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { PSK_IDENTITY_HINT, parsePskIdentity } from "../../gba/btid.js";
import { UA_ID, uaIdForTls } from "../../gba/ua-id.js";
import { bytesToHex } from "../../wire/bytes.js";
import type { EventBus, EventNf } from "../common/events.js";
import { isEcdhePsk, type TlsSuite, tlsSuiteByName } from "../../wire/tls-suites.js";
import { type GbaIdentity, identityFrom, meKeyKind } from "./identity.js";
import { keyChoiceForbidding } from "./key-choice.js";
import {
  ALERT,
  type ClientHello,
  fatalAlert,
  HANDSHAKE_CLIENT_HELLO,
  HANDSHAKE_CLIENT_KEY_EXCHANGE,
  HandshakeReader,
  parseClientHello,
  pskIdentityOfClientKeyExchange,
  TLS13,
} from "./tls-records.js";
import type { Capture } from "../common/capture/index.js";
import type { ConnectionAddress } from "../common/diameter/index.js";
import type { ListenerTap } from "../common/server.js";
import { BtidUnknown, type ZnAnswer, type ZnClient, type ZnClientHandle, ZnFailure, type ZnFailureCode } from "./zn-client.js";

export interface TlsPskListenerOptions {
  /** NAF FQDN in NAF_Id */
  fqdn: string;
  zn: ZnClient;
  host: string;
  port: number;
  /** OpenSSL names of the TLS 1.2 PSK suites to offer, in preference order (default TLS12_PSK_SUITES) */
  tls12Suites?: string[];
  /** offer TLS 1.3 external PSK (default true) */
  tls13?: boolean;
  /** the whole handshake, Zn lookup included, must finish within this time (default 10000 ms) */
  handshakeTimeoutMs?: number;
  /** remember each TLS socket's TCP addresses (uaTap), for a capture of the decrypted Ua */
  recordAddresses?: boolean;
  log?: FastifyBaseLogger;
  /** the dashboard's event bus: one "ua-psk" event per handshake that got as far as a psk_identity */
  events?: EventBus;
  /** the NF those events are of (default "naf") */
  eventNf?: EventNf;
}

export interface TlsPskListener {
  /** https://host:port */
  url: string;
  close(): Promise<void>;
}

interface TlsSession {
  identity: GbaIdentity;
  expiresAt: number;
  /** the subscription's keyChoice when it forbids the ME-based key this tunnel is keyed with (TS 33.220 §4.4.6) */
  keyChoiceRefusal?: string;
}

const sessions = new WeakMap<object, TlsSession>();

/** The TCP 4-tuple under each TLS socket of listeners with recordAddresses (uaTap reads it). */
const addresses = new WeakMap<object, ConnectionAddress>();

const addressOf = (s: net.Socket): ConnectionAddress => ({
  localAddress: s.localAddress ?? "",
  localPort: s.localPort ?? 0,
  remoteAddress: s.remoteAddress ?? "",
  remotePort: s.remotePort ?? 0,
});

/**
 * `--pcap` on a NAF application's listener: plain HTTP (Digest) as it is, and the HTTP inside
 * each TLS-PSK connection (handed to the same app) decrypted, on the TLS connection's TCP
 * 4-tuple and marked as such on every segment.
 */
export function uaTap(capture: Capture | undefined, label: string): ListenerTap {
  return {
    capture,
    label,
    describe: (socket) => {
      const address = addresses.get(socket);
      return address && { address, note: `${label} TLS-PSK, decrypted` };
    },
  };
}

/** The GBA identity of a socket accepted by a TLS-PSK listener, or undefined for any other socket. */
export function tlsPskSessionOf(socket: object | null | undefined): TlsSession | undefined {
  return socket ? sessions.get(socket) : undefined;
}

function knownSuite(name: string): TlsSuite {
  const s = tlsSuiteByName(name);
  if (s === undefined) throw new Error(`${name} is not in the TLS-suite table`);
  return s;
}

/**
 * TLS 1.2 PSK suites the TLS-PSK listener offers, in server preference order: forward-secret
 * ECDHE-PSK first, then AEAD, then CBC (TS 33.222 §5.4 lets the NAF choose).
 */
export const TLS12_PSK_SUITES: readonly TlsSuite[] = [
  "ECDHE-PSK-CHACHA20-POLY1305",
  "ECDHE-PSK-AES256-CBC-SHA384",
  "ECDHE-PSK-AES128-CBC-SHA256",
  "ECDHE-PSK-AES256-CBC-SHA",
  "ECDHE-PSK-AES128-CBC-SHA",
  "PSK-AES256-GCM-SHA384",
  "PSK-AES128-GCM-SHA256",
  "PSK-CHACHA20-POLY1305",
  "PSK-AES256-CBC-SHA384",
  "PSK-AES128-CBC-SHA256",
  "PSK-AES256-CBC-SHA",
  "PSK-AES128-CBC-SHA",
].map(knownSuite);

/** Groups OpenSSL offers for ECDHE by default (x25519, P-256, x448, P-521, P-384). */
const ECDHE_GROUPS = new Set([0x001d, 0x0017, 0x001e, 0x0019, 0x0018]);
const MAX_IDENTITIES_TRIED = 4;
const MAX_HELD = 64 * 1024;

/** The suite OpenSSL will negotiate with server preference, or undefined when none is shared. */
export function chooseTls12Suite(hello: ClientHello, suites: readonly TlsSuite[]): TlsSuite | undefined {
  const offered = new Set(hello.cipherSuites);
  const groupsOk = hello.supportedGroups === undefined || hello.supportedGroups.some((g) => ECDHE_GROUPS.has(g));
  return suites.find((s) => offered.has(s.code) && (groupsOk || !isEcdhePsk(s)));
}

/**
 * Pins Zn answers for connections whose handshake is under way, keyed by Ua id and psk_identity,
 * with the time the key was first asked for (performance.now(): a handshake event's latency).
 */
class Pins {
  private readonly map = new Map<string, { answer: ZnAnswer; refs: number; since: number }>();

  /** Returns the function that releases the pin (idempotent). */
  pin(uaHex: string, identity: string, answer: ZnAnswer, since: number): () => void {
    const key = `${uaHex}|${identity}`;
    const e = this.map.get(key);
    if (e && e.answer === answer) e.refs++;
    else this.map.set(key, { answer, refs: (e?.refs ?? 0) + 1, since: e?.since ?? since });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const cur = this.map.get(key);
      if (cur && --cur.refs <= 0) this.map.delete(key);
    };
  }

  get(uaHex: string, identity: string): ZnAnswer | undefined {
    return this.map.get(`${uaHex}|${identity}`)?.answer;
  }

  since(uaHex: string, identity: string): number | undefined {
    return this.map.get(`${uaHex}|${identity}`)?.since;
  }
}

/**
 * Holds the client's bytes after the ClientHello until the TLS 1.2 ClientKeyExchange (which names
 * the PSK identity) has been read and `onIdentity` has settled, then becomes a plain pass-through.
 */
class HandshakeGate extends Duplex {
  private readonly reader = new HandshakeReader(MAX_HELD);
  private state: "scan" | "hold" | "open" = "scan";
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly sock: net.Socket,
    clientHello: Buffer,
    /** undefined: go on; a number: end with that alert; a promise of either while Zn is asked */
    private readonly onIdentity: (identity: string) => number | undefined | Promise<number | undefined>,
  ) {
    super({ allowHalfOpen: false });
    this.push(clientHello);
    sock.on("data", (c: Buffer) => this.fromClient(c));
    sock.on("end", () => this.push(null));
    sock.on("close", () => this.destroy());
    sock.resume();
  }

  private fromClient(chunk: Buffer): void {
    if (this.state === "open") {
      if (!this.push(chunk)) this.sock.pause();
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes > MAX_HELD) {
      this.destroy();
      return;
    }
    if (this.state === "hold") return;
    let msg: ReturnType<HandshakeReader["next"]>;
    try {
      this.reader.push(chunk);
      msg = this.reader.next();
    } catch {
      this.release(); // not ours to judge: OpenSSL answers malformed records with the right alert
      return;
    }
    if (msg === undefined) {
      if (this.reader.blocked) this.release();
      return;
    }
    let identity: string;
    try {
      if (msg.type !== HANDSHAKE_CLIENT_KEY_EXCHANGE) throw new Error("no ClientKeyExchange");
      identity = pskIdentityOfClientKeyExchange(msg.body);
    } catch {
      this.release();
      return;
    }
    this.state = "hold";
    const decided = this.onIdentity(identity);
    if (decided instanceof Promise)
      decided.then(
        (alert) => this.settle(alert),
        () => this.destroy(),
      );
    else this.settle(decided);
  }

  private settle(alert: number | undefined): void {
    if (alert === undefined) this.release();
    else {
      this.sock.end(fatalAlert(alert));
      this.destroy();
    }
  }

  private release(): void {
    if (this.destroyed) return;
    this.state = "open";
    const held = this.held;
    this.held = [];
    for (const c of held) if (!this.push(c)) this.sock.pause();
  }

  override _read(): void {
    if (this.sock.isPaused()) this.sock.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.sock.write(chunk, cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.sock.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.sock.write(chunks[i].chunk);
    this.sock.write(chunks[chunks.length - 1].chunk, cb);
    this.sock.uncork();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.sock.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.sock.destroy();
    cb(err);
  }
}

/** The alert a failed Zn lookup ends the handshake with; undefined: OpenSSL / the caller answers unknown_psk_identity. */
const ZN_ALERTS: Record<ZnFailureCode, number | undefined> = {
  BTID_UNKNOWN: undefined,
  NAF_NOT_AUTHORIZED: ALERT.ACCESS_DENIED,
  BSF_UNAVAILABLE: ALERT.INTERNAL_ERROR,
};

function alertFor(err: unknown): number | undefined {
  return err instanceof ZnFailure ? ZN_ALERTS[err.code] : ALERT.INTERNAL_ERROR;
}

function describe(err: unknown): string {
  return err instanceof ZnFailure ? err.message : String(err);
}

/** The cause a refused handshake reports, named as the plugin names the same Zn failure (procedures/ua.ts). */
const PSK_CAUSES: Record<ZnFailureCode, string> = {
  BTID_UNKNOWN: "FST_GBA_BTID_UNKNOWN",
  NAF_NOT_AUTHORIZED: "FST_GBA_NAF_NOT_AUTHORIZED",
  BSF_UNAVAILABLE: "FST_GBA_BSF_UNAVAILABLE",
};

/**
 * Starts the TLS-PSK listener for `app`: every authenticated connection is served by the app's
 * routes (the same hooks and handlers as plain HTTP), with request.gba set by the plugin.
 * Call it once the app is ready (after `await app.ready()` or `app.listen()`).
 */
export async function createTlsPskListener(app: FastifyInstance, opts: TlsPskListenerOptions): Promise<TlsPskListener> {
  const log = opts.log ?? app.log;
  const handshakeTimeout = opts.handshakeTimeoutMs ?? 10_000;
  const suites = opts.tls12Suites
    ? opts.tls12Suites.map((name) => {
        const s = TLS12_PSK_SUITES.find((x) => x.openssl === name);
        if (!s)
          throw new RangeError(
            `unknown TLS 1.2 PSK suite "${name}"; known: ${TLS12_PSK_SUITES.map((x) => x.openssl).join(", ")}`,
          );
        return s;
      })
    : TLS12_PSK_SUITES;
  const pins = new Pins();
  const { events } = opts;
  const eventNf = opts.eventNf ?? "naf";
  /** handshake start of a TLS socket that reached the PSK callback (kept only while events are reported) */
  const since = new WeakMap<object, number>();
  const refusedEvent = (identity: string | undefined, err: unknown, startedAt: number) =>
    events?.emit({
      nf: eventNf,
      kind: "ua-psk",
      outcome: "refused",
      cause: err === undefined ? "FST_GBA_NO_CREDENTIALS" : err instanceof ZnFailure ? PSK_CAUSES[err.code] : "INTERNAL_ERROR",
      btid: identity === undefined ? undefined : parsePskIdentity(identity),
      nafFqdn: opts.fqdn,
      auth: "tls-psk",
      latencyMs: performance.now() - startedAt,
    });
  const byRandom = new Map<string, net.Socket>();
  const common = {
    pskIdentityHint: PSK_IDENTITY_HINT,
    handshakeTimeout,
    // no resumption: every connection proves Ks_NAF through the PSK callback
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
  };

  function pskServer(uaId: Uint8Array, options: tls.TlsOptions): tls.Server {
    const uaHex = bytesToHex(uaId);
    const server = tls.createServer({
      ...common,
      ...options,
      pskCallback(socket: tls.TLSSocket, identity: string) {
        const answer = pins.get(uaHex, identity);
        if (answer === undefined) return null; // → unknown_psk_identity (RFC 4279 §2)
        const session: TlsSession = { identity: identityFrom(answer, "tls-psk", meKeyKind(answer)), expiresAt: answer.expiresAt };
        // the tunnel is keyed with the ME-based key; a subscription that forbids it gets 403 on each request
        const forbidding = keyChoiceForbidding(answer.ussList, "me");
        if (forbidding !== undefined) session.keyChoiceRefusal = forbidding;
        sessions.set(socket, session);
        if (events) since.set(socket, pins.since(uaHex, identity) ?? performance.now());
        return Buffer.from(answer.meKeyMaterial);
      },
    });
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      // only a handshake that went through the PSK callback has a session (TLS 1.3 reports
      // external PSKs as "reused", so isSessionReused() cannot tell resumption apart)
      const session = sessions.get(socket);
      if (!session) {
        socket.destroy();
        return;
      }
      if (events) {
        const { impi, btid } = session.identity;
        const startedAt = since.get(socket) ?? performance.now();
        events.emit({
          nf: eventNf,
          kind: "ua-psk",
          outcome: "ok",
          impi,
          btid,
          nafFqdn: opts.fqdn,
          auth: "tls-psk",
          latencyMs: performance.now() - startedAt,
        });
      }
      app.server.emit("connection", socket);
    });
    server.on("tlsClientError", (err) => log.debug({ err: err.message }, "TLS-PSK handshake failed"));
    // the key log names the ClientHello's random (NSS key log format): the TLS socket of a raw one
    if (opts.recordAddresses)
      server.on("keylog", (line: Buffer, socket: tls.TLSSocket) => {
        const raw = byRandom.get(line.toString("latin1").split(" ")[1]?.toLowerCase() ?? "");
        if (raw) addresses.set(socket, addressOf(raw));
      });
    return server;
  }

  const tls12 = new Map<number, tls.Server>();
  for (const s of suites) {
    tls12.set(s.code, pskServer(uaIdForTls(s.code), { minVersion: "TLSv1.2", maxVersion: "TLSv1.2", ciphers: s.openssl }));
  }
  const tls13 =
    opts.tls13 === false
      ? undefined
      : // TS 33.222 §5.4.0.2; node's PSK callback gives the key a SHA-256 hash, so SHA-256 suites only
        pskServer(UA_ID.TLS13_PSK, {
          minVersion: "TLSv1.3",
          maxVersion: "TLSv1.3",
          ciphers: "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
        });

  // a ZnClientHandle answers cache hits synchronously: no promise on the warm path
  const cached =
    typeof (opts.zn as Partial<ZnClientHandle>).cached === "function"
      ? (opts.zn as ZnClientHandle).cached.bind(opts.zn)
      : undefined;

  /** Pins the key for `identity`: true when it was already cached, a promise when Zn is asked. */
  function pinKey(identity: string, uaId: Uint8Array, release: (fn: () => void) => void): true | Promise<void> {
    const btid = parsePskIdentity(identity);
    if (btid === undefined) return Promise.reject(new BtidUnknown("psk_identity is not 3GPP-bootstrapping.<B-TID>"));
    const asked = performance.now();
    const hit = cached?.(btid, opts.fqdn, uaId);
    if (hit) {
      release(pins.pin(bytesToHex(uaId), identity, hit, asked));
      return true;
    }
    try {
      return opts.zn.lookup(btid, opts.fqdn, uaId).then((answer) => {
        release(pins.pin(bytesToHex(uaId), identity, answer, asked));
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  function viaTls13(
    sock: net.Socket,
    first: Buffer,
    hello: ClientHello,
    server: tls.Server,
    release: (fn: () => void) => void,
  ): void {
    const startedAt = performance.now();
    const ids = hello.pskIdentities.filter((i) => parsePskIdentity(i) !== undefined).slice(0, MAX_IDENTITIES_TRIED);
    const handOver = () => {
      if (sock.destroyed) return;
      sock.unshift(first);
      server.emit("connection", sock);
    };
    const first0 = ids.length > 0 ? pinKey(ids[0], UA_ID.TLS13_PSK, release) : undefined;
    if (first0 === true) {
      handOver();
      return;
    }
    (async () => {
      let last: unknown;
      for (const [i, id] of ids.entries()) {
        try {
          await (i === 0 ? first0 : pinKey(id, UA_ID.TLS13_PSK, release));
          return undefined;
        } catch (err) {
          last = err;
          if (!(err instanceof ZnFailure && err.code === "BTID_UNKNOWN")) break;
        }
      }
      log.info(
        { reason: last === undefined ? "no 3GPP-bootstrapping psk_identity offered" : describe(last) },
        "TLS 1.3 PSK refused",
      );
      refusedEvent(ids[0], last, startedAt);
      return (last === undefined ? undefined : alertFor(last)) ?? ALERT.UNKNOWN_PSK_IDENTITY;
    })().then((alert) => {
      if (alert === undefined) handOver();
      else if (!sock.destroyed) sock.end(fatalAlert(alert));
    });
  }

  function viaTls12(
    sock: net.Socket,
    first: Buffer,
    suite: TlsSuite,
    server: tls.Server,
    release: (fn: () => void) => void,
  ): void {
    const uaId = uaIdForTls(suite.code);
    const gate = new HandshakeGate(sock, first, (identity) => {
      const startedAt = performance.now();
      const refused = (err: unknown) => {
        log.info({ reason: describe(err), suite: suite.openssl }, "TLS 1.2 PSK refused");
        refusedEvent(identity, err, startedAt);
        return alertFor(err);
      };
      const pinned = pinKey(identity, uaId, release);
      return pinned === true ? undefined : pinned.then(() => undefined, refused);
    });
    server.emit("connection", gate);
  }

  function route(sock: net.Socket, first: Buffer, hello: ClientHello, release: (fn: () => void) => void): void {
    if (opts.recordAddresses) {
      const random = bytesToHex(hello.random);
      byRandom.set(random, sock);
      sock.once("close", () => byRandom.delete(random));
    }
    if (tls13 && hello.supportedVersions.includes(TLS13) && hello.pskIdentities.length > 0) {
      viaTls13(sock, first, hello, tls13, release);
      return;
    }
    const suite = chooseTls12Suite(hello, suites);
    const server = suite && tls12.get(suite.code);
    if (!suite || !server) {
      sock.end(fatalAlert(ALERT.HANDSHAKE_FAILURE));
      return;
    }
    viaTls12(sock, first, suite, server, release);
  }

  const sockets = new Set<net.Socket>();
  const raw = net.createServer({ noDelay: true }, (sock) => {
    sockets.add(sock);
    const releases: Array<() => void> = [];
    sock.once("close", () => {
      sockets.delete(sock);
      for (const r of releases) r();
    });
    sock.on("error", (err) => log.debug({ err: err.message }, "TLS-PSK connection error"));
    const timer = setTimeout(() => sock.destroy(), handshakeTimeout);
    const reader = new HandshakeReader();
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      let hello: ClientHello;
      try {
        reader.push(chunk);
        const msg = reader.next();
        if (msg === undefined) {
          if (reader.blocked) sock.destroy();
          return;
        }
        if (msg.type !== HANDSHAKE_CLIENT_HELLO) throw new Error("first handshake message is not a ClientHello");
        hello = parseClientHello(msg.body);
      } catch (err) {
        log.debug({ err: (err as Error).message }, "TLS-PSK: not a TLS ClientHello");
        sock.destroy();
        return;
      }
      sock.off("data", onData);
      sock.pause();
      clearTimeout(timer); // from here node's handshakeTimeout and the Zn timeout apply
      route(sock, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), hello, (fn) => releases.push(fn));
    };
    sock.on("data", onData);
  });
  await new Promise<void>((resolve, reject) => {
    raw.once("error", reject);
    raw.listen(opts.port, opts.host, () => {
      raw.off("error", reject);
      resolve();
    });
  });
  const addr = raw.address() as net.AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `https://${host}:${addr.port}`,
    close() {
      return new Promise<void>((resolve) => {
        raw.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
