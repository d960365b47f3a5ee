// pcapng (IETF draft-ietf-opsawg-pcapng, the format Wireshark writes) and the TCP segments a
// capture synthesises for each transport connection: Section Header, one Interface Description
// (LINKTYPE_RAW: IPv4 or IPv6 packets, no link layer), Enhanced Packet Blocks with µs timestamps.
// Each connection gets a three-way handshake, one segment per write with true sequence and
// acknowledgement numbers, and a FIN exchange, so Wireshark follows and reassembles the stream.
import { parseAddress } from "../../../wire/diameter/index.js";

/** LINKTYPE_RAW (tcpdump.org link-layer header types): raw IPv4 or IPv6. */
const LINKTYPE_RAW = 101;
const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_EPB = 0x00000006;
const OPT_COMMENT = 1;
const OPT_SHB_USERAPPL = 4;

/** Where blocks go: a file stream, or memory in tests. */
export type BlockSink = (block: Uint8Array) => void;

function option(code: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + ((value.length + 3) & ~3));
  const v = new DataView(out.buffer);
  v.setUint16(0, code, true);
  v.setUint16(2, value.length, true);
  out.set(value, 4);
  return out;
}

const END_OF_OPTIONS = new Uint8Array(4);

/** A block: type, total length, body (padded to 32 bits), options, total length again. */
function block(type: number, body: Uint8Array, options: Uint8Array[] = []): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const opts = options.length ? [...options, END_OF_OPTIONS] : [];
  const optLen = opts.reduce((n, o) => n + o.length, 0);
  const total = 12 + padded + optLen;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, total, true);
  out.set(body, 8);
  let off = 8 + padded;
  for (const o of opts) {
    out.set(o, off);
    off += o.length;
  }
  v.setUint32(total - 4, total, true);
  return out;
}

export class PcapngWriter {
  constructor(
    private readonly sink: BlockSink,
    application: string,
  ) {
    const shb = new Uint8Array(16);
    const v = new DataView(shb.buffer);
    v.setUint32(0, 0x1a2b3c4d, true); // byte-order magic
    v.setUint16(4, 1, true); // major version
    v.setUint16(6, 0, true); // minor version
    v.setBigInt64(8, -1n, true); // section length: not given
    sink(block(BT_SHB, shb, [option(OPT_SHB_USERAPPL, new TextEncoder().encode(application))]));
    const idb = new Uint8Array(8);
    const iv = new DataView(idb.buffer);
    iv.setUint16(0, LINKTYPE_RAW, true);
    iv.setUint32(4, 0, true); // snaplen: no limit
    sink(block(BT_IDB, idb));
  }

  /** One packet at `micros` (µs since 1970, the default if_tsresol). */
  packet(micros: number, frame: Uint8Array, comment?: string): void {
    const body = new Uint8Array(20 + frame.length);
    const v = new DataView(body.buffer);
    const ts = BigInt(Math.floor(micros));
    v.setUint32(0, 0, true); // interface 0
    v.setUint32(4, Number(ts >> 32n), true);
    v.setUint32(8, Number(ts & 0xffffffffn), true);
    v.setUint32(12, frame.length, true);
    v.setUint32(16, frame.length, true);
    body.set(frame, 20);
    this.sink(block(BT_EPB, body, comment ? [option(OPT_COMMENT, new TextEncoder().encode(comment))] : []));
  }
}

// ------------------------------------------------------------------ IP and TCP

export interface Endpoint {
  /** textual IPv4 or IPv6 (IPv4-mapped IPv6 is written as IPv4) */
  address: string;
  port: number;
}

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
/** Payload per synthesised segment: below the 65,535-octet IPv4 total length. */
export const MAX_SEGMENT = 65_000;

/** The address octets of a textual IPv4 or IPv6 address; IPv4-mapped IPv6 becomes IPv4. */
function ipOctets(text: string): Uint8Array {
  return parseAddress(text.startsWith("::ffff:") && text.includes(".") ? text.slice(7) : text).address;
}

function sum16(data: Uint8Array, start = 0): number {
  let s = start;
  for (let i = 0; i + 1 < data.length; i += 2) s += (data[i] << 8) | data[i + 1];
  if (data.length & 1) s += data[data.length - 1] << 8;
  return s;
}

const fold = (s: number): number => {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + (x >>> 16);
  return ~x & 0xffff;
};

