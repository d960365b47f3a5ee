// The device middleware suite, run unchanged over every Card: the in-process simulated USIM
// (test/ue-middleware.test.ts) and a PC/SC card through pcscd + vpcd (test/ue-pcsc.test.ts).
// The network side is the scripted BSF of ue-fake-network.ts; the card only speaks APDUs.
import { afterEach, describe, expect, it } from "vitest";
import { UA_ID, uaIdForTls } from "../../gba/ua-id.js";
import { bytesToHex } from "../../wire/bytes.js";
import { highestSqn } from "../../milenage/sqn.js";
import type { Card } from "../../ue/card/card.js";
import { GbaMiddleware, MiddlewareError, type MiddlewareOptions } from "../../ue/middleware/gba-middleware.js";
import { UbError } from "../../ue/ub/run.js";
import { decodeGbabp } from "../../ue/usim/ef-codec.js";
import { UsimClient } from "../../ue/usim/usim-client.js";
import type { UsimState } from "../../ue/usim/usim-state.js";
import { FakeBsf, type FakeBsfOptions, IMPI } from "./ue-fake-network.js";

export interface CardSpec {
  gbaU?: boolean;
  /** SQN_MS the card has accepted already */
  sqn?: number;
  imsi?: string;
  k?: Uint8Array;
}

export interface TestCard {
  card: Card;
  /** the card's memory: K, SQN array, EF_GBABP (never reachable by APDU) */
  state(): Promise<UsimState>;
  /** Ks_int_NAF kept for a NAF_Id, when the implementation can show it */
  ksIntNaf?(nafId: Uint8Array): Uint8Array | undefined;
  /** takes the card out of the reader */
  remove(): Promise<void>;
  close(): Promise<void>;
}

