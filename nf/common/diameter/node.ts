// A Diameter node (RFC 6733 §2): one identity, a TCP listener, connectors to configured peers
// with reconnection (Tc, RFC 6733 §2.1), the peer table (§2.6: only configured Origin-Hosts are
// admitted, others get DIAMETER_UNKNOWN_PEER), application handlers `onRequest(app, command)` and
// a client `request(...)` that picks an open peer supporting the application.
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import {
  AVP,
  advertisedApplications,
  APP_RELAY,
  type Capabilities,
  DiameterError,
  type DiameterMessage,
  DISCONNECT_CAUSE,
  findAvp,
  type MessageIds,
  type Origin,
  RESULT,
  readIdentity,
  VENDOR_3GPP,
} from "../../../wire/diameter/index.js";
import {
  type ConnectionAddress,
  DiameterConnection,
  type DiameterLogger,
  DiameterUnavailableError,
  type MessageTap,
  silentLogger,
} from "./connection.js";

export interface DiameterPeerConfig {
  /** the peer's Origin-Host: its identity in the peer table */
  originHost: string;
  /** when set, this node connects to the peer (and reconnects after Tc) */
  connect?: { host: string; port: number };
}

export interface DiameterNodeOptions {
  originHost: string;
  originRealm: string;
  /** Auth-Application-Ids we serve or use, advertised as 3GPP Vendor-Specific-Application-Ids */
  applications: number[];
  peers: DiameterPeerConfig[];
  /** Host-IP-Address values of the CER/CEA; default: the local address of each connection */
  hostIpAddresses?: string[];
  /** Vendor-Id of this implementation (RFC 6733 §5.3.3); 0 when it has no enterprise number */
  vendorId?: number;
  productName?: string;
  firmwareRevision?: number;
  /** RFC 3539 Tw (default 30 s) and its jitter (default ±2 s) */
  watchdogMs?: number;
  watchdogJitterMs?: number;
  /** RFC 6733 §2.1 Tc: wait between connection attempts (default 30 s) */
  reconnectMs?: number;
  capabilitiesTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxMessageLength?: number;
  logger?: DiameterLogger;
  tap?: MessageTap;
  /** injectable for tests */
  clock?: () => number;
  random?: () => number;
}

export type RequestHandler = (msg: DiameterMessage, peer: PeerView) => Uint8Array | Promise<Uint8Array>;

/**
 * The Diameter binding of an interface (an NF's routes/<interface>-diameter.ts): registers its
 * request handlers on the node, as a Fastify plugin registers HTTP routes.
 */
export type DiameterRoutes<O> = (node: DiameterNode, options: O) => void;

export interface PeerView {
  originHost: string;
  originRealm: string;
  address: ConnectionAddress;
}

export interface PeerStatus {
  originHost: string;
  state: "open" | "closing" | "connecting" | "closed";
  watchdog?: string;
  address?: ConnectionAddress;
  applications?: number[];
}

const PRODUCT = "gba-emu";

export class DiameterNode {
  readonly origin: Origin;
  readonly originStateId: number;
  private readonly o: Required<Omit<DiameterNodeOptions, "hostIpAddresses" | "firmwareRevision" | "tap">> &
    Pick<DiameterNodeOptions, "hostIpAddresses" | "firmwareRevision" | "tap">;
  private readonly table = new Map<string, DiameterPeerConfig>();
  private readonly handlers = new Map<string, RequestHandler>();
  private readonly open = new Map<string, DiameterConnection>();
  private readonly connections = new Set<DiameterConnection>();
  private readonly reconnectTimers = new Map<string, NodeJS.Timeout>();
  private readonly connecting = new Set<string>();
  private server?: Server;
  private endToEnd: number;
  private closing = false;

