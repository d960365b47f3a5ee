// Subscriber secrets at rest: AES-256-GCM (@noble/ciphers) under the master key, a random
// 12-byte nonce per sealed value (NIST SP 800-38D §8.2.2), the IMPI as additional
// authenticated data so a sealed K‖OPc cannot be moved to another subscriber's record.
// Opening uses node:crypto's AES-256-GCM (OpenSSL): the same algorithm and format, ~5× faster
// per record than @noble/ciphers, which matters when the key cache misses on every vector.
// The nonce comes from the OS CSPRNG, never from the injectable deps.randomBytes: a test that
// pins randomness must not make two records share a GCM nonce under one key.
import { createDecipheriv, randomBytes } from "node:crypto";
import { gcm } from "@noble/ciphers/aes.js";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();

export function aadOf(label: string): Uint8Array {
  return utf8.encode(label);
}

/** nonce ‖ ciphertext ‖ tag */
export function seal(masterKey: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
  const ct = gcm(masterKey, nonce, aad).encrypt(plaintext);
  const out = new Uint8Array(NONCE_BYTES + ct.length);
  out.set(nonce, 0);
  out.set(ct, NONCE_BYTES);
  return out;
}

/** The plaintext, or undefined when the tag does not verify (wrong key, wrong AAD, tampering). */
export function unseal(masterKey: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined;
  try {
    const d = createDecipheriv("aes-256-gcm", masterKey, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const head = d.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
    const tail = d.final();
    const plain = tail.length === 0 ? head : Buffer.concat([head, tail]);
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
  } catch {
    return undefined;
  }
}
