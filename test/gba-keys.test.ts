// gba/ key material against computed examples of TS 33.220 B.2/B.3, B.4 and §5.3.2
// (test/vectors/gba-keys.json): KDF S-string, Ks_NAF / Ks_int_NAF / PSK-TLS Ks_NAF, TMPI, B-TID,
// AUTN*; each vector whole (from the MILENAGE inputs) and piecewise; then bad input.
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  deriveKsExtNaf,
  deriveKsIntNaf,
  deriveKsNaf,
  deriveTmpi,
  describeUaId,
  fromAutnStar,
  gbaUMacMask,
  kdf,
  kdfInput,
  ksFromCkIk,
  ksNafPassword,
  makeBtid,
  nafId,
  P0_GBA_ME,
  P0_GBA_U,
  parseBtid,
  parsePskIdentity,
  parseUaId,
  PSK_IDENTITY_HINT,
  pskIdentity,
  splitNafId,
  toAutnStar,
  UA_ID,
  UaIdError,
  uaIdForTls,
  uaIdForTlsBrowser,
  utf8,
} from "../gba/index.js";
import { generateAuthVector } from "../milenage/aka.js";
import { bytesToHex, HexError, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";

const V = JSON.parse(readFileSync(new URL("./vectors/gba-keys.json", import.meta.url), "utf8"));
const M = V.milenage as Record<string, string>;
const hex = (s: string) => hexToBytes(s);
const ck = hex(M.ck);
const ik = hex(M.ik);
const rand = hex(M.rand);
const ks = hex(V.ks);
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, "latin1"));

describe("vector inputs come from MILENAGE test set 1", () => {
  it("AV of K/OPc/RAND/SQN/AMF gives the vector's AUTN, XRES, CK, IK", () => {
    const av = generateAuthVector(new Milenage(hex(M.k), hex(M.opc)), rand, hex(M.sqn), hex(M.amf));
    expect(bytesToHex(av.autn)).toBe(M.autn);
    expect(bytesToHex(av.xres)).toBe(M.xres);
    expect(bytesToHex(av.ck)).toBe(M.ck);
    expect(bytesToHex(av.ik)).toBe(M.ik);
  });
});

describe("TS 33.220 B.2 KDF", () => {
  it("S = FC || P0 || L0 || ... with each 2-octet length after its parameter", () => {
    expect(bytesToHex(kdfInput(0x01, ascii("ab"), new Uint8Array([0xff])))).toBe("01" + "6162" + "0002" + "ff" + "0001");
    expect(bytesToHex(kdfInput(0x01))).toBe("01");
    expect(bytesToHex(kdfInput(0x01, new Uint8Array(0)))).toBe("010000");
    expect(bytesToHex(kdfInput(0xff01, ascii("x")))).toBe("ff01780001");
  });

  it("utf8() applies NFKC (B.2.1.2)", () => {
    expect(bytesToHex(utf8("ﬁ"))).toBe(bytesToHex(ascii("fi"))); // U+FB01 ligature → "fi"
    expect(bytesToHex(utf8("é"))).toBe("c3a9"); // e + combining acute → U+00E9
  });

  it("P0 constants are the octets of B.3", () => {
    expect(bytesToHex(P0_GBA_ME)).toBe("6762612d6d65");
    expect(bytesToHex(P0_GBA_U)).toBe("6762612d75");
  });

  it("refuses an FC outside 0x00..0xFE / 0xFF00..0xFFFF and a parameter longer than 65535", () => {
    expect(() => kdfInput(0xff)).toThrow(RangeError);
    expect(() => kdfInput(-1)).toThrow(RangeError);
    expect(() => kdfInput(0x100)).toThrow(RangeError);
    expect(() => kdfInput(1.5)).toThrow(RangeError);
    expect(() => kdfInput(1, new Uint8Array(65536))).toThrow(/P0 is 65536 octets/);
    expect(kdfInput(1, new Uint8Array(65535)).length).toBe(1 + 65535 + 2);
  });
});

