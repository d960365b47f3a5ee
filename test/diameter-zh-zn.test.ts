// Zh (MAR/MAA) and Zn (BIR/BIA) over Diameter, TS 29.109: builders and parsers, the GUSS XML of
// Annex A, the TS 29.109 §6.2.2 result codes, and every message dissected by tshark (Wireshark's
// Diameter dissector, an implementation we did not write) with no malformed or expert mark.
import { describe, expect, it } from "vitest";
import {
  APP_ZH,
  APP_ZN,
  AVP,
  type BiaAnswer,
  type Capabilities,
  DiameterError,
  DiameterWriter,
  decodeMessage,
  encodeBia,
  encodeBir,
  encodeCea,
  encodeCer,
  encodeDpa,
  encodeDpr,
  encodeDwa,
  encodeDwr,
  encodeErrorAnswer,
  encodeGussXml,
  encodeMaa,
  encodeMar,
  encodeUssListXml,
  EXPERIMENTAL_RESULT_3GPP,
  GUSS_NAMESPACE,
  GussError,
  parseBia,
  parseBir,
  parseGussXml,
  parseMaa,
  parseMar,
  parseUssListXml,
  RESULT,
  resultCode,
  resultName,
  VENDOR_3GPP,
  zeroKeys,
} from "../wire/diameter/index.js";
import type { Guss } from "../wire/zh.js";
import { dissectDiameter, fieldValues } from "./helpers/tshark-diameter.js";

const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString("hex");

const BSF = { originHost: "bsf.example.org", originRealm: "example.org" };
const HSS = { originHost: "hss.example.org", originRealm: "example.org" };
const NAF = { originHost: "naf.example.org", originRealm: "example.org" };
const IDS = { hopByHop: 0x11223344, endToEnd: 0x55667788 };
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

// TS 35.208 test set 1 (MILENAGE): RAND, AUTN (SQN ff9bb4d0b607, AMF b9b9), RES, CK, IK
const AV = {
  rand: unhex("23553cbe9637a89d218ae64dae47bf35"),
  autn: unhex("55f328b43577b9b94a9ffac354dfafb3"),
  xres: unhex("a54211d5e3ba50bf"),
  ck: unhex("b40ba9a3c58b2a05bbf0d987b21bf8cb"),
  ik: unhex("f769bcd751044604127672711c6d3441"),
};
const GUSS: Guss = {
  bsfInfo: { uiccType: "GBA_U", lifeTime: 3600 },
  ussList: [
    {
      uss: {
        gsId: 1,
        gsType: 1,
        ueIds: [{ ueId: "sip:alice@example.org" }],
        nafGroup: "grp<&>",
        flags: [{ flag: 1 }, { flag: 2 }],
      },
    },
    { uss: { gsId: 4, gsType: 4, ueIds: [{ ueId: "tel:+15551234" }] } },
  ],
};
const BTID = "ZjE1YjRmMmYtYmNkZC00@bsf.example.org";
const NAF_ID = { fqdn: "naf.example.org", uaId: unhex("0100000002") };
const KS_NAF = unhex("9fd3a0c1".repeat(8));

const mar = () =>
  encodeMar({ ...BSF, sessionId: "bsf.example.org;1;2", destinationRealm: "example.org", impi: "alice@example.org" }, IDS);
const marResync = () =>
  encodeMar(
    {
      ...BSF,
      sessionId: "bsf.example.org;1;3",
      destinationRealm: "example.org",
      destinationHost: "hss.example.org",
      impi: "alice@example.org",
      impu: "sip:alice@example.org",
      resync: { rand: AV.rand, auts: unhex("0123456789abcdef0123456789ab") },
      gussTimestamp: T0,
    },
    IDS,
  );
const maa = () =>
  encodeMaa(
    {
      ...HSS,
      sessionId: "bsf.example.org;1;2",
      result: resultCode(RESULT.SUCCESS),
      impi: "alice@example.org",
      av: AV,
      guss: GUSS,
    },
    {
      flags: 0x40,
      ...IDS,
    },
  );
const bir = () =>
  encodeBir(
    {
      ...NAF,
      sessionId: "naf.example.org;7;8",
      destinationRealm: "bsf.example.org",
      btid: BTID,
      nafId: NAF_ID,
      gbaUAware: false,
      gsIds: [1],
    },
    IDS,
  );
