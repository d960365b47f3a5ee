// TS 33.220 Annex B.2: the generic key derivation function shared by GBA, GBA_U, TMPI (and AKMA).
import { createHmac } from "node:crypto";

const encoder = new TextEncoder();

/** TS 33.220 B.2.1.2: character strings are encoded as UTF-8 after NFKC normalisation. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s.normalize("NFKC"));
}

/** Largest parameter length that fits the 2-octet Li field (TS 33.220 B.1, B.2.1). */
export const KDF_MAX_PARAM_LENGTH = 0xffff;

/**
 * TS 33.220 B.2.2: S = FC || P0 || L0 || P1 || L1 || ... || Pn || Ln, where Li is the 2-octet
 * big-endian length of Pi and comes AFTER Pi. FC is one octet (0x00..0xFE) or, for the
 * extension range, two octets 0xFF xx (pass 0xFF00..0xFFFF).
 */
export function kdfInput(fc: number, ...params: Uint8Array[]): Uint8Array {
  if (!Number.isInteger(fc) || fc < 0 || (fc > 0xfe && (fc < 0xff00 || fc > 0xffff))) {
    throw new RangeError(`KDF FC must be 0x00..0xFE or 0xFF00..0xFFFF, got ${fc}`);
  }
  const fcLen = fc > 0xff ? 2 : 1;
  let len = fcLen;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p.length > KDF_MAX_PARAM_LENGTH) {
      throw new RangeError(`KDF parameter P${i} is ${p.length} octets; at most ${KDF_MAX_PARAM_LENGTH} allowed`);
    }
    len += p.length + 2;
  }
  const s = new Uint8Array(len);
  let off = 0;
  if (fcLen === 2) s[off++] = fc >>> 8;
  s[off++] = fc & 0xff;
  for (const p of params) {
    s.set(p, off);
    off += p.length;
    s[off++] = p.length >>> 8;
    s[off++] = p.length & 0xff;
  }
  return s;
}

/** TS 33.220 B.2.2: derived key = HMAC-SHA-256(Key, S), 32 octets, not truncated. */
export function kdf(key: Uint8Array, fc: number, ...params: Uint8Array[]): Uint8Array {
  const mac = createHmac("sha256", key)
    .update(kdfInput(fc, ...params))
    .digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, mac.byteLength);
}