describe("TS 33.220 B.3 NAF keys (computed example, test/vectors/gba-keys.json)", () => {
  it("Ks = CK || IK", () => {
    expect(bytesToHex(ksFromCkIk(ck, ik))).toBe(V.ks);
  });

  for (const v of V.naf_keys as Record<string, string>[]) {
    const naf = nafId(V.naf_fqdn, parseUaId(v.ua_id));
    const derive = v.p0 === "gba-u" ? deriveKsIntNaf : deriveKsNaf;

    it(`${v.name}: whole, from CK/IK`, () => {
      expect(bytesToHex(derive(ksFromCkIk(ck, ik), rand, V.impi, naf))).toBe(v.key);
    });

    it(`${v.name}: piecewise (NAF_Id, S, HMAC-SHA-256 of S)`, () => {
      if (v.naf_id) expect(bytesToHex(naf)).toBe(v.naf_id);
      const p0 = v.p0 === "gba-u" ? P0_GBA_U : P0_GBA_ME;
      const s = kdfInput(0x01, p0, rand, utf8(V.impi), naf);
      if (v.s) expect(bytesToHex(s)).toBe(v.s);
      expect(createHmac("sha256", ks).update(s).digest("hex")).toBe(v.key);
      expect(bytesToHex(kdf(ks, 0x01, p0, rand, utf8(V.impi), naf))).toBe(v.key);
      if (v.password_base64) expect(ksNafPassword(hex(v.key))).toBe(v.password_base64);
    });
  }

  it("Ks_ext_NAF is Ks_NAF; the PSK-TLS Ua id is 01 00 01 yy zz", () => {
    const v = V.naf_keys[2];
    expect(bytesToHex(uaIdForTls(v.tls_cipher_suite))).toBe(v.ua_id);
    expect(bytesToHex(deriveKsExtNaf(ks, rand, V.impi, nafId(V.naf_fqdn, uaIdForTls(0x8c))))).toBe(v.key);
  });

  it("splitNafId undoes nafId", () => {
    const { fqdn, uaId } = splitNafId(hex(V.naf_keys[0].naf_id));
    expect(fqdn).toBe(V.naf_fqdn);
    expect(bytesToHex(uaId)).toBe("0100000002");
  });

  it.each([
    ["CK of 15 octets", () => ksFromCkIk(ck.subarray(1), ik), /CK must be 16/],
    ["IK of 17 octets", () => ksFromCkIk(ck, new Uint8Array(17)), /IK must be 16/],
    ["Ks of 31 octets", () => deriveKsNaf(ks.subarray(1), rand, V.impi, hex(V.naf_keys[0].naf_id)), /Ks must be 32/],
    ["RAND of 15 octets", () => deriveKsNaf(ks, rand.subarray(1), V.impi, hex(V.naf_keys[0].naf_id)), /RAND must be 16/],
    ["empty IMPI", () => deriveKsIntNaf(ks, rand, "", hex(V.naf_keys[0].naf_id)), /IMPI/],
    ["empty NAF FQDN", () => nafId("", UA_ID.HTTP_DIGEST), /FQDN/],
    ["Ua id of 4 octets", () => nafId("naf.example.com", new Uint8Array(4)), /Ua security protocol id must be 5/],
    ["NAF_Id without FQDN", () => splitNafId(UA_ID.HTTP_DIGEST), /NAF_Id/],
  ])("bad input: %s", (_name, f, message) => {
    expect(f).toThrow(RangeError);
    expect(f).toThrow(message);
  });
});

describe("TS 33.220 Annex H Ua security protocol ids", () => {
  it("fixed identifiers of H.3", () => {
    const expected: Record<string, string> = {
      UNSPECIFIED: "0000000000",
      PKI_PORTAL: "0100000000",
      MBMS: "0100000001",
      HTTP_DIGEST: "0100000002",
      HTTP_MBMS: "0100000003",
      SIP_MBMS: "0100000004",
      GPL: "0100000005",
      IMS_KMS: "0100000006",
      TLS13_PSK: "0100000007",
      TMPI: "0100000100",
    };
    for (const [name, value] of Object.entries(expected)) {
      expect(bytesToHex(UA_ID[name as keyof typeof UA_ID])).toBe(value);
    }
  });

  it("TLS variants carry the cipher suite big-endian", () => {
    expect(bytesToHex(uaIdForTls(0x002f))).toBe("010001002f");
    expect(bytesToHex(uaIdForTlsBrowser(0xc02b))).toBe("010002c02b");
    expect(() => uaIdForTls(0x10000)).toThrow(RangeError);
    expect(() => uaIdForTlsBrowser(-1)).toThrow(RangeError);
  });

  it("parseUaId accepts exactly 5 octets and refuses organisation 00 with a protocol", () => {
    expect(bytesToHex(parseUaId("010001008C"))).toBe("010001008c");
    expect(() => parseUaId("01000000")).toThrow(HexError);
    expect(() => parseUaId("010000000201")).toThrow(/expected 5 bytes/);
    expect(() => parseUaId("01000000zz")).toThrow(HexError);
    expect(() => parseUaId("0000000002")).toThrow(UaIdError);
  });

  it("describeUaId names the protocol", () => {
    expect(describeUaId(UA_ID.HTTP_DIGEST)).toMatch(/HTTP Digest/);
    expect(describeUaId(uaIdForTls(0x8c))).toMatch(/0x008C TLS_PSK_WITH_AES_128_CBC_SHA/);
    expect(describeUaId(uaIdForTlsBrowser(0x1234))).toMatch(/TLS browser.*0x1234/);
    expect(describeUaId(UA_ID.UNSPECIFIED)).toBe("protocol not specified");
    expect(describeUaId(UA_ID.TMPI)).toMatch(/TMPI/);
    expect(describeUaId(hex("0300000001"))).toMatch(/OMA SUPL/);
    expect(describeUaId(hex("ff00000001"))).toMatch(/private/);
    expect(describeUaId(new Uint8Array(3))).toMatch(/invalid/);
  });
});