const biaAnswer: BiaAnswer = {
  ...BSF,
  sessionId: "naf.example.org;7;8",
  result: resultCode(RESULT.SUCCESS),
  impi: "alice@example.org",
  meKeyMaterial: KS_NAF,
  keyExpiryTime: T0 + 3600_000,
  bootstrapInfoCreationTime: T0,
  ussList: [GUSS.ussList[0]],
  gbaType: "3G_GBA",
};
const bia = () => encodeBia(biaAnswer, { flags: 0x40, ...IDS });
const biaUnknownBtid = () =>
  encodeBia(
    {
      ...BSF,
      sessionId: "naf.example.org;7;9",
      result: { vendorId: VENDOR_3GPP, code: EXPERIMENTAL_RESULT_3GPP.TRANSACTION_IDENTIFIER_INVALID },
    },
    { flags: 0x40, ...IDS },
  );

describe("Zh: Multimedia-Auth-Request/Answer (TS 29.109 §6.1)", () => {
  it("MAR carries the IMPI and one SIP-Auth-Data-Item with scheme Digest-AKAv1-MD5, in application 16777221", () => {
    const m = decodeMessage(mar());
    expect(m).toMatchObject({ commandCode: 303, applicationId: APP_ZH, flags: 0xc0, ...IDS });
    expect(parseMar(m)).toEqual({
      ...BSF,
      sessionId: "bsf.example.org;1;2",
      destinationRealm: "example.org",
      impi: "alice@example.org",
    });
  });

  it("on resynchronisation SIP-Authorization is RAND ‖ AUTS (30 octets); IMPU and GUSS-Timestamp travel too", () => {
    const r = parseMar(decodeMessage(marResync()));
    expect(hex(r.resync?.rand)).toBe(hex(AV.rand));
    expect(hex(r.resync?.auts)).toBe("0123456789abcdef0123456789ab");
    expect(r).toMatchObject({ impu: "sip:alice@example.org", destinationHost: "hss.example.org", gussTimestamp: T0 });
  });

  it("MAA: SIP-Authenticate = RAND ‖ AUTN, SIP-Authorization = XRES, CK, IK, and the GUSS document", () => {
    const a = parseMaa(decodeMessage(maa()));
    expect(a.result).toEqual({ vendorId: 0, code: 2001 });
    expect([a.av?.rand, a.av?.autn, a.av?.xres, a.av?.ck, a.av?.ik].map(hex)).toEqual(
      [AV.rand, AV.autn, AV.xres, AV.ck, AV.ik].map(hex),
    );
    expect(a.guss).toEqual(GUSS);
  });

  it("an unknown IMPI is answered with Experimental-Result 10415:5401 DIAMETER_ERROR_IDENTITY_UNKNOWN", () => {
    const msg = encodeMaa(
      { ...HSS, sessionId: "s;1;1", result: { vendorId: VENDOR_3GPP, code: EXPERIMENTAL_RESULT_3GPP.IDENTITY_UNKNOWN } },
      { flags: 0x40, ...IDS },
    );
    const a = parseMaa(decodeMessage(msg));
    expect(a.result).toEqual({ vendorId: 10415, code: 5401 });
    expect(a.av).toBeUndefined();
    expect(resultName(5401, VENDOR_3GPP)).toBe("DIAMETER_ERROR_IDENTITY_UNKNOWN (10415:5401)");
  });

  it("refuses a MAR without User-Name (5005), with another scheme (5004) or a 29-octet RAND ‖ AUTS (5004)", () => {
    const rc = (build: (w: DiameterWriter) => void): number => {
      const w = new DiameterWriter();
      w.utf8(AVP.SessionId, "s;1;1")
        .begin(AVP.VendorSpecificApplicationId)
        .unsigned32(AVP.VendorId, 10415)
        .unsigned32(AVP.AuthApplicationId, APP_ZH)
        .end();
      w.enumerated(AVP.AuthSessionState, 1)
        .identity(AVP.OriginHost, "b")
        .identity(AVP.OriginRealm, "r")
        .identity(AVP.DestinationRealm, "r");
      build(w);
      try {
        parseMar(decodeMessage(w.finish({ flags: 0xc0, commandCode: 303, applicationId: APP_ZH, ...IDS })));
      } catch (err) {
        return (err as DiameterError).resultCode;
      }
      return 0;
    };
    expect(rc(() => {})).toBe(RESULT.MISSING_AVP);
    expect(rc((w) => w.utf8(AVP.UserName, "a@b"))).toBe(0);
    expect(
      rc((w) => w.utf8(AVP.UserName, "a@b").begin(AVP.SipAuthDataItem).utf8(AVP.SipAuthenticationScheme, "Digest-MD5").end()),
    ).toBe(RESULT.INVALID_AVP_VALUE);
    expect(
      rc((w) => w.utf8(AVP.UserName, "a@b").begin(AVP.SipAuthDataItem).octets(AVP.SipAuthorization, new Uint8Array(29)).end()),
    ).toBe(RESULT.INVALID_AVP_VALUE);
  });
});