  constructor(options: DiameterNodeOptions) {
    const clock = options.clock ?? Date.now;
    this.o = {
      vendorId: 0,
      productName: PRODUCT,
      watchdogMs: 30_000,
      watchdogJitterMs: 2_000,
      reconnectMs: 30_000,
      capabilitiesTimeoutMs: 10_000,
      requestTimeoutMs: 10_000,
      maxMessageLength: 256 * 1024,
      logger: silentLogger,
      clock,
      random: Math.random,
      ...options,
    };
    this.origin = { originHost: options.originHost, originRealm: options.originRealm };
    // RFC 6733 §8.16: Origin-State-Id increases whenever the node restarts with lost state
    this.originStateId = Math.floor(clock() / 1000) >>> 0;
    // RFC 6733 §3: End-to-End Identifier: low 12 bits of the time in the high 12, random low 20
    this.endToEnd = (((this.originStateId & 0xfff) << 20) | Math.floor(this.o.random() * 0x100000)) >>> 0;
    for (const p of options.peers) this.table.set(p.originHost.toLowerCase(), p);
  }

  /** Registers the handler for (application, command); it returns the encoded answer. */
  onRequest(applicationId: number, commandCode: number, handler: RequestHandler): void {
    this.handlers.set(`${applicationId}:${commandCode}`, handler);
  }

