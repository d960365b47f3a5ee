// ASN.1 DER (ITU-T X.690 §8, §10), the subset X.509 certificates and PKCS#10 requests use:
// single-octet tags, definite lengths in their shortest form, and the universal types below.
// A strict reader (anything not DER is refused with a DerError saying where) and a writer that
// only produces DER. Syntax only: no X.509 semantics, no cryptography.

export class DerError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at octet ${offset})`);
    this.name = "DerError";
  }
}

/** X.690 §8.1.2: universal tags and the class/constructed bits. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** [n] with the constructed bit: EXPLICIT tagging, or IMPLICIT of a constructed type (X.690 §8.14). */
export const contextConstructed = (n: number): number => 0xa0 | n;
/** [n] IMPLICIT of a primitive type. */
export const contextPrimitive = (n: number): number => 0x80 | n;

// ------------------------------------------------------------------ reading

/** One TLV inside `bytes`: the value is bytes[start, end), the whole encoding bytes[offset, end). */
export interface Tlv {
  tag: number;
  offset: number;
  start: number;
  end: number;
}

/** The TLV at `pos`, which must end by `limit`. */
export function readTlv(bytes: Uint8Array, pos: number, limit = bytes.length): Tlv {
  if (pos >= limit) throw new DerError("expected a TLV, found the end of the data", pos);
  const tag = bytes[pos];
  // X.690 §8.1.2.4: high tag numbers (low five bits all 1) do not occur in X.509
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-octet tag 0x${tag.toString(16)} not supported`, pos);
  if (pos + 1 >= limit) throw new DerError("truncated length", pos + 1);
  const first = bytes[pos + 1];
  let len: number;
  let start: number;
  if (first < 0x80) {
    len = first;
    start = pos + 2;
  } else {
    // X.690 §10.1: definite form, fewest octets; 0x80 (indefinite) is BER only
    const n = first & 0x7f;
    if (n === 0) throw new DerError("indefinite length is not DER", pos + 1);
    if (n > 4) throw new DerError("length of more than 4 octets", pos + 1);
    if (pos + 2 + n > limit) throw new DerError("truncated length", pos + 1);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[pos + 2 + i];
    if (bytes[pos + 2] === 0 || len < 0x80) throw new DerError("length not in its shortest form", pos + 1);
    start = pos + 2 + n;
  }
  const end = start + len;
  if (end > limit) throw new DerError(`value of ${len} octets runs past the end`, pos);
  return { tag, offset: pos, start, end };
}

/** The whole of `bytes` must be one TLV with this tag. */
export function readOnly(bytes: Uint8Array, tag: number): Tlv {
  const t = readTlv(bytes, 0);
  expectTag(t, tag);
  if (t.end !== bytes.length) throw new DerError(`${bytes.length - t.end} octets after the end of the value`, t.end);
  return t;
}

export function expectTag(t: Tlv, tag: number, what = ""): void {
  if (t.tag !== tag)
    throw new DerError(`${what ? `${what}: ` : ""}expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`, t.offset);
}

