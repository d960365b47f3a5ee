// Decrypted MILENAGE instances of recently served subscribers, so a vector does not open the
// sealed K ‖ OPc and expand the AES key every time. Entries are keyed by IMPI and checked
// against the record's rev, so a record another process changed is never served stale.
// A subscriber enters on its second miss (a TinyLFU-style doorkeeper): with requests spread over
// far more subscribers than the cache holds, instances built for a single vector then die young
// instead of churning the cache and the old generation.
import { Milenage } from "../../milenage/milenage.js";
import { Lru } from "../common/lru.js";
import type { SubscriberSecrets } from "./sealed.js";
import { constantsOf, type SubscriberRecord } from "./subscriber.js";

/** decrypted MILENAGE instances kept in memory by default */
export const KEY_CACHE_SIZE = 10_000;

interface CachedKeys {
  rev: string;
  milenage: Milenage;
}

export class MilenageCache {
  private readonly cache: Lru<string, CachedKeys>;
  /** IMPIs that missed the cache once since the doorkeeper was last cleared */
  private readonly missedOnce = new Set<string>();

  constructor(
    private readonly secrets: SubscriberSecrets,
    capacity = KEY_CACHE_SIZE,
  ) {
    this.cache = new Lru(capacity);
  }

  /** The subscriber's MILENAGE instance for this revision of its record. */
  milenageOf(r: SubscriberRecord): Milenage {
    const hit = this.cache.get(r.impi);
    if (hit && hit.rev === r.rev) return hit.milenage;
    const { k, opc } = this.secrets.open(r);
    const milenage = new Milenage(k, opc, { constants: constantsOf(r.milenage) });
    if (hit || this.missedOnce.delete(r.impi)) this.cache.set(r.impi, { rev: r.rev, milenage });
    else {
      if (this.missedOnce.size >= this.cache.capacity) this.missedOnce.clear();
      this.missedOnce.add(r.impi);
    }
    return milenage;
  }

  get size(): number {
    return this.cache.size;
  }
}
