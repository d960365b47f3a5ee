// Diameter message codec (RFC 6733 §3 header, §4 AVPs, §4.2–§4.3 data formats). Pure functions
// on Uint8Array: decoding yields views into the input (no copies), encoding writes into one
// growing buffer. Errors carry the RFC 6733 §7.1 result code a peer answers with.
import {
  AVP_FLAG_M,
  AVP_FLAG_V,
  type AvpDef,
  type AvpType,
  avpDef,
  avpFlags,
  CMD_FLAG_E,
  CMD_FLAG_P,
  CMD_FLAG_R,
  CMD_FLAG_T,
  RESULT,
} from "./dictionary.js";

/** RFC 6733 §3: version 1, 20-octet header. */
export const DIAMETER_VERSION = 1;
export const HEADER_LENGTH = 20;
/** Largest message a decoder accepts by default (the 24-bit length field allows 16 MiB). */
export const DEFAULT_MAX_MESSAGE_LENGTH = 64 * 1024;

export interface Avp {
  readonly code: number;
  /** V, M, P and the reserved bits as received */
  readonly flags: number;
  /** 0 when the V bit is clear */
  readonly vendorId: number;
  /** the AVP Data, without padding (a view into the message) */
  readonly data: Uint8Array;
}

export interface DiameterHeader {
  readonly version: number;
  /** RFC 6733 §3: R, P, E, T and the reserved bits as received */
  readonly flags: number;
  readonly length: number;
  readonly commandCode: number;
  readonly applicationId: number;
  readonly hopByHop: number;
  readonly endToEnd: number;
}

export interface DiameterMessage extends DiameterHeader {
  readonly avps: readonly Avp[];
}

export const isRequest = (h: { flags: number }): boolean => (h.flags & CMD_FLAG_R) !== 0;
export const isError = (h: { flags: number }): boolean => (h.flags & CMD_FLAG_E) !== 0;
export const isProxiable = (h: { flags: number }): boolean => (h.flags & CMD_FLAG_P) !== 0;
export const isRetransmission = (h: { flags: number }): boolean => (h.flags & CMD_FLAG_T) !== 0;

/**
 * A message that cannot be accepted as it is, with the result code of the answer (RFC 6733
 * §7.1) and, where the RFC asks for one, the AVP for the Failed-AVP (RFC 6733 §7.5).
 */
export class DiameterError extends Error {
  constructor(
    readonly resultCode: number,
    message: string,
    readonly failedAvp?: Avp,
  ) {
    super(message);
    this.name = "DiameterError";
  }
}

/** A decode failure of a whole message: the header was readable, so an answer can be built. */
export class DiameterMessageError extends DiameterError {
  constructor(
    readonly header: DiameterHeader,
    cause: DiameterError,
  ) {
    super(cause.resultCode, cause.message, cause.failedAvp);
    this.name = "DiameterMessageError";
  }
}

/** The byte stream cannot be split into messages any more: the transport must be closed. */
export class DiameterFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiameterFramingError";
  }
}

const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const u24 = (b: Uint8Array, o: number): number => (b[o] << 16) | (b[o + 1] << 8) | b[o + 2];

/**
 * Framing (RFC 6733 §3): the length of the message starting at `offset`, or undefined when
 * fewer than 4 octets are there yet. A length below the header size or above `max` loses the
 * framing: DiameterFramingError.
 */
export function frameLength(buf: Uint8Array, offset: number, max = DEFAULT_MAX_MESSAGE_LENGTH): number | undefined {
  if (buf.length - offset < 4) return undefined;
  const len = u24(buf, offset + 1);
  if (len < HEADER_LENGTH) throw new DiameterFramingError(`message length ${len} is shorter than the 20-octet header`);
  if (len > max) throw new DiameterFramingError(`message length ${len} is above the limit of ${max} octets`);
  return len;
}

