// The simulated USIM driven with raw APDUs: every command and every error status word.
// Status words per ETSI TS 102 221 §10.2.1 and TS 31.102 §7.3.1 (also pySim ts_102_221.py,
// ts_31_102.py sw_usim). Expected bytes are written out by hand, not produced by the code.
import { describe, expect, it } from "vitest";
import { hexToBytes } from "../wire/bytes.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { newUsimState } from "../ue/usim/usim-state.js";

// TS 35.208 test set 1 (gba-digest §2.8): the card has already accepted SQN - 32 (same IND)
const K = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC = "cd63cb71954a9f4e48a5994e37a02baf";
const RAND = "23553cbe9637a89d218ae64dae47bf35";
const SQN = 0xff9bb4d0b607;
const AUTN = "55f328b43577b9b94a9ffac354dfafb3";
const RES = "a54211d5e3ba50bf";
const CK = "b40ba9a3c58b2a05bbf0d987b21bf8cb";
const IK = "f769bcd751044604127672711c6d3441";

const SELECT_USIM = "00a4040c07a0000000871002";
const AUTH_3G = `008800812210${RAND}10${AUTN}00`;

function card(opts: { gbaU?: boolean } = {}): SimulatedUsim {
  return new SimulatedUsim(
    newUsimState({ k: hexToBytes(K), opc: hexToBytes(OPC), imsi: "001010123456789", sqn: SQN - 32, gbaU: opts.gbaU ?? true }),
  );
}

async function run(c: SimulatedUsim, ...apdus: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of apdus) out.push(Buffer.from(await c.transmit(hexToBytes(a.replace(/ /g, "")))).toString("hex"));
  return out;
}

/** [what, APDUs sent first, the APDU under test, expected response hex (data ‖ SW) or a RegExp] */
type Row = [string, string[], string, string | RegExp];

