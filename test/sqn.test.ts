// TS 33.102 §6.3 and Annex C: SQN = SEQ ‖ IND, the HE counter, the USIM array of SEQ_MS(i),
// the Δ and L checks, AUTS with SQN_MS, and the HE resynchronisation rule (§6.3.5).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkAutn, generateAuthVector, verifyAuts } from "../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import {
  acceptSqn,
  bytesToSqn,
  checkFreshness,
  DEFAULT_DELTA,
  type FreshnessPolicy,
  highestSqn,
  joinSqn,
  newSqnArray,
  nextSqn,
  resyncSeqHe,
  SQN_MAX,
  splitSqn,
  sqnToBytes,
  type UsimSqnArray,
} from "../milenage/sqn.js";

// TS 35.208 test set 1 subscriber
const M = new Milenage(hexToBytes("465b5ce8b199b49faa5f0a2ee238a6bc"), hexToBytes("cd63cb71954a9f4e48a5994e37a02baf"));
const AMF = hexToBytes("8000");
let randCounter = 0;
function freshRand(): Uint8Array {
  const r = new Uint8Array(16);
  r[0] = 0xa5;
  r[15] = ++randCounter;
  return r;
}

/** The network side: one AV for `sqn`, as the USIM would receive it. */
function challenge(sqn: number) {
  const rand = freshRand();
  return { rand, av: generateAuthVector(M, rand, sqnToBytes(sqn), AMF) };
}

function copy(arr: UsimSqnArray): UsimSqnArray {
  return { indBits: arr.indBits, seq: arr.seq.slice() };
}

describe("SQN bytes (48-bit big-endian)", () => {
  it("encodes the TS 35.208 set 1 SQN", () => {
    expect(bytesToSqn(hexToBytes("ff9bb4d0b607"))).toBe(0xff9bb4d0b607);
    expect(bytesToHex(sqnToBytes(0xff9bb4d0b607))).toBe("ff9bb4d0b607");
    expect(bytesToHex(sqnToBytes(0))).toBe("000000000000");
    expect(bytesToHex(sqnToBytes(2 ** 48 - 1))).toBe("ffffffffffff");
    expect(bytesToHex(sqnToBytes(0x2a))).toBe("00000000002a");
  });

  it("round-trips every 48-bit value", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: SQN_MAX }), (n) => bytesToSqn(sqnToBytes(n)) === n));
  });

  it.each([-1, 2 ** 48, 1.5, Number.NaN])("refuses %d", (n) => {
    expect(() => sqnToBytes(n)).toThrow(RangeError);
  });

  it("refuses a 5-byte SQN", () => {
    expect(() => bytesToSqn(new Uint8Array(5))).toThrow(/SQN must be 6 bytes/);
  });
});

describe("SEQ ‖ IND split and join (Annex C.1.2, C.3.2)", () => {
  it("splits with the default IND length of 5 bits (a = 32)", () => {
    // 0x2a = 0b1_01010: SEQ 1, IND 10 (the hostapd test-USIM AUTS vector's SQN_MS)
    expect(splitSqn(0x2a)).toEqual({ seq: 1, ind: 10 });
    expect(splitSqn(0x1f)).toEqual({ seq: 0, ind: 31 });
    expect(splitSqn(32)).toEqual({ seq: 1, ind: 0 });
    expect(joinSqn(1, 10)).toBe(42);
    expect(splitSqn(SQN_MAX)).toEqual({ seq: 2 ** 43 - 1, ind: 31 });
  });

  it.each([
    [0, 0x2a, { seq: 0x2a, ind: 0 }],
    [1, 0x2a, { seq: 0x15, ind: 0 }],
    [4, 0x2a, { seq: 2, ind: 10 }],
    [8, 0x1234, { seq: 0x12, ind: 0x34 }],
    [16, 0xabcd1234, { seq: 0xabcd, ind: 0x1234 }],
  ])("splits with IND length %i", (indBits, sqn, expected) => {
    expect(splitSqn(sqn, indBits)).toEqual(expected);
    expect(joinSqn(expected.seq, expected.ind, indBits)).toBe(sqn);
  });

  it("join ∘ split is the identity for every IND length 0..16", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SQN_MAX }), fc.integer({ min: 0, max: 16 }), (sqn, indBits) => {
        const { seq, ind } = splitSqn(sqn, indBits);
        return ind < 2 ** indBits && joinSqn(seq, ind, indBits) === sqn;
      }),
    );
  });

  it("refuses an IND that does not fit, an IND length out of range, and a SEQ that overflows 48 bits", () => {
    expect(() => joinSqn(1, 32)).toThrow(/IND 32 out of 0..31/);
    expect(() => joinSqn(1, -1)).toThrow(RangeError);
    expect(() => splitSqn(5, 17)).toThrow(/IND length 17/);
    expect(() => newSqnArray(-1)).toThrow(RangeError);
    expect(() => joinSqn(2 ** 43, 0)).toThrow(/SEQ .* out of range/);
  });
});

