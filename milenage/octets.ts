// The few octet-string operations MILENAGE and AKA need, kept private: milenage/ imports
// nothing else of this project (the general byte helpers are in wire/bytes.ts).

export function concatOctets(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export function xorOctets(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError(`xor of ${a.length} and ${b.length} bytes`);
  const out = a.slice();
  for (let i = 0; i < out.length; i++) out[i] ^= b[i];
  return out;
}

/** Constant-time comparison of MAC-A / MAC-S: time depends only on the (public) lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
