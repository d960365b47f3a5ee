// The ECA store of the configured backend: LMDB under <data>/eca/ or the Redis Cluster.
import type { CommonConfig } from "../common/config.js";
import { openRedis } from "../common/store/open.js";
import type { EcaStore } from "./store.js";
import { LmdbEcaStore } from "./store-lmdb.js";
import { RedisEcaStore } from "./store-redis.js";

export async function openEcaStore(cfg: Pick<CommonConfig, "data" | "store">): Promise<EcaStore> {
  if (cfg.store.backend === "lmdb") return LmdbEcaStore.open(cfg.data);
  return new RedisEcaStore(await openRedis(cfg.store));
}

/** For listings: undefined when there is no store yet (LMDB: no <data>/eca/ store created). */
export async function openEcaStoreToRead(cfg: Pick<CommonConfig, "data" | "store">): Promise<EcaStore | undefined> {
  if (cfg.store.backend === "lmdb") return LmdbEcaStore.openReadOnly(cfg.data);
  return new RedisEcaStore(await openRedis(cfg.store));
}
