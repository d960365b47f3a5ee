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

/** What the cluster's primaries did so far: CPU time (INFO cpu) and calls per command (INFO commandstats). */
interface PrimariesSnapshot {
  cpuUs: number;
  calls: Map<string, number>;
}

/** Commands of the meter itself, the client's cluster bookkeeping and the replicas' replication, not of the NFs. */
const NOT_THE_NFS = new Set(["info", "cluster", "command", "ping", "hello", "client", "readonly", "replconf", "psync", "sync"]);

async function primariesSnapshot(store: RedisStore): Promise<PrimariesSnapshot> {
  const out: PrimariesSnapshot = { cpuUs: 0, calls: new Map() };
  for (const node of store.client.nodes("master")) {
    const info = await node.info("cpu", "commandstats");
    const v = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
    out.cpuUs += (v("used_cpu_sys") + v("used_cpu_user")) * 1e6;
    for (const [, cmd, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      if (!NOT_THE_NFS.has(cmd)) out.calls.set(cmd, (out.calls.get(cmd) ?? 0) + Number(calls));
  }
  return out;
}

/** CPU time of every primary of the cluster (INFO cpu: used_cpu_sys + used_cpu_user), in µs. */
export async function redisPrimariesCpuUs(store: RedisStore): Promise<number> {
  return (await primariesSnapshot(store)).cpuUs;
}

/** The --store value of `gba bench`: a Redis Cluster, each run under a key prefix of its own. */
export function benchRedisStore(text: string): RedisStoreConfig {
  const cfg = parseStoreOption(text);
  if (cfg.backend !== "redis")
    throw new BenchSetupError("--store: name a Redis Cluster (redis://HOST:PORT[,…]); LMDB is the baseline every run measures");
  return { ...cfg, prefix: `bench-${process.pid}-${Date.now().toString(36)}` };
}

/**
 * The CPU time of the cluster's primaries over the phases of one system (warm-up included) and its
 * operations, and the commands they executed: a script (EVALSHA) counts once and so does each
 * command it calls, so the commands other than those a script calls are the round trips.
 */
export class RedisCpuMeter {
  private us = 0;
  private ops = 0;
  private readonly calls = new Map<string, number>();
  constructor(private readonly redis: RedisStore) {}

  wrap(run: (seconds: number) => Promise<Sample>): (seconds: number) => Promise<Sample> {
    return async (seconds) => {
      const before = await primariesSnapshot(this.redis);
      const s = await run(seconds);
      const after = await primariesSnapshot(this.redis);
      this.us += after.cpuUs - before.cpuUs;
      for (const [cmd, n] of after.calls) this.calls.set(cmd, (this.calls.get(cmd) ?? 0) + n - (before.calls.get(cmd) ?? 0));
      this.ops += s.ok;
      return s;
    };
  }

  /** For the result's facts: Redis primaries' CPU µs and commands per successful operation. */
  perOp(unit: string): Record<string, number | string> {
    const per = (n: number) => (this.ops > 0 ? n / this.ops : 0);
    const commands = [...this.calls]
      .filter(([, n]) => per(n) >= 0.005)
      .sort((a, b) => b[1] - a[1])
      .map(([cmd, n]) => `${cmd} ${per(n).toFixed(2)}`)
      .join(", ");
    return {
      [`Redis Cluster primaries CPU µs/${unit}`]: Math.round(per(this.us)),
      [`Redis commands/${unit} (scripts' own calls included)`]: commands || "none",
    };
  }
}

/** A client of the cluster for INFO cpu; ioredis is loaded only when a bench names a cluster. */
export async function openCluster(cfg: RedisStoreConfig): Promise<RedisStore> {
  const { RedisStore } = await import("../../nf/common/store/redis.js");
  return RedisStore.open(cfg);
}
