// A capture of one process's traffic on the reference points, as pcapng (see pcapng.ts): taps
// hand it whole messages with their connection, it keeps one synthesised TCP flow per connection.
// Key material is zeroed unless the capture was opened with `keys` (the user asked for it).
// When both ends of a connection live in this process, only the accepting end is recorded, so no
// message appears twice.
import { createWriteStream, type WriteStream } from "node:fs";
import { zeroKeys } from "../../../wire/diameter/index.js";
import type { MessageTap, TapConnection } from "../diameter/connection.js";
import { type BlockSink, PcapngWriter, TcpFlow } from "./pcapng.js";

export interface CaptureOptions {
  /** keep key material (CK, IK, XRES, Ks_NAF …) in the capture */
  keys?: boolean;
  /** ms since 1970, injectable */
  clock?: () => number;
  random?: () => number;
  /** payload octets per synthesised segment (default 65,000) */
  maxSegment?: number;
}

const endpoint = (address: string, port: number) => `${address.replace(/^::ffff:(?=\d+\.)/, "")}:${port}`;

export class Capture {
  private readonly writer: PcapngWriter;
  private readonly flows = new Map<string, TcpFlow>();
  private readonly listeners = new Set<string>();
  private readonly clock: () => number;
  private readonly random: () => number;
  private stream?: WriteStream;

  constructor(
    sink: BlockSink,
    private readonly o: CaptureOptions = {},
  ) {
    this.clock = o.clock ?? Date.now;
    this.random = o.random ?? Math.random;
    this.writer = new PcapngWriter(sink, "gba-emu");
  }

  /** A capture written to `path` as traffic flows. */
  static toFile(path: string, o: CaptureOptions = {}): Capture {
    const stream = createWriteStream(path);
    const c = new Capture((b) => stream.write(b), o);
    c.stream = stream;
    return c;
  }

  get keys(): boolean {
    return this.o.keys === true;
  }

  private flow(conn: TapConnection): TcpFlow | undefined {
    const local = endpoint(conn.localAddress, conn.localPort);
    const remote = endpoint(conn.remoteAddress, conn.remotePort);
    // the accepting end records a connection between two in-process nodes
    if (conn.initiator && (this.listeners.has(remote) || this.listeners.has(`*:${conn.remotePort}`))) return undefined;
    const [client, server] = conn.initiator
      ? [
          { address: conn.localAddress, port: conn.localPort },
          { address: conn.remoteAddress, port: conn.remotePort },
        ]
      : [
          { address: conn.remoteAddress, port: conn.remotePort },
          { address: conn.localAddress, port: conn.localPort },
        ];
    const key = conn.initiator ? `${local}>${remote}` : `${remote}>${local}`;
    let f = this.flows.get(key);
    if (f === undefined) {
      f = new TcpFlow(this.writer, () => this.clock() * 1000, client, server, this.random, this.o.maxSegment);
      this.flows.set(key, f);
    }
    return f;
  }

  private forget(conn: TapConnection): void {
    const local = endpoint(conn.localAddress, conn.localPort);
    const remote = endpoint(conn.remoteAddress, conn.remotePort);
    const key = conn.initiator ? `${local}>${remote}` : `${remote}>${local}`;
    const f = this.flows.get(key);
    if (f === undefined) return;
    f.close();
    this.flows.delete(key);
  }

  /** The tap a DiameterNode takes (`tap` option): Diameter messages, keys zeroed unless asked. */
  diameterTap(): MessageTap {
    return {
      // a wildcard listener accepts on every local address: known by its port
      listening: (host, port) => this.listeners.add(host === "0.0.0.0" || host === "::" ? `*:${port}` : endpoint(host, port)),
      message: (direction, message, conn) => {
        const f = this.flow(conn);
        if (f === undefined) return;
        // "out" from the accepting end travels server → client
        const fromClient = (direction === "out") === conn.initiator;
        f.data(fromClient, this.keys ? message : zeroKeys(message));
      },
      closed: (conn) => this.forget(conn),
    };
  }

  /** Closes every open flow and the file. */
  async close(): Promise<void> {
    for (const f of this.flows.values()) f.close();
    this.flows.clear();
    const s = this.stream;
    if (s) await new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
