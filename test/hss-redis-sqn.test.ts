// SEQ_HE on a real Redis Cluster (nf/hss/store-redis-sqn.ts): the Lua step against the pure
// milenage/sqn-time.ts over the same inputs, the primary's clock, WAIT for durable steps, and a
// kill -9 failover that loses the last writes with every SQN checked as the USIM checks it.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { acceptSqn, checkFreshness, joinSqn, newSqnArray, splitSqn } from "../milenage/sqn.js";
import { clockTicks, DEFAULT_TIME_SEQ, nextTimeSeq, resyncTimeSeq, type TimeSeqState } from "../milenage/sqn-time.js";
import { RedisStore } from "../nf/common/store/redis.js";
import { parseStoreOption } from "../nf/common/store/redis-config.js";
import { keySlot } from "../nf/common/store/redis-keys.js";
import { advanceSeqOnRedis } from "../nf/hss/store-redis-sqn.js";
import type { RedisCluster } from "../scenarios/topology/redis-cluster.js";
import { startTestRedisCluster, stopTestRedisCluster } from "./helpers/redis-cluster.js";

let cluster: RedisCluster;
let store: RedisStore;
const P = DEFAULT_TIME_SEQ;
const IND = 1;

beforeAll(async () => {
  cluster = await startTestRedisCluster();
  const cfg = parseStoreOption(`redis://${cluster.seeds.map((s) => `${s.host}:${s.port}`).join(",")}`);
  if (cfg.backend !== "redis") throw new Error("expected redis");
  store = await RedisStore.open(cfg);
}, 60_000);

afterAll(async () => {
  await store?.close();
  await stopTestRedisCluster(cluster);
});

const seqKey = (impi: string) => store.keys.key(impi, "hss", "seq");

describe("the Lua step equals the pure rules", () => {
  test("600 random states, clocks and resyncs: same SEQ, OFF, rule, durability", async () => {
    let x = 12345;
    const rnd = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x / 2 ** 31;
    };
    const cases = Array.from({ length: 600 }, (_, i) => {
      const seqHe = Math.floor(rnd() * 2 ** 36);
      const t = clockTicks(Date.UTC(2030, 0, 1)) + Math.floor(rnd() * 2 ** 30);
      // around the thresholds: ahead by < R and ≥ R, gaps below and above H_d and H_c
      const gaps = [
        0,
        -1,
        -(P.maxAhead - 1),
        -P.maxAhead,
        1,
        50,
        P.durableStep - 1,
        P.durableStep,
        P.maxStep + 7,
        Math.floor(rnd() * 2 ** 34),
      ];
      const offset = i % 11 === 10 ? undefined : seqHe + gaps[i % gaps.length] - t;
      const sqnMs = i % 4 === 3 ? joinSqn(Math.max(0, seqHe + Math.floor((rnd() - 0.5) * 2 ** 29)), 7, P.indBits) : undefined;
      return { i, state: { seqHe, offset } as TimeSeqState, t, sqnMs };
    });
    const mismatches: string[] = [];
    await Promise.all(
      cases.map(async (c) => {
        const key = seqKey(`diff-${c.i}@x`);
        await store.del(key);
        const r = await store.evalScript(
          "gbaSeqStepSeed",
          "redis.call('HSET', KEYS[1], 'seq', ARGV[1]); if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'off', ARGV[2]) end return 1",
          [key],
          [String(c.state.seqHe), c.state.offset === undefined ? "" : String(c.state.offset)],
        );
        expect(r).toBe(1);
        let expected: TimeSeqState = c.state;
        let adopted = false;
        if (c.sqnMs !== undefined) {
          const rs = resyncTimeSeq(c.state, c.sqnMs, c.t);
          expected = rs.state;
          adopted = rs.adopted;
        }
        const want = nextTimeSeq(expected, c.t);
        const got = await advanceSeqOnRedis(store, key, { ind: IND, sqnMs: c.sqnMs, nowMs: c.t * P.tickMs });
        const w =
          want.kind === "ok"
            ? { kind: "ok", seq: want.seq, offset: want.offset, rule: want.rule, durable: want.durable || adopted, adopted }
            : { kind: "sqn-exhausted" };
        const g =
          got.kind === "ok"
            ? { kind: "ok", seq: got.seq, offset: got.offset, rule: got.rule, durable: got.durable, adopted: got.adopted }
            : got;
        if (JSON.stringify(w) !== JSON.stringify(g))
          mismatches.push(`case ${c.i}: want ${JSON.stringify(w)} got ${JSON.stringify(g)}`);
      }),
    );
    expect(mismatches.slice(0, 3)).toEqual([]);
  }, 60_000);

  test("a subscriber without state is not-found, or starts from its provisioned SQN", async () => {
    const key = seqKey("fresh@x");
    await store.del(key);
    expect(await advanceSeqOnRedis(store, key, { ind: IND })).toEqual({ kind: "not-found" });
    const r = await advanceSeqOnRedis(store, key, { ind: IND, initialSqn: joinSqn(41, IND, 5) });
    expect(r).toMatchObject({ kind: "ok", seq: 42, rule: "anchor", durable: true, sqn: joinSqn(42, IND, 5) });
  });

  test("without a pinned clock the slot owner's TIME is used", async () => {
    const key = seqKey("clock@x");
    await store.del(key);
    await advanceSeqOnRedis(store, key, { ind: IND, initialSqn: 0 });
    await new Promise((r) => setTimeout(r, 30));
    const before = clockTicks(Date.now());
    const r = await advanceSeqOnRedis(store, key, { ind: IND });
    const after = clockTicks(Date.now());
    expect(r).toMatchObject({ kind: "ok", rule: "clock" });
    if (r.kind !== "ok") return;
    expect(r.offset + before - 50).toBeLessThanOrEqual(r.seq);
    expect(r.seq).toBeLessThanOrEqual(r.offset + after + 50);
  });
});

