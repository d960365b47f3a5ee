// Published MILENAGE vectors (TS 35.207 / 35.208 / 55.205, libosmocore, hostapd) as data in
// test/vectors/milenage-test-sets.json. Each vector is run whole (one call producing
// everything) and piecewise (one function at a time), with OP and with OPc input, on both
// AES backends.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type AesBackend, buildAuts, generateAuthVector, verifyAuts } from "../milenage/index.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { computeOpc, Milenage } from "../milenage/milenage.js";

type Vector = Record<string, string | number | undefined> & { kind: string };
const vectors = JSON.parse(readFileSync(new URL("./vectors/milenage-test-sets.json", import.meta.url), "utf8")) as Vector[];
const ofKind = (kind: string) => vectors.filter((v) => v.kind === kind);
const h = (v: Vector, field: string) => hexToBytes(String(v[field]), field);
const label = (v: Vector) => String(v.test_set ?? v.name);

const BACKENDS: AesBackend[] = ["noble", "node"];

describe("vector file", () => {
  it("holds every kind the tests below expect", () => {
    expect(ofKind("milenage").length).toBe(21);
    expect(ofKind("gsm-milenage").length).toBe(19);
    expect(ofKind("milenage-aux").length).toBe(2);
    expect(ofKind("auts").length).toBe(3);
  });
});

describe.each(BACKENDS)("TS 35.208 / 35.207 MILENAGE vectors, AES backend %s", (aes) => {
  const milenage = ofKind("milenage");

  it.each(milenage.map((v) => [label(v), v] as const))("set %s: OPc from OP", (_, v) => {
    expect(bytesToHex(computeOpc(h(v, "K"), h(v, "OP"), aes))).toBe(v.OPc);
  });

  for (const input of ["OP", "OPc"] as const) {
    const make = (v: Vector) =>
      input === "OP" ? Milenage.fromOp(h(v, "K"), h(v, "OP"), { aes }) : new Milenage(h(v, "K"), h(v, "OPc"), { aes });

    it.each(milenage.map((v) => [label(v), v] as const))(`set %s from ${input}: piecewise`, (_, v) => {
      const m = make(v);
      const rand = h(v, "RAND");
      expect(bytesToHex(m.opc)).toBe(v.OPc);
      expect(bytesToHex(m.f1(rand, h(v, "SQN"), h(v, "AMF")))).toBe(v.f1);
      expect(bytesToHex(m.f1star(rand, h(v, "SQN"), h(v, "AMF")))).toBe(v.f1star);
      const f = m.f2345(rand);
      expect(bytesToHex(f.res)).toBe(v.f2);
      expect(bytesToHex(f.ck)).toBe(v.f3);
      expect(bytesToHex(f.ik)).toBe(v.f4);
      expect(bytesToHex(f.ak)).toBe(v.f5);
      expect(bytesToHex(m.f5(rand))).toBe(v.f5);
      expect(bytesToHex(m.f5star(rand))).toBe(v.f5star);
    });

    it.each(milenage.map((v) => [label(v), v] as const))(`set %s from ${input}: whole`, (_, v) => {
      const m = make(v);
      const all = m.vector(h(v, "RAND"), h(v, "SQN"), h(v, "AMF"));
      expect(bytesToHex(all.macA)).toBe(v.f1);
      expect(bytesToHex(all.macS)).toBe(v.f1star);
      expect(bytesToHex(all.res)).toBe(v.f2);
      expect(bytesToHex(all.ck)).toBe(v.f3);
      expect(bytesToHex(all.ik)).toBe(v.f4);
      expect(bytesToHex(all.ak)).toBe(v.f5);
      const av = generateAuthVector(m, h(v, "RAND"), h(v, "SQN"), h(v, "AMF"));
      expect(bytesToHex(av.rand)).toBe(v.RAND);
      expect(bytesToHex(av.xres)).toBe(v.f2);
      expect(bytesToHex(av.ck)).toBe(v.f3);
      expect(bytesToHex(av.ik)).toBe(v.f4);
      // AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A (TS 33.102 §6.3.2); compared with the published AUTN where given
      const sqnXorAk = (BigInt(`0x${v.SQN}`) ^ BigInt(`0x${v.f5}`)).toString(16).padStart(12, "0");
      expect(bytesToHex(av.autn)).toBe(`${sqnXorAk}${v.AMF}${v.f1}`);
      if (v.AUTN !== undefined) expect(bytesToHex(av.autn)).toBe(v.AUTN);
      const resync = m.resync(h(v, "RAND"), h(v, "SQN"));
      expect(bytesToHex(resync.akStar)).toBe(v.f5star);
    });
  }

  it("set 35.207-2 carries a published AUTN (so the AUTN comparison above ran on real data)", () => {
    expect(milenage.filter((v) => v.AUTN !== undefined).length).toBeGreaterThanOrEqual(1);
  });
});