describe("Zn: Bootstrapping-Info-Request/Answer (TS 29.109 §6.1)", () => {
  it("BIR: Transaction-Identifier is the B-TID, NAF-Id is FQDN ‖ the 5-octet Ua id, in application 16777220", () => {
    const m = decodeMessage(bir());
    expect(m).toMatchObject({ commandCode: 310, applicationId: APP_ZN, flags: 0xc0 });
    const nafId = m.avps.find((a) => a.code === 402)!;
    expect(Buffer.from(nafId.data).toString("latin1").slice(0, 15)).toBe("naf.example.org");
    expect(hex(nafId.data.subarray(15))).toBe("0100000002");
    const r = parseBir(m);
    expect(r).toMatchObject({ btid: BTID, nafId: { fqdn: "naf.example.org" }, gbaUAware: false, gsIds: [1] });
    expect(hex(r.nafId.uaId)).toBe("0100000002");
  });

  it("BIA: ME-Key-Material, expiry and creation time, the USSs for this NAF, GBA-Type", () => {
    const a = parseBia(decodeMessage(bia()));
    expect(hex(a.meKeyMaterial)).toBe(hex(KS_NAF));
    expect(a).toMatchObject({
      impi: "alice@example.org",
      keyExpiryTime: T0 + 3600_000,
      bootstrapInfoCreationTime: T0,
      gbaType: "3G_GBA",
    });
    expect(a.ussList).toEqual([GUSS.ussList[0]]);
  });

  it("an unknown or expired B-TID: 10415:5403; a NAF that may not have the key: 10415:5402", () => {
    expect(parseBia(decodeMessage(biaUnknownBtid())).result).toEqual({ vendorId: 10415, code: 5403 });
    expect(resultName(5403, VENDOR_3GPP)).toBe("DIAMETER_ERROR_TRANSACTION_IDENTIFIER_INVALID (10415:5403)");
    expect(resultName(5402, VENDOR_3GPP)).toBe("DIAMETER_ERROR_NOT_AUTHORIZED (10415:5402)");
  });

  it("refuses a BIR whose NAF-Id has no FQDN or whose awareness indicator is 7 (5004), and a BIA key of 16 octets", () => {
    const w = new DiameterWriter();
    w.utf8(AVP.SessionId, "s;1;1")
      .begin(AVP.VendorSpecificApplicationId)
      .unsigned32(AVP.VendorId, 10415)
      .unsigned32(AVP.AuthApplicationId, APP_ZN)
      .end();
    w.identity(AVP.OriginHost, "n").identity(AVP.OriginRealm, "r").identity(AVP.DestinationRealm, "r");
    w.utf8(AVP.TransactionIdentifier, BTID).octets(AVP.NafId, unhex("0100000002"));
    expect(() => parseBir(decodeMessage(w.finish({ flags: 0xc0, commandCode: 310, applicationId: APP_ZN, ...IDS })))).toThrow(
      expect.objectContaining({ resultCode: RESULT.INVALID_AVP_VALUE, failedAvp: expect.objectContaining({ code: 402 }) }),
    );
    const w2 = new DiameterWriter();
    w2.utf8(AVP.SessionId, "s;1;1")
      .begin(AVP.VendorSpecificApplicationId)
      .unsigned32(AVP.VendorId, 10415)
      .unsigned32(AVP.AuthApplicationId, APP_ZN)
      .end();
    w2.identity(AVP.OriginHost, "n").identity(AVP.OriginRealm, "r").identity(AVP.DestinationRealm, "r");
    w2.utf8(AVP.TransactionIdentifier, BTID)
      .octets(AVP.NafId, unhex("612e620100000002"))
      .enumerated(AVP.GbaUAwarenessIndicator, 7);
    expect(() => parseBir(decodeMessage(w2.finish({ flags: 0xc0, commandCode: 310, applicationId: APP_ZN, ...IDS })))).toThrow(
      expect.objectContaining({ resultCode: RESULT.INVALID_AVP_VALUE }),
    );
    const short = encodeBia({ ...biaAnswer, meKeyMaterial: KS_NAF.subarray(0, 16) }, { flags: 0x40, ...IDS });
    expect(() => parseBia(decodeMessage(short))).toThrow(DiameterError);
  });
});