describe("HE side: SQN generation per consumer IND (Annex C.1.1, C.3.2)", () => {
  it("increments SEQ_HE once per vector and puts the consumer's IND in the low bits", () => {
    let seqHe = 0;
    const issued: number[] = [];
    for (const ind of [3, 3, 7, 0, 31]) {
      const next = nextSqn(seqHe, ind);
      issued.push(next.sqn);
      seqHe = next.seqHe;
    }
    expect(issued).toEqual([1 * 32 + 3, 2 * 32 + 3, 3 * 32 + 7, 4 * 32 + 0, 5 * 32 + 31]);
    expect(seqHe).toBe(5);
  });

  it("reproduces libosmocore: after SQN_MS = 31, IND 10 gives 42, 74, 106", () => {
    // libosmocore tests/auth/milenage_test (osmo_auth_gen_vec_auts, ind_bitlen 5, ind 10)
    let seqHe = resyncSeqHe(0, 31);
    const issued: number[] = [];
    for (let i = 0; i < 3; i++) {
      const next = nextSqn(seqHe, 10);
      issued.push(next.sqn);
      seqHe = next.seqHe;
    }
    expect(issued).toEqual([42, 74, 106]);
  });

  it("refuses an IND outside the IND length", () => {
    expect(() => nextSqn(0, 32)).toThrow(RangeError);
    expect(() => nextSqn(0, 4, 2)).toThrow(RangeError);
  });
});