  /** Starts listening (TCP); resolves with the bound address. */
  listen(port: number, host = "127.0.0.1"): Promise<{ host: string; port: number }> {
    const server = createServer((socket) => this.attach(socket, false));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        const a = server.address();
        if (a === null || typeof a === "string") reject(new Error("no TCP address"));
        else {
          this.o.tap?.listening?.(a.address, a.port);
          resolve({ host: a.address, port: a.port });
        }
      });
    });
  }

  /** Connects to every peer with a `connect` address; failures are retried after Tc. */
  start(): void {
    for (const p of this.table.values()) if (p.connect) void this.connectPeer(p).catch(() => {});
  }

  /** Connects to one configured peer now; resolves once the connection is open. */
  async connectPeer(p: DiameterPeerConfig): Promise<void> {
    const key = p.originHost.toLowerCase();
    if (!p.connect) throw new Error(`peer ${p.originHost} has no connect address`);
    if (this.open.has(key) || this.connecting.has(key) || this.closing) return;
    this.connecting.add(key);
    clearTimeout(this.reconnectTimers.get(key));
    try {
      const socket = tcpConnect({ host: p.connect.host, port: p.connect.port });
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      });
      const conn = this.attach(socket, true, p.originHost);
      await conn.exchangeCapabilities();
    } catch (err) {
      this.o.logger.warn({ peer: p.originHost, error: (err as Error).message }, "Diameter connect failed; retrying after Tc");
      this.scheduleReconnect(p);
      throw err;
    } finally {
      this.connecting.delete(key);
    }
  }

  private scheduleReconnect(p: DiameterPeerConfig): void {
    if (this.closing || !p.connect) return;
    const key = p.originHost.toLowerCase();
    clearTimeout(this.reconnectTimers.get(key));
    const t = setTimeout(() => void this.connectPeer(p).catch(() => {}), this.o.reconnectMs);
    t.unref();
    this.reconnectTimers.set(key, t);
  }

  private capabilities(local: string): Capabilities {
    return {
      ...this.origin,
      hostIpAddresses: this.o.hostIpAddresses ?? [local.startsWith("::ffff:") ? local.slice(7) : local || "127.0.0.1"],
      vendorId: this.o.vendorId,
      productName: this.o.productName,
      originStateId: this.originStateId,
      supportedVendorIds: [VENDOR_3GPP],
      authApplicationIds: [],
      acctApplicationIds: [],
      vendorSpecificApplicationIds: this.o.applications.map((a) => ({ vendorId: VENDOR_3GPP, authApplicationId: a })),
      ...(this.o.firmwareRevision === undefined ? {} : { firmwareRevision: this.o.firmwareRevision }),
    };
  }

  /** RFC 6733 §5.3: admit a peer only if configured and sharing an application (or relaying). */
  private commonApplication(peer: Capabilities): boolean {
    if (this.o.applications.length === 0) return true;
    const theirs = advertisedApplications(peer);
    return theirs.has(APP_RELAY) || this.o.applications.some((a) => theirs.has(a));
  }

  private attach(socket: Socket, initiator: boolean, expectedHost?: string): DiameterConnection {
    const conn = new DiameterConnection(
      socket,
      initiator,
      {
        capabilities: (local) => this.capabilities(local),
        acceptCer: (_c, peer) => {
          const key = peer.originHost.toLowerCase();
          if (!this.table.has(key)) {
            return { result: RESULT.UNKNOWN_PEER, message: `${peer.originHost} is not a configured peer` };
          }
          const existing = this.open.get(key);
          if (existing?.state === "open") {
            // a restarted peer (new Origin-State-Id, RFC 6733 §8.16) replaces its dead connection;
            // a second connection of a live one is refused (RFC 6733 §5.6, R-Open: R-Reject)
            if (peer.originStateId === undefined || peer.originStateId === existing.peer?.originStateId) {
              return {
                result: RESULT.UNABLE_TO_COMPLY,
                message: `${peer.originHost} is already connected (Origin-State-Id ${existing.peer?.originStateId})`,
              };
            }
            existing.abort(`${peer.originHost} reconnected with Origin-State-Id ${peer.originStateId}`);
          }
          if (!this.commonApplication(peer)) {
            return {
              result: RESULT.NO_COMMON_APPLICATION,
              message: `no application in common (we have ${this.o.applications.join(", ")})`,
            };
          }
          if (peer.inbandSecurityIds?.length && !peer.inbandSecurityIds.includes(0)) {
            return { result: RESULT.NO_COMMON_SECURITY, message: "only NO_INBAND_SECURITY is offered here" };
          }
          return { result: RESULT.SUCCESS };
        },
        acceptCea: (_c, peer) => {
          if (expectedHost && peer.originHost.toLowerCase() !== expectedHost.toLowerCase()) {
            throw new Error(`peer identifies as ${peer.originHost}, configured as ${expectedHost}`);
          }
          if (!this.commonApplication(peer)) throw new Error("no application in common");
        },
        request: (c, msg) => this.dispatch(c, msg),
        opened: (c) => {
          const key = c.peer!.originHost.toLowerCase();
          this.open.set(key, c);
        },
        closed: (c, _reason, cause) => {
          this.connections.delete(c);
          const host = c.peer?.originHost.toLowerCase() ?? expectedHost?.toLowerCase();
          if (host && this.open.get(host) === c) this.open.delete(host);
          const p = host ? this.table.get(host) : undefined;
          // RFC 6733 §5.4.3: DO_NOT_WANT_TO_TALK_TO_YOU asks us not to come back
          if (p?.connect && cause !== DISCONNECT_CAUSE.DO_NOT_WANT_TO_TALK_TO_YOU && c.peer) this.scheduleReconnect(p);
        },
      },
      {
        origin: this.origin,
        originStateId: this.originStateId,
        watchdogMs: this.o.watchdogMs,
        watchdogJitterMs: this.o.watchdogJitterMs,
        capabilitiesTimeoutMs: this.o.capabilitiesTimeoutMs,
        maxMessageLength: this.o.maxMessageLength,
        logger: this.o.logger,
        tap: this.o.tap,
        random: this.o.random,
        nextEndToEnd: () => {
          this.endToEnd = (this.endToEnd + 1) >>> 0;
          return this.endToEnd;
        },
      },
    );
    this.connections.add(conn);
    return conn;
  }

  private async dispatch(conn: DiameterConnection, msg: DiameterMessage): Promise<Uint8Array> {
    const handler = this.handlers.get(`${msg.applicationId}:${msg.commandCode}`);
    if (handler === undefined) {
      // RFC 6733 §7.1.3: an application we do not serve, or a command it does not have
      const served = this.o.applications.includes(msg.applicationId);
      throw served
        ? new DiameterError(
            RESULT.COMMAND_UNSUPPORTED,
            `command ${msg.commandCode} is not supported in application ${msg.applicationId}`,
          )
        : new DiameterError(RESULT.APPLICATION_UNSUPPORTED, `application ${msg.applicationId} is not supported here`);
    }
    // RFC 6733 §6.1.4–§6.1.6: this node relays nothing, so a request must be for it
    const realm = findAvp(msg.avps, AVP.DestinationRealm);
    if (realm && readIdentity(realm).toLowerCase() !== this.origin.originRealm.toLowerCase())
      throw new DiameterError(RESULT.REALM_NOT_SERVED, `realm ${readIdentity(realm)} is not served here`);
    const host = findAvp(msg.avps, AVP.DestinationHost);
    if (host && readIdentity(host).toLowerCase() !== this.origin.originHost.toLowerCase())
      throw new DiameterError(RESULT.UNABLE_TO_DELIVER, `${readIdentity(host)} is not this host; this node does not relay`);
    const peer = conn.peer!;
    return handler(msg, { originHost: peer.originHost, originRealm: peer.originRealm, address: conn.address });
  }

  /**
   * Sends a request to `peer` (an Origin-Host) or to any open peer advertising `applicationId`,
   * and resolves with the answer. `build` gets the identifiers to put in the header.
   */
  request(
    applicationId: number,
    build: (ids: MessageIds) => Uint8Array,
    opts: { peer?: string; timeoutMs?: number } = {},
  ): Promise<DiameterMessage> {
    const conn = this.pick(applicationId, opts.peer);
    if (conn === undefined) {
      const whom = opts.peer ? `peer ${opts.peer}` : `a peer for application ${applicationId}`;
      return Promise.reject(new DiameterUnavailableError(`no open Diameter connection to ${whom}`));
    }
    return conn.request(build, opts.timeoutMs ?? this.o.requestTimeoutMs);
  }

  private pick(applicationId: number, host?: string): DiameterConnection | undefined {
    if (host !== undefined) {
      const c = this.open.get(host.toLowerCase());
      return c?.state === "open" && c.watchdog === "okay" ? c : undefined;
    }
    for (const c of this.open.values()) {
      if (c.state !== "open" || c.watchdog !== "okay" || !c.peer) continue;
      const apps = advertisedApplications(c.peer);
      if (apps.has(applicationId) || apps.has(APP_RELAY)) return c;
    }
    return undefined;
  }

  /** The peer table with each peer's connection state. */
  status(): PeerStatus[] {
    return [...this.table.values()].map((p) => {
      const key = p.originHost.toLowerCase();
      const c = this.open.get(key);
      if (c) {
        return {
          originHost: p.originHost,
          state: c.state === "open" ? "open" : "closing",
          watchdog: c.watchdog,
          address: c.address,
          applications: [...advertisedApplications(c.peer!)],
        };
      }
      return { originHost: p.originHost, state: this.connecting.has(key) ? "connecting" : "closed" };
    });
  }

  /** Resolves when `originHost` has an open connection (or rejects after `timeoutMs`). */
  async waitOpen(originHost: string, timeoutMs = 10_000): Promise<void> {
    const key = originHost.toLowerCase();
    const until = this.o.clock() + timeoutMs;
    while (this.open.get(key)?.state !== "open") {
      if (this.o.clock() > until) throw new DiameterUnavailableError(`${originHost} did not connect within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** RFC 6733 §5.4: DPR to every open peer, then the listener and all transports close. */
  async close(cause: number = DISCONNECT_CAUSE.REBOOTING): Promise<void> {
    this.closing = true;
    for (const t of this.reconnectTimers.values()) clearTimeout(t);
    this.reconnectTimers.clear();
    const server = this.server;
    const stopped = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    await Promise.all([...this.connections].map((c) => (c.state === "open" ? c.disconnect(cause) : c.abort("node closing"))));
    await stopped;
  }
}