describe("key material zeroed for captures", () => {
  it("MAA: CK, IK and XRES zeroed, RAND ‖ AUTN kept, lengths unchanged; the input untouched", () => {
    const original = maa();
    const z = zeroKeys(original);
    expect(z.length).toBe(original.length);
    const a = parseMaa(decodeMessage(z));
    expect([a.av?.ck, a.av?.ik, a.av?.xres].map(hex)).toEqual(["00".repeat(16), "00".repeat(16), "00".repeat(8)]);
    expect(hex(a.av?.rand) + hex(a.av?.autn)).toBe(hex(AV.rand) + hex(AV.autn));
    expect(hex(parseMaa(decodeMessage(original)).av?.ck)).toBe(hex(AV.ck));
  });

  it("BIA: ME-Key-Material zeroed; a resynchronising MAR keeps RAND ‖ AUTS (not a key)", () => {
    expect(hex(parseBia(decodeMessage(zeroKeys(bia()))).meKeyMaterial)).toBe("00".repeat(32));
    expect(hex(parseMar(decodeMessage(zeroKeys(marResync()))).resync?.auts)).toBe("0123456789abcdef0123456789ab");
  });
});

describe("GUSS XML (TS 29.109 Annex A)", () => {
  it("encodes in the Annex A namespace and reads it back; ussList alone for Zn", () => {
    const xml = encodeGussXml(GUSS);
    expect(xml).toContain(`<guss xmlns="${GUSS_NAMESPACE}">`);
    expect(xml).toContain('nafGroup="grp&lt;&amp;&gt;"');
    expect(parseGussXml(xml)).toEqual(GUSS);
    expect(parseUssListXml(encodeUssListXml(GUSS.ussList))).toEqual(GUSS.ussList);
  });

  it("reads a GUSS without namespace as an HSS in the field sends it, ignoring what it does not know", () => {
    const fhoss =
      '<?xml version="1.0" encoding="UTF-8"?><guss id="alice@example.org"><bsfInfo><uiccType>GBA</uiccType><lifeTime>7200</lifeTime></bsfInfo>' +
      '<ussList><uss id="1" type="1" urlid="x"><uids><uid>sip:alice@example.org</uid></uids><flags></flags><extension/></uss></ussList></guss>';
    expect(parseGussXml(fhoss)).toEqual({
      bsfInfo: { uiccType: "GBA", lifeTime: 7200 },
      ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: "sip:alice@example.org" }] } }],
    });
  });

  it("refuses DTDs, entities, oversize, wrong roots and values with a named error", () => {
    const cases: Array<[string, RegExp]> = [
      ['<!DOCTYPE guss [<!ENTITY x "y">]><guss/>', /DTD/],
      ["<guss><bsfInfo><uiccType>&x;</uiccType></bsfInfo></guss>", /entity/],
      [`<guss>${"<a>".repeat(20)}`, /deeper/],
      ["<ussList/>", /expected <guss>/],
      ['<guss xmlns="urn:other"/>', /namespace/],
      ["<guss><bsfInfo><uiccType>GBA_X</uiccType></bsfInfo></guss>", /uiccType/],
      ["<guss><bsfInfo><lifeTime>-5</lifeTime></bsfInfo></guss>", /lifeTime/],
      ['<guss><ussList><uss type="1"/></ussList></guss>', /without id/],
      // TS 29.309 Uss: gsType and ueIds are required, so such a USS does not pass on to Zn
      ['<guss><ussList><uss id="1"><uids><uid>sip:a@b</uid></uids></uss></ussList></guss>', /without type/],
      ['<guss><ussList><uss id="1" type="1"/></ussList></guss>', /without <uids><uid>/],
      ['<guss><ussList><uss id="1" type="1"><uids></uids></uss></ussList></guss>', /without <uids><uid>/],
      ["<guss><bsfInfo></guss>", /does not match/],
      [`<guss>${" ".repeat(70 * 1024)}</guss>`, /larger than/],
    ];
    for (const [doc, why] of cases) {
      expect(() => parseGussXml(doc), doc.slice(0, 50)).toThrow(GussError);
      expect(() => parseGussXml(doc), doc.slice(0, 50)).toThrow(why);
    }
    expect(() => parseGussXml(unhex("3c67757373a0"))).toThrow(/UTF-8/);
  });
});

