// The high-level USIM test suite, run unchanged over every Card implementation: the direct
// simulated USIM, the same card behind a T=0-style transport, and a PC/SC card through pcscd
// + vpcd. It only uses UsimClient and the Card interface, and records every APDU exchange so
// two runs can be compared byte for byte.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveKsExtNaf, ksFromCkIk, nafId } from "../../gba/keys.js";
import { toAutnStar } from "../../gba/gba-u.js";
import { generateAuthVector, verifyAuts } from "../../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../../wire/bytes.js";
import { Milenage } from "../../milenage/milenage.js";
import { joinSqn, sqnToBytes } from "../../milenage/sqn.js";
import type { Card } from "../../ue/card/card.js";
import { CardStatusError, UsimClient } from "../../ue/usim/usim-client.js";

/** The card every suite run starts from (make it with `gba usim new` or newUsimState). */
export const SUITE_CARD = {
  k: "465b5ce8b199b49faa5f0a2ee238a6bc",
  opc: "cd63cb71954a9f4e48a5994e37a02baf",
  imsi: "310150123456789",
  mncLength: 3 as const,
  gbaU: true,
};

/** TS 23.003 §13.3 IMPI derived from the IMSI (3-digit MNC 150, MCC 310). */
const IMPI = "310150123456789@ims.mnc150.mcc310.3gppnetwork.org";
/** ISO/IEC 7816-3 ATR of the simulated UICC, written out independently of ue/usim/atr.ts. */
const EXPECTED_ATR = "3b9f96801fc78031c073d02100634742418300900096";
const AMF = hexToBytes("8000", "AMF");
const HTTP_DIGEST_UA_ID = hexToBytes("0100000002", "Ua id");

export interface Exchange {
  command: string;
  response: string;
}

/** A Card wrapper that records every transmit (hex) in order. */
export function recording(card: Card, log: Exchange[]): Card {
  return {
    description: card.description,
    async transmit(apdu) {
      const r = await card.transmit(apdu);
      log.push({ command: bytesToHex(apdu), response: bytesToHex(r) });
      return r;
    },
    reset: () => card.reset(),
    powerOff: () => card.powerOff(),
    close: () => card.close(),
    onRemoved: (l) => card.onRemoved(l),
  };
}

/** Ks_ext_NAF from the card; any other result fails the test. */
async function ksExtNaf(usim: UsimClient, id: Uint8Array): Promise<Uint8Array> {
  const r = await usim.gbaNafDerivation(id, IMPI);
  if (r.kind !== "success") throw r.error;
  return r.ksExtNaf;
}

const rand = (n: number) => hexToBytes(n.toString(16).padStart(2, "0").repeat(16), "RAND");

/**
 * Defines the suite under `label`. `open` gives a card in SUITE_CARD's initial state; the
 * tests run in order and share it (SQNs grow from one test to the next).
 */
