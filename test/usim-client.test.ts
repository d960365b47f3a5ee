// UsimClient over the in-process simulated USIM: the shared high-level suite over the direct
// card and over a T=0-style transport (Le stripped from every case-4 command, as OpenSC does
// on T=0, so the card answers '61 xx' and the client must GET RESPONSE), plus client details.
import { describe, expect, it } from "vitest";
import { hexToBytes } from "../wire/bytes.js";
import type { Card } from "../ue/card/card.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { CardResponseError, CardStatusError, UsimClient } from "../ue/usim/usim-client.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { defineUsimClientSuite, type Exchange, SUITE_CARD } from "./helpers/pcsc-suite.js";

const suiteCard = () =>
  new SimulatedUsim(
    newUsimState({
      k: hexToBytes(SUITE_CARD.k),
      opc: hexToBytes(SUITE_CARD.opc),
      imsi: SUITE_CARD.imsi,
      mncLength: SUITE_CARD.mncLength,
      gbaU: SUITE_CARD.gbaU,
    }),
  );

/** Drops Le from APDUs that carry command data (T=0 case 4 sent as case 3). */
function t0Transport(card: Card): Card {
  return {
    description: `${card.description} (T=0 style)`,
    transmit: (apdu) => card.transmit(apdu.length > 5 && apdu.length === 6 + apdu[4] ? apdu.subarray(0, -1) : apdu),
    reset: () => card.reset(),
    powerOff: () => card.powerOff(),
    close: () => card.close(),
    onRemoved: (l) => card.onRemoved(l),
  };
}

const direct: Exchange[] = [];
const t0: Exchange[] = [];
defineUsimClientSuite("UsimClient over the direct simulated USIM", async () => suiteCard(), direct);
defineUsimClientSuite("UsimClient over a T=0-style transport (61xx + GET RESPONSE)", async () => t0Transport(suiteCard()), t0);

describe("the two transports", () => {
  it("differ only by GET RESPONSE round trips", () => {
    expect(direct.length).toBeGreaterThan(40);
    expect(t0.some((e) => e.response.endsWith("9000") === false && e.response.startsWith("61"))).toBe(true);
    expect(t0.filter((e) => !e.command.startsWith("00c0")).length).toBe(direct.length);
  });
});

/** A card that answers from a script: command hex → response hex. */
function scripted(script: Record<string, string>, seen: string[] = []): Card {
  return {
    description: "scripted card",
    async transmit(apdu) {
      const c = Buffer.from(apdu).toString("hex");
      seen.push(c);
      const r = script[c];
      if (r === undefined) throw new Error(`unscripted APDU ${c}`);
      return hexToBytes(r);
    },
    reset: async () => new Uint8Array(0),
    powerOff: async () => undefined,
    close: async () => undefined,
    onRemoved: () => () => undefined,
  };
}

describe("UsimClient.exchange", () => {
  it("repeats a command with the Le a '6C xx' answer names", async () => {
    const seen: string[] = [];
    const c = new UsimClient(scripted({ "00b2010400": "6c05", "00b2010405": "01020304059000" }, seen));
    const r = await c.exchange({ cla: 0, ins: 0xb2, p1: 1, p2: 4, data: new Uint8Array(0), ne: 256 });
    expect(r).toEqual({ data: hexToBytes("0102030405"), sw: 0x9000 });
    expect(seen).toEqual(["00b2010400", "00b2010405"]);
  });

  it("collects chained '61 xx' answers", async () => {
    const c = new UsimClient(scripted({ "0088008100": "6103", "00c0000003": "aabbcc6102", "00c0000002": "ddee9000" }));
    const r = await c.exchange({ cla: 0, ins: 0x88, p1: 0, p2: 0x81, data: new Uint8Array(0), ne: 256 });
    expect(r).toEqual({ data: hexToBytes("aabbccddee"), sw: 0x9000 });
  });
});

describe("UsimClient errors", () => {
  it("decodes EF_IMSI as pySim's test vectors do (ts_51_011.py EF_IMSI)", async () => {
    for (const [ef, imsi] of [
      ["082982608200002080", "228062800000208"],
      ["082926101160845740", "262011106487504"],
    ]) {
      const c = new UsimClient(
        scripted({
          "00a4040407a000000087100200": "9000",
          "00a40004026f0700": "62148202412183026f078a01058b036f0602800200099000",
          "00b0000009": `${ef}9000`,
        }),
      );
      expect(await c.readImsi()).toBe(imsi);
    }
  });

  it("throws CardStatusError naming the operation and the status word", async () => {
    const c = new UsimClient(scripted({ "00a4040407a000000087100200": "6a82" }));
    await expect(c.selectUsim()).rejects.toThrow(new CardStatusError(0x6a82, "SELECT USIM"));
    await expect(c.selectUsim()).rejects.toThrow("SELECT USIM: card answered 6a82 (file not found)");
  });

  it("throws CardResponseError for a 9000 answer that breaks the coding", async () => {
    const c = new UsimClient(
      scripted({
        "00a4040407a000000087100200": "9000",
        [`0088008122${"10".padEnd(34, "0")}${"10".padEnd(34, "0")}00`]: "db08aabb9000",
      }),
    );
    const zero = new Uint8Array(16);
    await expect(c.authenticate3g(zero, zero)).rejects.toBeInstanceOf(CardResponseError);
  });

  it("answers 9864 of a GBA_ME card as the result context-not-supported, with the error to raise", async () => {
    const card = new SimulatedUsim(newUsimState({ k: new Uint8Array(16), opc: new Uint8Array(16), imsi: "001010000000001" }));
    const c = new UsimClient(card);
    expect(await c.hasService(68)).toBe(false);
    const r = await c.gbaBootstrap(new Uint8Array(16), new Uint8Array(16));
    expect(r).toMatchObject({ kind: "context-not-supported", error: { code: "CARD_STATUS", sw: 0x9864 } });
    if (r.kind === "context-not-supported") expect(r.error).toBeInstanceOf(CardStatusError);
    expect(await c.gbaNafDerivation(hexToBytes("6e61660100000002"), "x@y")).toMatchObject({
      kind: "context-not-supported",
      error: { sw: 0x9864 },
    });
    await expect(c.readGbabp()).rejects.toMatchObject({ sw: 0x6a82 });
  });

  it("answers 6985 (NAF derivation before any bootstrapping) as the result no-ks", async () => {
    const card = new SimulatedUsim(
      newUsimState({ k: new Uint8Array(16), opc: new Uint8Array(16), imsi: "001010000000001", gbaU: true }),
    );
    const c = new UsimClient(card);
    const r = await c.gbaNafDerivation(hexToBytes("6e61660100000002"), "x@y");
    expect(r.kind).toBe("no-ks");
    if (r.kind === "no-ks") expect(r.error.message).toMatch(/6985 .*no GBA_U bootstrapping/);
  });
});
