// The NAF's nonce-counts in this process's memory (RFC 7616 §3.4, §5.4): the default of the GBA
// plugin when no shared store is given.
import type { NonceCheck } from "../../gba/digest/nonce.js";
import type { Clock } from "../../wire/deps.js";
import type { NonceCounts, NonceUse } from "./store.js";

/**
 * Highest nonce-count seen per nonce. Entries expire with their nonce. When full, the oldest
 * entry is dropped and every nonce issued up to it counts as stale from then on, so memory stays
 * bounded without ever accepting a replay.
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