describe("B-TID, PSK identity, TMPI", () => {
  it("B-TID = base64(RAND) @ BSF FQDN, and back", () => {
    expect(makeBtid(rand, V.bsf_fqdn)).toBe(V.btid);
    const parsed = parseBtid(V.btid);
    expect(bytesToHex(parsed.rand)).toBe(M.rand);
    expect(parsed.bsfHost).toBe(V.bsf_fqdn);
  });

  it.each([
    ["no @", "I1U8vpY3qJ0hiuZNrke/NQ=="],
    ["empty host", "I1U8vpY3qJ0hiuZNrke/NQ==@"],
    ["host with a space", "I1U8vpY3qJ0hiuZNrke/NQ==@bsf example.org"],
    ["two @", "I1U8vpY3qJ0hiuZNrke/NQ==@a@b"],
    ["base64 of 15 octets", "I1U8vpY3qJ0hiuZNrke/@bsf.example.org"],
    ["unpadded base64", "I1U8vpY3qJ0hiuZNrke/NQ@bsf.example.org"],
    ["URL-safe alphabet", "I1U8vpY3qJ0hiuZNrke_NQ==@bsf.example.org"],
    ["non-canonical base64", "I1U8vpY3qJ0hiuZNrke/NR==@bsf.example.org"],
    ["longer than 255", `I1U8vpY3qJ0hiuZNrke/NQ==@${"a".repeat(240)}.org`],
    ["not a string", 42 as unknown as string],
  ])("parseBtid refuses %s with a BtidError", (_name, btid) => {
    expect(() => parseBtid(btid)).toThrow(/^malformed B-TID: /);
    try {
      parseBtid(btid);
    } catch (err) {
      expect((err as { code?: string }).code).toBe("BAD_BTID");
    }
  });

  it("makeBtid refuses a short RAND or a non-DNS FQDN", () => {
    expect(() => makeBtid(rand.subarray(1), V.bsf_fqdn)).toThrow(RangeError);
    expect(() => makeBtid(rand, "bsf@x")).toThrow(/not a DNS name/);
  });

  it("psk_identity = 3GPP-bootstrapping.B-TID and back", () => {
    expect(PSK_IDENTITY_HINT).toBe("3GPP-bootstrapping");
    expect(pskIdentity(V.btid)).toBe(`3GPP-bootstrapping.${V.btid}`);
    expect(parsePskIdentity(pskIdentity(V.btid))).toBe(V.btid);
    expect(parsePskIdentity("3GPP-bootstrapping.")).toBeUndefined();
    expect(parsePskIdentity("3GPP-AKMA.x@y")).toBeUndefined();
    expect(parsePskIdentity("client1")).toBeUndefined();
  });

  it("TMPI (B.4): whole, and piecewise via BSF_Id", () => {
    expect(deriveTmpi(ksFromCkIk(ck, ik), rand, V.impi, V.bsf_fqdn)).toBe(V.tmpi.tmpi);
    const bsfId = nafId(V.bsf_fqdn, UA_ID.TMPI);
    expect(bytesToHex(bsfId)).toBe(V.tmpi.bsf_id);
    const out = createHmac("sha256", ks)
      .update(kdfInput(1, P0_GBA_ME, rand, utf8(V.impi), bsfId))
      .digest();
    expect(`${out.subarray(0, 24).toString("base64")}@tmpi.bsf.3gppnetwork.org`).toBe(V.tmpi.tmpi);
  });
});

describe("GBA_U AUTN* (project reading of TS 33.220 §5.3.2, docs/architecture.md)", () => {
  const autn = hex(M.autn);

  it("whole: AUTN* of test set 1", () => {
    expect(bytesToHex(toAutnStar(autn, ik))).toBe(V.gba_u.autn_star);
  });

  it("piecewise: SQN⊕AK || AMF unchanged, MAC* = MAC ⊕ first 8 octets of SHA-1(IK)", () => {
    const mask = createHash("sha1").update(ik).digest().subarray(0, 8);
    expect(bytesToHex(gbaUMacMask(ik))).toBe(mask.toString("hex"));
    const macStar = Buffer.from(autn.subarray(8)).map((b, i) => b ^ mask[i]);
    expect(Buffer.from(macStar).toString("hex")).toBe(V.gba_u.mac_star);
    expect(V.gba_u.autn_star.slice(0, 16)).toBe(M.autn.slice(0, 16));
    expect(V.gba_u.autn_star.slice(16)).toBe(V.gba_u.mac_star);
  });

  it("fromAutnStar recovers AUTN and leaves its input alone", () => {
    const star = hex(V.gba_u.autn_star);
    expect(bytesToHex(fromAutnStar(star, ik))).toBe(M.autn);
    expect(bytesToHex(star)).toBe(V.gba_u.autn_star);
  });

  it("refuses wrong lengths", () => {
    expect(() => toAutnStar(autn.subarray(1), ik)).toThrow(/AUTN must be 16/);
    expect(() => fromAutnStar(autn, ik.subarray(1))).toThrow(/IK must be 16/);
  });
});
