// The AuC's SEQ_HE step on a real Redis Cluster (nf/hss/store-redis.ts): the Lua step against the
// pure milenage/sqn-time.ts over the same inputs, the primary's clock, WAIT for durable steps and
// their confirmation, and a kill -9 failover that loses the last writes with every SQN checked
// as the USIM checks it (TS 33.102 Annex C.2).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { acceptSqn, checkFreshness, joinSqn, newSqnArray, splitSqn, sqnToHex } from "../milenage/sqn.js";
import { clockTicks, DEFAULT_TIME_SEQ, nextTimeSeq, resyncTimeSeq, type TimeSeqState } from "../milenage/sqn-time.js";
import { RedisStore } from "../nf/common/store/redis.js";
import { parseStoreOption, type RedisStoreConfig } from "../nf/common/store/redis-config.js";
import { keySlot } from "../nf/common/store/redis-keys.js";
import { RedisHssStore } from "../nf/hss/store-redis.js";
import type { RedisCluster } from "../scenarios/topology/redis-cluster.js";
import { startTestRedisCluster, stopTestRedisCluster } from "./helpers/redis-cluster.js";

let cluster: RedisCluster;
let cfg: RedisStoreConfig;
let raw: RedisStore;
let hss: RedisHssStore;
let dir: string;
const P = DEFAULT_TIME_SEQ;
const IND = 1;

beforeAll(async () => {
  cluster = await startTestRedisCluster();
  const c = parseStoreOption(`redis://${cluster.seeds.map((s) => `${s.host}:${s.port}`).join(",")}`);
  if (c.backend !== "redis") throw new Error("expected redis");
  cfg = c;
  dir = mkdtempSync(join(tmpdir(), "gba-hss-redis-sqn-"));
  raw = await RedisStore.open(cfg);
  hss = await RedisHssStore.open(await RedisStore.open(cfg), dir, {
    env: { GBA_MASTER_KEY: randomBytes(32).toString("hex") },
    durableWaitMs: 300,
  });
}, 60_000);

afterAll(async () => {
  await hss?.close();
  await raw?.close();
  await stopTestRedisCluster(cluster);
  rmSync(dir, { recursive: true, force: true });
});

const subKey = (impi: string) => raw.keys.key(impi, "hss", "sub");

async function provision(impi: string): Promise<void> {
  await hss.remove(impi);
  const r = hss.secrets.seal({
    impi,
    impus: [`sip:${impi}`],
    k: randomBytes(16),
    opc: randomBytes(16),
    keyInput: "OPc",
    amf: "8000",
    uiccType: "GBA",
  });
  await hss.create([r], [0]);
}

async function setState(impi: string, s: TimeSeqState): Promise<void> {
  const key = subKey(impi);
  await raw.client.hdel(key, "off", "unc");
  await raw.client.hset(key, "seq", String(s.seqHe));
  if (s.offset !== undefined) await raw.client.hset(key, "off", String(s.offset));
  if (s.unconfirmed !== undefined) await raw.client.hset(key, "unc", String(s.unconfirmed));
}

async function stateOf(impi: string): Promise<TimeSeqState> {
  const [seq, off, unc] = await raw.client.hmget(subKey(impi), "seq", "off", "unc");
  return {
    seqHe: Number(seq),
    ...(off !== null && { offset: Number(off) }),
    ...(unc !== null && { unconfirmed: Number(unc) }),
  };
}

