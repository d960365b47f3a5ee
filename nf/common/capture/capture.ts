// A capture of one process's traffic on the reference points (Ub, Ua, Zh, Zn), as pcapng (see
// pcapng.ts): taps hand it the octets of each connection, it keeps one synthesised TCP flow per
// connection on the real 4-tuple. Diameter taps give whole messages; HTTP taps sit on the sockets
// of the NFs' Fastify servers and undici clients and are cut into whole messages (http.ts).
// Key material is zeroed unless the capture was opened with `keys` (the user asked for it).
// When both ends of a connection live in this process, only the accepting end is recorded, so no
// message appears twice; the connecting end marks the SYN of its flows, so when the captures of
// several processes are merged, a connection recorded at both ends can be told apart.
import { createWriteStream, openSync, type WriteStream } from "node:fs";
import type { Server } from "node:http";
import type { Socket } from "node:net";
import { buildConnector } from "undici";
import { zeroKeys } from "../../../wire/diameter/index.js";
import type { ConnectionAddress, MessageTap, TapConnection } from "../diameter/connection.js";
import { HttpFramer, redactHttp } from "./http.js";
import { type BlockSink, PcapngWriter, TcpFlow } from "./pcapng.js";

export interface CaptureOptions {
  /** keep key material (CK, IK, XRES, Ks_NAF, Digest responses …) in the capture */
  keys?: boolean;
  /** ms since 1970, injectable */
  clock?: () => number;
  random?: () => number;
  /** payload octets per synthesised segment (default 65,000) */
  maxSegment?: number;
}

/** The comment on the SYN of a flow the connecting end recorded. */
export const CONNECTING_END = "recorded by the connecting end";

/** The stderr line when a capture starts: where, and whether it holds keys (said whenever it does). */
export function captureStartedLine(file: string, keys: boolean): string {
  return keys
    ? `--pcap-keys: ${file} holds key material in clear (CK, IK, XRES, Ks_NAF, Digest responses)`
    : `capturing Ub, Ua, Zh and Zn to ${file} (key material zeroed)`;
}

/**
 * The stderr line when a capture is complete: how to open it. Wireshark dissects Diameter on TCP
 * port 3868 only unless its Diameter-over-TCP heuristic is on; HTTP it finds on any port.
 */
export function captureWrittenLine(file: string): string {
  return `capture written: tshark -r ${file} --enable-heuristic diameter_tcp`;
}

const endpoint = (address: string, port: number) => `${address.replace(/^::ffff:(?=\d+\.)/, "")}:${port}`;

/** How an HTTP server's accepted socket is recorded: its real addresses and a note, when they are not the socket's. */
export type SocketDescriber = (socket: Socket) => { address: ConnectionAddress; note: string } | undefined;

export class Capture {
  private readonly writer: PcapngWriter;
  private readonly flows = new Map<string, TcpFlow>();
  /** this process's listeners, "host:port" (or "*:port" for a wildcard) → what they serve */
  private readonly listeners = new Map<string, string>();
  private readonly clock: () => number;
  private readonly random: () => number;
  private stream?: WriteStream;
  private packets = 0;
  private failed?: Error;

  constructor(
    sink: BlockSink,
    private readonly o: CaptureOptions = {},
  ) {
    this.clock = o.clock ?? Date.now;
    this.random = o.random ?? Math.random;
    this.writer = new PcapngWriter((b) => {
      this.packets++;
      sink(b);
    }, "gba-emu");
  }

  /** A capture written to `path` as traffic flows (owner-only: it may hold keys); throws when it cannot be created. */
  static toFile(path: string, o: CaptureOptions = {}): Capture {
    const stream = createWriteStream("", { fd: openSync(path, "w", 0o600) });
    const c = new Capture((b) => stream.write(b), o);
    c.stream = stream;
    // a write error (disk full) is reported by close()
    stream.on("error", (err) => {
      c.failed ??= err;
    });
    return c;
  }

  get keys(): boolean {
    return this.o.keys === true;
  }

  /** blocks written so far (section and interface headers included) */
  get blocks(): number {
    return this.packets;
  }

  /** Registers one of this process's listeners (so connections to it are recorded once, by it). */
  listening(host: string, port: number, label: string): void {
    // a wildcard listener accepts on every local address: known by its port
    this.listeners.set(host === "0.0.0.0" || host === "::" ? `*:${port}` : endpoint(host, port), label);
  }

  private listenerOf(address: string, port: number) {
    return this.listeners.get(endpoint(address, port)) ?? this.listeners.get(`*:${port}`);
  }

  private key(conn: TapConnection): string {
    const local = endpoint(conn.localAddress, conn.localPort);
    const remote = endpoint(conn.remoteAddress, conn.remotePort);
    return conn.initiator ? `${local}>${remote}` : `${remote}>${local}`;
  }

