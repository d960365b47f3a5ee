// AES-128 single-block encryption, the only primitive Milenage needs (TS 35.206 §4.1 "E_K").
// Backend chosen by measurement (bench/milenage.ts): @noble/ciphers' unsafe.encryptBlock on an
// expanded key beats a reused node:crypto ECB cipher for single blocks; node:crypto stays
// selectable for comparison.
import { createCipheriv } from "node:crypto";
import { unsafe } from "@noble/ciphers/aes.js";

export type AesBackend = "noble" | "node";

/** Encrypts one 16-byte block under a fixed key; returns a fresh 16-byte array. */
export type BlockEncryptor = (block: Uint8Array) => Uint8Array;

export function aes128Encryptor(key: Uint8Array, backend: AesBackend = "noble"): BlockEncryptor {
  if (key.length !== 16) throw new RangeError(`AES-128 key must be 16 bytes, got ${key.length}`);
  if (backend === "node") {
    const cipher = createCipheriv("aes-128-ecb", key, null);
    cipher.setAutoPadding(false);
    return (block) => new Uint8Array(cipher.update(block));
  }
  const xk = unsafe.expandKeyLE(key);
  return (block) => {
    // encryptBlock works in place on an aligned copy
    const out = new Uint8Array(16);
    out.set(block);
    unsafe.encryptBlock(xk, out);
    return out;
  };
}
