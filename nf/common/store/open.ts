// Opens the Redis Cluster connection of an NF's Redis backend from the `store` configuration.
import { StoreError } from "../store.js";
import { RedisStore, type RedisStoreOptions } from "./redis.js";
import type { StoreConfig } from "./redis-config.js";

/** The cluster connection for `store`, which must name the redis backend. */
export function openRedis(store: StoreConfig, o?: RedisStoreOptions): Promise<RedisStore> {
  if (store.backend !== "redis") throw new StoreError(`store backend ${store.backend} is not redis`);
  return RedisStore.open(store, o);
}
