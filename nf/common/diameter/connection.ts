// One Diameter transport connection over TCP (RFC 6733 §2.1, §5): framing, the capabilities
// exchange, the watchdog (RFC 3539 §3.4), disconnection (§5.4), requests matched to answers by
// Hop-by-Hop Identifier with a timeout (§6.2), and the RFC 6733 §7 answer to a request that cannot
// be accepted. A byte stream that cannot be framed any more is closed, never parsed further.
import type { Socket } from "node:net";
import {
  APP_COMMON,
  AVP,
  type Capabilities,
  checkMessage,
  COMMAND,
  type CommandDef,
  CMD_FLAG_E,
  CMD_FLAG_P,
  DiameterError,
  DiameterFramingError,
  type DiameterHeader,
  type DiameterMessage,
  DiameterMessageError,
  DISCONNECT_CAUSE,
  decodeMessage,
  encodeCea,
  encodeCer,
  encodeDpa,
  encodeDpr,
  encodeDwa,
  encodeDwr,
  encodeErrorAnswer,
  findAvp,
  frameLength,
  isRequest,
  type MessageIds,
  type Origin,
  RESULT,
  readCapabilities,
  readEnumerated,
  readResult,
  resultCode,
  resultName,
} from "../../../wire/diameter/index.js";

/** pino-compatible subset the node logs through. */
export interface DiameterLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: DiameterLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface ConnectionAddress {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** A transport connection as a tap sees it: its addresses and which side opened it. */
export interface TapConnection extends ConnectionAddress {
  /** this node opened the connection (it is the TCP client) */
  initiator: boolean;
}

/** Sees every message a node sends and receives, whole (for captures). */
export interface MessageTap {
  message(direction: "in" | "out", message: Uint8Array, conn: TapConnection): void;
  /** the node listens here (so a tap can tell in-process peers from others) */
  listening?(host: string, port: number): void;
  closed?(conn: TapConnection): void;
}

export type ConnectionState = "wait-cea" | "wait-cer" | "open" | "closing" | "closed";

/** RFC 3539 §3.4 watchdog states (REOPEN is not modelled: a reconnect starts OKAY). */
export type WatchdogState = "okay" | "suspect" | "down";

export class DiameterTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiameterTimeoutError";
  }
}

/** The transport closed, or was never open, before an answer came. */
export class DiameterUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiameterUnavailableError";
  }
}

interface Pending {
  endToEnd: number;
  commandCode: number;
  resolve(m: DiameterMessage): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface ConnectionHooks {
  /** capabilities we announce; host addresses default to the socket's local address */
  capabilities(local: string): Capabilities;
  /** a CER arrived (passive side): the result to answer with; anything but 2001 closes */
  acceptCer(conn: DiameterConnection, peer: Capabilities): { result: number; message?: string };
  /** a CEA arrived (active side): throw to refuse the peer */
  acceptCea(conn: DiameterConnection, peer: Capabilities): void;
  /** an application request on an open connection; resolves to the answer */
  request(conn: DiameterConnection, msg: DiameterMessage): Promise<Uint8Array>;
  opened(conn: DiameterConnection): void;
  closed(conn: DiameterConnection, reason: string, disconnectCause?: number): void;
}

export interface ConnectionOptions {
  origin: Origin;
  originStateId: number;
  /** RFC 3539 Tw in ms, and the jitter (± ms) drawn for each interval */
  watchdogMs: number;
  watchdogJitterMs: number;
  /** how long to wait for the CER or CEA of the capabilities exchange */
  capabilitiesTimeoutMs: number;
  maxMessageLength: number;
  logger: DiameterLogger;
  tap?: MessageTap;
  /** uniform in [0, 1), injectable for tests */
  random: () => number;
  /** the next End-to-End Identifier (node-wide, RFC 6733 §3) */
  nextEndToEnd: () => number;
}

const BASE_REQUESTS = new Set<number>([
  COMMAND.CapabilitiesExchange.code,
  COMMAND.DeviceWatchdog.code,
  COMMAND.DisconnectPeer.code,
]);

export class DiameterConnection {
  state: ConnectionState;
  watchdog: WatchdogState = "okay";
  /** the peer's capabilities once the exchange is done */
  peer?: Capabilities;
  readonly address: TapConnection;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** octets the incomplete message at the head of `chunks` needs (0: unknown yet) */
  private awaiting = 0;
  private readonly pending = new Map<number, Pending>();
  private hopByHop: number;
  private watchdogTimer?: NodeJS.Timeout;
  private watchdogOutstanding = false;
  private ceTimer?: NodeJS.Timeout;
  private ceWaiter?: { resolve(): void; reject(e: Error): void };
  private dpaWaiter?: () => void;
  private closeReason = "";
  private disconnectCause?: number;
  private corked = false;