/** The TLVs inside a constructed value, which they must fill exactly. */
export function children(bytes: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw new DerError("a primitive value has no components", parent.offset);
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const t = readTlv(bytes, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** The value octets of a TLV. */
export const contentOf = (bytes: Uint8Array, t: Tlv): Uint8Array => bytes.subarray(t.start, t.end);
/** The whole encoding of a TLV (tag, length, value), e.g. the signed part of a certificate. */
export const encodingOf = (bytes: Uint8Array, t: Tlv): Uint8Array => bytes.subarray(t.offset, t.end);

/** X.690 §8.19: OBJECT IDENTIFIER to dotted decimal. */
export function readOid(bytes: Uint8Array, t: Tlv): string {
  expectTag(t, TAG.OID, "OBJECT IDENTIFIER");
  const v = contentOf(bytes, t);
  if (v.length === 0) throw new DerError("empty OBJECT IDENTIFIER", t.offset);
  const arcs: number[] = [];
  let n = 0;
  let first = true;
  for (let i = 0; i < v.length; i++) {
    // §8.19.2: a subidentifier has no leading 0x80 octet
    if (n === 0 && v[i] === 0x80) throw new DerError("OBJECT IDENTIFIER arc with a leading zero octet", t.start + i);
    n = n * 128 + (v[i] & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 128) throw new DerError("OBJECT IDENTIFIER arc too large", t.start + i);
    if (v[i] & 0x80) continue;
    if (first) {
      // §8.19.4: the first subidentifier is 40 × arc1 + arc2
      const a = n < 80 ? Math.floor(n / 40) : 2;
      arcs.push(a, n - 40 * a);
      first = false;
    } else arcs.push(n);
    n = 0;
  }
  if (v[v.length - 1] & 0x80) throw new DerError("OBJECT IDENTIFIER ends inside an arc", t.end - 1);
  return arcs.join(".");
}

/** X.690 §8.3: an INTEGER's two's-complement octets, checked minimal. */
export function readIntegerBytes(bytes: Uint8Array, t: Tlv): Uint8Array {
  expectTag(t, TAG.INTEGER, "INTEGER");
  const v = contentOf(bytes, t);
  if (v.length === 0) throw new DerError("empty INTEGER", t.offset);
  if (v.length > 1 && ((v[0] === 0 && v[1] < 0x80) || (v[0] === 0xff && v[1] >= 0x80)))
    throw new DerError("INTEGER not in its shortest form", t.start);
  return v;
}

/** A small non-negative INTEGER as a number. */
export function readSmallInteger(bytes: Uint8Array, t: Tlv): number {
  const v = readIntegerBytes(bytes, t);
  if (v[0] & 0x80 || v.length > 6) throw new DerError("INTEGER out of range", t.start);
  return v.reduce((n, b) => n * 256 + b, 0);
}

/** X.690 §8.2, §11.1: DER BOOLEAN is 0x00 or 0xFF. */
export function readBoolean(bytes: Uint8Array, t: Tlv): boolean {
  expectTag(t, TAG.BOOLEAN, "BOOLEAN");
  const v = contentOf(bytes, t);
  if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) throw new DerError("BOOLEAN is not 00 or FF", t.start);
  return v[0] === 0xff;
}

/** X.690 §8.6, §11.2: a BIT STRING of whole octets (the form of keys and signatures). */
export function readOctetAlignedBits(bytes: Uint8Array, t: Tlv): Uint8Array {
  expectTag(t, TAG.BIT_STRING, "BIT STRING");
  if (t.end - t.start < 1) throw new DerError("empty BIT STRING", t.offset);
  if (bytes[t.start] !== 0) throw new DerError("BIT STRING with unused bits where whole octets are expected", t.start);
  return bytes.subarray(t.start + 1, t.end);
}

/** X.680 §41 restricted strings and UTF8String to a JS string; other tags are refused. */
export function readString(bytes: Uint8Array, t: Tlv): string {
  const v = contentOf(bytes, t);
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  switch (t.tag) {
    case TAG.UTF8_STRING: {
      const s = b.toString("utf8");
      if (!Buffer.from(s, "utf8").equals(b)) throw new DerError("UTF8String is not valid UTF-8", t.start);
      return s;
    }
    case TAG.PRINTABLE_STRING:
      if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(b.toString("latin1")))
        throw new DerError("PrintableString with a character outside its set", t.start);
      return b.toString("latin1");
    case TAG.IA5_STRING:
      if (v.some((x) => x > 0x7f)) throw new DerError("IA5String with a non-ASCII octet", t.start);
      return b.toString("latin1");
    case TAG.TELETEX_STRING:
      return b.toString("latin1");
    case TAG.BMP_STRING:
      if (v.length % 2) throw new DerError("BMPString of an odd length", t.start);
      return Buffer.from(v).swap16().toString("utf16le");
    case TAG.UNIVERSAL_STRING: {
      if (v.length % 4) throw new DerError("UniversalString length not a multiple of 4", t.start);
      let s = "";
      for (let i = 0; i < v.length; i += 4) s += String.fromCodePoint(b.readUInt32BE(i));
      return s;
    }
    default:
      throw new DerError(`tag 0x${t.tag.toString(16)} is not a string type`, t.offset);
  }
}

