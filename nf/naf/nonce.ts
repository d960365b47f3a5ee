// Stateless Ua server nonces (RFC 7616 §3.3 leaves the format to the server) and the per-nonce
// nonce-count check (RFC 7616 §3.4, §5.4). nonce = base64(timestamp ‖ random ‖ HMAC): the NAF
// verifies its own nonces without storing them; only nonces in use are tracked for nc, in a
// bounded map.
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

/**
 * Nonces bound to this NAF by HMAC-SHA-256 (secret, timestamp ‖ random ‖ FQDN), valid for
 * `ttlSeconds` after issue.
 */
export function createNonceIssuer(o: {
  secret: Uint8Array;
  ttlSeconds: number;
  fqdn: string;
  clock: Clock;
  randomBytes: RandomBytes;
}): NonceIssuer {
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

export type NonceUse = "ok" | "replay" | "stale";

/** Where the highest nonce-count of each nonce in use is kept (RFC 7616 §3.4, §5.4). */
export interface NonceCounts {
  /**
   * "ok" and records nc when it is above every nc seen with this nonce; "replay" or "stale"
   * otherwise. A promise when the counts live outside this process.
   */
  use(nonce: string, issuedAt: number, nc: number): NonceUse | Promise<NonceUse>;
  /** The check result for a nonce already in use (its HMAC was verified on first use), else undefined. */
  known(nonce: string): NonceCheck | undefined;
}

/**
 * Highest nonce-count seen per nonce, in this process's memory. Entries expire with their
 * nonce. When full, the oldest entry is dropped and every nonce issued up to it counts as stale
 * from then on, so memory stays bounded without ever accepting a replay.
 */
export class NonceCounter implements NonceCounts {
  private readonly seen = new Map<string, { nc: number; issuedAt: number }>();
  private floor = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly clock: Clock,
  ) {}

  use(nonce: string, issuedAt: number, nc: number): NonceUse {
    const entry = this.seen.get(nonce);
    if (entry !== undefined) {
      if (nc <= entry.nc) return "replay";
      entry.nc = nc;
      return "ok";
    }
    if (issuedAt <= this.floor) return "stale";
    this.evict();
    this.seen.set(nonce, { nc, issuedAt });
    return "ok";
  }

  known(nonce: string): NonceCheck | undefined {
    const e = this.seen.get(nonce);
    if (e === undefined) return undefined;
    return this.clock() - e.issuedAt > this.ttlMs ? { ok: false, reason: "stale" } : { ok: true, issuedAt: e.issuedAt };
  }

  get size(): number {
    return this.seen.size;
  }

  private evict(): void {
    const now = this.clock();
    for (const [nonce, e] of this.seen) {
      const expired = now - e.issuedAt > this.ttlMs;
      if (!expired && this.seen.size < this.maxEntries) break;
      this.seen.delete(nonce);
      if (!expired && e.issuedAt > this.floor) this.floor = e.issuedAt;
    }
  }
}
