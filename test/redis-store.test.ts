// The Redis Cluster store primitives against a real cluster (Debian redis-server, 3 primaries +
// 3 replicas on loopback): key slots against the server's own CLUSTER KEYSLOT, every atomic
// step's outcomes, following a failover without reopening, and clear errors.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { StoreError } from "../nf/common/store.js";
import { RedisStore } from "../nf/common/store/redis.js";
import { parseStoreOption, type RedisStoreConfig } from "../nf/common/store/redis-config.js";
import { KeySpace, keySlot, tagOf } from "../nf/common/store/redis-keys.js";
import type { RedisCluster } from "../scenarios/topology/redis-cluster.js";
import { benchRedisStore, renderTable } from "../bench/redis-store.js";
import { freePort } from "./helpers/fault-procs.js";
import { startTestRedisCluster, stopTestRedisCluster } from "./helpers/redis-cluster.js";

let cluster: RedisCluster;
let store: RedisStore;
const T0 = Date.UTC(2030, 0, 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function configOf(c: RedisCluster): RedisStoreConfig {
  const cfg = parseStoreOption(`redis://${c.seeds.map((s) => `${s.host}:${s.port}`).join(",")}`);
  if (cfg.backend !== "redis") throw new Error("expected redis");
  return cfg;
}

beforeAll(async () => {
  cluster = await startTestRedisCluster();
  store = await RedisStore.open(configOf(cluster));
}, 60_000);

afterAll(async () => {
  await store?.close();
  await stopTestRedisCluster(cluster);
});

describe("key slots", () => {
  test("keySlot equals the server's CLUSTER KEYSLOT (tags, escapes, UTF-8, edge braces)", async () => {
    const ks = new KeySpace("gba");
    const keys = [
      "plain",
      "{user1000}.following",
      "foo{}{bar}",
      "foo{{bar}}zap",
      "foo{bar}{zap}",
      "{}",
      "a{b",
      "x{a}y",
      "b}{c}",
      "éß{ü}",
      ks.key("001010123456789@ims.mnc001.mcc001.3gppnetwork.org", "hss", "sub"),
      ks.key("we{ird}impi@x", "bsf", "sess", "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.example"),
      ...Array.from({ length: 40 }, (_, i) => `k-${i * 7919}-${"x".repeat(i)}`),
    ];
    const primary = (await cluster.primaries())[0];
    for (const k of keys) {
      expect(keySlot(k), k).toBe(Number(await cluster.command(primary, "CLUSTER", "KEYSLOT", k)));
    }
  });

  test("a tag holds the identifier escaped: braces cannot end it early, distinct ids stay distinct keys", () => {
    const ks = new KeySpace();
    expect(tagOf("a}b")).toBe("a%7Db");
    expect(tagOf("50%{x}")).toBe("50%25%7Bx%7D");
    expect(ks.key("a}b", "hss", "sub")).not.toBe(ks.key("a", "hss", "sub"));
    // every key of one subscriber shares the slot, whatever the kind
    const impi = "we}ird{impi@x";
    expect(new Set(["sub", "seq", "authfail"].map((k) => keySlot(ks.key(impi, "hss", k)))).size).toBe(1);
    expect(() => tagOf("")).toThrow(/cannot be empty/);
    expect(() => new KeySpace("a:b")).toThrow(/prefix "a:b"/);
  });
});

describe("atomic steps", () => {
  const k = (name: string) => store.keys.key(`t-${name}-${process.pid}`, "bsf", "test");

  test("set / get / setIfAbsent / del, with absolute expiry", async () => {
    await store.set(k("a"), Buffer.from([0, 1, 255]));
    expect(await store.get(k("a"))).toEqual(Buffer.from([0, 1, 255]));
    expect(await store.setIfAbsent(k("a"), "other")).toBe(false);
    expect(await store.setIfAbsent(k("b"), "first", Date.now() + 60_000)).toBe(true);
    const primary = await cluster.primaryOfSlot(keySlot(k("b")));
    const pttl = Number(await cluster.command(primary, "PTTL", k("b")));
    expect(pttl).toBeGreaterThan(50_000);
    expect(await store.del(k("b"))).toBe(true);
    expect(await store.get(k("b"))).toBeNull();
    await store.set(k("c"), "soon gone", Date.now() + 50);
    await sleep(120);
    expect(await store.get(k("c"))).toBeNull();
  });

  test("compareAndSet writes only over the expected value (null = absent) and reports the current one", async () => {
    expect(await store.compareAndSet(k("cas"), null, "v1")).toEqual({ ok: true });
    expect(await store.compareAndSet(k("cas"), null, "v2")).toEqual({ ok: false, current: Buffer.from("v1") });
    expect(await store.compareAndSet(k("cas"), "v0", "v2")).toEqual({ ok: false, current: Buffer.from("v1") });
    expect(await store.compareAndSet(k("cas"), "v1", "v2", T0)).toEqual({ ok: true });
    expect(String(await store.get(k("cas")))).toBe("v2");
    expect(await store.compareAndSet(k("cas"), "v2", null)).toEqual({ ok: true });
    expect(await store.get(k("cas"))).toBeNull();
    expect(await store.compareAndSet(k("cas"), "v2", "v3")).toEqual({ ok: false, current: null });
  });

  test("compareAndSet under contention: of 50 concurrent writers over one value exactly one wins", async () => {
    await store.set(k("race"), "base");
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.compareAndSet(k("race"), "base", `w${i}`)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  test("getDel and takeOnce: a single-use value is handed out once", async () => {
    await store.set(k("gd"), "token");
    const [a, b] = await Promise.all([store.getDel(k("gd")), store.getDel(k("gd"))]);
    expect([String(a), String(b)].sort()).toEqual(["null", "token"]);

    expect(await store.takeOnce(k("ch"), "spent", Date.now() + 60_000)).toEqual({ kind: "absent" });
    await store.set(k("ch"), "challenge");
    const takes = await Promise.all(Array.from({ length: 20 }, () => store.takeOnce(k("ch"), "spent", Date.now() + 60_000)));
    expect(takes.filter((t) => t.kind === "taken")).toEqual([{ kind: "taken", value: Buffer.from("challenge") }]);
    expect(takes.filter((t) => t.kind === "spent")).toHaveLength(19);
  });

  test("raiseTo accepts only a greater number (nonce counts) and keeps its expiry", async () => {
    expect(await store.raiseTo(k("nc"), 1, Date.now() + 60_000)).toBe(true);
    expect(await store.raiseTo(k("nc"), 1, Date.now() + 60_000)).toBe(false);
    expect(await store.raiseTo(k("nc"), 3, Date.now() + 60_000)).toBe(true);
    expect(await store.raiseTo(k("nc"), 2, Date.now() + 60_000)).toBe(false);
    const ok = await Promise.all([5, 5, 5, 5].map((n) => store.raiseTo(k("nc"), n, Date.now() + 60_000)));
    expect(ok.filter(Boolean)).toHaveLength(1);
  });

  test("incrementWithFloor: max(current + 1, floor), exact near 2^48, unique under concurrency", async () => {
    expect(await store.incrementWithFloor(k("inc"), 0)).toBe(1);
    expect(await store.incrementWithFloor(k("inc"), 100)).toBe(100);
    expect(await store.incrementWithFloor(k("inc"), 50)).toBe(101);
    expect(await store.incrementWithFloor(k("big"), 2 ** 48 - 2)).toBe(2 ** 48 - 2);
    expect(await store.incrementWithFloor(k("big"), 0)).toBe(2 ** 48 - 1);
    const many = await Promise.all(Array.from({ length: 100 }, () => store.incrementWithFloor(k("inc"), 0)));
    expect(new Set(many).size).toBe(100);
  });

  test("supersede: the index names the newest record, the previous record is gone, in one step", async () => {
    const owner = `we{ird}-${process.pid}`;
    const index = store.keys.key(owner, "bsf", "current");
    const base = `${store.keys.key(owner, "bsf", "sess")}:`;
    expect(await store.supersede(index, base, "btid-1", "s1", Date.now() + 60_000)).toBeUndefined();
    expect(String(await store.get(`${base}btid-1`))).toBe("s1");
    expect(await store.supersede(index, base, "btid/2}", "s2", Date.now() + 60_000)).toBe("btid-1");
    expect(await store.get(`${base}btid-1`)).toBeNull();
    expect(String(await store.get(`${base}${tagOf("btid/2}")}`))).toBe("s2");
    // the escaped old id is found and removed by the script too
    expect(await store.supersede(index, base, "btid-3", "s3")).toBe("btid/2}");
    expect(await store.get(`${base}${tagOf("btid/2}")}`)).toBeNull();
    // re-storing the same id is no supersede
    expect(await store.supersede(index, base, "btid-3", "s3b")).toBeUndefined();
    expect(String(await store.get(`${base}btid-3`))).toBe("s3b");
    await expect(store.supersede(store.keys.key("x", "bsf", "current"), base, "b", "s")).rejects.toThrow(/different slots/);
  });
});

describe("failover and errors", () => {
  test("a lost write: stalled replication, kill -9 of the primary, the promoted replica lacks the last write", async () => {
    const key = store.keys.key(`loss-${process.pid}`, "hss", "seq");
    await store.set(key, "replicated");
    const primary = await cluster.primaryOfSlot(keySlot(key));
    const replica = await cluster.replicaOf(primary);
    // the replica has the first write before we stall it
    await cluster.command(replica, "READONLY");
    for (let i = 0; i < 100 && (await cluster.command(replica, "GET", key)) !== "replicated"; i++) await sleep(20);
    expect(await cluster.command(replica, "GET", key)).toBe("replicated");
    const stalled = await cluster.stallReplication(primary);
    expect(stalled.address).toBe(replica.address);
    await store.set(key, "lost");
    expect(String(await store.get(key))).toBe("lost");
    const { promoted } = await cluster.killPrimary(primary, { resumeFirst: stalled });
    expect(promoted.address).toBe(replica.address);
    // the same client, not reopened, follows the new slot owner
    expect(String(await store.get(key))).toBe("replicated");
    await store.set(key, "after failover");
    expect(String(await store.get(key))).toBe("after failover");
    await cluster.restart(primary);
  }, 60_000);

  test("open() against nothing fails in bounded time naming the nodes", async () => {
    const port = await freePort();
    const cfg = parseStoreOption(`redis://127.0.0.1:${port}`);
    if (cfg.backend !== "redis") throw new Error("expected redis");
    const started = Date.now();
    const err = await RedisStore.open(cfg, { connectTimeoutMs: 1500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(String((err as Error).message)).toContain(`redis://127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("after close() every step fails as a StoreError", async () => {
    const s = await RedisStore.open(configOf(cluster));
    await s.close();
    await expect(s.get("x")).rejects.toThrow(/the Redis store is closed/);
    await s.close();
  });
});

describe("bench/redis-store", () => {
  test("a short run measures every operation against this cluster and renders the table", async () => {
    const rows = await benchRedisStore(configOf(cluster), 0.1, 4);
    expect(rows.map((r) => r.op)).toEqual([
      "ping",
      "get",
      "set (PXAT)",
      "lua raise-to",
      "lua SEQ_HE step (HSS)",
      "set + WAIT 1 (durable step)",
    ]);
    for (const r of rows) {
      expect(r.seqOps, r.op).toBeGreaterThan(0);
      expect(r.concOps, r.op).toBeGreaterThan(0);
      expect(r.p50Us, r.op).toBeGreaterThan(0);
      expect(r.p99Us, r.op).toBeGreaterThanOrEqual(r.p50Us);
      expect(r.serverCpuUsConc, r.op).toBeGreaterThanOrEqual(0);
    }
    expect(renderTable("t", rows)).toMatch(/\| ping \| [0-9.]+ \| [0-9.]+ \| 1\.00 \|/);
  }, 60_000);
});