describe("the Lua step equals the pure rules", () => {
  test("400 random states, clocks and resyncs: same SEQ, OFF, U, rule, durability, diagnostics", async () => {
    let x = 12345;
    const rnd = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x / 2 ** 31;
    };
    const impi = "diff@x";
    await provision(impi);
    const mismatches: string[] = [];
    for (let i = 0; i < 400; i++) {
      const seqHe = Math.floor(rnd() * 2 ** 36);
      const t = clockTicks(Date.UTC(2030, 0, 1)) + Math.floor(rnd() * 2 ** 30);
      // around the thresholds: ahead by < R and ≥ R, gaps below and above H_d and H_c
      const gaps = [0, -1, -(P.maxAhead - 1), -P.maxAhead, 1, 50, P.durableStep - 1, P.durableStep, P.maxStep + 7, 2 ** 33];
      const offset = i % 11 === 10 ? undefined : seqHe + gaps[i % gaps.length] - t;
      const unconfirmed = i % 5 === 4 ? seqHe - 3 : undefined;
      const sqnMs = i % 4 === 3 ? joinSqn(Math.max(0, seqHe + Math.floor((rnd() - 0.5) * 2 ** 29)), 7, P.indBits) : undefined;
      const state: TimeSeqState = { seqHe, offset, unconfirmed };
      await setState(impi, state);
      let from = state;
      let adopted = false;
      if (sqnMs !== undefined) ({ state: from, adopted } = resyncTimeSeq(state, sqnMs, t));
      const want = nextTimeSeq(from, t);
      const at = "2030-01-01T00:00:00.000Z";
      const got = await hss.sqnStep(
        impi,
        { ind: IND, ...(sqnMs !== undefined && { resync: { sqnMs, at, rand: "00".repeat(16) } }) },
        t * P.tickMs,
      );
      const w =
        want.kind === "ok"
          ? {
              seq: want.seq,
              state: {
                seqHe: want.seq,
                offset: want.offset,
                ...(want.unconfirmed !== undefined && { unconfirmed: want.unconfirmed }),
              },
              rule: want.rule,
              durable: want.durable,
              outcome: sqnMs === undefined ? undefined : adopted ? "sqn-ms-adopted" : "sqn-he-kept",
              sqnHe: sqnMs === undefined ? undefined : sqnToHex(joinSqn(seqHe, IND, P.indBits)),
            }
          : { kind: "sqn-exhausted" };
      const g =
        got.kind === "ok"
          ? {
              seq: got.seq,
              state: await stateOf(impi),
              rule: got.rule,
              durable: got.durable,
              outcome: got.resync?.outcome,
              sqnHe: got.resync?.sqnHe,
            }
          : { kind: got.kind };
      if (JSON.stringify(w) !== JSON.stringify(g))
        mismatches.push(`case ${i}: want ${JSON.stringify(w)} got ${JSON.stringify(g)}`);
    }
    expect(mismatches.slice(0, 3)).toEqual([]);
  }, 60_000);

  test("a subscriber that is not provisioned is not-found; a new one is anchored at its provisioned SQN", async () => {
    expect(await hss.advanceSqn("nobody@x", { ind: IND })).toEqual({ kind: "not-found" });
    const impi = "fresh@x";
    await hss.remove(impi);
    const r = hss.secrets.seal({
      impi,
      impus: [],
      k: randomBytes(16),
      opc: randomBytes(16),
      keyInput: "OPc",
      amf: "8000",
      uiccType: "GBA",
    });
    const before = clockTicks(Date.now());
    await hss.create([r], [joinSqn(41, IND, 5)]);
    const s = await stateOf(impi);
    expect(s.seqHe).toBe(41);
    expect(s.unconfirmed).toBeUndefined();
    // OFF anchors SEQ_HE to the primary's clock at provisioning
    expect(s.offset).toBeLessThanOrEqual(41 - before + 50);
    expect(s.offset).toBeGreaterThanOrEqual(41 - clockTicks(Date.now()) - 50);
  });

  test("without a pinned clock the slot owner's TIME is used", async () => {
    const impi = "clock@x";
    await provision(impi);
    await new Promise((r) => setTimeout(r, 30));
    const before = clockTicks(Date.now());
    const r = await hss.sqnStep(impi, { ind: IND });
    const after = clockTicks(Date.now());
    expect(r).toMatchObject({ kind: "ok", rule: "clock" });
    const { offset } = await stateOf(impi);
    if (r.kind !== "ok" || offset === undefined) throw new Error("no step");
    expect(offset + before - 50).toBeLessThanOrEqual(r.seq);
    expect(r.seq).toBeLessThanOrEqual(offset + after + 50);
  });
});