const rows: Row[] = [
  // ---- class and instruction (TS 102 221 §10.1.1, §10.1.2)
  ["GSM class A0", [], "a0a40000023f00", "6e00"],
  ["proprietary class 80 (STATUS)", [], "80f2000000", "6e00"],
  ["logical channel 1", [], "01a40004023f0000", "6881"],
  ["logical channel 4 (CLA 40)", [], "40a40004023f0000", "6881"],
  ["unknown INS (VERIFY PIN)", [], "002000010831323334ffffffff", "6d00"],
  ["odd AUTHENTICATE (MBMS only)", [SELECT_USIM], "0089008500", "6d00"],
  ["3-byte APDU", [], "00a404", "6700"],
  ["Lc longer than the data", [], "00a4040405a000", "6700"],
  ["extended length", [], "00a40404000007a00000008710020000", "6700"],

  // ---- SELECT (TS 102 221 §11.1.1)
  [
    "SELECT USIM by partial AID, FCP, Le 00",
    [],
    "00a4040407a000000087100200",
    /^622a 82027821 83027fff 8410a0000000871002ffffffff8907090000 8a0105 8b036f0601 c606900100830101 9000$/,
  ],
  ["SELECT USIM by full AID, no data", [], "00a4040c10a0000000871002ffffffff8907090000", "9000"],
  ["SELECT USIM without Le: 61xx", [], "00a4040407a0000000871002", "612c"],
  ["SELECT USIM by RID only", [], "00a4040c05a000000087", "9000"],
  ["SELECT by 4 bytes of the AID", [], "00a4040c04a0000000", "6a82"],
  ["SELECT ISIM AID (not on the card)", [], "00a4040c07a0000000871004", "6a82"],
  ["SELECT AID of 17 bytes", [], "00a4040c11a0000000871002ffffffff890709000000", "6700"],
  ["SELECT by file id with 1 byte", [], "00a4000c013f", "6700"],
  ["SELECT by file id without data", [], "00a4000c00", "6700"],
  ["SELECT MF", [], "00a40004023f0000", /^6218 82027821 83023f00 8a0105 8b032f0601 c606900100830101 9000$/],
  ["SELECT EF_IMSI from the MF", [], "00a4000c026f07", "6a82"],
  ["SELECT 7FFF before the USIM is active", [], "00a4000c027fff", "6a82"],
  ["SELECT 7FFF with the USIM active", [SELECT_USIM, "00a4000c023f00"], "00a4000c027fff", "9000"],
  [
    "SELECT EF_IMSI: transparent, 9 bytes",
    [SELECT_USIM],
    "00a40004026f0700",
    /^6214 82024121 83026f07 8a0105 8b036f0602 80020009 9000$/,
  ],
  [
    "SELECT EF_GBANL: linear fixed, 5 records of 255",
    [SELECT_USIM],
    "00a40004026fda00",
    /^6217 8205422100ff05 83026fda 8a0105 8b036f0602 800204fb 9000$/,
  ],
  ["SELECT EF_GBABP: 255 bytes", [SELECT_USIM], "00a40004026fd600", /800200ff9000$/],
  ["SELECT unknown EF", [SELECT_USIM], "00a4000c026f99", "6a82"],
  ["SELECT by path (P1 08)", [], "00a4080c047fff6f07", "6a86"],
  ["SELECT with P2 00", [], "00a4040007a0000000871002", "6a86"],

  // ---- GET RESPONSE (TS 102 221 §12.1.1)
  ["GET RESPONSE after 61xx", ["00a4040407a0000000871002"], "00c000002c", /^622a.*c6069001008301019000$/],
  ["GET RESPONSE in two parts", ["00a4040407a0000000871002"], "00c0000010", /^622a82027821 83027fff 8410a0000000 611c$/],
  ["GET RESPONSE with nothing pending", [SELECT_USIM], "00c0000010", "6f00"],
  ["GET RESPONSE not right after its command", ["00a4040407a0000000871002", "00a4000c023f00"], "00c000002c", "6f00"],
  ["GET RESPONSE with P1 01", ["00a4040407a0000000871002"], "00c001002c", "6a86"],

  // ---- READ BINARY (TS 102 221 §11.1.3)
  ["READ BINARY with no EF selected", [SELECT_USIM], "00b0000009", "6986"],
  ["READ BINARY EF_IMSI, Le 00 (TS 31.102 §4.2.2)", [SELECT_USIM, "00a4000c026f07"], "00b0000000", "0809101010325476989000"],
  ["READ BINARY EF_IMSI, Le 9", [SELECT_USIM, "00a4000c026f07"], "00b0000009", "0809101010325476989000"],
  ["READ BINARY past the end: 6282", [SELECT_USIM, "00a4000c026f07"], "00b000000a", "0809101010325476986282"],
  ["READ BINARY at offset 2", [SELECT_USIM, "00a4000c026f07"], "00b0000203", "1010109000"],
  ["READ BINARY at offset = size", [SELECT_USIM, "00a4000c026f07"], "00b0000901", "6b00"],
  ["READ BINARY without Le", [SELECT_USIM, "00a4000c026f07"], "00b00000", "6700"],
  ["READ BINARY with data", [SELECT_USIM, "00a4000c026f07"], "00b000000100", "6700"],
  ["READ BINARY by short file id", [SELECT_USIM, "00a4000c026f07"], "00b0870000", "6a86"],
  ["READ BINARY EF_AD: MNC length 2 (TS 31.102 §4.2.18)", [SELECT_USIM, "00a4000c026fad"], "00b0000000", "000000029000"],
  [
    "READ BINARY EF_UST: service 68 (TS 31.102 §4.2.8)",
    [SELECT_USIM, "00a4000c026f38"],
    "00b0000000",
    "000000000000000008000000000000009000",
  ],
  ["READ BINARY on a linear fixed EF", [SELECT_USIM, "00a4000c026fda"], "00b0000000", "6981"],

  // ---- UPDATE BINARY (TS 102 221 §11.1.4)
  ["UPDATE BINARY EF_IMSI (ADM)", [SELECT_USIM, "00a4000c026f07"], "00d6000001ff", "6982"],
  ["UPDATE BINARY EF_UST (ADM)", [SELECT_USIM, "00a4000c026f38"], "00d6000001ff", "6982"],
  ["UPDATE BINARY EF_GBABP", [SELECT_USIM, "00a4000c026fd6", "00d6000003010203"], "00b0000004", "010203ff9000"],
  ["UPDATE BINARY ending past the file", [SELECT_USIM, "00a4000c026fd6"], "00d600fe020102", "6700"],
  ["UPDATE BINARY at offset = size", [SELECT_USIM, "00a4000c026fd6"], "00d600ff0101", "6b00"],
  ["UPDATE BINARY without data", [SELECT_USIM, "00a4000c026fd6"], "00d60000", "6700"],
  ["UPDATE BINARY with no EF selected", [SELECT_USIM], "00d6000001ff", "6986"],
  ["UPDATE BINARY on a linear fixed EF", [SELECT_USIM, "00a4000c026fda"], "00d6000001ff", "6981"],

  // ---- READ RECORD / UPDATE RECORD (TS 102 221 §11.1.5, §11.1.6)
  ["READ RECORD 1 of EF_GBANL, empty", [SELECT_USIM, "00a4000c026fda"], "00b2010400", `${"ff".repeat(255)}9000`],
  ["READ RECORD with Le = record length", [SELECT_USIM, "00a4000c026fda"], "00b20104ff", `${"ff".repeat(255)}9000`],
  ["READ RECORD with a wrong Le", [SELECT_USIM, "00a4000c026fda"], "00b2010410", "6cff"],
  ["READ RECORD 0", [SELECT_USIM, "00a4000c026fda"], "00b2000400", "6a83"],
  ["READ RECORD 6 of 5", [SELECT_USIM, "00a4000c026fda"], "00b2060400", "6a83"],
  ["READ RECORD next (P2 02)", [SELECT_USIM, "00a4000c026fda"], "00b2000200", "6a86"],
  ["READ RECORD without Le", [SELECT_USIM, "00a4000c026fda"], "00b20104", "6700"],
  ["READ RECORD with no EF selected", [SELECT_USIM], "00b2010400", "6986"],
  ["READ RECORD on a transparent EF", [SELECT_USIM, "00a4000c026f07"], "00b2010400", "6981"],
  ["UPDATE RECORD EF_GBANL (ADM)", [SELECT_USIM, "00a4000c026fda"], `00dc0104ff${"00".repeat(255)}`, "6982"],
  ["UPDATE RECORD on a transparent EF", [SELECT_USIM, "00a4000c026f07"], "00dc010401ff", "6981"],
  ["UPDATE RECORD with no EF selected", [SELECT_USIM], "00dc010401ff", "6986"],

  // ---- AUTHENTICATE (TS 31.102 §7.1, §7.3)
  ["AUTHENTICATE with no USIM selected", [], AUTH_3G, "6985"],
  ["AUTHENTICATE 3G", [SELECT_USIM], AUTH_3G, `db08${RES}10${CK}10${IK}9000`],
  ["AUTHENTICATE 3G without Le: 61xx", [SELECT_USIM], AUTH_3G.slice(0, -2), "612c"],
  ["AUTHENTICATE 3G then GET RESPONSE", [SELECT_USIM, AUTH_3G.slice(0, -2)], "00c000002c", `db08${RES}10${CK}10${IK}9000`],
  ["AUTHENTICATE 3G with a wrong MAC", [SELECT_USIM], AUTH_3G.replace("354dfafb3", "354dfafb4"), "9862"],
  ["AUTHENTICATE 3G with Lc 33", [SELECT_USIM], `008800812110${RAND}10${AUTN.slice(0, 30)}00`, "6700"],
  ["AUTHENTICATE 3G with RAND length 15", [SELECT_USIM], `00880081220f${RAND}10${AUTN}00`, "6700"],
  ["AUTHENTICATE P1 01", [SELECT_USIM], AUTH_3G.replace(/^00880081/, "00880181"), "6a86"],
  ["AUTHENTICATE P2 01 (global reference data)", [SELECT_USIM], AUTH_3G.replace(/^00880081/, "00880001"), "6a86"],
  ["AUTHENTICATE P2 83 (RFU context)", [SELECT_USIM], AUTH_3G.replace(/^00880081/, "00880083"), "6a86"],
  ["AUTHENTICATE GSM context (no service 27)", [SELECT_USIM], `0088008011${"10"}${RAND}00`, "9864"],
  ["AUTHENTICATE VGCS/VBS context", [SELECT_USIM], "0088008201aa00", "9864"],
  ["AUTHENTICATE GBA, tag DD", [SELECT_USIM], `0088008423dd10${RAND}10${AUTN}00`, /^9862$/],
  ["AUTHENTICATE GBA, tag DD too short", [SELECT_USIM], `0088008422dd10${RAND}10${AUTN.slice(0, 30)}00`, "6700"],
  ["AUTHENTICATE GBA, unknown tag", [SELECT_USIM], "0088008401df00", "6a80"],
  ["AUTHENTICATE GBA without data", [SELECT_USIM], "0088008400", "6700"],
  ["AUTHENTICATE GBA NAF derivation before bootstrapping", [SELECT_USIM], "008800840dde066e0100000002047840797a00", "6985"],
  ["AUTHENTICATE GBA NAF_Id without FQDN", [SELECT_USIM], "008800840cde050100000002047840797a00", "6a80"],
  ["AUTHENTICATE GBA IMPI not UTF-8", [SELECT_USIM], "008800840ade066e0100000002 01ff00".replace(" ", ""), "6a80"],
  ["AUTHENTICATE GBA NAF lengths inconsistent", [SELECT_USIM], "008800840dde076e0100000002047840797a00", "6700"],
];

