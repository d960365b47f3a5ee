// Where the NAF keeps nonce-counts, by configuration: one process keeps them in memory (the
// plugin's default); NAF workers on one host share LMDB under <data>/naf/; replicas on several
// hosts share the Redis Cluster, and with it the nonce secret.
import type { Clock } from "../../wire/deps.js";
import type { CommonConfig } from "../common/config.js";
import { openRedis } from "../common/store/open.js";
import type { NonceCountStore } from "./store.js";
import { LmdbNonceCountStore } from "./store-lmdb.js";
import { RedisNonceCountStore } from "./store-redis.js";

export interface SharedNonces {
  /** undefined: the plugin's in-process counter */
  counts?: NonceCountStore;
  /** undefined: a secret of this process */
  secret?: Uint8Array;
}

/** @param workerSecret the secret the primary of `--workers N` hands its workers */
export async function openNonceCounts(
  cfg: Pick<CommonConfig, "data" | "store">,
  o: { ttlSeconds: number; clock: Clock; fqdn: string; workerSecret?: Uint8Array },
): Promise<SharedNonces> {
  if (cfg.store.backend === "redis") {
    const counts = new RedisNonceCountStore(await openRedis(cfg.store), o.ttlSeconds * 1000, o.clock);
    try {
      return { counts, secret: o.workerSecret ?? (await counts.sharedNonceSecret(o.fqdn)) };
    } catch (err) {
      await counts.close();
      throw err;
    }
  }
  if (o.workerSecret === undefined) return {};
  return { counts: LmdbNonceCountStore.open(cfg.data, o.ttlSeconds, o.clock), secret: o.workerSecret };
}