describe("durable steps and failover", () => {
  test("a durable step is confirmed once on the replica; the steps after it are plain again", async () => {
    const impi = "confirm@x";
    await provision(impi);
    const s0 = await stateOf(impi);
    // far ahead of the clock: a rebase, durable
    await setState(impi, { seqHe: s0.seqHe + 10 * P.maxAhead, offset: s0.offset });
    const a = await hss.advanceSqn(impi, { ind: IND });
    expect(a.kind).toBe("ok");
    await expect.poll(async () => (await stateOf(impi)).unconfirmed).toBeUndefined();
    expect((await hss.sqnStep(impi, { ind: IND })).kind === "ok").toBe(true);
  });

  test("a durable step whose replica does not answer is withheld (StoreError), and so is every step built on it", async () => {
    const impi = "stalled@x";
    await provision(impi);
    const primary = await cluster.primaryOfSlot(keySlot(subKey(impi)));
    const replica = await cluster.stallReplication(primary);
    try {
      const s = await stateOf(impi);
      await setState(impi, { seqHe: s.seqHe + 10 * P.maxAhead, offset: s.offset });
      await expect(hss.advanceSqn(impi, { ind: IND })).rejects.toThrow(/no replica acknowledged a write within 300 ms/);
      // U stays: the next step (a plain increment by the rule) must wait for the replica too
      expect((await stateOf(impi)).unconfirmed).toBeDefined();
      await expect(hss.advanceSqn(impi, { ind: IND })).rejects.toThrow(/no replica acknowledged/);
    } finally {
      cluster.resume(replica);
    }
    await expect
      .poll(
        () =>
          hss.advanceSqn(impi, { ind: IND }).then(
            (r) => r.kind,
            () => "error",
          ),
        { timeout: 10_000 },
      )
      .toBe("ok");
  });

  test("kill -9 of the primary after unreplicated steps: every SQN before, lost and after is fresh for the USIM, none reused", async () => {
    const impis = Array.from({ length: 30 }, (_, i) => `failover-${i}@x`);
    for (const impi of impis) await provision(impi);
    // the subscribers whose slot the victim primary serves
    const victim = await cluster.primaryOfSlot(keySlot(subKey(impis[0])));
    const mine: string[] = [];
    for (const impi of impis)
      if ((await cluster.primaryOfSlot(keySlot(subKey(impi)))).address === victim.address) mine.push(impi);
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
    const round = async (perSubscriber: number, plainOnly = false) => {
      for (const impi of mine) {
        for (let i = 0; i < perSubscriber; i++) {
          // while the replica is stalled only plain steps can leave (a durable one would wait)
          const r = plainOnly ? await hss.sqnStep(impi, { ind: IND }) : await hss.advanceSqn(impi, { ind: IND });
          if (r.kind !== "ok") throw new Error(`${impi}: ${r.kind}`);
          if (plainOnly && "durable" in r && r.durable) break;
          deliver(impi, r.sqn);
        }
      }
    };
    await round(3);
    await new Promise((r) => setTimeout(r, 50)); // replicated
    const stalled = await cluster.stallReplication(victim);
    await round(60, true); // run ahead of the clock; acknowledged by the primary only
    const lastLost = Math.max(...issued.get(mine[0])!);
    const { failoverMs } = await cluster.killPrimary(victim, { resumeFirst: stalled });
    // the promoted replica really lacks those writes
    expect((await stateOf(mine[0])).seqHe).toBeLessThan(splitSqn(lastLost).seq - 50);
    await round(5);
    expect(problems).toEqual([]);
    expect(mine.length).toBeGreaterThan(3);
    expect(failoverMs).toBeGreaterThan(P.maxAhead);
    await cluster.restart(victim);
  }, 90_000);
});