/** RFC 5280 §4.1.2.5: UTCTime YYMMDDHHMMSSZ (years 1950-2049) or GeneralizedTime YYYYMMDDHHMMSSZ. */
export function readTime(bytes: Uint8Array, t: Tlv): Date {
  const s = Buffer.from(contentOf(bytes, t)).toString("latin1");
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === TAG.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new DerError(`UTCTime "${s.slice(0, 20)}" is not YYMMDDHHMMSSZ`, t.start);
    year = Number(m[1]) + (Number(m[1]) < 50 ? 2000 : 1900);
  } else if (t.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new DerError(`GeneralizedTime "${s.slice(0, 20)}" is not YYYYMMDDHHMMSSZ`, t.start);
    year = Number(m[1]);
  } else throw new DerError(`tag 0x${t.tag.toString(16)} is not a time`, t.offset);
  const [mo, d, h, mi, se] = m.slice(2).map(Number);
  const ms = Date.UTC(year, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59)
    throw new DerError(`time "${s}" is not a valid date`, t.start);
  return back;
}

// ------------------------------------------------------------------ writing

function lengthOctets(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
  return [0x80 | out.length, ...out];
}

/** One TLV of the given tag around the concatenated contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const len = contents.reduce((n, c) => n + c.length, 0);
  const head = [tag, ...lengthOctets(len)];
  const out = new Uint8Array(head.length + len);
  out.set(head, 0);
  let p = head.length;
  for (const c of contents) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...items);

/** X.690 §11.6: SET OF components sorted by their encodings. */
export function setOf(...items: Uint8Array[]): Uint8Array {
  const sorted = [...items].sort((a, b) => Buffer.compare(a, b));
  return tlv(TAG.SET, ...sorted);
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0) || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39))
    throw new RangeError(`"${dotted}" is not an OBJECT IDENTIFIER`);
  const out: number[] = [];
  for (const arc of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const septets = [arc & 0x7f];
    for (let x = Math.floor(arc / 128); x > 0; x = Math.floor(x / 128)) septets.unshift((x & 0x7f) | 0x80);
    out.push(...septets);
  }
  return tlv(TAG.OID, Uint8Array.from(out));
}

/** A non-negative INTEGER from big-endian magnitude octets (leading zeros dropped, a sign octet added). */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m.length === 0
    ? tlv(TAG.INTEGER, Uint8Array.of(0))
    : m[0] & 0x80
      ? tlv(TAG.INTEGER, Uint8Array.of(0), m)
      : tlv(TAG.INTEGER, m);
}

export const smallInteger = (n: number): Uint8Array => {
  const octets: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) octets.unshift(x & 0xff);
  return unsignedInteger(Uint8Array.from(octets));
};

export const boolean = (v: boolean): Uint8Array => tlv(TAG.BOOLEAN, Uint8Array.of(v ? 0xff : 0));
export const octetString = (v: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, v);
export const nullValue = (): Uint8Array => tlv(TAG.NULL);

/** A BIT STRING of whole octets (keys, signatures). */
export const octetAlignedBits = (v: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(0), v);

/**
 * A named-bit BIT STRING (X.690 §11.2.2: trailing zero bits removed), bit 0 being the first
 * (most significant) bit, as RFC 5280 keyUsage numbers them.
 */
export function namedBits(bits: readonly number[]): Uint8Array {
  if (bits.length === 0) return tlv(TAG.BIT_STRING, Uint8Array.of(0));
  const last = Math.max(...bits);
  const octets = new Uint8Array(Math.floor(last / 8) + 1);
  for (const b of bits) octets[Math.floor(b / 8)] |= 0x80 >> (b % 8);
  return tlv(TAG.BIT_STRING, Uint8Array.of(7 - (last % 8)), octets);
}

export const utf8String = (s: string): Uint8Array => tlv(TAG.UTF8_STRING, Buffer.from(s, "utf8"));

export function printableString(s: string): Uint8Array {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s)) throw new RangeError(`"${s}" has characters a PrintableString cannot hold`);
  return tlv(TAG.PRINTABLE_STRING, Buffer.from(s, "latin1"));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z. */
export function time(d: Date): Uint8Array {
  const iso = d.toISOString();
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = d.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError(`year ${year} cannot be encoded in a certificate`);
  return year < 2050
    ? tlv(TAG.UTC_TIME, Buffer.from(digits.slice(2), "latin1"))
    : tlv(TAG.GENERALIZED_TIME, Buffer.from(digits, "latin1"));
}

// ------------------------------------------------------------------ PEM (RFC 7468)

export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER of the first PEM block with this label (RFC 7468 §2 lax reading: whitespace anywhere). */
export function fromPem(pem: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (!m) throw new DerError(`no PEM block "${label}"`, 0);
  const b64 = m[1].replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new DerError(`PEM block "${label}" is not base64`, 0);
  return new Uint8Array(Buffer.from(b64, "base64"));
}
