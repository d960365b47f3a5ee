// A hand-driven Diameter peer on a raw TCP socket: it sends whatever octets a test gives it and
// hands back each message the node under test sends, so tests can speak malformed Diameter.
import { connect, type Socket } from "node:net";
import {
  APP_ZN,
  type Capabilities,
  type DiameterMessage,
  decodeMessage,
  encodeCer,
  frameLength,
  isRequest,
  VENDOR_3GPP,
} from "../../wire/diameter/index.js";

export class RawPeer {
  private buf = Buffer.alloc(0);
  private readonly queue: DiameterMessage[] = [];
  private waiters: Array<(m: DiameterMessage | undefined) => void> = [];
  closed = false;
  readonly whenClosed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const len = frameLength(this.buf, 0, 1 << 24);
        if (len === undefined || this.buf.length < len) break;
        const m = decodeMessage(new Uint8Array(this.buf.subarray(0, len)));
        this.buf = this.buf.subarray(len);
        const w = this.waiters.shift();
        if (w) w(m);
        else this.queue.push(m);
      }
    });
    socket.on("error", () => {});
    this.whenClosed = new Promise((resolve) =>
      socket.on("close", () => {
        this.closed = true;
        for (const w of this.waiters.splice(0)) w(undefined);
        resolve();
      }),
    );
  }

  static open(port: number, host = "127.0.0.1"): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => resolve(new RawPeer(s)));
      s.once("error", reject);
    });
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The next message from the node, or undefined once the connection is closed. */
  next(timeoutMs = 5000): Promise<DiameterMessage | undefined> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no Diameter message within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }

  /** The next message that is not a DWR (DWRs are answered by the caller's policy: ignored here). */
  async nextNonWatchdog(timeoutMs = 5000): Promise<DiameterMessage | undefined> {
    for (;;) {
      const m = await this.next(timeoutMs);
      if (!m || !(isRequest(m) && m.commandCode === 280)) return m;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export function rawCapabilities(originHost: string, apps = [APP_ZN], originStateId = 1): Capabilities {
  return {
    originHost,
    originStateId,
    originRealm: "example.org",
    hostIpAddresses: ["127.0.0.1"],
    vendorId: 0,
    productName: "raw-test-peer",
    supportedVendorIds: [VENDOR_3GPP],
    authApplicationIds: [],
    acctApplicationIds: [],
    vendorSpecificApplicationIds: apps.map((a) => ({ vendorId: VENDOR_3GPP, authApplicationId: a })),
  };
}

/** Opens a raw peer and completes CER/CEA as `originHost`; returns it with the CEA. */
export async function rawOpen(
  port: number,
  originHost: string,
  apps?: number[],
  originStateId?: number,
): Promise<{ peer: RawPeer; cea: DiameterMessage }> {
  const peer = await RawPeer.open(port);
  peer.send(encodeCer(rawCapabilities(originHost, apps, originStateId), { hopByHop: 1, endToEnd: 1 }));
  const cea = await peer.next();
  if (!cea) throw new Error("closed before the CEA");
  return { peer, cea };
}
