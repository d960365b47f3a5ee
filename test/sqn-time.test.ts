// The clock-anchored SEQ (milenage/sqn-time.ts, after TS 33.102 Annex C.1.1.1): its rules one by
// one, and simulated deployments in which a store failover loses the last SEQ_HE writes. Every
// issued SQN goes through the USIM's Annex C check (milenage/sqn.ts, the check the simulated
// USIM runs), lost ones included; the counter scheme of C.1.1.1 without a clock fails the same
// histories.
import { describe, expect, test } from "vitest";
import { buildAuts, checkAutn, generateAuthVector, verifyAuts } from "../milenage/aka.js";
import { hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { bytesToSqn, DEFAULT_DELTA, highestSqn, joinSqn, newSqnArray, sqnToBytes } from "../milenage/sqn.js";
import {
  checkTimeSeqParams,
  clockTicks,
  confirmTimeSeq,
  DEFAULT_TIME_SEQ,
  nextTimeSeq,
  resyncTimeSeq,
  type TimeSeqParams,
  type TimeSeqState,
} from "../milenage/sqn-time.js";
import { type SimOptions, simulate } from "./helpers/sqn-failover-sim.js";

const P = DEFAULT_TIME_SEQ;
const T0 = Date.UTC(2031, 4, 6, 7, 8, 9, 123);
const T = clockTicks(T0);

describe("rules", () => {
  const off = 5000 - T; // anchored: C = 5000 at T
  test("the clock moved past SEQ_HE: SEQ = OFF + T", () => {
    expect(nextTimeSeq({ seqHe: 4000, offset: off }, T)).toEqual({
      kind: "ok",
      seq: 5000,
      offset: off,
      rule: "clock",
      durable: false,
    });
    expect(nextTimeSeq({ seqHe: 4999, offset: off }, T)).toMatchObject({ seq: 5000, rule: "clock" });
  });

  test("more than one SEQ per tick: SEQ_HE + 1 while less than R ahead of the clock", () => {
    expect(nextTimeSeq({ seqHe: 5000, offset: off }, T)).toEqual({
      kind: "ok",
      seq: 5001,
      offset: off,
      rule: "increment",
      durable: false,
    });
    expect(nextTimeSeq({ seqHe: 5000 + P.maxAhead - 1, offset: off }, T)).toMatchObject({
      seq: 5000 + P.maxAhead,
      rule: "increment",
    });
  });

  test("R ahead: a durable rebase of OFF onto the clock, SEQ still SEQ_HE + 1", () => {
    const s = nextTimeSeq({ seqHe: 5000 + P.maxAhead, offset: off }, T);
    expect(s).toEqual({
      kind: "ok",
      seq: 5001 + P.maxAhead,
      offset: 5001 + P.maxAhead - T,
      unconfirmed: 5001 + P.maxAhead,
      rule: "rebase",
      durable: true,
    });
  });

  test("a long idle time: a durable step, capped at H_c below Δ", () => {
    expect(nextTimeSeq({ seqHe: 5000 - P.durableStep, offset: off }, T)).toEqual({
      kind: "ok",
      seq: 5000,
      offset: off,
      unconfirmed: 5000,
      rule: "idle",
      durable: true,
    });
    const far = nextTimeSeq({ seqHe: 10, offset: off + 10 * P.maxStep }, T);
    expect(far).toEqual({
      kind: "ok",
      seq: 10 + P.maxStep,
      offset: 10 + P.maxStep - T,
      unconfirmed: 10 + P.maxStep,
      rule: "idle",
      durable: true,
    });
    expect(P.maxStep).toBeLessThan(DEFAULT_DELTA);
  });

  test("an SEQ_HE never anchored (a counter-scheme subscriber) is anchored durably at SEQ_HE + 1", () => {
    expect(nextTimeSeq({ seqHe: 77 }, T)).toEqual({
      kind: "ok",
      seq: 78,
      offset: 78 - T,
      unconfirmed: 78,
      rule: "anchor",
      durable: true,
    });
  });

  test("a step built on an unconfirmed durable write is durable too; a confirmation at or above U clears it", () => {
    const pending: TimeSeqState = { seqHe: 4000, offset: off, unconfirmed: 3990 };
    expect(nextTimeSeq(pending, T)).toEqual({
      kind: "ok",
      seq: 5000,
      offset: off,
      unconfirmed: 3990,
      rule: "clock",
      durable: true,
    });
    expect(nextTimeSeq({ ...pending, seqHe: 5000 }, T)).toMatchObject({ seq: 5001, unconfirmed: 3990, durable: true });
    expect(confirmTimeSeq(pending, 3989)).toBe(pending);
    expect(confirmTimeSeq(pending, 3990)).toEqual({ seqHe: 4000, offset: off });
    expect(confirmTimeSeq(pending, 5000)).toEqual({ seqHe: 4000, offset: off });
    expect(nextTimeSeq(confirmTimeSeq(pending, 5000), T)).toMatchObject({ seq: 5000, durable: false });
  });

  test("every step is above SEQ_HE by at most H_c, whatever SEQ_HE, OFF and T are", () => {
    const bad: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const seqHe = Math.floor(Math.random() * 2 ** 40);
      const offset = Math.floor((Math.random() - 0.5) * 2 ** 42);
      const t = Math.floor(Math.random() * 2 ** 41);
      const s = nextTimeSeq({ seqHe, offset }, t);
      if (s.kind === "ok" && (s.seq <= seqHe || s.seq - seqHe > P.maxStep)) bad.push(`${seqHe}/${offset}@${t} → ${s.seq}`);
      // a non-durable step keeps OFF and stays within R of the clock
      if (s.kind === "ok" && !s.durable && (s.offset !== offset || s.seq > offset + t + P.maxAhead))
        bad.push(`${seqHe}/${offset}@${t}: ${s.rule}`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  test("SEQ leaving its 43 bits is exhausted", () => {
    const maxSeq = 2 ** 43 - 1;
    expect(nextTimeSeq({ seqHe: maxSeq, offset: maxSeq - T }, T)).toEqual({ kind: "exhausted" });
  });

  test("parameters that would break the guarantees are refused", () => {
    expect(() => checkTimeSeqParams(P)).not.toThrow();
    expect(() => checkTimeSeqParams({ ...P, maxStep: DEFAULT_DELTA })).toThrow(/below Δ/);
    expect(() => checkTimeSeqParams({ ...P, durableStep: P.maxStep })).toThrow(/must stay below maxStep/);
    expect(() => checkTimeSeqParams({ ...P, tickMs: 0 })).toThrow(/tick/);
    expect(() => checkTimeSeqParams({ ...P, maxAhead: 0 })).toThrow(/maxAhead/);
  });
});

describe("§6.3.5 resynchronisation", () => {
  const state: TimeSeqState = { seqHe: 40_000, offset: 50_000 - T };
  test("SEQ_HE is kept when its next SEQ is above SEQ_MS and within Δ", () => {
    expect(resyncTimeSeq(state, joinSqn(45_000, 3, 5), T)).toEqual({ state, adopted: false });
  });
  test("SEQ_MS is adopted (anchored at T) when the USIM is ahead; the next SEQ is SEQ_MS + 1", () => {
    const r = resyncTimeSeq(state, joinSqn(60_000, 3, 5), T);
    expect(r).toEqual({ state: { seqHe: 60_000, offset: 60_000 - T, unconfirmed: 60_000 }, adopted: true });
    // the step after an adoption is durable: the adopted OFF must survive a failover
    expect(nextTimeSeq(r.state, T)).toMatchObject({ seq: 60_001, durable: true });
  });
  test("SEQ_MS is adopted when the next SEQ would be more than Δ above it", () => {
    expect(resyncTimeSeq({ seqHe: 2 ** 30, offset: 2 ** 30 - T }, joinSqn(2 ** 30 - DEFAULT_DELTA, 0, 5), T)).toMatchObject({
      adopted: true,
    });
  });
});

const base: SimOptions = {
  scheme: "time",
  params: P,
  seed: 1,
  subscribers: 20,
  steps: 3000,
  failoverRate: 0.01,
  failoverMs: [500, 3000],
  skewMs: 150,
  burstRate: 0.05,
  burstSize: 250,
  usimAheadRate: 0.005,
  replicateRate: 0.3,
  maxGapMs: 20,
  t0: T0,
  ind: 1,
};
const SEEDS = Array.from({ length: 25 }, (_, i) => 1000 + i * 7919);

function sum(results: ReturnType<typeof simulate>[]) {
  const total = { lost: 0, injected: 0, bad: 0, rules: {} as Record<string, number>, problem: undefined as string | undefined };
  for (const r of results) {
    total.lost += r.lostWrites;
    total.injected += r.injectedRefusals;
    total.bad += r.staleRefusals + r.reused;
    total.problem ??= r.firstProblem;
    for (const [k, v] of Object.entries(r.rules)) total.rules[k] = (total.rules[k] ?? 0) + v;
  }
  return total;
}

describe("failover losing SEQ_HE writes (simulated)", () => {
  test("no SQN refused, none reused, across 25 histories with lost writes, bursts and clock skew", () => {
    const s = sum(SEEDS.map((seed) => simulate({ ...base, seed })));
    expect(s.bad, s.problem).toBe(0);
    // the histories did lose writes, ran ahead of the clock, rebased and resynchronised
    expect(s.lost).toBeGreaterThan(100);
    expect(s.injected).toBeGreaterThan(10);
    expect(s.rules.increment).toBeGreaterThan(1000);
    expect(s.rules.clock).toBeGreaterThan(1000);
    expect(s.rules.rebase).toBeGreaterThan(100);
  });

  test("with small H_d / H_c: long idle times and outages of minutes, capped steps, still nothing refused or reused", () => {
    const params: TimeSeqParams = { ...P, durableStep: 2 ** 10, maxStep: 2 ** 15 };
    checkTimeSeqParams(params);
    const s = sum(
      SEEDS.slice(0, 15).map((seed) =>
        simulate({ ...base, params, seed, maxGapMs: 400, steps: 4000, failoverMs: [500, 120_000] }),
      ),
    );
    expect(s.bad, s.problem).toBe(0);
    expect(s.rules.idle).toBeGreaterThan(1000);
    expect(s.lost).toBeGreaterThan(100);
  });

  test("hammered subscribers: bursts far beyond one SEQ per tick, rebased durably, nothing refused or reused", () => {
    const s = sum(
      SEEDS.slice(0, 10).map((seed) => simulate({ ...base, seed, subscribers: 3, burstRate: 0.2, burstSize: 700, steps: 400 })),
    );
    expect(s.bad, s.problem).toBe(0);
    expect(s.rules.rebase).toBeGreaterThan(1000);
  });

  test("sparse subscribers and outages longer than H_c: capped idle steps, nothing refused or reused", () => {
    const params: TimeSeqParams = { ...P, durableStep: 2 ** 12, maxStep: 2 ** 15 };
    const runs = SEEDS.slice(0, 20).map((seed) =>
      simulate({
        ...base,
        params,
        seed,
        subscribers: 5,
        maxGapMs: 12_000,
        steps: 1500,
        failoverRate: 0.05,
        failoverMs: [500, 200_000],
      }),
    );
    const s = sum(runs);
    expect(s.bad, s.problem).toBe(0);
    expect(s.rules.idle).toBeGreaterThan(1000);
  });

  test("the counter scheme (SEQ_HE + 1, no clock) fails the same histories: stale or reused SQNs after a failover", () => {
    expect(sum(SEEDS.slice(0, 10).map((seed) => simulate({ ...base, scheme: "counter", seed }))).bad).toBeGreaterThan(0);
  });

  test("the margins matter: a failover faster than R, or a clock skew beyond the margin, breaks it", () => {
    expect(
      sum(SEEDS.slice(0, 20).map((seed) => simulate({ ...base, seed, failoverMs: [0, P.maxAhead / 2], skewMs: 0 }))).bad,
    ).toBeGreaterThan(0);
    expect(
      sum(SEEDS.slice(0, 20).map((seed) => simulate({ ...base, seed, failoverMs: [500, 600], skewMs: 2000 }))).bad,
    ).toBeGreaterThan(0);
  });

  test("durable steps whose WAIT returns late: the steps built on them wait too, nothing refused or reused", () => {
    const params: TimeSeqParams = { ...P, durableStep: 2 ** 10, maxStep: 2 ** 15 };
    const runs = SEEDS.slice(0, 15).map((seed) =>
      simulate({ ...base, params, seed, maxGapMs: 400, steps: 4000, failoverMs: [500, 120_000], slowWaitRate: 0.5 }),
    );
    const s = sum(runs);
    expect(s.bad, s.problem).toBe(0);
    expect(runs.reduce((n, r) => n + r.withheld, 0)).toBeGreaterThan(10);
  });

  test("steps that build on an unconfirmed durable write without waiting themselves break it", () => {
    const params: TimeSeqParams = { ...P, durableStep: 2 ** 10, maxStep: 2 ** 15 };
    const runs = SEEDS.slice(0, 15).map((seed) =>
      simulate({
        ...base,
        params,
        seed,
        maxGapMs: 400,
        steps: 4000,
        failoverMs: [500, 120_000],
        slowWaitRate: 0.5,
        ignoreUnconfirmed: true,
      }),
    );
    expect(sum(runs).bad).toBeGreaterThan(0);
  });

  test("and so do durable steps that are not made durable", () => {
    const params: TimeSeqParams = { ...P, durableStep: 2 ** 10, maxStep: 2 ** 15 };
    const runs = SEEDS.slice(0, 15).map((seed) =>
      simulate({ ...base, params, seed, maxGapMs: 400, steps: 4000, failoverMs: [500, 120_000], ignoreDurable: true }),
    );
    expect(sum(runs).bad).toBeGreaterThan(0);
  });
});

describe("end to end through MILENAGE (TS 35.208 test set 1 keys)", () => {
  test("vectors before and after a lost-write failover pass the USIM's AUTN check; a resync via AUTS recovers", () => {
    const m = new Milenage(hexToBytes("465b5ce8b199b49faa5f0a2ee238a6bc"), hexToBytes("cd63cb71954a9f4e48a5994e37a02baf"));
    const amf = hexToBytes("8000");
    const ind = 1;
    let array = newSqnArray(5);
    let t = T0;
    let primary: TimeSeqState = { seqHe: 0, offset: -clockTicks(T0) };
    let randCounter = 0;
    const rand = () => {
      const r = new Uint8Array(16);
      r[15] = ++randCounter;
      return r;
    };
    const issue = (): Uint8Array => {
      const s = nextTimeSeq(primary, clockTicks(t));
      if (s.kind !== "ok") throw new Error(s.kind);
      primary = { seqHe: s.seq, offset: s.offset };
      return sqnToBytes(joinSqn(s.seq, ind, 5));
    };
    const usim = (sqn: Uint8Array) => {
      const r = rand();
      const av = generateAuthVector(m, r, sqn, amf);
      const out = checkAutn(m, array, r, av.autn);
      array = out.array;
      return { r, result: out.result };
    };
    for (let i = 0; i < 30; i++, t += 3) expect(usim(issue()).result.kind).toBe("success");
    const replicated = primary;
    // 60 vectors in one millisecond (ahead of the clock), all lost with the primary, all used by the USIM
    for (let i = 0; i < 60; i++) expect(usim(issue()).result.kind).toBe("success");
    primary = replicated;
    t += 600;
    for (let i = 0; i < 10; i++) expect(usim(issue()).result.kind).toBe("success");
    // the USIM moves ahead (another HE served it): refused, AUTS, the HE adopts SQN_MS
    array.seq[ind] = Math.floor(highestSqn(array) / 32) + 1000;
    const refused = usim(issue());
    expect(refused.result.kind).toBe("sync-failure");
    if (refused.result.kind !== "sync-failure") return;
    const verdict = verifyAuts(m, refused.r, refused.result.auts);
    expect(verdict.ok).toBe(true);
    expect(buildAuts(m, refused.r, verdict.sqnMs)).toEqual(refused.result.auts);
    const rs = resyncTimeSeq(primary, bytesToSqn(verdict.sqnMs), clockTicks(t));
    expect(rs.adopted).toBe(true);
    primary = rs.state;
    expect(usim(issue()).result.kind).toBe("success");
  });
});
