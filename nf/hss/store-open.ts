// The HSS store of the configured backend: LMDB under <data>/hss/ or the Redis Cluster.
import type { CommonConfig } from "../common/config.js";
import { openRedis } from "../common/store/open.js";
import type { HssStore } from "./store.js";
import { LmdbHssStore } from "./store-lmdb.js";
import { RedisHssStore, type RedisHssStoreOptions } from "./store-redis.js";

export type HssStoreOptions = Pick<RedisHssStoreOptions, "indBits" | "env" | "clock">;

export async function openHssStore(cfg: Pick<CommonConfig, "data" | "store">, opts: HssStoreOptions = {}): Promise<HssStore> {
  if (cfg.store.backend === "lmdb") return LmdbHssStore.open(cfg.data, opts);
  return RedisHssStore.open(await openRedis(cfg.store), cfg.data, opts);
}
