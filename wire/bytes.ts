// Byte helpers shared by every layer (hex, base64, concatenation, xor, constant-time compare).
// Pure functions, no I/O.

export class HexError extends Error {
  readonly code = "BAD_HEX";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "HexError";
  }
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/** Strict hex decoding: even length, hex digits only, optional exact byte length. */
export function hexToBytes(hex: string, field = "hex", byteLength?: number): Uint8Array {
  if (typeof hex !== "string") throw new HexError(field, "expected a hex string");
  if (!HEX_RE.test(hex)) throw new HexError(field, "contains a character that is not a hex digit");
  if (hex.length % 2 !== 0) throw new HexError(field, `odd number of hex digits (${hex.length})`);
  const out = new Uint8Array(hex.length / 2);
  if (byteLength !== undefined && out.length !== byteLength) {
    throw new HexError(field, `expected ${byteLength} bytes (${byteLength * 2} hex digits), got ${out.length}`);
  }
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX_DIGITS[bytes[i]];
  return s;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError(`xor of ${a.length} and ${b.length} bytes`);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** Constant-time comparison of secrets: time depends only on the (public) lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** RFC 4648 §4 base64 (standard alphabet, padded). */
export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64");
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** RFC 4648 §4 base64 (standard alphabet, padded to a multiple of 4 characters); undefined when the text is not. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, "base64"));
}