describe("simulated USIM, raw APDUs", () => {
  it.each(rows)("%s", async (_, setup, apdu, expected) => {
    const c = card();
    await run(c, ...setup);
    const [r] = await run(c, apdu);
    if (typeof expected === "string") expect(r).toBe(expected);
    else expect(r).toMatch(new RegExp(expected.source.replace(/ /g, "")));
  });

  it("has no GBA context, EF_GBABP or EF_GBANL without service n°68 (GBA_ME card)", async () => {
    const c = card({ gbaU: false });
    expect(await run(c, SELECT_USIM, "00a4000c026fd6", "00a4000c026fda", `0088008423dd10${RAND}10${AUTN}00`)).toEqual([
      "9000",
      "6a82",
      "6a82",
      "9864",
    ]);
    expect((await run(c, "00a4000c026f38", "00b0000000"))[1]).toBe("000000000000000000000000000000009000");
  });

  it("forgets the selection and pending data on reset, keeps answering", async () => {
    const c = card();
    expect(await run(c, SELECT_USIM, "00a4000404" /* malformed */)).toEqual(["9000", "6700"]);
    expect(await run(c, "00a4040407a0000000871002")).toEqual(["612c"]);
    await c.reset();
    expect(await run(c, "00c000002c", AUTH_3G)).toEqual(["6f00", "6985"]);
  });

  it("refuses commands when powered off, closed or removed", async () => {
    const c = card();
    await c.powerOff();
    await expect(c.transmit(hexToBytes(SELECT_USIM))).rejects.toMatchObject({ code: "NOT_POWERED" });
    await c.reset();
    expect(await run(c, SELECT_USIM)).toEqual(["9000"]);
    const reasons: string[] = [];
    c.onRemoved((r) => reasons.push(r));
    c.remove("pulled out");
    await expect(c.transmit(hexToBytes(SELECT_USIM))).rejects.toMatchObject({ code: "REMOVED" });
    expect(reasons).toEqual(["pulled out"]);
    const d = card();
    await d.close();
    await expect(d.transmit(hexToBytes(SELECT_USIM))).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("answers with the UICC ATR whose TCK checks (ISO/IEC 7816-3 §8.2.5)", async () => {
    const atr = await card().reset();
    expect(Buffer.from(atr).toString("hex")).toBe("3b9f96801fc78031c073d02100634742418300900096");
    expect(atr.subarray(1).reduce((x, b) => x ^ b, 0)).toBe(0);
  });
});