describe("durable steps and failover", () => {
  test("a durable step whose replica does not answer is withheld (StoreError) instead of handed out", async () => {
    const key = seqKey("stalled@x");
    await advanceSeqOnRedis(store, key, { ind: IND, initialSqn: 0 });
    const primary = await cluster.primaryOfSlot(keySlot(key));
    const replica = await cluster.stallReplication(primary);
    try {
      await expect(
        advanceSeqOnRedis(store, key, { ind: IND, sqnMs: joinSqn(2 ** 33, 3, 5), durableWaitMs: 200 }),
      ).rejects.toThrow(/no replica acknowledged a write within 200 ms/);
    } finally {
      cluster.resume(replica);
    }
  });

  test("kill -9 of the primary after unreplicated steps: every SQN before, lost and after is fresh for the USIM, none reused", async () => {
    const impis = Array.from({ length: 30 }, (_, i) => `failover-${i}@x`);
    // the subscribers whose slot the victim primary serves
    const victim = await cluster.primaryOfSlot(keySlot(seqKey(impis[0])));
    const mine: string[] = [];
    for (const impi of impis)
      if ((await cluster.primaryOfSlot(keySlot(seqKey(impi)))).address === victim.address) mine.push(impi);
    const usim = new Map(mine.map((i) => [i, newSqnArray(5)]));
    const issued = new Map(mine.map((i) => [i, new Set<number>()]));
    const problems: string[] = [];
    const deliver = (impi: string, sqn: number) => {
      if (issued.get(impi)?.has(sqn)) problems.push(`${impi}: SQN ${sqn} issued twice`);
      issued.get(impi)?.add(sqn);
      const arr = usim.get(impi)!;
      const v = checkFreshness(arr, sqn);
      if (!v.fresh) problems.push(`${impi}: SQN ${sqn} (SEQ ${splitSqn(sqn).seq}) refused: ${v.reason}`);
      else usim.set(impi, acceptSqn(arr, sqn));
    };
    const round = async (perSubscriber: number) => {
      for (const impi of mine) {
        for (let i = 0; i < perSubscriber; i++) {
          const r = await advanceSeqOnRedis(store, seqKey(impi), { ind: IND, initialSqn: 0 });
          if (r.kind !== "ok") throw new Error(`${impi}: ${r.kind}`);
          deliver(impi, r.sqn);
        }
      }
    };
    for (const impi of mine) await store.del(seqKey(impi));
    await round(3);
    await new Promise((r) => setTimeout(r, 50)); // replicated
    const stalled = await cluster.stallReplication(victim);
    await round(60); // run ahead of the clock; acknowledged by the primary only
    const lastLost = Math.max(...issued.get(mine[0])!);
    const { failoverMs } = await cluster.killPrimary(victim, { resumeFirst: stalled });
    // the promoted replica really lacks those writes
    const survived = Number(String(await store.client.hget(seqKey(mine[0]), "seq")));
    expect(survived).toBeLessThan(splitSqn(lastLost).seq - 50);
    await round(5);
    expect(problems).toEqual([]);
    expect(mine.length).toBeGreaterThan(3);
    expect(failoverMs).toBeGreaterThan(P.maxAhead);
    await cluster.restart(victim);
  }, 90_000);
});