  constructor(
    readonly socket: Socket,
    readonly initiator: boolean,
    private readonly hooks: ConnectionHooks,
    private readonly o: ConnectionOptions,
  ) {
    this.state = initiator ? "wait-cea" : "wait-cer";
    this.address = {
      localAddress: socket.localAddress ?? "",
      localPort: socket.localPort ?? 0,
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      initiator,
    };
    // RFC 6733 §3: Hop-by-Hop Identifiers start at a random value and increase
    this.hopByHop = Math.floor(o.random() * 0x100000000) >>> 0;
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", (err) => this.shutdown(`transport error: ${err.message}`));
    socket.on("close", () => this.shutdown(this.closeReason || "transport closed by the peer"));
    this.ceTimer = setTimeout(
      () => this.abort(`no ${initiator ? "CEA" : "CER"} within ${o.capabilitiesTimeoutMs} ms`),
      o.capabilitiesTimeoutMs,
    );
  }

  get peerName(): string {
    return this.peer?.originHost ?? `${this.address.remoteAddress}:${this.address.remotePort}`;
  }

  private log(level: keyof DiameterLogger, msg: string, extra: object = {}): void {
    this.o.logger[level]({ peer: this.peerName, ...extra }, msg);
  }

  // ------------------------------------------------------------------ sending

  private write(msg: Uint8Array): void {
    if (this.socket.destroyed) return;
    this.o.tap?.message("out", msg, this.address);
    // several answers produced in one tick leave in one segment
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(msg);
  }

  private nextIds(): MessageIds {
    this.hopByHop = (this.hopByHop + 1) >>> 0;
    return { hopByHop: this.hopByHop, endToEnd: this.o.nextEndToEnd() };
  }