describe.each(BACKENDS)("TS 55.205 GSM-MILENAGE vectors (SRES/Kc derived from f2..f4), AES backend %s", (aes) => {
  // TS 55.205 §4: SRES = RES[0..31] ⊕ RES[32..63] (SRES1; SRES2 is RES[0..31]), Kc = CK1 ⊕ CK2 ⊕ IK1 ⊕ IK2
  it.each(ofKind("gsm-milenage").map((v) => [label(v), v] as const))("set %s", (_, v) => {
    const { res, ck, ik } = new Milenage(h(v, "K"), h(v, "OPc"), { aes }).f2345(h(v, "RAND"));
    const sres1 = res.slice(0, 4).map((b, i) => b ^ res[i + 4]);
    const kc = ck.slice(0, 8).map((b, i) => b ^ ck[i + 8] ^ ik[i] ^ ik[i + 8]);
    expect(bytesToHex(sres1)).toBe(v.SRES1);
    expect(bytesToHex(res.slice(0, 4))).toBe(v.SRES2);
    expect(bytesToHex(kc)).toBe(v.Kc);
  });
});

describe.each(BACKENDS)("libosmocore milenage_test vectors, AES backend %s", (aes) => {
  const [opcFromZeroOp, fullAv] = ofKind("milenage-aux");

  it(String(opcFromZeroOp.name), () => {
    expect(bytesToHex(computeOpc(h(opcFromZeroOp, "K"), h(opcFromZeroOp, "OP"), aes))).toBe(opcFromZeroOp.OPc);
  });

  it(String(fullAv.name), () => {
    const m = new Milenage(h(fullAv, "K"), h(fullAv, "OPc"), { aes });
    const av = generateAuthVector(m, h(fullAv, "RAND"), h(fullAv, "SQN"), h(fullAv, "AMF"));
    expect(bytesToHex(av.autn)).toBe(fullAv.AUTN);
    expect(bytesToHex(av.xres)).toBe(fullAv.f2);
    expect(bytesToHex(av.ck)).toBe(fullAv.f3);
    expect(bytesToHex(av.ik)).toBe(fullAv.f4);
    const piece = m.f2345(h(fullAv, "RAND"));
    expect(bytesToHex(piece.res)).toBe(fullAv.f2);
    expect(bytesToHex(piece.ck)).toBe(fullAv.f3);
    expect(bytesToHex(piece.ik)).toBe(fullAv.f4);
  });
});

describe.each(BACKENDS)("AUTS vectors (TS 33.102 §6.3.3, AMF* = 0000), AES backend %s", (aes) => {
  const auts = ofKind("auts");

  it("every vector uses the dummy AMF 0000 for MAC-S", () => {
    for (const v of auts) expect(v.AMF_for_MAC_S).toBe("0000");
  });

  it.each(auts.map((v) => [label(v), v] as const))("%s: buildAuts", (_, v) => {
    const m = new Milenage(h(v, "K"), h(v, "OPc"), { aes });
    expect(bytesToHex(buildAuts(m, h(v, "RAND"), h(v, "SQN_MS")))).toBe(v.AUTS);
  });

  it.each(auts.map((v) => [label(v), v] as const))("%s: verifyAuts recovers SQN_MS", (_, v) => {
    const m = new Milenage(h(v, "K"), h(v, "OPc"), { aes });
    const verdict = verifyAuts(m, h(v, "RAND"), h(v, "AUTS"));
    expect(verdict.ok).toBe(true);
    expect(bytesToHex(verdict.sqnMs)).toBe(v.SQN_MS);
  });

  it.each(auts.map((v) => [label(v), v] as const))("%s: verifyAuts refuses a flipped MAC-S bit and a wrong RAND", (_, v) => {
    const m = new Milenage(h(v, "K"), h(v, "OPc"), { aes });
    const tampered = h(v, "AUTS");
    tampered[13] ^= 0x01;
    expect(verifyAuts(m, h(v, "RAND"), tampered)).toMatchObject({ ok: false, reason: "MAC_S_FAILURE" });
    const otherRand = h(v, "RAND");
    otherRand[0] ^= 0x80;
    expect(verifyAuts(m, otherRand, h(v, "AUTS")).ok).toBe(false);
  });
});
