// Contents of the USIM elementary files this project uses, encoded and decoded (TS 31.102 §4.2).
// Shared by the simulated USIM (which stores them) and UsimClient (which reads them from any card).

const FF = 0xff;

export class EfCodingError extends Error {
  constructor(
    readonly ef: string,
    message: string,
  ) {
    super(`${ef}: ${message}`);
    this.name = "EfCodingError";
  }
}

// ---------------------------------------------------------------- EF_IMSI (TS 31.102 §4.2.2)

export const EF_IMSI_SIZE = 9;

/**
 * TS 31.102 §4.2.2 (coding as TS 24.008 mobile identity): byte 1 = number of bytes used,
 * byte 2 = digit 1 in the high nibble, odd/even indicator in b4, identity type 001 in b3..b1;
 * then two digits per byte, low nibble first; 'F' fills an even count; unused bytes 'FF'.
 */
export function encodeImsi(imsi: string): Uint8Array {
  if (!/^[0-9]{6,15}$/.test(imsi)) throw new EfCodingError("EF_IMSI", `IMSI must be 6 to 15 decimal digits, got "${imsi}"`);
  const d = [...imsi].map(Number);
  const odd = d.length % 2 === 1;
  const nibbles = [odd ? 0x9 : 0x1, ...d];
  if (nibbles.length % 2 === 1) nibbles.push(0xf);
  const out = new Uint8Array(EF_IMSI_SIZE).fill(FF);
  out[0] = nibbles.length / 2;
  for (let i = 0; i < nibbles.length; i += 2) out[1 + i / 2] = nibbles[i] | (nibbles[i + 1] << 4);
  return out;
}

export function decodeImsi(ef: Uint8Array): string {
  const len = ef[0];
  if (ef.length < 2 || len < 1 || len > 8 || len + 1 > ef.length) throw new EfCodingError("EF_IMSI", `bad length byte ${len}`);
  const first = ef[1] & 0x0f;
  if ((first & 0x7) !== 0x1) throw new EfCodingError("EF_IMSI", "identity type is not IMSI (001)");
  const odd = (first & 0x8) !== 0;
  const digits: number[] = [ef[1] >>> 4];
  for (let i = 2; i <= len; i++) digits.push(ef[i] & 0x0f, ef[i] >>> 4);
  if (!odd) {
    if (digits.pop() !== 0xf) throw new EfCodingError("EF_IMSI", "even digit count without 'F' filler");
  }
  if (digits.some((x) => x > 9)) throw new EfCodingError("EF_IMSI", "non-decimal digit");
  return digits.join("");
}

// ---------------------------------------------------------------- EF_AD (TS 31.102 §4.2.18)

/** TS 31.102 §4.2.18: byte 1 UE operation mode (00 normal), bytes 2-3 additional info, byte 4 b4..b1 = MNC length. */
export function encodeAd(mncLength: 2 | 3): Uint8Array {
  return Uint8Array.of(0x00, 0x00, 0x00, mncLength);
}

export function decodeMncLength(ef: Uint8Array): 2 | 3 {
  if (ef.length < 4) throw new EfCodingError("EF_AD", `needs at least 4 bytes, got ${ef.length}`);
  const n = ef[3] & 0x0f;
  if (n !== 2 && n !== 3) throw new EfCodingError("EF_AD", `MNC length ${n} is neither 2 nor 3`);
  return n;
}

// ---------------------------------------------------------------- EF_UST (TS 31.102 §4.2.8)

/** TS 31.102 §4.2.8 service n°68: GBA (EF_GBABP, EF_GBANL, AUTHENTICATE in GBA context, i.e. GBA_U). */
export const SERVICE_GBA = 68;

/** TS 31.102 §4.2.8: service n is bit ((n-1) mod 8) of byte ((n-1) div 8), counting from 1. */
export function ustHasService(ust: Uint8Array, n: number): boolean {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`service number must be >= 1, got ${n}`);
  const i = Math.floor((n - 1) / 8);
  return i < ust.length && (ust[i] & (1 << ((n - 1) % 8))) !== 0;
}

export function ustWithService(ust: Uint8Array, n: number, available: boolean): Uint8Array {
  const i = Math.floor((n - 1) / 8);
  if (i >= ust.length) throw new RangeError(`EF_UST of ${ust.length} bytes has no service ${n}`);
  const out = ust.slice();
  if (available) out[i] |= 1 << ((n - 1) % 8);
  else out[i] &= ~(1 << ((n - 1) % 8));
  return out;
}