describe("USIM side: the SEQ_MS array (Annex C.2.2) through checkAutn", () => {
  it("a fresh array is all zero with SQN_MS = 0, and an initial SQN lands in its slot", () => {
    expect(newSqnArray()).toEqual({ indBits: 5, seq: new Array(32).fill(0) });
    expect(highestSqn(newSqnArray())).toBe(0);
    const arr = newSqnArray(5, joinSqn(7, 4));
    expect(arr.seq[4]).toBe(7);
    expect(arr.seq.filter((s) => s !== 0)).toEqual([7]);
    expect(highestSqn(arr)).toBe(7 * 32 + 4);
  });

  it("an accepted SQN updates only its own IND slot, and returns RES/CK/IK of the vector", () => {
    const before = newSqnArray();
    const { rand, av } = challenge(joinSqn(5, 3));
    const { result, array } = checkAutn(M, before, rand, av.autn);
    expect(result.kind).toBe("success");
    if (result.kind !== "success") return;
    expect(result.res).toEqual(av.xres);
    expect(result.ck).toEqual(av.ck);
    expect(result.ik).toEqual(av.ik);
    expect(bytesToSqn(result.sqn)).toBe(joinSqn(5, 3));
    expect(result.amf).toEqual(AMF);
    const expected = new Array(32).fill(0);
    expected[3] = 5;
    expect(array.seq).toEqual(expected);
    expect(before.seq).toEqual(new Array(32).fill(0)); // the input array is not mutated
  });

  it("a replayed SQN is a sync failure whose AUTS carries the highest accepted SQN (SEQ ‖ IND)", () => {
    let arr = newSqnArray();
    const first = challenge(joinSqn(9, 2));
    arr = checkAutn(M, arr, first.rand, first.av.autn).array;
    const other = challenge(joinSqn(4, 20));
    arr = checkAutn(M, arr, other.rand, other.av.autn).array;
    const snapshot = copy(arr);

    const replayRand = freshRand();
    const replay = generateAuthVector(M, replayRand, sqnToBytes(joinSqn(4, 20)), AMF);
    const { result, array } = checkAutn(M, arr, replayRand, replay.autn);
    expect(result.kind).toBe("sync-failure");
    if (result.kind !== "sync-failure") return;
    expect(result.reason).toBe("not-newer-than-array");
    // SQN_MS is the highest accepted sequence number anywhere in the array: SEQ 9 in slot 2
    expect(bytesToSqn(result.sqnMs)).toBe(9 * 32 + 2);
    const he = verifyAuts(M, replayRand, result.auts);
    expect(he.ok).toBe(true);
    expect(bytesToSqn(he.sqnMs)).toBe(9 * 32 + 2);
    expect(array).toEqual(snapshot);
  });

  it("a lower SEQ in another IND slot is accepted (the point of the array)", () => {
    let arr = newSqnArray();
    const high = challenge(joinSqn(100, 1));
    arr = checkAutn(M, arr, high.rand, high.av.autn).array;
    const low = challenge(joinSqn(50, 2));
    const { result, array } = checkAutn(M, arr, low.rand, low.av.autn);
    expect(result.kind).toBe("success");
    expect(array.seq[1]).toBe(100);
    expect(array.seq[2]).toBe(50);
    expect(highestSqn(array)).toBe(joinSqn(100, 1));
    // the same lower SEQ in the slot that already holds 100 is not
    const sameSlot = challenge(joinSqn(50, 1));
    expect(checkAutn(M, array, sameSlot.rand, sameSlot.av.autn).result.kind).toBe("sync-failure");
    // equal SEQ in its own slot is a replay
    const equal = challenge(joinSqn(50, 2));
    expect(checkAutn(M, array, equal.rand, equal.av.autn).result.kind).toBe("sync-failure");
  });

  it("with the same highest SEQ in two slots, SQN_MS names the higher IND (the higher SQN)", () => {
    const arr: UsimSqnArray = { indBits: 5, seq: new Array(32).fill(0) };
    arr.seq[3] = 12;
    arr.seq[17] = 12;
    arr.seq[30] = 11;
    expect(highestSqn(arr)).toBe(12 * 32 + 17);
  });

  it("a jump of more than Δ is a sync failure (Annex C.2.1); exactly Δ is accepted", () => {
    const policy = { indBits: 5, delta: 1000 };
    let arr = newSqnArray();
    const start = challenge(joinSqn(10, 0));
    arr = checkAutn(M, arr, start.rand, start.av.autn, policy).array;

    const tooFar = challenge(joinSqn(10 + 1001, 5));
    const far = checkAutn(M, arr, tooFar.rand, tooFar.av.autn, policy);
    expect(far.result).toMatchObject({ kind: "sync-failure", reason: "delta-exceeded" });
    if (far.result.kind === "sync-failure") expect(bytesToSqn(far.result.sqnMs)).toBe(joinSqn(10, 0));
    expect(far.array).toEqual(arr);

    const edge = challenge(joinSqn(10 + 1000, 5));
    expect(checkAutn(M, arr, edge.rand, edge.av.autn, policy).result.kind).toBe("success");
  });

  it("the default Δ is 2^28 (Annex C.2.1 example)", () => {
    expect(DEFAULT_DELTA).toBe(2 ** 28);
    const arr = newSqnArray();
    expect(checkFreshness(arr, joinSqn(2 ** 28, 0)).fresh).toBe(true);
    expect(checkFreshness(arr, joinSqn(2 ** 28 + 1, 0))).toEqual({ fresh: false, reason: "delta-exceeded" });
  });

  it("the age limit L refuses SEQ_MS − SEQ ≥ L even in an unused slot (Annex C.2.2)", () => {
    const policy = { indBits: 5, ageLimit: 10 };
    let arr = newSqnArray();
    const top = challenge(joinSqn(50, 0));
    arr = checkAutn(M, arr, top.rand, top.av.autn, policy).array;
    const old = challenge(joinSqn(40, 7)); // 50 − 40 = 10 ≥ L
    expect(checkAutn(M, arr, old.rand, old.av.autn, policy).result).toMatchObject({ kind: "sync-failure", reason: "age-limit" });
    const young = challenge(joinSqn(41, 7)); // 9 < L
    expect(checkAutn(M, arr, young.rand, young.av.autn, policy).result.kind).toBe("success");
    // without L the old one is fine
    expect(checkAutn(M, arr, old.rand, old.av.autn, { indBits: 5 }).result.kind).toBe("success");
  });

  it("a MAC failure leaves the array untouched and yields no AUTS", () => {
    let arr = newSqnArray();
    const ok = challenge(joinSqn(3, 3));
    arr = checkAutn(M, arr, ok.rand, ok.av.autn).array;
    const snapshot = copy(arr);
    const { rand, av } = challenge(joinSqn(4, 3));
    av.autn[15] ^= 0x01;
    const { result, array } = checkAutn(M, arr, rand, av.autn);
    expect(result).toEqual({ kind: "mac-failure" });
    expect(array).toEqual(snapshot);
    // a stale SQN with a bad MAC is still a MAC failure, not a sync failure (MAC is checked first)
    const stale = challenge(joinSqn(3, 3));
    stale.av.autn[8] ^= 0x80;
    expect(checkAutn(M, arr, stale.rand, stale.av.autn).result.kind).toBe("mac-failure");
  });

  it("acceptSqn copies; checkFreshness is pure", () => {
    const arr = newSqnArray();
    const next = acceptSqn(arr, joinSqn(2, 2));
    expect(arr.seq[2]).toBe(0);
    expect(next.seq[2]).toBe(2);
    checkFreshness(next, joinSqn(3, 2));
    expect(next.seq[2]).toBe(2);
  });

  it("works with other IND lengths (indBits 0 is a plain counter)", () => {
    let plain = newSqnArray(0);
    expect(plain.seq.length).toBe(1);
    for (const sqn of [1, 2, 5]) {
      const c = challenge(sqn);
      const r = checkAutn(M, plain, c.rand, c.av.autn);
      expect(r.result.kind).toBe("success");
      plain = r.array;
    }
    const back = challenge(4);
    const failed = checkAutn(M, plain, back.rand, back.av.autn).result;
    expect(failed.kind).toBe("sync-failure");
    if (failed.kind === "sync-failure") expect(bytesToSqn(failed.sqnMs)).toBe(5);

    let wide = newSqnArray(8);
    const a = challenge(joinSqn(9, 200, 8));
    wide = checkAutn(M, wide, a.rand, a.av.autn).array;
    expect(wide.seq[200]).toBe(9);
    const b = challenge(joinSqn(2, 7, 8));
    expect(checkAutn(M, wide, b.rand, b.av.autn).result.kind).toBe("success");
  });
});

