// Cross-check against an independent implementation: libosmocore's osmo-auc-gen. Random
// subscribers from a pinned seed (printed; override with MILENAGE_OSMO_SEED). osmo-auc-gen has
// no USIM side (it cannot make an AUTS), so resynchronisation is checked both ways as
// network ↔ USIM: our AUTS resolved by osmo-auc-gen, and osmo-auc-gen's AUTN (including the
// vector it issues after our AUTS) run through our USIM. A missing tool fails the test.
import { availableParallelism } from "node:os";
import { beforeAll, describe, expect, it } from "vitest";
import { buildAuts, checkAutn, generateAuthVector, verifyAuts } from "../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { bytesToSqn, joinSqn, newSqnArray, nextSqn, resyncSeqHe, SQN_MAX, sqnToBytes } from "../milenage/sqn.js";
import { mapLimit, OSMO_AUC_GEN, type OsmoInput, runOsmoAucGen } from "./helpers/osmo.js";

const SEED = Number(process.env.MILENAGE_OSMO_SEED ?? 0x6d696c65);
const RANDOM_VECTORS = 1000;
const RESYNC_CASES = 64;
const PARALLEL = Math.max(4, availableParallelism() * 4);

/** mulberry32: small seeded PRNG, enough to spread test inputs. */
function prng(seed: number) {
  let a = seed >>> 0;
  const u32 = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    hex: (bytes: number) => Array.from({ length: bytes }, () => (u32() & 0xff).toString(16).padStart(2, "0")).join(""),
    int: (n: number) => u32() % n,
    /** uniform-ish 0..max (max ≤ 2^48) */
    upTo: (max: number) => ((u32() & 0xffff) * 2 ** 32 + u32()) % (max + 1),
    bit: () => (u32() & 1) === 1,
  };
}

interface Subscriber {
  k: string;
  op?: string;
  opc?: string;
  milenage: Milenage;
}

function subscriber(r: ReturnType<typeof prng>): Subscriber {
  const k = r.hex(16);
  if (r.bit()) {
    const op = r.hex(16);
    return { k, op, milenage: Milenage.fromOp(hexToBytes(k), hexToBytes(op)) };
  }
  const opc = r.hex(16);
  return { k, opc, milenage: new Milenage(hexToBytes(k), hexToBytes(opc)) };
}

const keyArgs = (s: Subscriber): Pick<OsmoInput, "k" | "op" | "opc"> => ({ k: s.k, op: s.op, opc: s.opc });

beforeAll(async () => {
  console.log(`osmo-auc-gen cross-check: seed ${SEED} (0x${SEED.toString(16)}), ${PARALLEL} processes in parallel`);
  // The tool must be there and must give the published TS 35.207 vector for exactly this SQN.
  const out = await runOsmoAucGen({
    k: "0396eb317b6d1c36f19c1c84cd6ffd16",
    opc: "53c15671c60a4b731c55b4a441c0bde2",
    rand: "c00d603103dcee52c4478119494202e8",
    sqn: 0xfd8eef40df7d,
    amf: "af17",
  });
  expect(out.code, `${OSMO_AUC_GEN} failed: ${out.stderr}`).toBe(0);
  expect(out.fields.AUTN).toBe("39f96cd9800faf175df5b31807e258b0");
});

