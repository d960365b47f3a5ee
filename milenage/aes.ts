// AES-128 single-block encryption, the only primitive Milenage needs (TS 35.206 §4.1 "E_K").
// Backend chosen by measurement (bench/milenage.ts): @noble/ciphers on an expanded key beats a
// reused node:crypto ECB cipher for single blocks; node:crypto stays selectable for comparison.
// The block lives in a buffer owned by the cipher and is encrypted in place: a fresh
// Uint8Array per block would make noble materialise an ArrayBuffer for its 32-bit view on
// every call, which costs more than the AES itself.
import { createCipheriv } from "node:crypto";
import { unsafe } from "@noble/ciphers/aes.js";

export type AesBackend = "noble" | "node";

export const DEFAULT_AES_BACKEND: AesBackend = "noble";

/** One 16-byte block under a fixed key: write `block`, call `encrypt()`, read `block`. */
export interface InPlaceBlockCipher {
  readonly block: Uint8Array;
  encrypt(): void;
}

/** Encrypts one 16-byte block under a fixed key; returns a fresh 16-byte array. */
export type BlockEncryptor = (block: Uint8Array) => Uint8Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function aes128InPlace(key: Uint8Array, backend: AesBackend = DEFAULT_AES_BACKEND): InPlaceBlockCipher {
  if (key.length !== 16) throw new RangeError(`AES-128 key must be 16 bytes, got ${key.length}`);
  const block = new Uint8Array(16);
  if (backend === "node") {
    const cipher = createCipheriv("aes-128-ecb", key, null);
    cipher.setAutoPadding(false);
    return { block, encrypt: () => block.set(cipher.update(block)) };
  }
  const xk = unsafe.expandKeyLE(key);
  if (!LITTLE_ENDIAN) return { block, encrypt: () => void unsafe.encryptBlock(xk, block) };
  // noble's round function works on the block as four little-endian 32-bit words
  const w = new Uint32Array(block.buffer);
  return {
    block,
    encrypt() {
      const s = unsafe.encrypt(xk, w[0], w[1], w[2], w[3]);
      w[0] = s.s0;
      w[1] = s.s1;
      w[2] = s.s2;
      w[3] = s.s3;
    },
  };
}

export function aes128Encryptor(key: Uint8Array, backend: AesBackend = DEFAULT_AES_BACKEND): BlockEncryptor {
  const aes = aes128InPlace(key, backend);
  return (input) => {
    if (input.length !== 16) throw new RangeError(`AES block must be 16 bytes, got ${input.length}`);
    aes.block.set(input);
    aes.encrypt();
    return aes.block.slice();
  };
}
