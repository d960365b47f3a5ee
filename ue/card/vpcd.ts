// Puts a Card behind the vsmartcard virtual reader (vpcd, a pcscd driver), so PC/SC
// applications see it in reader "Virtual PCD 00 00". vpcd listens on TCP (35963 for the first
// slot, per /etc/reader.conf.d/vpcd); the card side connects as a client. Every message is
// a 2-byte big-endian length ‖ payload. A 1-byte payload from vpcd is a control: 0 power off,
// 1 power on, 2 reset (no answer to any of these), 4 "send the ATR" (answered with the ATR).
// Anything longer is a C-APDU, answered with the R-APDU.
//
// Latency: vpcd 3.3 writes the length and the payload of a message separately, so each APDU
// waits for this side's delayed ACK (~40 ms on Linux). Dialling 127.0.0.2 after
//   ip route replace local 127.0.0.2/32 dev lo table local quickack 1
// (root) makes the kernel ACK at once: ~0.1 ms per APDU instead of ~44 ms.
import { createConnection, type Socket } from "node:net";
import { describeSw } from "./sw.js";
import type { Card } from "./card.js";

export const VPCD_DEFAULT_PORT = 35963;

const CTRL_OFF = 0;
const CTRL_ON = 1;
const CTRL_RESET = 2;
const CTRL_ATR = 4;

export type VpcdLogLevel = "info" | "warn" | "debug";
export type VpcdLog = (level: VpcdLogLevel, message: string) => void;

export interface VpcdOptions {
  host: string;
  port: number;
  log?: VpcdLog;
  /** called after every successful connection to vpcd */
  onConnected?: () => void;
}

export interface VpcdLink {
  /** answers the messages already received, then hangs up and stops reconnecting */
  stop(): Promise<void>;
}

/** reconnect delay: starts at MIN, doubles up to MAX while vpcd is away */
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/**
 * Describes a C-APDU for the debug log without key material: the header, Lc and Le only, and
 * the file id / AID of a SELECT (public). Data of AUTHENTICATE and UPDATE never appears.
 */
export function describeCommand(apdu: Uint8Array): string {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  const head = hex(apdu.subarray(0, 4));
  if (apdu.length <= 5) return `${head}${apdu.length === 5 ? ` Le=${apdu[4]}` : ""}`;
  const lc = apdu[4];
  const selectData = apdu[1] === 0xa4 ? ` ${hex(apdu.subarray(5, 5 + lc))}` : "";
  return `${head} Lc=${lc}${selectData}${apdu.length > 5 + lc ? ` Le=${apdu[5 + lc]}` : ""}`;
}

function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(payload.length + 2);
  out.writeUInt16BE(payload.length, 0);
  out.set(payload, 2);
  return out;
}

/** Connects `card` to vpcd and serves it until stop(); reconnects with backoff when vpcd is away. */
export function attachToVpcd(card: Card, options: VpcdOptions): VpcdLink {
  const log: VpcdLog = options.log ?? (() => undefined);
  let stopped = false;
  let socket: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let atr: Uint8Array | undefined;
  /** the messages of the current connection, answered one after the other */
  let chain: Promise<void> = Promise.resolve();
  let removed = false;
  const unsubscribe = card.onRemoved(() => {
    removed = true;
  });
  let backoff = MIN_BACKOFF_MS;
  let warnedAway = false;
  const where = `${options.host}:${options.port}`;

  const handle = async (msg: Uint8Array): Promise<Uint8Array | undefined> => {
    if (msg.length === 1) {
      switch (msg[0]) {
        case CTRL_OFF:
          log("debug", "vpcd: power off");
          await card.powerOff();
          return undefined;
        case CTRL_ON:
        case CTRL_RESET:
          log("debug", `vpcd: ${msg[0] === CTRL_ON ? "power on" : "reset"}`);
          atr = await card.reset();
          return undefined;
        case CTRL_ATR:
          if (removed) return new Uint8Array(0); // no ATR: pcscd reports the card as removed
          atr ??= await card.reset();
          return atr;
        default:
          log("warn", `vpcd: unknown control byte ${msg[0]}`);
          return undefined;
      }
    }
    const started = process.hrtime.bigint();
    let response: Uint8Array;
    try {
      response = await card.transmit(msg);
    } catch (err) {
      log("warn", `vpcd: ${describeCommand(msg)} failed: ${(err as Error).message}`);
      response = Uint8Array.of(0x6f, 0x00); // TS 102 221 §10.2.1.4 technical problem
    }
    const us = Number(process.hrtime.bigint() - started) / 1000;
    const sw = (response[response.length - 2] << 8) | response[response.length - 1];
    log("debug", `apdu ${describeCommand(msg)} -> ${response.length - 2} bytes, ${describeSw(sw)}, ${us.toFixed(0)} µs`);
    return response;
  };

  const connect = (): void => {
    if (stopped) return;
    const s = createConnection({ host: options.host, port: options.port });
    socket = s;
    let buffered = Buffer.alloc(0);
    let connected = false;
    s.on("connect", () => {
      connected = true;
      s.setNoDelay(true);
      backoff = MIN_BACKOFF_MS;
      warnedAway = false;
      log("info", `vpcd: connected to ${where}`);
      options.onConnected?.();
    });
    s.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = new Uint8Array(buffered.subarray(2, 2 + len));
        buffered = buffered.subarray(2 + len);
        chain = chain.then(async () => {
          const answer = await handle(msg).catch((err: Error): Uint8Array | undefined => {
            log("warn", `vpcd: ${err.message}`);
            if (msg.length > 1) return Uint8Array.of(0x6f, 0x00);
            return msg[0] === CTRL_ATR ? new Uint8Array(0) : undefined; // empty ATR: no card
          });
          if (answer && !s.destroyed) s.write(frame(answer));
        });
      }
    });
    s.on("error", (err: NodeJS.ErrnoException) => {
      if (connected) log("warn", `vpcd: connection to ${where} failed: ${err.code ?? err.message}`);
      else if (!warnedAway) log("info", `vpcd: ${where} not reachable (${err.code ?? err.message}); retrying`);
      warnedAway = true;
    });
    s.on("close", () => {
      socket = undefined;
      if (stopped) return;
      log("debug", `vpcd: connection closed; reconnecting in ${backoff} ms`);
      timer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    });
  };

  connect();
  return {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      if (timer) clearTimeout(timer);
      await chain; // answer what vpcd already sent before hanging up
      if (socket && !socket.destroyed) {
        const s = socket;
        await new Promise<void>((r) => {
          const force = setTimeout(() => s.destroy(), 1000);
          s.once("close", () => {
            clearTimeout(force);
            r();
          });
          s.end();
        });
      }
    },
  };
}