describe("HE resynchronisation (TS 33.102 §6.3.5)", () => {
  it("HE behind the USIM: resets SQN_HE to SQN_MS, so the next vector is SEQ_MS + 1", () => {
    expect(resyncSeqHe(3, joinSqn(9, 2))).toBe(9);
    expect(nextSqn(resyncSeqHe(3, joinSqn(9, 2)), 4).sqn).toBe(joinSqn(10, 4));
    // SEQ_HE = SEQ_MS: the next SEQ would be SEQ_MS + 1, acceptable, keep
    expect(resyncSeqHe(9, joinSqn(9, 2))).toBe(9);
  });

  it("HE ahead within Δ: keeps SQN_HE (its next SQN would be accepted)", () => {
    expect(resyncSeqHe(500, joinSqn(9, 2))).toBe(500);
    expect(resyncSeqHe(9 + DEFAULT_DELTA - 1, joinSqn(9, 2))).toBe(9 + DEFAULT_DELTA - 1);
  });

  it("HE ahead by more than Δ: resets to SQN_MS (its next SQN would be refused forever otherwise)", () => {
    expect(resyncSeqHe(9 + DEFAULT_DELTA, joinSqn(9, 2))).toBe(9);
    expect(resyncSeqHe(1000, joinSqn(9, 2), 5, 100)).toBe(9);
    // SEQ_HE 108 → next 109 = SEQ_MS + Δ: accepted, keep; 109 → next 110: refused, reset
    expect(resyncSeqHe(108, joinSqn(9, 2), 5, 100)).toBe(108);
    expect(resyncSeqHe(109, joinSqn(9, 2), 5, 100)).toBe(9);
  });

  it.each<[string, number, FreshnessPolicy]>([
    ["HE behind", 2, { indBits: 5 }],
    ["HE too far ahead", 5000, { indBits: 5, delta: 1000 }],
  ])("full loop, %s: sync failure → AUTS → HE resync → the next vector is accepted", (_, seqHeStart, policy) => {
    let usim = newSqnArray();
    for (const sqn of [joinSqn(20, 1), joinSqn(25, 6)]) {
      const c = challenge(sqn);
      usim = checkAutn(M, usim, c.rand, c.av.autn, policy).array;
    }
    let seqHe = seqHeStart;
    const first = nextSqn(seqHe, 6);
    seqHe = first.seqHe;
    const c1 = challenge(first.sqn);
    const fail = checkAutn(M, usim, c1.rand, c1.av.autn, policy);
    expect(fail.result.kind).toBe("sync-failure");
    if (fail.result.kind !== "sync-failure") return;

    const verdict = verifyAuts(M, c1.rand, fail.result.auts);
    expect(verdict.ok).toBe(true);
    seqHe = resyncSeqHe(seqHe, bytesToSqn(verdict.sqnMs), 5, policy.delta ?? DEFAULT_DELTA);
    expect(seqHe).toBe(25);
    const retry = nextSqn(seqHe, 6);
    expect(retry.sqn).toBe(joinSqn(26, 6));
    const c2 = challenge(retry.sqn);
    const ok = checkAutn(M, fail.array, c2.rand, c2.av.autn, policy);
    expect(ok.result.kind).toBe("success");
    expect(ok.array.seq[6]).toBe(26);
  });
});