/** RFC 6733 §3: the fixed header of a message of at least 20 octets. */
export function decodeHeader(buf: Uint8Array): DiameterHeader {
  if (buf.length < HEADER_LENGTH) throw new DiameterFramingError(`${buf.length} octets cannot hold a Diameter header`);
  return {
    version: buf[0],
    length: u24(buf, 1),
    flags: buf[4],
    commandCode: u24(buf, 5),
    applicationId: u32(buf, 8),
    hopByHop: u32(buf, 12),
    endToEnd: u32(buf, 16),
  };
}

/**
 * Decodes one whole message (exactly `buf.length` octets). Throws DiameterMessageError with
 * DIAMETER_UNSUPPORTED_VERSION, DIAMETER_INVALID_MESSAGE_LENGTH or DIAMETER_INVALID_AVP_LENGTH.
 */
export function decodeMessage(buf: Uint8Array): DiameterMessage {
  const h = decodeHeader(buf);
  try {
    if (h.version !== DIAMETER_VERSION) {
      throw new DiameterError(RESULT.UNSUPPORTED_VERSION, `Diameter version ${h.version} (only version 1 exists)`);
    }
    if (h.length !== buf.length) {
      throw new DiameterError(RESULT.INVALID_MESSAGE_LENGTH, `header says ${h.length} octets, the message has ${buf.length}`);
    }
    // RFC 6733 §3: "the message length ... is always a multiple of 4"
    if (h.length % 4 !== 0) {
      throw new DiameterError(RESULT.INVALID_MESSAGE_LENGTH, `message length ${h.length} is not a multiple of 4`);
    }
    return {
      version: h.version,
      length: h.length,
      flags: h.flags,
      commandCode: h.commandCode,
      applicationId: h.applicationId,
      hopByHop: h.hopByHop,
      endToEnd: h.endToEnd,
      avps: decodeAvps(buf.subarray(HEADER_LENGTH)),
    };
  } catch (err) {
    if (err instanceof DiameterError) throw new DiameterMessageError(h, err);
    throw err;
  }
}

/**
 * RFC 6733 §4.1: a sequence of AVPs (a message body or the data of a Grouped AVP). Each AVP
 * is padded to a multiple of 4 octets; the padding of the last one may be missing only inside a
 * group. Bad lengths: DIAMETER_INVALID_AVP_LENGTH, with the Failed-AVP of RFC 6733 §7.1.5.
 */
export function decodeAvps(data: Uint8Array): Avp[] {
  const out: Avp[] = [];
  const end = data.length;
  let off = 0;
  while (off < end) {
    const left = end - off;
    const flags = left > 4 ? data[off + 4] : 0;
    const headerLength = flags & AVP_FLAG_V ? 12 : 8;
    if (left < headerLength) {
      // RFC 6733 §7.1.5: an incomplete header is reported padded with zeros to its minimum length
      const header = new Uint8Array(headerLength);
      header.set(data.subarray(off));
      const code = u32(header, 0);
      const vendorId = headerLength === 12 ? u32(header, 8) : 0;
      throw lengthError(`an AVP header needs ${headerLength} octets, ${left} are left`, code, flags, vendorId);
    }
    const code = u32(data, off);
    const length = u24(data, off + 5);
    const vendorId = headerLength === 12 ? u32(data, off + 8) : 0;
    if (length < headerLength || length > left) {
      throw lengthError(
        `AVP ${vendorId ? `${vendorId}:` : ""}${code} has length ${length}, ${length < headerLength ? "shorter than its header" : `beyond the ${left} octets left`}`,
        code,
        flags,
        vendorId,
      );
    }
    out.push({ code, flags, vendorId, data: data.subarray(off + headerLength, off + length) });
    off += (length + 3) & ~3;
  }
  return out;
}

function lengthError(message: string, code: number, flags: number, vendorId: number): DiameterError {
  const def = avpDef(code, vendorId);
  const failed: Avp = { code, flags, vendorId, data: new Uint8Array(def ? minimumLength(def.type) : 0) };
  return new DiameterError(RESULT.INVALID_AVP_LENGTH, message, failed);
}