// ---------------------------------------------------------------- EF_GBABP (TS 31.102 §4.2.79)

export interface Gbabp {
  /** RAND of the last GBA_U bootstrapping (written by the card) */
  rand: Uint8Array;
  /** B-TID, TS 33.220 (ASCII NAI, written by the ME) */
  btid: string;
  /** key lifetime, TS 33.220 (the xs:dateTime string of the BSF answer, written by the ME) */
  lifetime: string;
}

const ascii = (s: string, what: string): Uint8Array => {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new EfCodingError("EF_GBABP", `${what} must be printable ASCII`);
  return new TextEncoder().encode(s);
};

/** TS 31.102 §4.2.79: X ‖ RAND ‖ L ‖ B-TID ‖ N ‖ lifetime, one-byte lengths. */
export function encodeGbabp(v: Gbabp): Uint8Array {
  const btid = ascii(v.btid, "B-TID");
  const lifetime = ascii(v.lifetime, "key lifetime");
  for (const [what, b] of [
    ["RAND", v.rand],
    ["B-TID", btid],
    ["key lifetime", lifetime],
  ] as const) {
    if (b.length > 255) throw new EfCodingError("EF_GBABP", `${what} is ${b.length} bytes; at most 255 fit`);
  }
  return Uint8Array.of(v.rand.length, ...v.rand, btid.length, ...btid, lifetime.length, ...lifetime);
}

/** Decodes the three LV fields; bytes after them (the 'FF' padding of the file) are ignored. */
export function decodeGbabp(ef: Uint8Array): Gbabp {
  let off = 0;
  const lv = (what: string): Uint8Array => {
    if (off >= ef.length) throw new EfCodingError("EF_GBABP", `missing length of ${what}`);
    const n = ef[off];
    if (off + 1 + n > ef.length) throw new EfCodingError("EF_GBABP", `${what} runs past the end of the file`);
    const v = ef.slice(off + 1, off + 1 + n);
    off += 1 + n;
    return v;
  };
  const rand = lv("RAND");
  const dec = new TextDecoder();
  return { rand, btid: dec.decode(lv("B-TID")), lifetime: dec.decode(lv("key lifetime")) };
}

// ---------------------------------------------------------------- EF_GBANL (TS 31.102 §4.2.83)

export interface GbanlEntry {
  /** NAF_Id = NAF FQDN ‖ Ua security protocol identifier (TS 33.220 B.3) */
  nafId: Uint8Array;
  btid: string;
}

function berLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n <= 0xff) return [0x81, n];
  return [0x82, n >>> 8, n & 0xff];
}

/** TS 31.102 §4.2.83: record = '80' L NAF_ID ‖ '81' L B-TID (BER-TLV lengths), padded with 'FF'. */
export function encodeGbanlRecord(entry: GbanlEntry, recordLength: number): Uint8Array {
  const btid = new TextEncoder().encode(entry.btid);
  const tlv = [0x80, ...berLength(entry.nafId.length), ...entry.nafId, 0x81, ...berLength(btid.length), ...btid];
  if (tlv.length > recordLength) {
    throw new EfCodingError("EF_GBANL", `entry needs ${tlv.length} bytes; a record holds ${recordLength}`);
  }
  const out = new Uint8Array(recordLength).fill(FF);
  out.set(tlv);
  return out;
}

/** Decodes one record; undefined for an empty record (first byte 'FF'). */
export function decodeGbanlRecord(record: Uint8Array): GbanlEntry | undefined {
  if (record.length === 0 || record[0] === FF) return undefined;
  let off = 0;
  const tlv = (tag: number): Uint8Array => {
    if (record[off] !== tag) throw new EfCodingError("EF_GBANL", `expected tag ${tag.toString(16)} at offset ${off}`);
    let n = record[off + 1];
    off += 2;
    if (n === 0x81) n = record[off++];
    else if (n === 0x82) {
      n = (record[off] << 8) | record[off + 1];
      off += 2;
    } else if (n >= 0x80 || n === undefined) throw new EfCodingError("EF_GBANL", "bad BER length");
    if (off + n > record.length) throw new EfCodingError("EF_GBANL", "TLV runs past the end of the record");
    const v = record.slice(off, off + n);
    off += n;
    return v;
  };
  const nafId = tlv(0x80);
  const btid = new TextDecoder().decode(tlv(0x81));
  return { nafId, btid };
}