export function defineUsimClientSuite(label: string, open: () => Promise<Card>, transcript: Exchange[] = []): void {
  describe(label, () => {
    const m = new Milenage(hexToBytes(SUITE_CARD.k, "K"), hexToBytes(SUITE_CARD.opc, "OPc"));
    let card: Card;
    let usim: UsimClient;
    let seq = 100;
    const nextSqn = (ind = 3) => sqnToBytes(joinSqn(++seq, ind));

    beforeAll(async () => {
      card = recording(await open(), transcript);
      usim = new UsimClient(card);
    });
    afterAll(async () => {
      await card?.close();
    });

    it("resets to the UICC ATR", async () => {
      expect(bytesToHex(await usim.reset())).toBe(EXPECTED_ATR);
    });

    it("selects the USIM and reads IMSI, MNC length and EF_UST", async () => {
      await usim.selectUsim();
      expect(await usim.readImsi()).toBe(SUITE_CARD.imsi);
      expect(await usim.readMncLength()).toBe(3);
      expect(await usim.hasService(68)).toBe(true); // GBA
      expect(await usim.hasService(76)).toBe(false); // GBA local key establishment: not implemented
      expect(await usim.hasService(27)).toBe(false); // GSM access: no Kc in the 3G answer
    });

    let lastAcceptedSqn: Uint8Array = new Uint8Array(6);

    it("runs 3G AKA: RES, CK and IK as Milenage computes them", async () => {
      const sqn = nextSqn();
      const av = generateAuthVector(m, rand(1), sqn, AMF);
      const r = await usim.authenticate3g(av.rand, av.autn);
      expect(r.kind).toBe("success");
      if (r.kind !== "success") return;
      expect(bytesToHex(r.res)).toBe(bytesToHex(av.xres));
      expect(bytesToHex(r.ck)).toBe(bytesToHex(av.ck));
      expect(bytesToHex(r.ik)).toBe(bytesToHex(av.ik));
      lastAcceptedSqn = sqn;
    });

    it("answers a replayed challenge with AUTS that the HE verifies (TS 33.102 §6.3.5)", async () => {
      const av = generateAuthVector(m, rand(2), lastAcceptedSqn, AMF);
      const r = await usim.authenticate3g(av.rand, av.autn);
      expect(r.kind).toBe("sync-failure");
      if (r.kind !== "sync-failure") return;
      const v = verifyAuts(m, av.rand, r.auts);
      expect(v.ok).toBe(true);
      expect(bytesToHex(v.sqnMs)).toBe(bytesToHex(lastAcceptedSqn));
    });

    it("reports a MAC failure for a tampered AUTN", async () => {
      const av = generateAuthVector(m, rand(3), nextSqn(), AMF);
      av.autn[15] ^= 0x01;
      expect(await usim.authenticate3g(av.rand, av.autn)).toEqual({ kind: "mac-failure" });
    });

    let ks: Uint8Array = new Uint8Array(0);
    const gbaRand = rand(4);

    it("bootstraps GBA_U with AUTN*: RES only, RAND in EF_GBABP", async () => {
      const av = generateAuthVector(m, gbaRand, nextSqn(7), AMF);
      const r = await usim.gbaBootstrap(av.rand, toAutnStar(av.autn, av.ik));
      expect(r).toEqual({ kind: "success", res: av.xres });
      ks = ksFromCkIk(av.ck, av.ik);
      const bp = await usim.readGbabp();
      expect(bytesToHex(bp.rand)).toBe(bytesToHex(gbaRand));
      expect(bp.btid).toBe("");
    });

    it("rejects the plain AUTN in GBA bootstrapping mode when AUTN* is expected", async () => {
      const av = generateAuthVector(m, rand(5), nextSqn(7), AMF);
      expect(await usim.gbaBootstrap(av.rand, av.autn)).toEqual({ kind: "mac-failure" });
    });

    const btid = `${Buffer.from(gbaRand).toString("base64")}@bsf.mnc150.mcc310.pub.3gppnetwork.org`;

    it("stores B-TID and lifetime in EF_GBABP", async () => {
      await usim.writeGbabp({ rand: gbaRand, btid, lifetime: "2031-01-01T00:00:00Z" });
      const bp = await usim.readGbabp();
      expect(bp).toEqual({ rand: gbaRand, btid, lifetime: "2031-01-01T00:00:00Z" });
    });

    it("derives Ks_ext_NAF = KDF(CK ‖ IK, gba-me, RAND, IMPI, NAF_Id) and lists the NAF in EF_GBANL", async () => {
      const id = nafId("naf.example.org", HTTP_DIGEST_UA_ID);
      const ksExt = await ksExtNaf(usim, id);
      expect(bytesToHex(ksExt)).toBe(bytesToHex(deriveKsExtNaf(ks, gbaRand, IMPI, id)));
      expect(await usim.readGbanl()).toEqual([{ record: 1, nafId: id, btid }]);
    });

    it("replaces the least recently used EF_GBANL record when all five are taken", async () => {
      const ids = [1, 2, 3, 4, 5, 6].map((i) => nafId(`naf${i}.example.org`, HTTP_DIGEST_UA_ID));
      for (const id of ids.slice(0, 4)) await usim.gbaNafDerivation(id, IMPI); // records 2..5
      await usim.gbaNafDerivation(nafId("naf.example.org", HTTP_DIGEST_UA_ID), IMPI); // refresh record 1
      await usim.gbaNafDerivation(ids[4], IMPI); // full: replaces naf1 (record 2), the LRU one
      await usim.gbaNafDerivation(ids[1], IMPI); // already listed: same record, no duplicate
      await usim.gbaNafDerivation(ids[5], IMPI); // replaces naf3 (record 4)
      const names = (await usim.readGbanl()).map((r) => [r.record, new TextDecoder().decode(r.nafId.subarray(0, -5))]);
      expect(names).toEqual([
        [1, "naf.example.org"],
        [2, "naf5.example.org"],
        [3, "naf2.example.org"],
        [4, "naf6.example.org"],
        [5, "naf4.example.org"],
      ]);
    });

    it("throws CardStatusError with the status word for a bad request", async () => {
      const bad = usim.gbaNafDerivation(HTTP_DIGEST_UA_ID, IMPI); // NAF_Id without FQDN
      await expect(bad).rejects.toBeInstanceOf(CardStatusError);
      await expect(bad).rejects.toMatchObject({ sw: 0x6a80 });
    });

    it("forgets nothing across a reset: Ks still derives the same key", async () => {
      await usim.reset();
      const id = nafId("naf.example.org", HTTP_DIGEST_UA_ID);
      expect(bytesToHex(await ksExtNaf(usim, id))).toBe(bytesToHex(deriveKsExtNaf(ks, gbaRand, IMPI, id)));
    });
  });
}