/** An IPv4 or IPv6 packet holding one TCP segment (RFC 791, RFC 8200, RFC 9293). */
export function tcpPacket(
  src: Uint8Array,
  dst: Uint8Array,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  payload: Uint8Array,
  ipId: number,
): Uint8Array {
  const tcpLen = 20 + payload.length;
  const tcp = new Uint8Array(tcpLen);
  const t = new DataView(tcp.buffer);
  t.setUint16(0, srcPort);
  t.setUint16(2, dstPort);
  t.setUint32(4, seq >>> 0);
  t.setUint32(8, ack >>> 0);
  t.setUint8(12, 5 << 4);
  t.setUint8(13, flags);
  t.setUint16(14, 65535);
  tcp.set(payload, 20);
  const v6 = src.length === 16;
  // pseudo-header: addresses, protocol 6, TCP length
  let s = sum16(src) + sum16(dst) + 6 + tcpLen;
  s = sum16(tcp, s);
  t.setUint16(16, fold(s));
  if (v6) {
    const ip = new Uint8Array(40 + tcpLen);
    const v = new DataView(ip.buffer);
    v.setUint32(0, 0x60000000);
    v.setUint16(4, tcpLen);
    ip[6] = 6;
    ip[7] = 64;
    ip.set(src, 8);
    ip.set(dst, 24);
    ip.set(tcp, 40);
    return ip;
  }
  const ip = new Uint8Array(20 + tcpLen);
  const v = new DataView(ip.buffer);
  v.setUint8(0, 0x45);
  v.setUint16(2, 20 + tcpLen);
  v.setUint16(4, ipId & 0xffff);
  v.setUint16(6, 0x4000); // don't fragment
  ip[8] = 64;
  ip[9] = 6;
  ip.set(src, 12);
  ip.set(dst, 16);
  v.setUint16(10, fold(sum16(ip.subarray(0, 20))));
  ip.set(tcp, 20);
  return ip;
}

/** One TCP connection in a capture: handshake, data both ways, close. */
export class TcpFlow {
  private readonly c: Uint8Array;
  private readonly s: Uint8Array;
  private seqC: number;
  private seqS: number;
  private ipId = 1;
  private closed = false;

  constructor(
    private readonly w: PcapngWriter,
    private readonly now: () => number,
    readonly client: Endpoint,
    readonly server: Endpoint,
    random: () => number,
    private readonly maxSegment = MAX_SEGMENT,
    /** a packet comment on the SYN: what the connection is */
    synComment?: string,
  ) {
    this.c = ipOctets(client.address);
    this.s = ipOctets(server.address);
    if (this.c.length !== this.s.length) {
      // one family per flow: an IPv4 peer of an IPv6 socket shows as IPv4-mapped
      throw new RangeError(`flow ${client.address} → ${server.address} mixes IPv4 and IPv6`);
    }
    const iscC = Math.floor(random() * 0x100000000) >>> 0;
    const iscS = Math.floor(random() * 0x100000000) >>> 0;
    this.emit(true, iscC, 0, TCP_SYN, new Uint8Array(), synComment);
    this.emit(false, iscS, iscC + 1, TCP_SYN | TCP_ACK, new Uint8Array());
    this.seqC = (iscC + 1) >>> 0;
    this.seqS = (iscS + 1) >>> 0;
    this.emit(true, this.seqC, this.seqS, TCP_ACK, new Uint8Array());
  }

  private emit(fromClient: boolean, seq: number, ack: number, flags: number, payload: Uint8Array, comment?: string): void {
    const [src, dst, sp, dp] = fromClient
      ? [this.c, this.s, this.client.port, this.server.port]
      : [this.s, this.c, this.server.port, this.client.port];
    this.w.packet(this.now(), tcpPacket(src, dst, sp, dp, seq, ack, flags, payload, this.ipId++), comment);
  }

  /** Data written by one side, cut into segments of at most maxSegment octets. */
  data(fromClient: boolean, payload: Uint8Array, comment?: string): void {
    if (this.closed) return;
    for (let off = 0; off < payload.length; off += this.maxSegment) {
      const part = payload.subarray(off, off + this.maxSegment);
      if (fromClient) {
        this.emit(true, this.seqC, this.seqS, TCP_PSH | TCP_ACK, part, off === 0 ? comment : undefined);
        this.seqC = (this.seqC + part.length) >>> 0;
      } else {
        this.emit(false, this.seqS, this.seqC, TCP_PSH | TCP_ACK, part, off === 0 ? comment : undefined);
        this.seqS = (this.seqS + part.length) >>> 0;
      }
    }
  }

  /** FIN both ways and the last ACK. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit(true, this.seqC, this.seqS, TCP_FIN | TCP_ACK, new Uint8Array());
    this.emit(false, this.seqS, this.seqC + 1, TCP_FIN | TCP_ACK, new Uint8Array());
    this.emit(true, this.seqC + 1, this.seqS + 1, TCP_ACK, new Uint8Array());
  }
}