/** The shortest valid AVP Data of a type (RFC 6733 §7.1.5, §7.5: zero-filled payloads). */
export function minimumLength(type: AvpType): number {
  switch (type) {
    case "Integer32":
    case "Unsigned32":
    case "Float32":
    case "Enumerated":
    case "Time":
      return 4;
    case "Integer64":
    case "Unsigned64":
    case "Float64":
      return 8;
    case "Address":
      return 6;
    default:
      return 0;
  }
}

/** An AVP standing in for a missing one in Failed-AVP (RFC 6733 §7.5). */
export function placeholderAvp(def: AvpDef): Avp {
  return { code: def.code, flags: avpFlags(def), vendorId: def.vendorId, data: new Uint8Array(minimumLength(def.type)) };
}

// ---------------------------------------------------------------------------------------------
// Reading AVP data (RFC 6733 §4.2, §4.3). Wrong lengths: 5014; invalid values: 5004.

const badLength = (a: Avp, what: string) =>
  new DiameterError(
    RESULT.INVALID_AVP_LENGTH,
    `AVP ${name(a)}: ${what} needs ${minimumLengthText(what)}, got ${a.data.length} octets`,
    a,
  );
const badValue = (a: Avp, why: string) => new DiameterError(RESULT.INVALID_AVP_VALUE, `AVP ${name(a)}: ${why}`, a);
const minimumLengthText = (what: string): string =>
  what.endsWith("64") ? "8 octets" : what === "Address" ? "2 + 4 or 2 + 16 octets" : "4 octets";

function name(a: Avp): string {
  const d = avpDef(a.code, a.vendorId);
  return d ? d.name : `${a.vendorId ? `${a.vendorId}:` : ""}${a.code}`;
}

function exact(a: Avp, n: number, what: string): Uint8Array {
  if (a.data.length !== n) throw badLength(a, what);
  return a.data;
}

function view(d: Uint8Array): DataView {
  return new DataView(d.buffer, d.byteOffset, d.byteLength);
}

export const readUnsigned32 = (a: Avp): number => u32(exact(a, 4, "Unsigned32"), 0);
export const readInteger32 = (a: Avp): number => u32(exact(a, 4, "Integer32"), 0) | 0;
export const readEnumerated = (a: Avp): number => u32(exact(a, 4, "Enumerated"), 0) | 0;
export const readUnsigned64 = (a: Avp): bigint => view(exact(a, 8, "Unsigned64")).getBigUint64(0);
export const readInteger64 = (a: Avp): bigint => view(exact(a, 8, "Integer64")).getBigInt64(0);
export const readFloat32 = (a: Avp): number => view(exact(a, 4, "Float32")).getFloat32(0);
export const readFloat64 = (a: Avp): number => view(exact(a, 8, "Float64")).getFloat64(0);
export const readOctets = (a: Avp): Uint8Array => a.data;
export const readGrouped = (a: Avp): Avp[] => decodeAvps(a.data);

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Octets below 0x100 as one code unit each, in slices small enough for apply(). */
function latin1(d: Uint8Array): string {
  if (d.length <= 1024) return String.fromCharCode.apply(null, d as unknown as number[]);
  let s = "";
  for (let i = 0; i < d.length; i += 1024) s += String.fromCharCode.apply(null, d.subarray(i, i + 1024) as unknown as number[]);
  return s;
}
const utf8Out = new TextEncoder();