describe(`MILENAGE vs ${OSMO_AUC_GEN}`, () => {
  it(`${RANDOM_VECTORS} random (K, OP or OPc, RAND, SQN, AMF): AUTN, RES, CK, IK agree`, async () => {
    const r = prng(SEED);
    const edgeSqns = [0, 1, 31, 32, 33, 2 ** 32, SQN_MAX - 32, SQN_MAX];
    const cases = Array.from({ length: RANDOM_VECTORS }, (_, i) => ({
      sub: subscriber(r),
      rand: r.hex(16),
      sqn: i < edgeSqns.length ? edgeSqns[i] : r.upTo(SQN_MAX),
      amf: r.hex(2),
    }));
    expect(cases.filter((c) => c.sub.op !== undefined).length).toBeGreaterThan(RANDOM_VECTORS / 4);
    expect(cases.filter((c) => c.sub.opc !== undefined).length).toBeGreaterThan(RANDOM_VECTORS / 4);

    const results = await mapLimit(cases, PARALLEL, (c) =>
      runOsmoAucGen({ ...keyArgs(c.sub), rand: c.rand, sqn: c.sqn, amf: c.amf }),
    );
    const mismatches: string[] = [];
    cases.forEach((c, i) => {
      const osmo = results[i];
      const av = generateAuthVector(c.sub.milenage, hexToBytes(c.rand), sqnToBytes(c.sqn), hexToBytes(c.amf));
      const ours = {
        SQN: String(c.sqn),
        AUTN: bytesToHex(av.autn),
        RES: bytesToHex(av.xres),
        CK: bytesToHex(av.ck),
        IK: bytesToHex(av.ik),
      };
      const theirs = {
        SQN: osmo.fields.SQN,
        AUTN: osmo.fields.AUTN,
        RES: osmo.fields.RES,
        CK: osmo.fields.CK,
        IK: osmo.fields.IK,
      };
      if (osmo.code !== 0 || JSON.stringify(ours) !== JSON.stringify(theirs)) {
        mismatches.push(
          `case ${i} (sqn ${c.sqn}, ${c.sub.op ? "OP" : "OPc"}): ours ${JSON.stringify(ours)} osmo ${JSON.stringify(theirs)} rc ${osmo.code}`,
        );
      }
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it(`${RESYNC_CASES} AUTS built by us: osmo-auc-gen recovers our SQN_MS and issues SEQ_MS+1 ‖ IND as our HE rule does`, async () => {
    const r = prng(SEED ^ 0x5a5a5a5a);
    const cases = Array.from({ length: RESYNC_CASES }, () => ({
      sub: subscriber(r),
      rand: r.hex(16),
      // SEQ_MS + 1 must still fit in 48 bits
      sqnMs: joinSqn(r.upTo(2 ** 43 - 2), r.int(32)),
      ind: r.int(32),
      amf: r.hex(2),
    }));
    const results = await mapLimit(cases, PARALLEL, (c) => {
      const auts = buildAuts(c.sub.milenage, hexToBytes(c.rand), sqnToBytes(c.sqnMs));
      return runOsmoAucGen({ ...keyArgs(c.sub), rand: c.rand, amf: c.amf, auts: bytesToHex(auts), ind: c.ind });
    });
    cases.forEach((c, i) => {
      const osmo = results[i];
      expect(osmo.code, osmo.stderr).toBe(0);
      expect(osmo.fields["SQN.MS"], `case ${i}`).toBe(String(c.sqnMs));
      // libosmocore resets SQN_HE to SQN_MS unconditionally; our rule does the same for an HE at 0
      const next = nextSqn(resyncSeqHe(0, c.sqnMs), c.ind).sqn;
      expect(osmo.fields.SQN, `case ${i}`).toBe(String(next));
      const av = generateAuthVector(c.sub.milenage, hexToBytes(c.rand), sqnToBytes(next), hexToBytes(c.amf));
      expect(osmo.fields.AUTN, `case ${i}`).toBe(bytesToHex(av.autn));
    });
  });

  it("a tampered AUTS is refused by osmo-auc-gen and by verifyAuts alike", async () => {
    const r = prng(SEED ^ 0x0f0f0f0f);
    const cases = Array.from({ length: 16 }, (_, i) => {
      const sub = subscriber(r);
      const rand = r.hex(16);
      const auts = buildAuts(sub.milenage, hexToBytes(rand), sqnToBytes(joinSqn(r.upTo(2 ** 40), r.int(32))));
      auts[i < 8 ? 6 + (i % 8) : i % 6] ^= 1 << (i % 8); // MAC-S byte, or the concealed SQN_MS
      return { sub, rand, auts };
    });
    const results = await mapLimit(cases, PARALLEL, (c) =>
      runOsmoAucGen({ ...keyArgs(c.sub), rand: c.rand, auts: bytesToHex(c.auts) }),
    );
    cases.forEach((c, i) => {
      expect(results[i].code, `case ${i}`).not.toBe(0);
      expect(results[i].stderr).toMatch(/AUTS from MS seems incorrect/);
      expect(verifyAuts(c.sub.milenage, hexToBytes(c.rand), c.auts).ok, `case ${i}`).toBe(false);
    });
  });

  it(`${RESYNC_CASES} runs of osmo-auc-gen as network and our USIM: accept, replay → AUTS → resync → accept`, async () => {
    const r = prng(SEED ^ 0x3c3c3c3c);
    const cases = Array.from({ length: RESYNC_CASES }, () => {
      const indBits = 5;
      const usim = newSqnArray(indBits);
      for (let n = 1 + r.int(4); n > 0; n--) usim.seq[r.int(32)] = 1 + r.upTo(2 ** 30);
      const slot = r.int(32);
      return {
        sub: subscriber(r),
        usim,
        amf: r.hex(2),
        randFresh: r.hex(16),
        randReplay: r.hex(16),
        // fresh: one above the slot's SEQ_MS (and within Δ of the highest); replay: the slot's own SEQ_MS
        fresh: joinSqn(usim.seq[slot] + 1, slot),
        replay: joinSqn(Math.max(usim.seq[slot], 1), slot),
        ind: r.int(32),
      };
    });

    await mapLimit(cases, PARALLEL, async (c, i) => {
      const m = c.sub.milenage;
      // 1. a fresh AUTN from osmo-auc-gen is accepted by our USIM with the same RES, CK, IK
      const fresh = await runOsmoAucGen({ ...keyArgs(c.sub), rand: c.randFresh, sqn: c.fresh, amf: c.amf });
      expect(fresh.code, fresh.stderr).toBe(0);
      const accepted = checkAutn(m, c.usim, hexToBytes(c.randFresh), hexToBytes(fresh.fields.AUTN));
      expect(accepted.result.kind, `case ${i} fresh`).toBe("success");
      if (accepted.result.kind !== "success") return;
      expect(bytesToHex(accepted.result.res)).toBe(fresh.fields.RES);
      expect(bytesToHex(accepted.result.ck)).toBe(fresh.fields.CK);
      expect(bytesToHex(accepted.result.ik)).toBe(fresh.fields.IK);
      const usim = accepted.array;

      // 2. a replayed SQN is a sync failure; osmo-auc-gen resolves our AUTS to our highest accepted SQN
      const replay = await runOsmoAucGen({ ...keyArgs(c.sub), rand: c.randReplay, sqn: c.replay, amf: c.amf });
      const failed = checkAutn(m, usim, hexToBytes(c.randReplay), hexToBytes(replay.fields.AUTN));
      expect(failed.result.kind, `case ${i} replay`).toBe("sync-failure");
      if (failed.result.kind !== "sync-failure") return;
      const resync = await runOsmoAucGen({
        ...keyArgs(c.sub),
        rand: c.randReplay,
        amf: c.amf,
        auts: bytesToHex(failed.result.auts),
        ind: c.ind,
      });
      expect(resync.code, resync.stderr).toBe(0);
      expect(resync.fields["SQN.MS"]).toBe(String(bytesToSqn(failed.result.sqnMs)));
      expect(bytesToHex(verifyAuts(m, hexToBytes(c.randReplay), failed.result.auts).sqnMs)).toBe(bytesToHex(failed.result.sqnMs));

      // 3. the vector osmo-auc-gen issues after the resync is accepted by our USIM
      const after = checkAutn(m, failed.array, hexToBytes(c.randReplay), hexToBytes(resync.fields.AUTN));
      expect(after.result.kind, `case ${i} after resync`).toBe("success");
      if (after.result.kind === "success") expect(bytesToHex(after.result.res)).toBe(resync.fields.RES);
    });
  });
});
