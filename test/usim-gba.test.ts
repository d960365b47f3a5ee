// GBA_U on the simulated USIM (TS 33.220 Annex G, TS 31.102 §7.1.2 GBA context) and the
// USIM side of AKA resynchronisation (TS 33.102 §6.3.3, Annex C).
import { describe, expect, it } from "vitest";
import { toAutnStar } from "../gba/gba-u.js";
import { deriveKsExtNaf, deriveKsIntNaf, ksFromCkIk, nafId } from "../gba/keys.js";
import { generateAuthVector, verifyAuts } from "../milenage/aka.js";
import { bytesToHex, concatBytes, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { joinSqn, sqnToBytes } from "../milenage/sqn.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { newUsimState } from "../ue/usim/usim-state.js";

const h = (s: string) => hexToBytes(s.replace(/ /g, ""));
const hex = bytesToHex;
const K = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC = "cd63cb71954a9f4e48a5994e37a02baf";
const AMF = h("8000");
const SELECT_USIM = "00a4040c07a0000000871002";
const m = new Milenage(h(K), h(OPC));

function card(opts: { autnStar?: boolean; sqn?: number } = {}): SimulatedUsim {
  return new SimulatedUsim(
    newUsimState({ k: h(K), opc: h(OPC), imsi: "001010123456789", gbaU: true, autnStar: opts.autnStar, sqn: opts.sqn }),
  );
}

async function tx(c: SimulatedUsim, apdu: string | Uint8Array): Promise<string> {
  return hex(await c.transmit(typeof apdu === "string" ? h(apdu) : apdu));
}

const lv = (b: Uint8Array) => concatBytes(Uint8Array.of(b.length), b);
const bootstrapApdu = (rand: Uint8Array, autn: Uint8Array) =>
  concatBytes(h("0088008423dd"), lv(rand), lv(autn), Uint8Array.of(0));
const nafApdu = (naf: Uint8Array, impi: string) => {
  const body = concatBytes(Uint8Array.of(0xde), lv(naf), lv(new TextEncoder().encode(impi)));
  return concatBytes(h("00880084"), Uint8Array.of(body.length), body, Uint8Array.of(0));
};
const auth3gApdu = (rand: Uint8Array, autn: Uint8Array) => concatBytes(h("0088008122"), lv(rand), lv(autn), Uint8Array.of(0));
const sqn = (seq: number, ind = 0) => sqnToBytes(joinSqn(seq, ind));

describe("GBA_U with the computed example of gba-digest §2.8 / §12 (TS 35.208 test set 1)", () => {
  // Values from the digest (three independent codings), not from this code
  const RAND = h("23553cbe9637a89d218ae64dae47bf35");
  const AUTN_STAR = h("55f328b43577b9b98c7f3f0d723fb244");
  const IMPI = "001010123456789@ims.mnc001.mcc001.3gppnetwork.org";
  const NAF_ID = concatBytes(new TextEncoder().encode("naf.example.com"), h("0100000002"));
  const BTID = "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org";

  it("bootstraps, derives Ks_ext_NAF, keeps Ks_int_NAF and lists the NAF", async () => {
    const c = card({ sqn: 0xff9bb4d0b607 - 32 });
    await tx(c, SELECT_USIM);
    expect(await tx(c, bootstrapApdu(RAND, AUTN_STAR))).toBe("db08a54211d5e3ba50bf9000");
    await tx(c, "00a4000c026fd6");
    expect(await tx(c, "00b0000014")).toBe(`10${hex(RAND)}0000ff9000`); // TS 31.102 §4.2.79: RAND, empty B-TID, lifetime
    const btid = new TextEncoder().encode(BTID);
    // the ME writes B-TID and (here empty) lifetime after the card's RAND
    expect(await tx(c, concatBytes(h("00d60011"), Uint8Array.of(btid.length + 2), lv(btid), h("00")))).toBe("9000");
    expect(await tx(c, nafApdu(NAF_ID, IMPI))).toBe("db20ae9ecc3c7c17692c1d44d6d68d53a3b1624a706039753ba991e8293f3cfdec089000");
    expect(hex(c.debugKsIntNaf(NAF_ID)!)).toBe("0a1506dc49027e4932c767f73fde7d306ef97e37d805539f71182bb6c1b69fd2");
    await tx(c, "00a4000c026fda");
    const record = `8014${hex(NAF_ID)}813e${hex(btid)}`;
    expect(await tx(c, "00b2010400")).toBe(`${record}${"ff".repeat(255 - record.length / 2)}9000`);
  });
});

describe("GBA_U bootstrapping and NAF derivation against gba/ and milenage/", () => {
  const impi = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org";
  const naf = nafId("naf.example.net", h("010001002f"));

  it("checks AUTN* (toAutnStar), stores Ks = CK ‖ IK, derives both NAF keys", async () => {
    const c = card();
    const rand = h("000102030405060708090a0b0c0d0e0f");
    const av = generateAuthVector(m, rand, sqn(7, 2), AMF);
    await tx(c, SELECT_USIM);
    expect(await tx(c, bootstrapApdu(rand, toAutnStar(av.autn, av.ik)))).toBe(`db08${hex(av.xres)}9000`);
    const ks = ksFromCkIk(av.ck, av.ik);
    expect(await tx(c, nafApdu(naf, impi))).toBe(`db20${hex(deriveKsExtNaf(ks, rand, impi, naf))}9000`);
    expect(hex(c.debugKsIntNaf(naf)!)).toBe(hex(deriveKsIntNaf(ks, rand, impi, naf)));
    expect(c.debugState().sqn.seq[2]).toBe(7);
  });

  it("takes plain AUTN when the card is made with autnStar off, and then rejects AUTN*", async () => {
    const c = card({ autnStar: false });
    await tx(c, SELECT_USIM);
    const a = generateAuthVector(m, h("11".repeat(16)), sqn(1), AMF);
    expect(await tx(c, bootstrapApdu(a.rand, a.autn))).toBe(`db08${hex(a.xres)}9000`);
    const b = generateAuthVector(m, h("12".repeat(16)), sqn(2), AMF);
    expect(await tx(c, bootstrapApdu(b.rand, toAutnStar(b.autn, b.ik)))).toBe("9862");
  });

  it("leaves SQN array and Ks untouched on a MAC failure", async () => {
    const c = card();
    await tx(c, SELECT_USIM);
    const a = generateAuthVector(m, h("21".repeat(16)), sqn(5), AMF);
    expect(await tx(c, bootstrapApdu(a.rand, a.autn))).toBe("9862"); // plain AUTN where AUTN* is due
    expect(c.debugState().sqn.seq.every((s) => s === 0)).toBe(true);
    expect(c.debugState().gbaUKeys).toBeNull();
    expect(await tx(c, nafApdu(naf, impi))).toBe("6985");
  });

  it("answers a stale GBA challenge with DC 0E AUTS carrying SQN_MS (TS 33.102 §6.3.3)", async () => {
    const c = card();
    await tx(c, SELECT_USIM);
    const a = generateAuthVector(m, h("31".repeat(16)), sqn(9, 4), AMF);
    await tx(c, bootstrapApdu(a.rand, toAutnStar(a.autn, a.ik)));
    const b = generateAuthVector(m, h("32".repeat(16)), sqn(9, 4), AMF); // same SEQ, same IND
    const r = await tx(c, bootstrapApdu(b.rand, toAutnStar(b.autn, b.ik)));
    expect(r).toMatch(/^dc0e[0-9a-f]{28}9000$/);
    const v = verifyAuts(m, b.rand, h(r.slice(4, 32)));
    expect(v).toEqual({ ok: true, sqnMs: sqn(9, 4) });
    expect(hex(c.debugState().gbaUKeys!.rand)).toBe(hex(a.rand)); // Ks of the first run kept
  });

  it("replaces Ks and RAND with a new bootstrapping", async () => {
    const c = card();
    await tx(c, SELECT_USIM);
    for (const [i, r] of ["41", "42"].entries()) {
      const av = generateAuthVector(m, h(r.repeat(16)), sqn(20 + i), AMF);
      await tx(c, bootstrapApdu(av.rand, toAutnStar(av.autn, av.ik)));
      const ks = ksFromCkIk(av.ck, av.ik);
      expect(await tx(c, nafApdu(naf, impi))).toBe(`db20${hex(deriveKsExtNaf(ks, av.rand, impi, naf))}9000`);
    }
  });

  it("replaces the least recently used EF_GBANL record and never duplicates a NAF", async () => {
    const c = card();
    await tx(c, SELECT_USIM);
    const av = generateAuthVector(m, h("51".repeat(16)), sqn(3), AMF);
    await tx(c, bootstrapApdu(av.rand, toAutnStar(av.autn, av.ik)));
    const id = (n: number) => nafId(`n${n}.example`, h("0100000002"));
    for (const n of [1, 2, 3, 4, 5, 1, 6, 3, 7]) expect(await tx(c, nafApdu(id(n), impi))).toMatch(/^db20.{64}9000$/);
    // LRU order before 6: 2 3 4 5 1 -> 6 takes 2's record; 3 refreshed; 7 takes 4's record
    const names = c.debugState().gbanl.slots.map((s) => new TextDecoder().decode(s!.nafId.subarray(0, -5)));
    expect(names).toEqual(["n1.example", "n6.example", "n3.example", "n7.example", "n5.example"]);
    expect(c.debugKsIntNaf(id(2))).toBeUndefined();
  });

  it("answers 9866 when NAF_Id and B-TID do not fit an EF_GBANL record", async () => {
    const c = card();
    await tx(c, SELECT_USIM);
    const av = generateAuthVector(m, h("61".repeat(16)), sqn(3), AMF);
    await tx(c, bootstrapApdu(av.rand, toAutnStar(av.autn, av.ik)));
    const btid = new TextEncoder().encode(`${"b".repeat(60)}@bsf.example`);
    await tx(c, "00a4000c026fd6");
    await tx(c, concatBytes(h("00d60011"), Uint8Array.of(btid.length + 2), lv(btid), h("00")));
    // '80 81 C8' + 200 + '81 48' + 72 = 277 bytes > 255
    expect(await tx(c, nafApdu(nafId(`${"a".repeat(187)}.example`, h("0100000002")), "x@y"))).toBe("9866");
    expect(await tx(c, nafApdu(nafId(`${"a".repeat(100)}.example`, h("0100000002")), "x@y"))).toMatch(/^db20/);
  });

  it("never puts a Ks_int_NAF into any response, EF_GBABP or EF_GBANL", async () => {
    const c = card();
    const seen: string[] = [];
    const send = async (a: string | Uint8Array) => {
      const r = await tx(c, a);
      seen.push(r);
      return r;
    };
    await send(SELECT_USIM);
    const av = generateAuthVector(m, h("91".repeat(16)), sqn(3), AMF);
    await send(bootstrapApdu(av.rand, toAutnStar(av.autn, av.ik)));
    const ids = [1, 2, 3].map((n) => nafId(`k${n}.example`, h("0100000002")));
    for (const id of ids) await send(nafApdu(id, impi));
    await send("00a4000c026fd6");
    await send("00b0000000");
    await send("00a4000c026fda");
    for (const n of [1, 2, 3, 4, 5]) await send(`00b20${n}0400`);
    const intKeys = ids.map((id) => hex(c.debugKsIntNaf(id)!));
    expect(intKeys.every((k) => k.length === 64)).toBe(true);
    for (const k of intKeys) for (const r of seen) expect(r).not.toContain(k);
  });
});

describe("3G AKA on the USIM (TS 33.102 §6.3.3, Annex C)", () => {
  it("accepts each IND slot independently and rejects a replay with verifiable AUTS", async () => {
    const c = card();
    await tx(c, SELECT_USIM);
    const ok = async (s: Uint8Array, r: string) => {
      const av = generateAuthVector(m, h(r.repeat(16)), s, AMF);
      return tx(c, auth3gApdu(av.rand, av.autn));
    };
    expect(await ok(sqn(10, 1), "71")).toMatch(/^db08/);
    expect(await ok(sqn(5, 2), "72")).toMatch(/^db08/); // lower SEQ, other IND: fresh (Annex C.2.2)
    const replay = generateAuthVector(m, h("73".repeat(16)), sqn(5, 2), AMF);
    const r = await tx(c, auth3gApdu(replay.rand, replay.autn));
    expect(r).toMatch(/^dc0e.{28}9000$/);
    expect(verifyAuts(m, replay.rand, h(r.slice(4, 32)))).toEqual({ ok: true, sqnMs: sqn(10, 1) }); // highest accepted
  });

  it("rejects a jump beyond Δ = 2^28 (Annex C.2.1) with AUTS", async () => {
    const c = card();
    await tx(c, SELECT_USIM);
    const av = generateAuthVector(m, h("81".repeat(16)), sqn(2 ** 28 + 1), AMF);
    expect(await tx(c, auth3gApdu(av.rand, av.autn))).toMatch(/^dc0e/);
  });
});