/** RFC 6733 §4.3.1 UTF8String: must be valid UTF-8 (RFC 3629). */
export function readUtf8(a: Avp): string {
  const d = a.data;
  let ascii = true;
  for (let i = 0; i < d.length; i++) {
    if (d[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return latin1(d);
  try {
    return utf8.decode(d);
  } catch {
    throw badValue(a, "not valid UTF-8");
  }
}

/**
 * RFC 6733 §4.3.1 DiameterIdentity: an FQDN or realm in ASCII (internationalised names in
 * their punycode form): letters, digits, '-', '.', '_'.
 */
export function readIdentity(a: Avp): string {
  const d = a.data;
  if (d.length === 0) throw badValue(a, "empty DiameterIdentity");
  if (d.length > 255) throw badValue(a, `DiameterIdentity of ${d.length} octets (a DNS name has at most 255)`);
  for (let i = 0; i < d.length; i++) {
    const c = d[i];
    const ok =
      (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f;
    if (!ok) throw badValue(a, `DiameterIdentity holds octet 0x${c.toString(16).padStart(2, "0")}`);
  }
  return latin1(d);
}

/** RFC 6733 §4.3.1 DiameterURI: "aaa://" or "aaas://" FQDN [port] [transport] [protocol]. */
export function readUri(a: Avp): string {
  const s = readUtf8(a);
  if (!/^aaas?:\/\/[A-Za-z0-9._-]+(:[0-9]{1,5})?(;[A-Za-z]+=[A-Za-z0-9-]+)*$/.test(s)) {
    throw badValue(a, `"${s.length > 60 ? `${s.slice(0, 60)}…` : s}" is not a DiameterURI`);
  }
  return s;
}

/** Seconds between the NTP era 0 epoch (1900-01-01) and the Unix epoch. */
const NTP_UNIX_OFFSET = 2208988800;
const TWO_32 = 4294967296;

/**
 * RFC 6733 §4.3.1 Time: NTP seconds; values with the top bit clear are in NTP era 1 (from
 * 2036-02-07T06:28:16Z), as RFC 4330 §3 extends the range to 2104. Returns ms since 1970.
 */
export function readTime(a: Avp): number {
  const v = u32(exact(a, 4, "Time"), 0);
  const seconds = v >= 0x80000000 ? v - NTP_UNIX_OFFSET : v + TWO_32 - NTP_UNIX_OFFSET;
  return seconds * 1000;
}

/** Encodes ms since 1970 as RFC 6733 Time (whole seconds, 1968-01-20 … 2104-02-26). */
export function timeToNtp(ms: number): number {
  if (!Number.isFinite(ms)) throw new RangeError("Time: not a finite instant");
  const s = Math.floor(ms / 1000) + NTP_UNIX_OFFSET;
  if (s < 0x80000000) throw new RangeError("Time: before 1968-01-20 cannot be sent (RFC 4330 §3)");
  if (s >= TWO_32 + 0x80000000) throw new RangeError("Time: after 2104-02-26 cannot be sent (RFC 4330 §3)");
  return s >= TWO_32 ? s - TWO_32 : s;
}

export interface AddressValue {
  /** IANA address family: 1 IPv4, 2 IPv6, others carried as opaque octets */
  family: number;
  address: Uint8Array;
}

/** RFC 6733 §4.3.1 Address: 2-octet AddressType (IANA address family) and the address. */
export function readAddress(a: Avp): AddressValue {
  const d = a.data;
  if (d.length < 2) throw badLength(a, "Address");
  const family = (d[0] << 8) | d[1];
  const address = d.subarray(2);
  if ((family === 1 && address.length !== 4) || (family === 2 && address.length !== 16)) throw badLength(a, "Address");
  return { family, address };
}

/** "192.0.2.1", "2001:db8::1" (RFC 5952), or "family N: hex" for other families. */
export function formatAddress(v: AddressValue): string {
  if (v.family === 1) return Array.from(v.address).join(".");
  if (v.family === 2) {
    const words: number[] = [];
    for (let i = 0; i < 16; i += 2) words.push((v.address[i] << 8) | v.address[i + 1]);
    // RFC 5952 §4.2: the longest run of two or more zero words becomes "::" (the first on a tie)
    let best = -1;
    let bestLength = 1;
    for (let i = 0; i < 8; ) {
      let j = i;
      while (j < 8 && words[j] === 0) j++;
      if (j - i > bestLength) {
        best = i;
        bestLength = j - i;
      }
      i = j === i ? i + 1 : j;
    }
    const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
    if (best < 0) return hex(words);
    return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLength))}`;
  }
  return `family ${v.family}: ${Array.from(v.address, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Parses a dotted IPv4 or a textual IPv6 address (RFC 4291 §2.2, no zone ids). */
export function parseAddress(text: string): AddressValue {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const bytes = v4.slice(1).map(Number);
    if (bytes.some((b) => b > 255)) throw new RangeError(`"${text}" is not an IPv4 address`);
    return { family: 1, address: Uint8Array.from(bytes) };
  }
  return { family: 2, address: parseIpv6(text) };
}

function parseIpv6(text: string): Uint8Array {
  const bad = () => new RangeError(`"${text}" is not an IP address`);
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) throw bad();
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const part = (s: string): number[] => {
    if (s === "") return [];
    const out: number[] = [];
    const groups = s.split(":");
    groups.forEach((g, i) => {
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseAddress(g);
        if (v4.family !== 1) throw bad();
        out.push((v4.address[0] << 8) | v4.address[1], (v4.address[2] << 8) | v4.address[3]);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) throw bad();
        out.push(Number.parseInt(g, 16));
      }
    });
    return out;
  };
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || (halves.length === 2 && fill < 1)) throw bad();
  const words = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** A decoded AVP value of any type, as `readValue` returns it. */
export type AvpValue = number | bigint | string | Uint8Array | AddressValue | Avp[];

/** Reads an AVP by its dictionary type; Time as ms since 1970. */
export function readValue(def: AvpDef, a: Avp): AvpValue {
  switch (def.type) {
    case "OctetString":
      return a.data;
    case "Integer32":
      return readInteger32(a);
    case "Enumerated":
      return readEnumerated(a);
    case "Unsigned32":
      return readUnsigned32(a);
    case "Integer64":
      return readInteger64(a);
    case "Unsigned64":
      return readUnsigned64(a);
    case "Float32":
      return readFloat32(a);
    case "Float64":
      return readFloat64(a);
    case "Time":
      return readTime(a);
    case "Address":
      return readAddress(a);
    case "UTF8String":
      return readUtf8(a);
    case "DiameterIdentity":
      return readIdentity(a);
    case "DiameterURI":
      return readUri(a);
    case "Grouped":
      return readGrouped(a);
  }
}

/** The first AVP of a dictionary entry in a list, or undefined. */
export function findAvp(avps: readonly Avp[], def: AvpDef): Avp | undefined {
  for (let i = 0; i < avps.length; i++) {
    const a = avps[i];
    if (a.code === def.code && a.vendorId === def.vendorId) return a;
  }
  return undefined;
}

/** Every AVP of a dictionary entry in a list. */
export function findAvps(avps: readonly Avp[], def: AvpDef): Avp[] {
  return avps.filter((a) => a.code === def.code && a.vendorId === def.vendorId);
}

// ---------------------------------------------------------------------------------------------
// Writing

export interface HeaderFields {
  flags: number;
  commandCode: number;
  applicationId: number;
  hopByHop: number;
  endToEnd: number;
}

/**
 * Builds one message: AVPs in call order into one buffer, Grouped AVPs between begin() and
 * end(), then finish() writes the header. Single use.
 */
export class DiameterWriter {
  private buf: Uint8Array;
  private len = HEADER_LENGTH;
  private readonly open: number[] = [];
  private shared = false;

  constructor(capacity = 512) {
    // Building is synchronous: one shared scratch buffer serves nearly every message, and finish()
    // copies the result out. A writer built while the scratch is taken (nested building, or one
    // abandoned by an exception) gets its own buffer, and the scratch is released after this job.
    if (!scratchTaken && capacity <= scratch.length) {
      scratchTaken = true;
      this.buf = scratch;
      this.shared = true;
    } else {
      this.buf = new Uint8Array(Math.max(capacity, 64));
      if (scratchTaken) queueMicrotask(releaseScratch);
    }
  }

  private ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    if (this.shared) {
      // a message larger than the scratch: continue in a buffer of its own
      scratchTaken = false;
      this.shared = false;
    }
    this.buf = next;
  }

  private put32(v: number): void {
    const b = this.buf;
    const o = this.len;
    b[o] = v >>> 24;
    b[o + 1] = v >>> 16;
    b[o + 2] = v >>> 8;
    b[o + 3] = v;
    this.len = o + 4;
  }

  /** An AVP header for `dataLength` octets of data that the caller writes next. */
  private header(code: number, flags: number, vendorId: number, dataLength: number): void {
    const headerLength = flags & AVP_FLAG_V ? 12 : 8;
    const total = headerLength + dataLength;
    if (total > 0xffffff) throw new RangeError(`AVP ${code}: ${dataLength} octets do not fit the 24-bit length`);
    this.ensure(total + 3);
    this.put32(code);
    this.put32(((flags & 0xff) << 24) | total);
    if (headerLength === 12) this.put32(vendorId);
  }

  private pad(): void {
    while (this.len & 3) this.buf[this.len++] = 0;
  }

  /** Writes an AVP with raw flags and data: copies of received AVPs, Failed-AVP contents. */
  raw(code: number, flags: number, vendorId: number, data: Uint8Array): this {
    const f = vendorId !== 0 ? flags | AVP_FLAG_V : flags & ~AVP_FLAG_V;
    this.header(code, f, vendorId, data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    this.pad();
    return this;
  }

  /** Appends AVPs encoded earlier (each padded, as encodeAvps gives them), unchanged. */
  encoded(avps: Uint8Array): this {
    if (avps.length & 3) throw new RangeError(`encoded AVPs of ${avps.length} octets are not padded to 32 bits`);
    this.ensure(avps.length);
    this.buf.set(avps, this.len);
    this.len += avps.length;
    return this;
  }

  /** The AVPs written so far without a message header, as a copy (for encoded()). */
  avpsOnly(): Uint8Array {
    if (this.open.length > 0) throw new Error("DiameterWriter.avpsOnly() with an open Grouped AVP");
    const out = this.buf.slice(HEADER_LENGTH, this.len);
    if (this.shared && this.buf === scratch) scratchTaken = false;
    this.shared = false;
    return out;
  }

  /** Copies a decoded AVP. */
  avp(a: Avp): this {
    return this.raw(a.code, a.flags, a.vendorId, a.data);
  }

  octets(def: AvpDef, data: Uint8Array): this {
    return this.raw(def.code, avpFlags(def), def.vendorId, data);
  }

  unsigned32(def: AvpDef, v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${def.name}: ${v} is not an Unsigned32`);
    this.header(def.code, avpFlags(def), def.vendorId, 4);
    this.put32(v);
    return this;
  }

  integer32(def: AvpDef, v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`${def.name}: ${v} is not an Integer32`);
    this.header(def.code, avpFlags(def), def.vendorId, 4);
    this.put32(v >>> 0);
    return this;
  }

  enumerated(def: AvpDef, v: number): this {
    return this.integer32(def, v);
  }

  unsigned64(def: AvpDef, v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`${def.name}: ${v} is not an Unsigned64`);
    this.header(def.code, avpFlags(def), def.vendorId, 8);
    view(this.buf).setBigUint64(this.len, v);
    this.len += 8;
    return this;
  }

  integer64(def: AvpDef, v: bigint): this {
    if (v < -0x8000000000000000n || v > 0x7fffffffffffffffn) throw new RangeError(`${def.name}: ${v} is not an Integer64`);
    this.header(def.code, avpFlags(def), def.vendorId, 8);
    view(this.buf).setBigInt64(this.len, v);
    this.len += 8;
    return this;
  }

  float32(def: AvpDef, v: number): this {
    this.header(def.code, avpFlags(def), def.vendorId, 4);
    view(this.buf).setFloat32(this.len, v);
    this.len += 4;
    return this;
  }

  float64(def: AvpDef, v: number): this {
    this.header(def.code, avpFlags(def), def.vendorId, 8);
    view(this.buf).setFloat64(this.len, v);
    this.len += 8;
    return this;
  }

  /** Time from ms since 1970 (RFC 6733 §4.3.1, RFC 4330 §3 eras). */
  time(def: AvpDef, ms: number): this {
    const v = timeToNtp(ms);
    this.header(def.code, avpFlags(def), def.vendorId, 4);
    this.put32(v);
    return this;
  }

  /** UTF8String (and DiameterURI): the string's UTF-8 octets. */
  utf8(def: AvpDef, s: string): this {
    // ASCII is the common case: one octet per code unit
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) return this.octets(def, utf8Out.encode(s));
    this.header(def.code, avpFlags(def), def.vendorId, s.length);
    const b = this.buf;
    let o = this.len;
    for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
    this.len = o;
    this.pad();
    return this;
  }

  /** DiameterIdentity (RFC 6733 §4.3.1): ASCII only (punycode for internationalised names). */
  identity(def: AvpDef, s: string): this {
    if (!/^[A-Za-z0-9._-]{1,255}$/.test(s)) throw new RangeError(`${def.name}: "${s}" is not a DiameterIdentity (ASCII FQDN)`);
    return this.utf8(def, s);
  }

  address(def: AvpDef, v: AddressValue | string): this {
    const a = typeof v === "string" ? parseAddress(v) : v;
    const data = new Uint8Array(2 + a.address.length);
    data[0] = a.family >> 8;
    data[1] = a.family & 0xff;
    data.set(a.address, 2);
    return this.octets(def, data);
  }

  /** Opens a Grouped AVP; its members follow until end(). */
  begin(def: AvpDef): this {
    const flags = avpFlags(def);
    this.open.push(this.len);
    this.header(def.code, flags, def.vendorId, 0);
    return this;
  }

  end(): this {
    const start = this.open.pop();
    if (start === undefined) throw new Error("DiameterWriter.end() without begin()");
    const total = this.len - start;
    if (total > 0xffffff) throw new RangeError("Grouped AVP longer than the 24-bit length");
    this.buf[start + 5] = total >>> 16;
    this.buf[start + 6] = total >>> 8;
    this.buf[start + 7] = total;
    return this;
  }

  /** Writes any value by the dictionary type (the generic path; the typed methods are faster). */
  value(def: AvpDef, v: AvpValue): this {
    switch (def.type) {
      case "OctetString":
        return this.octets(def, v as Uint8Array);
      case "Integer32":
      case "Enumerated":
        return this.integer32(def, v as number);
      case "Unsigned32":
        return this.unsigned32(def, v as number);
      case "Integer64":
        return this.integer64(def, v as bigint);
      case "Unsigned64":
        return this.unsigned64(def, v as bigint);
      case "Float32":
        return this.float32(def, v as number);
      case "Float64":
        return this.float64(def, v as number);
      case "Time":
        return this.time(def, v as number);
      case "Address":
        return this.address(def, v as AddressValue);
      case "UTF8String":
      case "DiameterURI":
        return this.utf8(def, v as string);
      case "DiameterIdentity":
        return this.identity(def, v as string);
      case "Grouped": {
        this.begin(def);
        for (const m of v as Avp[]) this.avp(m);
        return this.end();
      }
    }
  }

  /** Length so far, header included. */
  get length(): number {
    return this.len;
  }

  /** Writes the header and returns the message (a view of the writer's buffer). */
  finish(h: HeaderFields): Uint8Array {
    if (this.open.length > 0) throw new Error("DiameterWriter.finish() with an open Grouped AVP");
    const b = this.buf;
    const len = this.len;
    if (len > 0xffffff) throw new RangeError("message longer than the 24-bit length");
    b[0] = DIAMETER_VERSION;
    b[1] = len >>> 16;
    b[2] = len >>> 8;
    b[3] = len;
    b[4] = h.flags;
    b[5] = h.commandCode >>> 16;
    b[6] = h.commandCode >>> 8;
    b[7] = h.commandCode;
    this.len = 8;
    this.put32(h.applicationId);
    this.put32(h.hopByHop);
    this.put32(h.endToEnd);
    this.len = len;
    if (!this.shared) return b.subarray(0, len);
    const out = b.slice(0, len);
    if (this.buf === scratch) scratchTaken = false;
    this.shared = false;
    return out;
  }
}

const scratch = new Uint8Array(16 * 1024);
let scratchTaken = false;
const releaseScratch = (): void => {
  scratchTaken = false;
};

/** M bit of a received AVP. */
export const isMandatory = (a: Avp): boolean => (a.flags & AVP_FLAG_M) !== 0;