describe("tshark dissects every message we build, with no malformed or expert mark", () => {
  const caps: Capabilities = {
    ...BSF,
    hostIpAddresses: ["127.0.0.1", "::1"],
    vendorId: VENDOR_3GPP,
    productName: "gba-emu",
    originStateId: 1,
    supportedVendorIds: [VENDOR_3GPP],
    authApplicationIds: [],
    acctApplicationIds: [],
    vendorSpecificApplicationIds: [{ vendorId: VENDOR_3GPP, authApplicationId: APP_ZN }],
    firmwareRevision: 1,
  };
  const request = decodeMessage(bir());
  const messages = [
    encodeCer(caps, IDS),
    encodeCea(caps, resultCode(RESULT.SUCCESS), decodeMessage(encodeCer(caps, IDS))),
    encodeDwr(BSF, IDS, 1),
    encodeDwa(BSF, resultCode(RESULT.SUCCESS), decodeMessage(encodeDwr(BSF, IDS))),
    encodeDpr(BSF, 0, IDS),
    encodeDpa(BSF, resultCode(RESULT.SUCCESS), decodeMessage(encodeDpr(BSF, 0, IDS))),
    mar(),
    marResync(),
    maa(),
    bir(),
    bia(),
    biaUnknownBtid(),
    encodeErrorAnswer(BSF, request, request.avps, {
      resultCode: RESULT.AVP_UNSUPPORTED,
      message: "AVP 9 is not supported",
      failedAvp: request.avps[0],
    }),
    encodeErrorAnswer(BSF, request, request.avps, { resultCode: RESULT.COMMAND_UNSUPPORTED, message: "no such command" }),
  ];
  // a control: an Origin-Host claiming 32 octets in a 36-octet DWR must be flagged
  const broken = unhex("0100002480000118000000000000000100000002000001084000002061" + "2e62000000000000");
  const d = dissectDiameter([...messages, broken]);

  it("no malformed packet and no expert info in any Diameter packet but the broken control", () => {
    expect(d.problems, d.text.slice(0, 4000)).toEqual([`${messages.length + 1}\tWrong AVP(264) length 32`]);
    expect(d.diameter.map((l) => fieldValues(l, "diameter.cmd.code")[0])).toEqual([
      "257",
      "257",
      "280",
      "280",
      "282",
      "282",
      "303",
      "303",
      "303",
      "310",
      "310",
      "310",
      "310",
      "310",
      "280",
    ]);
  });

  it("shows the AVP names and values we meant", () => {
    const [cer, , , , , , , resync, maaL, birL, biaL, unknown, unsupported, cmdUnsupported] = d.diameter;
    expect(fieldValues(cer, "diameter.Product-Name")).toEqual(["gba-emu"]);
    expect(JSON.stringify(cer)).toMatch(/"127\.0\.0\.1"[\s\S]*"::1"/);
    expect(fieldValues(cer, "diameter.Vendor-Specific-Application-Id")).toHaveLength(1);
    expect(fieldValues(cer, "diameter.Auth-Application-Id")).toEqual(["16777220"]);
    expect(fieldValues(resync, "diameter.3GPP-SIP-Authorization").map((v) => v.replaceAll(":", ""))).toEqual([
      `${hex(AV.rand)}0123456789abcdef0123456789ab`,
    ]);
    expect(fieldValues(maaL, "diameter.3GPP-SIP-Authenticate").map((v) => v.replaceAll(":", ""))).toEqual([
      hex(AV.rand) + hex(AV.autn),
    ]);
    expect(fieldValues(maaL, "diameter.Confidentiality-Key").map((v) => v.replaceAll(":", ""))).toEqual([hex(AV.ck)]);
    expect(fieldValues(maaL, "diameter.3GPP-SIP-Authentication-Scheme")).toEqual(["Digest-AKAv1-MD5"]);
    expect(d.text).toContain("GBA-UserSecSettings");
    expect(
      fieldValues(birL, "diameter.Transaction-Identifier").map((v) => Buffer.from(v.replaceAll(":", ""), "hex").toString()),
    ).toEqual([BTID]);
    expect(fieldValues(birL, "diameter.NAF-Hostname").map((v) => v.replaceAll(":", ""))).toEqual([
      `${Buffer.from("naf.example.org").toString("hex")}0100000002`,
    ]);
    expect(fieldValues(biaL, "diameter.ME-Key-Material").map((v) => v.replaceAll(":", ""))).toEqual([hex(KS_NAF)]);
    expect(fieldValues(biaL, "diameter.Key-ExpiryTime").join()).toMatch(/2026/);
    expect(fieldValues(unknown, "diameter.Experimental-Result-Code")).toEqual(["5403"]);
    expect(fieldValues(unsupported, "diameter.Result-Code")).toEqual(["5001"]);
    expect(fieldValues(unsupported, "diameter.flags.error")).toEqual(["0"]);
    expect(fieldValues(cmdUnsupported, "diameter.flags.error")).toEqual(["1"]);
  });
});
