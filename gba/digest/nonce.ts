// Stateless Digest server nonces (RFC 7616 §3.3 leaves the format to the server):
// nonce = base64(timestamp ‖ random ‖ HMAC), so a server verifies its own nonces without storing
// them. Which nonce-counts were used with a nonce (RFC 7616 §3.4, §5.4) is the server's state,
// kept apart (the NAF's nonce-count stores).
import { createHmac } from "node:crypto";
import { concatBytes, constantTimeEqual } from "../../wire/bytes.js";
import type { Clock, RandomBytes } from "../../wire/deps.js";

const TS_LEN = 8;
const RANDOM_LEN = 12;
const MAC_LEN = 16;
const NONCE_LEN = TS_LEN + RANDOM_LEN + MAC_LEN;
/** base64 of 36 octets: 48 characters, no padding */
const NONCE_B64_LEN = 48;
const B64 = /^[A-Za-z0-9+/]{48}$/;

export type NonceCheck = { ok: true; issuedAt: number } | { ok: false; reason: "invalid" | "stale" };

export interface NonceIssuer {
  issue(): string;
  check(nonce: string): NonceCheck;
}

export interface NonceIssuerOptions {
  /** HMAC key, at least 16 octets */
  secret: Uint8Array;
  /** seconds a nonce stays valid after issue */
  ttlSeconds: number;
  /** the server the nonces are bound to (the NAF FQDN) */
  fqdn: string;
  clock: Clock;
  randomBytes: RandomBytes;
}

/**
 * Nonces bound to one server by HMAC-SHA-256 (secret, timestamp ‖ random ‖ FQDN), valid for
 * `ttlSeconds` after issue.
 */
export function createNonceIssuer(o: NonceIssuerOptions): NonceIssuer {
  if (o.secret.length < 16) throw new RangeError("nonce secret must be at least 16 octets");
  const bind = new TextEncoder().encode(o.fqdn);
  const mac = (head: Uint8Array) => createHmac("sha256", o.secret).update(head).update(bind).digest().subarray(0, MAC_LEN);
  const ttlMs = o.ttlSeconds * 1000;
  return {
    issue() {
      const head = new Uint8Array(TS_LEN + RANDOM_LEN);
      new DataView(head.buffer).setBigUint64(0, BigInt(Math.floor(o.clock())));
      head.set(o.randomBytes(RANDOM_LEN), TS_LEN);
      return Buffer.from(concatBytes(head, mac(head))).toString("base64");
    },
    check(nonce) {
      if (nonce.length !== NONCE_B64_LEN || !B64.test(nonce)) return { ok: false, reason: "invalid" };
      const raw = new Uint8Array(Buffer.from(nonce, "base64"));
      if (raw.length !== NONCE_LEN) return { ok: false, reason: "invalid" };
      const head = raw.subarray(0, TS_LEN + RANDOM_LEN);
      if (!constantTimeEqual(mac(head), raw.subarray(TS_LEN + RANDOM_LEN))) return { ok: false, reason: "invalid" };
      const issuedAt = Number(new DataView(raw.buffer, raw.byteOffset).getBigUint64(0));
      const now = o.clock();
      if (issuedAt > now + 1000 || now - issuedAt > ttlMs) return { ok: false, reason: "stale" };
      return { ok: true, issuedAt };
    },
  };
}
