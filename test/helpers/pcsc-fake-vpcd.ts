// A fake vpcd for tests: a TCP server on 127.0.0.1 (port 0 by default) that accepts the card
// side and speaks vpcd's framing: 2-byte big-endian length ‖ payload; 1-byte payloads are
// controls (0 power off, 1 power on, 2 reset: no answer; 4: answered with the ATR).
import { createServer, type Server, type Socket } from "node:net";

/** A fake vpcd: accepts the card side and exchanges framed messages with it. */
export class FakeVpcd {
  private socket: Socket | undefined;
  private buffer = Buffer.alloc(0);
  private waiters: ((b: Buffer) => void)[] = [];
  readonly connected: Promise<void>;

  constructor(readonly server: Server) {
    this.connected = new Promise((resolve) => {
      server.once("connection", (s) => {
        this.socket = s;
        s.on("data", (d) => {
          this.buffer = Buffer.concat([this.buffer, d]);
          this.drain();
        });
        resolve();
      });
    });
  }

  static async listen(port = 0): Promise<FakeVpcd> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    return new FakeVpcd(server);
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  private drain(): void {
    while (this.waiters.length > 0 && this.buffer.length >= 2) {
      const n = this.buffer.readUInt16BE(0);
      if (this.buffer.length < 2 + n) return;
      const msg = this.buffer.subarray(2, 2 + n);
      this.buffer = this.buffer.subarray(2 + n);
      this.waiters.shift()!(msg);
    }
  }

  send(hex: string): void {
    const payload = Buffer.from(hex, "hex");
    const len = Buffer.alloc(2);
    len.writeUInt16BE(payload.length);
    this.socket!.write(len); // length and payload in two writes, as vpcd 3.3 does
    this.socket!.write(payload);
  }

  async exchange(hex: string): Promise<string> {
    const answer = new Promise<Buffer>((r) => this.waiters.push(r));
    this.send(hex);
    this.drain();
    return (await answer).toString("hex");
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