  /** Active side: sends the CER; resolves when a successful CEA made the connection open. */
  exchangeCapabilities(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ceWaiter = { resolve, reject };
      this.write(encodeCer(this.hooks.capabilities(this.address.localAddress), this.nextIds()));
    });
  }

  /** Sends a request built for the given ids; resolves with the answer or rejects on timeout/close. */
  request(build: (ids: MessageIds) => Uint8Array, timeoutMs: number): Promise<DiameterMessage> {
    if (this.state !== "open")
      return Promise.reject(new DiameterUnavailableError(`connection to ${this.peerName} is ${this.state}`));
    const ids = this.nextIds();
    const msg = build(ids);
    const commandCode = (msg[5] << 16) | (msg[6] << 8) | msg[7];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ids.hopByHop);
        reject(new DiameterTimeoutError(`no answer to command ${commandCode} from ${this.peerName} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(ids.hopByHop, { endToEnd: ids.endToEnd, commandCode, resolve, reject, timer });
      this.write(msg);
    });
  }

  /** RFC 6733 §5.4: DPR, wait for the DPA (or `timeoutMs`), close. */
  async disconnect(cause: number = DISCONNECT_CAUSE.REBOOTING, timeoutMs = 2000): Promise<void> {
    if (this.state !== "open") {
      this.abort("closed before the capabilities exchange completed");
      return;
    }
    this.state = "closing";
    this.closeReason = `sent DPR (cause ${cause})`;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.dpaWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
      this.write(encodeDpr(this.o.origin, cause, this.nextIds()));
    });
    this.socket.end();
    this.socket.destroySoon?.();
    await new Promise<void>((resolve) => {
      if (this.state === "closed") resolve();
      else {
        const t = setTimeout(() => {
          this.socket.destroy();
          resolve();
        }, timeoutMs);
        this.socket.once("close", () => {
          clearTimeout(t);
          resolve();
        });
      }
    });
  }

  /** Closes the transport at once (framing lost, timeouts, refused peers). */
  abort(reason: string): void {
    if (this.state === "closed") return;
    this.closeReason = reason;
    this.socket.destroy();
    this.shutdown(reason);
  }

  private shutdown(reason: string): void {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open" || this.state === "closing";
    this.state = "closed";
    clearTimeout(this.ceTimer);
    clearTimeout(this.watchdogTimer);
    if (!this.socket.destroyed) this.socket.destroy();
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new DiameterUnavailableError(`connection to ${this.peerName} closed (${reason}) before the answer`));
    }
    this.pending.clear();
    this.ceWaiter?.reject(new DiameterUnavailableError(`capabilities exchange with ${this.peerName} failed: ${reason}`));
    this.ceWaiter = undefined;
    this.dpaWaiter?.();
    this.log(wasOpen ? "info" : "warn", "Diameter connection closed", { reason });
    this.o.tap?.closed?.(this.address);
    this.hooks.closed(this, reason, this.disconnectCause);
  }

  // ------------------------------------------------------------------ watchdog (RFC 3539 §3.4)

  private armWatchdog(): void {
    clearTimeout(this.watchdogTimer);
    if (this.state !== "open") return;
    const j = this.o.watchdogJitterMs;
    const delay = Math.max(1, this.o.watchdogMs + (this.o.random() * 2 - 1) * j);
    this.watchdogTimer = setTimeout(() => this.watchdogExpired(), delay);
  }

  private watchdogExpired(): void {
    if (this.state !== "open") return;
    if (!this.watchdogOutstanding) {
      this.watchdogOutstanding = true;
      this.write(encodeDwr(this.o.origin, this.nextIds(), this.o.originStateId));
    } else if (this.watchdog === "okay") {
      this.watchdog = "suspect";
      this.log("warn", "Diameter peer suspect: no DWA within Tw");
    } else {
      this.watchdog = "down";
      this.abort("watchdog: no answer to DWR within 2 Tw");
      return;
    }
    this.armWatchdog();
  }

  // ------------------------------------------------------------------ receiving

  private onData(d: Buffer): void {
    if (this.state === "closed") return;
    this.chunks.push(d);
    this.buffered += d.length;
    // a message arriving in many small pieces is joined once, when it is complete
    if (this.buffered < this.awaiting) return;
    let buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    this.awaiting = 0;
    let off = 0;
    try {
      for (;;) {
        const len = frameLength(buf, off, this.o.maxMessageLength);
        if (len === undefined || buf.length - off < len) {
          this.awaiting = len ?? 0;
          break;
        }
        const msg = buf.subarray(off, off + len);
        off += len;
        this.onMessage(msg);
        if ((this.state as ConnectionState) === "closed") return;
      }
    } catch (err) {
      if (err instanceof DiameterFramingError) {
        this.log("warn", "Diameter framing lost: closing the connection", { error: err.message });
        this.abort(`framing lost: ${err.message}`);
        return;
      }
      // a bug of ours must cost this connection, never the process
      this.log("error", "Diameter message handling failed: closing the connection", { error: String(err) });
      this.abort(`internal error: ${String(err)}`);
      return;
    }
    if (off === buf.length) {
      this.chunks = [];
      this.buffered = 0;
    } else {
      buf = buf.subarray(off);
      this.chunks = [buf];
      this.buffered = buf.length;
    }
    // any traffic shows the peer is alive (RFC 3539 §3.4.1)
    if (this.state === "open") {
      if (this.watchdog !== "okay") this.log("info", "Diameter peer answers again");
      this.watchdog = "okay";
      this.armWatchdog();
    }
  }

  private onMessage(bytes: Uint8Array): void {
    this.o.tap?.message("in", bytes, this.address);
    let msg: DiameterMessage;
    try {
      msg = decodeMessage(bytes);
    } catch (err) {
      if (!(err instanceof DiameterMessageError)) throw err;
      if (isRequest(err.header)) this.refuse(err.header, [], err);
      else this.answerFailed(err.header, err);
      return;
    }
    if (isRequest(msg)) this.onRequest(msg);
    else this.onAnswer(msg);
  }

  /** RFC 6733 §7.2: the answer to a request refused before any application saw it. */
  private refuse(h: DiameterHeader, avps: DiameterMessage["avps"], e: DiameterError): void {
    this.log("info", "Diameter request refused", {
      command: h.commandCode,
      app: h.applicationId,
      result: resultName(e.resultCode),
      why: e.message,
    });
    this.write(encodeErrorAnswer(this.o.origin, h, avps, e, this.o.originStateId));
  }

  private answerFailed(h: DiameterHeader, e: Error): void {
    const p = this.pending.get(h.hopByHop);
    this.log("warn", "Diameter answer unreadable", { command: h.commandCode, why: e.message });
    if (!p) return;
    this.pending.delete(h.hopByHop);
    clearTimeout(p.timer);
    p.reject(e);
  }

  private onRequest(msg: DiameterMessage): void {
    // RFC 6733 §3: the E bit is never set in a request
    if (msg.flags & CMD_FLAG_E) {
      this.refuse(msg, msg.avps, new DiameterError(RESULT.INVALID_HDR_BITS, "request with the E bit set"));
      return;
    }
    const base = msg.applicationId === APP_COMMON && BASE_REQUESTS.has(msg.commandCode);
    // the base protocol commands are not proxiable (RFC 6733 §5.3.1, §5.4.1, §5.5.1: no PXY)
    if (base && msg.flags & CMD_FLAG_P) {
      this.refuse(msg, msg.avps, new DiameterError(RESULT.INVALID_HDR_BITS, `command ${msg.commandCode} with the P bit set`));
      return;
    }
    if (this.state === "wait-cer") {
      if (!(base && msg.commandCode === COMMAND.CapabilitiesExchange.code)) {
        this.abort(`first message was command ${msg.commandCode}, not a CER`);
        return;
      }
      this.onCer(msg);
      return;
    }
    if (this.state === "wait-cea") {
      this.abort(`request ${msg.commandCode} before the CEA`);
      return;
    }
    if (base) {
      this.onBaseRequest(msg);
      return;
    }
    if (this.state !== "open") return;
    this.hooks.request(this, msg).then(
      (answer) => this.write(answer),
      (err: unknown) => {
        if (err instanceof DiameterError) this.refuse(msg, msg.avps, err);
        else {
          this.log("error", "Diameter request handler failed", { command: msg.commandCode, error: String(err) });
          this.refuse(msg, msg.avps, new DiameterError(RESULT.UNABLE_TO_COMPLY, "the request could not be handled"));
        }
      },
    );
  }

  private onBaseRequest(msg: DiameterMessage): void {
    switch (msg.commandCode) {
      case COMMAND.DeviceWatchdog.code:
        if (!this.checked(msg, COMMAND.DeviceWatchdog)) return;
        this.write(encodeDwa(this.o.origin, resultCode(RESULT.SUCCESS), msg, this.o.originStateId));
        return;
      case COMMAND.DisconnectPeer.code: {
        if (!this.checked(msg, COMMAND.DisconnectPeer)) return;
        const cause = findAvp(msg.avps, AVP.DisconnectCause);
        this.disconnectCause = cause ? readEnumerated(cause) : undefined;
        this.write(encodeDpa(this.o.origin, resultCode(RESULT.SUCCESS), msg));
        this.state = "closing";
        this.closeReason = `peer sent DPR (cause ${this.disconnectCause})`;
        // RFC 6733 §5.4: the receiver of a DPR answers and the connection goes down
        this.socket.end();
        return;
      }
      default:
        // a second CER on an open connection is answered as the first was (RFC 6733 §5.6, R-Open)
        this.onCer(msg);
    }
  }

  /** Runs the CCF check of a base command; a failure is answered. */
  private checked(msg: DiameterMessage, cmd: CommandDef): boolean {
    try {
      checkMessage(msg.avps, cmd, true);
      return true;
    } catch (err) {
      if (!(err instanceof DiameterError)) throw err;
      this.refuse(msg, msg.avps, err);
      return false;
    }
  }

  private onCer(msg: DiameterMessage): void {
    let peer: Capabilities;
    try {
      checkMessage(msg.avps, COMMAND.CapabilitiesExchange, true);
      peer = readCapabilities(msg.avps);
    } catch (err) {
      if (!(err instanceof DiameterError)) throw err;
      this.writeCea(msg, err.resultCode, err.message, err.failedAvp);
      if (this.state !== "open") this.endAfterAnswer(`bad CER: ${err.message}`);
      return;
    }
    const verdict = this.hooks.acceptCer(this, peer);
    if (verdict.result !== RESULT.SUCCESS) {
      this.writeCea(msg, verdict.result, verdict.message);
      this.log("warn", "Diameter peer refused", {
        host: peer.originHost,
        result: resultName(verdict.result),
        why: verdict.message,
      });
      this.endAfterAnswer(`refused: ${resultName(verdict.result)}`);
      return;
    }
    this.writeCea(msg, RESULT.SUCCESS);
    if (this.state === "wait-cer") {
      this.peer = peer;
      this.open();
    }
  }

  private writeCea(msg: DiameterMessage, result: number, message?: string, failedAvp?: DiameterMessage["avps"][number]): void {
    const caps = this.hooks.capabilities(this.address.localAddress);
    const err = result === RESULT.SUCCESS ? undefined : { message, failedAvp };
    this.write(encodeCea(caps, resultCode(result), msg, err));
  }

  /** Half-closes after the last answer is written; destroys if the peer does not close. */
  private endAfterAnswer(reason: string): void {
    this.closeReason = reason;
    this.state = "closing";
    this.socket.end();
    setTimeout(() => this.abort(reason), 1000).unref();
  }

  private open(): void {
    clearTimeout(this.ceTimer);
    this.state = "open";
    this.log("info", "Diameter connection open", {
      host: this.peer?.originHost,
      realm: this.peer?.originRealm,
      product: this.peer?.productName,
      initiator: this.initiator,
    });
    this.armWatchdog();
    this.hooks.opened(this);
  }

  private onAnswer(msg: DiameterMessage): void {
    if (this.state === "wait-cea") {
      if (msg.commandCode !== COMMAND.CapabilitiesExchange.code || msg.applicationId !== APP_COMMON) {
        this.abort(`answer ${msg.commandCode} before the CEA`);
        return;
      }
      this.onCea(msg);
      return;
    }
    if (msg.applicationId === APP_COMMON && msg.commandCode === COMMAND.DeviceWatchdog.code) {
      this.watchdogOutstanding = false;
      return;
    }
    if (msg.applicationId === APP_COMMON && msg.commandCode === COMMAND.DisconnectPeer.code) {
      this.dpaWaiter?.();
      this.dpaWaiter = undefined;
      return;
    }
    const p = this.pending.get(msg.hopByHop);
    // RFC 6733 §6.2.2: an answer matching no pending request is discarded
    if (!p || p.commandCode !== msg.commandCode) {
      this.log("warn", "Diameter answer matches no pending request: discarded", {
        command: msg.commandCode,
        hopByHop: msg.hopByHop,
      });
      return;
    }
    this.pending.delete(msg.hopByHop);
    clearTimeout(p.timer);
    p.resolve(msg);
  }

  private onCea(msg: DiameterMessage): void {
    try {
      const result = readResult(msg.avps);
      if (result.code !== RESULT.SUCCESS || result.vendorId !== 0) {
        const text = findAvp(msg.avps, AVP.ErrorMessage);
        throw new Error(`CEA ${resultName(result.code, result.vendorId)}${text ? `: ${Buffer.from(text.data).toString()}` : ""}`);
      }
      checkMessage(msg.avps, COMMAND.CapabilitiesExchange, false);
      const peer = readCapabilities(msg.avps);
      this.hooks.acceptCea(this, peer);
      this.peer = peer;
    } catch (err) {
      this.abort(`capabilities exchange failed: ${(err as Error).message}`);
      return;
    }
    this.open();
    this.ceWaiter?.resolve();
    this.ceWaiter = undefined;
  }
}
