// Which store backend the NF suites run on: LMDB (the default) or the Redis Cluster
// (GBA_TEST_STORE=redis, the vitest project "redis", vitest.config.ts). In the redis project one
// cluster serves the whole run (./redis-global.ts); every data root a test creates gets its own
// key prefix, so tests stay apart as their data roots do. Suites call these helpers wherever
// they make a config, open a store or run the CLI, and so run unchanged on both backends.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, inject } from "vitest";
import { splitSqn } from "../../milenage/sqn.js";
import type { CommonConfig } from "../../nf/common/config.js";
import { RedisStore } from "../../nf/common/store/redis.js";
import { parseStoreOption, type StoreConfig, storeUrl } from "../../nf/common/store/redis-config.js";

declare module "vitest" {
  interface ProvidedContext {
    /** redis://… of the run's test cluster (project "redis") */
    redisStoreUrl: string;
  }
}

export const TEST_STORE: "lmdb" | "redis" = process.env.GBA_TEST_STORE === "redis" ? "redis" : "lmdb";
export const ON_REDIS = TEST_STORE === "redis";

/**
 * The SQN the HSS hands out after SEQ `prevSeq`: SEQ_HE + 1 on LMDB (the counter of TS 33.102
 * Annex C.1.1.1), a later SEQ on Redis (time-based, milenage/sqn-time.ts); the consumer's IND on both.
 */
export function expectNextSqn(sqn: number, prevSeq: number, ind: number, indBits = 5): void {
  const { seq, ind: got } = splitSqn(sqn, indBits);
  expect(got).toBe(ind);
  if (ON_REDIS) expect(seq).toBeGreaterThan(prevSeq);
  else expect(seq).toBe(prevSeq + 1);
}

/** The key prefix of a data root on the shared test cluster. */
export function prefixOf(data: string): string {
  return `t-${createHash("sha1").update(resolve(data)).digest("hex").slice(0, 16)}`;
}

/** The store of a test's data root: LMDB under it, or the test cluster under its own prefix. */
export function testStore(data: string): StoreConfig {
  if (!ON_REDIS) return { backend: "lmdb" };
  const url = inject("redisStoreUrl");
  if (!url) throw new Error("GBA_TEST_STORE=redis but no test cluster: run the vitest project redis (vitest.config.ts)");
  const cfg = parseStoreOption(url);
  if (cfg.backend !== "redis") throw new Error(`not a redis URL: ${url}`);
  return { ...cfg, prefix: prefixOf(data) };
}

/** `cfg` with the store of its data root. */
export function withTestStore<T extends Pick<CommonConfig, "data" | "store">>(cfg: T): T {
  cfg.store = testStore(cfg.data);
  return cfg;
}

/** A `gba` command line with `--store` for the data root it names (`--data DIR`); unchanged on LMDB. */
export function withStoreArgs(args: string[]): string[] {
  if (!ON_REDIS) return args;
  const at = args.indexOf("--data");
  if (at < 0 || at + 1 >= args.length || args.includes("--store")) return args;
  const store = testStore(args[at + 1]);
  if (store.backend !== "redis") return args;
  return [...args, "--store", storeUrl(store)];
}

/** A raw connection to a data root's keys (tests that look at what the Redis backend wrote). */
export function openRawRedis(data: string): Promise<RedisStore> {
  const store = testStore(data);
  if (store.backend !== "redis") throw new Error("not on the redis backend");
  return RedisStore.open(store);
}

/**
 * Everything an NF's store holds for a data root, as bytes (tests that search it for secrets):
 * the LMDB file, or every key and value under the data root's prefix on the test cluster.
 */
export async function bytesAtRest(data: string, nf: "hss" | "bsf" | "naf" | "eca"): Promise<Buffer> {
  if (!ON_REDIS) return readFileSync(join(data, nf, "store.mdb"));
  const redis = await openRawRedis(data);
  try {
    const parts: Buffer[] = [];
    for (const node of redis.client.nodes("master")) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scanBuffer(cursor, "MATCH", `${redis.keys.prefix}:*:${nf}:*`, "COUNT", 1000);
        cursor = String(next);
        for (const key of keys) {
          parts.push(key);
          const type = await node.type(key);
          if (type === "string") parts.push((await node.getBuffer(key)) ?? Buffer.alloc(0));
          else if (type === "hash") parts.push(...Object.values(await node.hgetallBuffer(key)));
          else if (type === "list") parts.push(...(await node.lrangeBuffer(key, 0, -1)));
          else if (type === "zset") parts.push(...(await node.zrangeBuffer(key, 0, -1)));
        }
      } while (cursor !== "0");
    }
    return Buffer.concat(parts);
  } finally {
    await redis.close();
  }
}