export type CardFactory = (spec: CardSpec) => Promise<TestCard>;

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2030, 0, 1, 12, 0, 0)) {
  const c = { now: start, clock: () => c.now };
  return c;
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function defineMiddlewareSuite(label: string, makeCard: CardFactory): void {
  describe(label, () => {
    const stops: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const s of stops.splice(0).reverse()) await s();
    });

    async function bsf(o: FakeBsfOptions = {}): Promise<FakeBsf> {
      const b = new FakeBsf(o);
      await b.start();
      stops.push(() => b.stop());
      return b;
    }

    async function card(spec: CardSpec = {}): Promise<TestCard> {
      const c = await makeCard(spec);
      stops.push(() => c.close());
      return c;
    }

    function open(b: FakeBsf, c: TestCard, o: Partial<MiddlewareOptions> = {}): Promise<GbaMiddleware> {
      return GbaMiddleware.open({ usim: new UsimClient(c.card), bsfUrl: b.url, ...o });
    }

    describe("GBA_ME (TS 33.220 §4.5.2)", () => {
      it("bootstraps with the IMPI from EF_IMSI and derives Ks_NAF as the BSF does", async () => {
        const b = await bsf();
        const mw = await open(b, await card());
        expect(mw.mode).toBe("GBA_ME");
        expect(mw.impi).toBe(IMPI);
        const info = await mw.bootstrap();
        expect(b.requests[0].authorization).toContain(`username="${IMPI}"`);
        expect(b.requests[0].authorization).toContain('nonce=""');
        expect(b.sessions.has(info.btid)).toBe(true);
        const k = await mw.getKsNaf("naf.example.org", UA_ID.HTTP_DIGEST);
        expect(k.btid).toBe(info.btid);
        expect(bytesToHex(k.key)).toBe(bytesToHex(b.keyFor(info.btid, "naf.example.org", UA_ID.HTTP_DIGEST)!));
      });

      it("serves many NAFs from one bootstrapping, one key per NAF_Id, cached (IoT.04 A3)", async () => {
        const b = await bsf();
        const mw = await open(b, await card());
        const a = await mw.getKsNaf("naf-a.example.org", UA_ID.HTTP_DIGEST);
        const requestsAfterFirst = b.requests.length;
        const c = await mw.getKsNaf("naf-b.example.org", UA_ID.HTTP_DIGEST);
        const d = await mw.getKsNaf("naf-a.example.org", uaIdForTls(0x008c));
        const again = await mw.getKsNaf("naf-a.example.org", UA_ID.HTTP_DIGEST);
        expect((await mw.ensureBootstrapped()).btid).toBe(a.btid);
        expect(b.requests.length).toBe(requestsAfterFirst);
        expect(new Set([a.btid, c.btid, d.btid])).toEqual(new Set([a.btid]));
        expect(bytesToHex(a.key)).not.toBe(bytesToHex(c.key));
        expect(bytesToHex(a.key)).not.toBe(bytesToHex(d.key));
        expect(bytesToHex(again.key)).toBe(bytesToHex(a.key));
        expect(mw.keys.nafKeyCount).toBe(3);
        expect(bytesToHex(c.key)).toBe(bytesToHex(b.keyFor(a.btid, "naf-b.example.org", UA_ID.HTTP_DIGEST)!));
      });

      it("refuses a NAF_Id it cannot build", async () => {
        const b = await bsf();
        const mw = await open(b, await card());
        await expect(mw.getKsNaf("", UA_ID.HTTP_DIGEST)).rejects.toMatchObject({ code: "BAD_NAF" });
        await expect(mw.getKsNaf("naf.example.org", new Uint8Array(3))).rejects.toMatchObject({ code: "BAD_NAF" });
        expect(b.requests).toHaveLength(0);
      });

      it("uses an explicit IMPI instead of the derived one", async () => {
        const b = await bsf();
        const mw = await open(b, await card(), { impi: "alice@ims.example.org" });
        await mw.bootstrap();
        expect(b.requests[0].authorization).toContain('username="alice@ims.example.org"');
      });

      it("answers AKAv2-MD5 (RFC 4169)", async () => {
        const b = await bsf({ algorithm: "AKAv2-MD5" });
        const mw = await open(b, await card());
        const info = await mw.bootstrap();
        expect(b.sessions.has(info.btid)).toBe(true);
        expect(b.requests[1].authorization).toContain("algorithm=AKAv2-MD5");
      });
    });

    describe("GBA_U (TS 33.220 §5.3, Annex G)", () => {
      it("is chosen for a card with service n°68, keeps Ks on the card and writes EF_GBABP", async () => {
        const b = await bsf({ gbaU: true });
        const usim = await card({ gbaU: true });
        const mw = await open(b, usim);
        expect(mw.mode).toBe("GBA_U");
        const info = await mw.bootstrap();
        expect(b.requests[0].userAgent).toContain("3gpp-gba-uicc");
        expect(mw.keys.current(Date.now())?.ks).toBeUndefined();
        const gbabp = decodeGbabp((await usim.state()).gbabp);
        expect(gbabp.btid).toBe(info.btid);
        expect(new Date(gbabp.lifetime).getTime()).toBe(info.lifetime.getTime());
        const k = await mw.getKsNaf("naf.example.org", UA_ID.HTTP_DIGEST);
        expect(bytesToHex(k.key)).toBe(bytesToHex(b.keyFor(info.btid, "naf.example.org", UA_ID.HTTP_DIGEST)!));
        if (usim.ksIntNaf) {
          expect(usim.ksIntNaf(k.nafId)).toBeDefined();
          expect(bytesToHex(usim.ksIntNaf(k.nafId)!)).not.toBe(bytesToHex(k.key));
        }
      });

      it("reuses a bootstrapping still valid on the card without running Ub again", async () => {
        const b = await bsf({ gbaU: true });
        const usim = await card({ gbaU: true });
        const first = await (await open(b, usim)).bootstrap();
        const before = b.requests.length;
        const mw2 = await open(b, usim);
        expect(mw2.current()?.btid).toBe(first.btid);
        const k = await mw2.getKsNaf("naf.example.org", UA_ID.HTTP_DIGEST);
        expect(b.requests.length).toBe(before);
        expect(bytesToHex(k.key)).toBe(bytesToHex(b.keyFor(first.btid, "naf.example.org", UA_ID.HTTP_DIGEST)!));
      });

      it("can be forced off (GBA_ME on a GBA_U card)", async () => {
        const b = await bsf();
        const mw = await open(b, await card({ gbaU: true }), { mode: "GBA_ME" });
        expect(mw.mode).toBe("GBA_ME");
        await mw.bootstrap();
      });

      it("refuses to be forced on a card without service n°68", async () => {
        const b = await bsf();
        await expect(open(b, await card(), { mode: "GBA_U" })).rejects.toThrow(MiddlewareError);
      });

      it("refuses AKAv2-MD5, whose password needs CK and IK that stay on the UICC", async () => {
        const b = await bsf({ gbaU: true, algorithm: "AKAv2-MD5" });
        const mw = await open(b, await card({ gbaU: true }));
        await expect(mw.bootstrap()).rejects.toMatchObject({ code: "UNSUPPORTED_ALGORITHM" });
      });
    });

    describe("Ub failure handling (TS 24.109 A.4, RFC 3310)", () => {
      // the scripted BSF uses IND 1: an SQN_MS at IND 1 makes its next SEQ stale (TS 33.102 Annex C)
      const AHEAD = 5000 * 32 + 1;

      it("resynchronises once when the card's SQN is ahead, and the card keeps the new SQN", async () => {
        const b = await bsf();
        const usim = await card({ sqn: AHEAD });
        const mw = await open(b, usim);
        const info = await mw.bootstrap();
        expect(b.requests.filter((r) => r.authorization?.includes("auts=")).length).toBe(1);
        expect(b.sessions.has(info.btid)).toBe(true);
        expect(highestSqn((await usim.state()).sqn)).toBeGreaterThan(AHEAD);
        expect(b.seqHe).toBeGreaterThan(5000);
      });

      it("gives up after one resynchronisation", async () => {
        const b = await bsf({ ignoreAuts: true });
        const mw = await open(b, await card({ sqn: AHEAD }));
        await expect(mw.bootstrap()).rejects.toMatchObject({ code: "RESYNC_FAILED" });
        expect(b.requests.filter((r) => r.authorization?.includes("auts=")).length).toBe(1);
      });

      it("refuses a 200 whose rspauth does not verify, and keeps no key", async () => {
        const b = await bsf({ tamperRspauth: true });
        const mw = await open(b, await card());
        await expect(mw.bootstrap()).rejects.toMatchObject({ code: "SERVER_AUTH_FAILED" });
        expect(mw.current()).toBeUndefined();
      });

      it("refuses a 200 without Authentication-Info", async () => {
        const b = await bsf({ omitAuthenticationInfo: true });
        const mw = await open(b, await card());
        await expect(mw.bootstrap()).rejects.toThrow(UbError);
      });

      it("reports a network authentication failure when AUTN does not verify on the card", async () => {
        const b = await bsf();
        const mw = await open(b, await card({ k: new Uint8Array(16).fill(0x5a) }));
        await expect(mw.bootstrap()).rejects.toMatchObject({ code: "NETWORK_AUTH_FAILED" });
      });

      it("reports an unreachable BSF as a transport error", async () => {
        const b = await bsf();
        await b.stop();
        const mw = await open(b, await card());
        await expect(mw.bootstrap()).rejects.toMatchObject({ code: "TRANSPORT" });
      });
    });

    describe("key deletion (TS 33.220 §4.4.11)", () => {
      it("deletes Ks and every Ks_NAF at the end of the key lifetime, then bootstraps anew", async () => {
        const t = manualClock();
        const b = await bsf({ clock: t.clock, lifetimeMs: 60_000 });
        const mw = await open(b, await card(), { deps: { clock: t.clock } });
        const deleted: string[] = [];
        mw.onKeysDeleted((reason) => deleted.push(reason));
        const first = await mw.bootstrap();
        await mw.getKsNaf("naf.example.org", UA_ID.HTTP_DIGEST);
        const ks = mw.keys.current(t.now)!.ks!;
        t.now += 59_000;
        expect(mw.current()?.btid).toBe(first.btid);
        t.now += 1_000;
        expect(mw.current()).toBeUndefined();
        expect(deleted).toEqual(["lifetime-expired"]);
        expect(ks.every((x) => x === 0)).toBe(true);
        expect(mw.keys.nafKeyCount).toBe(0);
        const k = await mw.getKsNaf("naf.example.org", UA_ID.HTTP_DIGEST);
        expect(k.btid).not.toBe(first.btid);
      });

      it("counts the lifetime from the BSF's <currenttime> when sent, not from the ME clock", async () => {
        const bsfTime = manualClock(Date.UTC(2031, 5, 1));
        const ueTime = manualClock(Date.UTC(2030, 0, 1));
        const b = await bsf({ clock: bsfTime.clock, lifetimeMs: 60_000, currentTime: true });
        const mw = await open(b, await card(), { deps: { clock: ueTime.clock } });
        const info = await mw.bootstrap();
        expect(info.expiresAt).toBe(ueTime.now + 60_000);
        ueTime.now += 60_000;
        expect(mw.current()).toBeUndefined();
      });

      it("deletes the keys when the UICC is removed", async () => {
        const b = await bsf();
        const usim = await card();
        const mw = await open(b, usim);
        const deleted: string[] = [];
        mw.onKeysDeleted((reason) => deleted.push(reason));
        await mw.getKsNaf("naf.example.org", UA_ID.HTTP_DIGEST);
        await usim.remove();
        await until(() => deleted.length > 0, 5_000);
        expect(deleted).toEqual(["uicc-removed"]);
        expect(mw.current()).toBeUndefined();
      });

      it("deletes the keys and powers the card off when the ME powers down", async () => {
        const b = await bsf();
        const usim = await card();
        const mw = await open(b, usim);
        await mw.bootstrap();
        const ks = mw.keys.current(Date.now())!.ks!;
        await mw.powerDown();
        expect(mw.current()).toBeUndefined();
        expect(ks.every((x) => x === 0)).toBe(true);
        await expect(usim.card.transmit(Uint8Array.of(0, 0xa4, 4, 4, 0))).rejects.toMatchObject({ code: "NOT_POWERED" });
      });

      it("replaces the old keys on a new bootstrapping", async () => {
        const b = await bsf();
        const mw = await open(b, await card());
        const deleted: string[] = [];
        mw.onKeysDeleted((reason) => deleted.push(reason));
        const a = await mw.bootstrap();
        const c = await mw.bootstrap();
        expect(c.btid).not.toBe(a.btid);
        expect(deleted).toEqual(["new-bootstrap"]);
      });

      it("shares one Ub run between concurrent callers", async () => {
        const b = await bsf();
        const mw = await open(b, await card());
        const [x, y] = await Promise.all([
          mw.getKsNaf("a.example.org", UA_ID.HTTP_DIGEST),
          mw.getKsNaf("b.example.org", UA_ID.HTTP_DIGEST),
        ]);
        expect(x.btid).toBe(y.btid);
        expect(b.sessions.size).toBe(1);
      });
    });
  });
}
