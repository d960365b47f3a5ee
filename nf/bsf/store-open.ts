// The BSF store of the configured backend: LMDB under <data>/bsf/ or the Redis Cluster.
import type { CommonConfig } from "../common/config.js";
import { openRedis } from "../common/store/open.js";
import type { BsfStore } from "./store.js";
import { LmdbBsfStore } from "./store-lmdb.js";
import { RedisBsfStore } from "./store-redis.js";

/** @param keepSpentMs how long an answered nonce's tombstone outlives the nonce */
export async function openBsfStore(cfg: Pick<CommonConfig, "data" | "store">, keepSpentMs: number): Promise<BsfStore> {
  if (cfg.store.backend === "lmdb") return LmdbBsfStore.open(cfg.data, keepSpentMs);
  return new RedisBsfStore(await openRedis(cfg.store), keepSpentMs);
}
