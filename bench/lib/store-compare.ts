// `gba bench ub|zn --store redis://…`: the built-in HSS and BSF run twice in the same run, once
// on LMDB (the baseline) and once on the Redis Cluster named (a key prefix of their own). The
// Redis stack's processes report as "HSS (Redis)" and "BSF (Redis)" in the CPU figures every
// measurement carries; the cluster's primaries (possibly on other hosts) are read with INFO cpu.
import type { RedisStore } from "../../nf/common/store/redis.js";
import { parseStoreOption, type RedisStoreConfig } from "../../nf/common/store/redis-config.js";
import type { Sample } from "./load.js";
import { BenchSetupError } from "./options.js";

/** CPU report names of the Redis stack's processes (bench/lib/rig.ts ownStack with a store). */
export const REDIS_STACK = ["BSF (Redis)", "HSS (Redis)"] as const;

/** CPU time of every primary of the cluster (INFO cpu: used_cpu_sys + used_cpu_user), in µs. */
export async function redisPrimariesCpuUs(store: RedisStore): Promise<number> {
  let total = 0;
  for (const node of store.client.nodes("master")) {
    const info = await node.info("cpu");
    const v = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
    total += (v("used_cpu_sys") + v("used_cpu_user")) * 1e6;
  }
  return total;
}

/** The --store value of `gba bench`: a Redis Cluster, each run under a key prefix of its own. */
export function benchRedisStore(text: string): RedisStoreConfig {
  const cfg = parseStoreOption(text);
  if (cfg.backend !== "redis")
    throw new BenchSetupError("--store: name a Redis Cluster (redis://HOST:PORT[,…]); LMDB is the baseline every run measures");
  return { ...cfg, prefix: `bench-${process.pid}-${Date.now().toString(36)}` };
}

/** The CPU time of the cluster's primaries over the phases of one system (warm-up included) and its operations. */
export class RedisCpuMeter {
  private us = 0;
  private ops = 0;
  constructor(private readonly redis: RedisStore) {}

  wrap(run: (seconds: number) => Promise<Sample>): (seconds: number) => Promise<Sample> {
    return async (seconds) => {
      const before = await redisPrimariesCpuUs(this.redis);
      const s = await run(seconds);
      this.us += (await redisPrimariesCpuUs(this.redis)) - before;
      this.ops += s.ok;
      return s;
    };
  }

  /** For the result's facts: Redis primaries' CPU µs per successful operation. */
  perOp(unit: string): Record<string, number> {
    return { [`Redis Cluster primaries CPU µs/${unit}`]: this.ops > 0 ? Math.round(this.us / this.ops) : 0 };
  }
}

/** A client of the cluster for INFO cpu; ioredis is loaded only when a bench names a cluster. */
export async function openCluster(cfg: RedisStoreConfig): Promise<RedisStore> {
  const { RedisStore } = await import("../../nf/common/store/redis.js");
  return RedisStore.open(cfg);
}