  private flow(conn: TapConnection, label: string, note?: string): TcpFlow | undefined {
    // the accepting end records a connection between two in-process nodes
    if (conn.initiator && this.listenerOf(conn.remoteAddress, conn.remotePort)) return undefined;
    const key = this.key(conn);
    let f = this.flows.get(key);
    if (f === undefined) {
      const [client, server] = conn.initiator
        ? [
            { address: conn.localAddress, port: conn.localPort },
            { address: conn.remoteAddress, port: conn.remotePort },
          ]
        : [
            { address: conn.remoteAddress, port: conn.remotePort },
            { address: conn.localAddress, port: conn.localPort },
          ];
      const syn = [label, note, conn.initiator ? CONNECTING_END : undefined].filter(Boolean).join("; ");
      f = new TcpFlow(this.writer, () => this.clock() * 1000, client, server, this.random, this.o.maxSegment, syn);
      this.flows.set(key, f);
    }
    return f;
  }

  private forget(conn: TapConnection): void {
    const key = this.key(conn);
    const f = this.flows.get(key);
    if (f === undefined) return;
    f.close();
    this.flows.delete(key);
  }

  /** The tap a DiameterNode takes (`tap` option): Diameter messages, keys zeroed unless asked. */
  diameterTap(label = "Diameter"): MessageTap {
    return {
      listening: (host, port) => this.listening(host, port, `${label} listener`),
      message: (direction, message, conn) => {
        const f = this.flow(conn, label);
        if (f === undefined) return;
        // "out" from the accepting end travels server → client
        const fromClient = (direction === "out") === conn.initiator;
        f.data(fromClient, this.keys ? message : zeroKeys(message));
      },
      closed: (conn) => this.forget(conn),
    };
  }

  /**
   * Records every connection an HTTP server accepts (a Fastify app's `server`). `describe` gives
   * the real addresses of sockets that are not plain TCP (TLS-PSK: the decrypted HTTP).
   */
  tapHttpServer(server: Server, label: string, describe?: SocketDescriber): void {
    const register = () => {
      const a = server.address();
      if (a && typeof a === "object") this.listening(a.address, a.port, label);
    };
    if (server.listening) register();
    else server.once("listening", register);
    // added after the server's own listener: a 'data' listener then takes the socket out of
    // node's native HTTP parsing path, so the tap sees every octet
    server.on("connection", (socket: Socket) => {
      const d = describe?.(socket);
      this.tapHttpSocket(socket, false, label, d?.address, d?.note);
    });
  }

  /** An undici `connect` function whose sockets are recorded (a client of another NF). */
  undiciConnector(label: string, timeoutMs: number): buildConnector.connector {
    const base = buildConnector({ timeout: timeoutMs });
    return (opts, callback) =>
      base(opts, (err, socket) => {
        if (socket) this.tapHttpSocket(socket as Socket, true, label);
        // biome-ignore lint/suspicious/noExplicitAny: undici's callback overloads (error or socket)
        (callback as any)(err, socket);
      });
  }

  private tapHttpSocket(socket: Socket, initiator: boolean, label: string, address?: ConnectionAddress, note?: string): void {
    const conn: TapConnection = {
      localAddress: address?.localAddress ?? socket.localAddress ?? "",
      localPort: address?.localPort ?? socket.localPort ?? 0,
      remoteAddress: address?.remoteAddress ?? socket.remoteAddress ?? "",
      remotePort: address?.remotePort ?? socket.remotePort ?? 0,
      initiator,
    };
    if (conn.remoteAddress === "" || conn.localAddress === "") return;
    const methods: string[] = [];
    const requests = new HttpFramer("request", methods);
    const responses = new HttpFramer("response", methods);
    // octets this end writes: requests when it connected, responses when it accepted
    const [written, read] = initiator ? [requests, responses] : [responses, requests];
    const record = (fromClient: boolean, messages: Buffer[]) => {
      if (messages.length === 0) return;
      const f = this.flow(conn, label, note);
      if (f === undefined) return;
      // a note (TLS-PSK: decrypted) marks every segment, not only the SYN
      for (const m of messages) f.data(fromClient, this.keys ? m : redactHttp(m), note);
    };
    socket.on("data", (chunk: Buffer) => record(!initiator, read.push(chunk)));
    const write = socket.write;
    socket.write = function (this: Socket, data: unknown, ...rest: unknown[]): boolean {
      if (typeof data === "string" || data instanceof Uint8Array) {
        const enc = typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : "utf8";
        const held = read.takeHeld();
        if (held) record(!initiator, [held]);
        record(initiator, written.push(typeof data === "string" ? Buffer.from(data, enc) : data));
      }
      return (write as (...a: unknown[]) => boolean).call(this, data, ...rest);
    } as Socket["write"];
    socket.once("close", () => {
      for (const [framer, fromClient] of [
        [read, !initiator],
        [written, initiator],
      ] as const) {
        const rest = framer.flush();
        if (rest) record(fromClient, [rest]);
      }
      this.forget(conn);
    });
  }

  /** Closes every open flow and the file. */
  async close(): Promise<void> {
    for (const f of this.flows.values()) f.close();
    this.flows.clear();
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw this.failed;
  }
}
