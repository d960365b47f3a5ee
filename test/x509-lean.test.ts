// The lean X.509 path (wire/der.ts, wire/x509.ts; the OBU in scenarios/engine/enrolment.ts; the
// ECA in nf/eca) against openssl, an implementation that is not ours: openssl accepts the OBU's
// CSRs (req -verify), the OBU accepts certificates openssl issues and refuses the wrong ones,
// the ECA accepts openssl's CSRs of every key type it certifies. DER strictness on X.690 rules.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CsrError, checkCsr } from "../nf/eca/csr.js";
import {
  buildCsr,
  CertificateCheckError,
  generateObuKeys,
  type ObuKeys,
  p256Spki,
  parseCaPem,
  verifyEnrolmentCertificate,
} from "../scenarios/engine/enrolment.js";
import {
  DerError,
  fromPem,
  namedBits,
  oid,
  readOid,
  readOnly,
  readTime,
  readTlv,
  TAG,
  time,
  toPem,
  unsignedInteger,
} from "../wire/der.js";
import { OpensslDir, openssl } from "./eca-helpers.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
const ossl = new OpensslDir();

function opensslOk(args: string[], input?: Uint8Array | string): string {
  const r = openssl(args, input);
  if (r.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

describe("the OBU's PKCS#10 request, checked by openssl", () => {
  it("openssl req -verify accepts it: CN = OBU ID, P-256 key, ecdsa-with-SHA256", async () => {
    const keys = await generateObuKeys();
    const der = await buildCsr("OBU-0042", keys);
    const file = ossl.write("ue.csr", der);
    const out = opensslOk(["req", "-inform", "DER", "-in", file, "-verify", "-noout", "-text"]);
    expect(openssl(["req", "-inform", "DER", "-in", file, "-verify", "-noout"]).stderr).toMatch(
      /verify OK|Certificate request self-signature verify OK/,
    );
    expect(out).toMatch(/Subject: CN = OBU-0042/);
    expect(out).toMatch(/NIST CURVE: P-256/);
    expect(out).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    // and the ECA's own check reads the same request
    expect((await checkCsr(der)).obuId).toBe("OBU-0042");
  });

  it("the OBU's SubjectPublicKeyInfo (built from the JWK point) is the one openssl derives from its private key", async () => {
    const keys = await generateObuKeys();
    const pkcs8 = ossl.write("ue.key", new Uint8Array(keys.privateKey.export({ type: "pkcs8", format: "der" })));
    const out = ossl.path("ue.pub");
    opensslOk(["pkey", "-inform", "DER", "-in", pkcs8, "-pubout", "-outform", "DER", "-out", out]);
    expect(hex(keys.spki)).toBe(hex(readFileSync(out)));
    expect(() => p256Spki(new Uint8Array(31), new Uint8Array(32))).toThrow(RangeError);
  });

  it("a request with a changed byte fails openssl's verification too", async () => {
    const der = await buildCsr("OBU-0042", await generateObuKeys());
    const bad = Uint8Array.from(der);
    bad[Buffer.from(bad).indexOf("OBU-0042") + 6] = 0x35; // CN OBU-0052
    // OpenSSL 3.0 `req -verify` exits 0 either way: its verdict is the line it prints
    const r = openssl(["req", "-inform", "DER", "-in", ossl.write("bad.csr", bad), "-verify", "-noout"]);
    expect(r.stdout + r.stderr).toMatch(/self-signature verify failure/);
    await expect(checkCsr(bad)).rejects.toMatchObject({ cause_: "CSR_BAD_SIGNATURE" });
  });
});

describe("the OBU checks certificates openssl issues", () => {
  const caKey = ossl.ecKey("root.key");
  const caPem = opensslOk(["req", "-new", "-x509", "-key", caKey, "-subj", "/CN=openssl test root", "-days", "2"]);
  const otherKey = ossl.ecKey("other.key");
  const otherPem = opensslOk(["req", "-new", "-x509", "-key", otherKey, "-subj", "/CN=openssl test root", "-days", "2"]);

  async function issued(keys: ObuKeys, subj: string, extra: string[] = [], ca = { pem: caPem, key: caKey }): Promise<Uint8Array> {
    const csr = ossl.write(`req-${Math.random()}.csr`, await buildCsr("OBU-0042", keys));
    const caFile = ossl.write(`ca-${Math.random()}.pem`, ca.pem);
    const out = ossl.path(`cert-${Math.random()}.der`);
    // biome-ignore format: one openssl command line
    opensslOk(["x509", "-req", "-inform", "DER", "-in", csr, "-CA", caFile, "-CAkey", ca.key, "-set_serial", "0x4a3b", "-days", "1", "-subj", subj, "-outform", "DER", "-out", out, ...extra]);
    return new Uint8Array(readFileSync(out));
  }

  const expectFor = (keys: ObuKeys) => ({ obuId: "OBU-0042", vehicleId: "VIN-0042", spki: keys.spki, now: new Date() });

  it("accepts the right one, refuses each wrong one with its cause", async () => {
    const keys = await generateObuKeys();
    const root = parseCaPem(caPem);
    const good = await issued(keys, "/CN=OBU-0042/serialNumber=VIN-0042");
    await expect(verifyEnrolmentCertificate(good, root, expectFor(keys))).resolves.toBeUndefined();

    const cause = async (der: Uint8Array, e = expectFor(keys), r = root) =>
      verifyEnrolmentCertificate(der, r, e).then(
        () => "accepted",
        (err: unknown) => (err instanceof CertificateCheckError ? err.cause_ : String(err)),
      );
    expect(await cause(await issued(keys, "/CN=OBU-0042/serialNumber=VIN-0042", [], { pem: otherPem, key: otherKey }))).toBe(
      "CERT_BAD_SIGNATURE",
    );
    expect(await cause(good, expectFor(keys), parseCaPem(otherPem))).toBe("CERT_BAD_SIGNATURE");
    expect(await cause(await issued(keys, "/CN=OBU-0043/serialNumber=VIN-0042"))).toBe("CERT_WRONG_OBU");
    expect(await cause(await issued(keys, "/CN=OBU-0042/serialNumber=VIN-0043"))).toBe("CERT_WRONG_VEHICLE");
    expect(await cause(await issued(keys, "/CN=OBU-0042"))).toBe("CERT_WRONG_VEHICLE");
    expect(await cause(good, { ...expectFor(keys), now: new Date(Date.now() + 3 * 86_400_000) })).toBe("CERT_NOT_VALID_NOW");
    expect(await cause(good, { ...expectFor(keys), now: new Date(Date.now() - 86_400_000) })).toBe("CERT_NOT_VALID_NOW");
    const other = await generateObuKeys();
    expect(await cause(good, expectFor(other))).toBe("CERT_WRONG_KEY");
    const pub = ossl.write("other.pub", toPem(other.spki, "PUBLIC KEY"));
    expect(await cause(await issued(keys, "/CN=OBU-0042/serialNumber=VIN-0042", ["-force_pubkey", pub]))).toBe("CERT_WRONG_KEY");
    expect(await cause(good.subarray(0, good.length - 1))).toBe("CERT_UNPARSEABLE");
    expect(() => parseCaPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")).toThrow(CertificateCheckError);
  });

  it("an issuer name other than the root's subject is CERT_WRONG_ISSUER even when the key signed it", async () => {
    const keys = await generateObuKeys();
    const renamedRoot = opensslOk(["req", "-new", "-x509", "-key", caKey, "-subj", "/CN=another name", "-days", "2"]);
    const der = await issued(keys, "/CN=OBU-0042/serialNumber=VIN-0042");
    await expect(verifyEnrolmentCertificate(der, parseCaPem(renamedRoot), expectFor(keys))).rejects.toMatchObject({
      cause_: "CERT_WRONG_ISSUER",
    });
  });
});

describe("the ECA reads openssl's requests of every key type it certifies", () => {
  const cases: Array<[string, () => string, string[]]> = [
    ["P-256", () => ossl.ecKey("p256.key"), []],
    ["P-384", () => ossl.ecKey("p384.key", "secp384r1"), []],
    ["P-521", () => ossl.ecKey("p521.key", "secp521r1"), []],
    ["RSA 2048 PKCS#1 v1.5", () => ossl.rsaKey("rsa.key", 2048), []],
    ["RSA 2048 PSS", () => ossl.rsaKey("rsapss.key", 2048), ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]],
    [
      "Ed25519",
      () => {
        const f = ossl.path("ed.key");
        opensslOk(["genpkey", "-algorithm", "ED25519", "-out", f]);
        return f;
      },
      [],
    ],
  ];
  for (const [name, key, opts] of cases) {
    it(name, async () => {
      const out = ossl.path(`${name.replace(/\W/g, "")}.csr`);
      opensslOk([
        "req",
        "-new",
        "-key",
        key(),
        "-subj",
        "/CN=OBU-0007/serialNumber=VIN-0007",
        "-outform",
        "DER",
        "-out",
        out,
        ...opts,
      ]);
      const c = await checkCsr(readFileSync(out));
      expect(c).toMatchObject({ obuId: "OBU-0007", vehicleId: "VIN-0007" });
      // the key certified is the request's, byte for byte
      const spki = fromPem(opensslOk(["req", "-inform", "DER", "-in", out, "-pubkey", "-noout"]), "PUBLIC KEY");
      expect(hex(c.publicKey.der)).toBe(hex(spki));
    });
  }

  it("an EC point off its curve is refused as an unsupported key", async () => {
    const der = Uint8Array.from(ossl.csr(ossl.ecKey("off.key"), "/CN=OBU-0007", "DER"));
    const point = Buffer.from(der).indexOf(Buffer.from([0x03, 0x42, 0x00, 0x04])) + 4;
    der[point + 63] ^= 0x01; // last octet of Y
    await expect(checkCsr(der)).rejects.toMatchObject({ cause_: "CSR_UNSUPPORTED_KEY" });
  });

  it("Ed448 is refused as an unsupported key", async () => {
    const f = ossl.path("ed448.key");
    opensslOk(["genpkey", "-algorithm", "ED448", "-out", f]);
    await expect(checkCsr(ossl.csr(f, "/CN=OBU-0007", "DER"))).rejects.toMatchObject({ cause_: "CSR_UNSUPPORTED_KEY" });
    await expect(checkCsr(ossl.csr(f, "/CN=OBU-0007", "DER"))).rejects.toBeInstanceOf(CsrError);
  });
});

describe("DER (X.690) strictness and encodings", () => {
  it("encodes as X.690 §8 shows", () => {
    expect(hex(oid("1.2.840.113549"))).toBe("06062a864886f70d");
    expect(hex(oid("2.5.4.3"))).toBe("0603550403");
    expect(hex(oid("2.999.3"))).toBe("0603883703");
    expect(hex(unsignedInteger(bytes("80")))).toBe("02020080");
    expect(hex(unsignedInteger(bytes("000001")))).toBe("020101");
    // keyUsage keyCertSign (5) + cRLSign (6): 7 bits used, 1 unused; digitalSignature alone: 7 unused
    expect(hex(namedBits([5, 6]))).toBe("03020106");
    expect(hex(namedBits([0]))).toBe("03020780");
    expect(hex(time(new Date("2049-12-31T23:59:59Z")))).toBe(Buffer.from("\x17\x0d491231235959Z", "latin1").toString("hex"));
    expect(hex(time(new Date("2050-01-01T00:00:00Z")))).toBe(Buffer.from("\x18\x0f20500101000000Z", "latin1").toString("hex"));
  });

  it("reads back what it writes", () => {
    for (const o of ["1.2.840.10045.4.3.2", "2.5.29.37", "1.3.6.1.5.5.7.3.2", "2.999.3", "0.9.2342.19200300.100.1.25"]) {
      const der = oid(o);
      expect(readOid(der, readOnly(der, TAG.OID))).toBe(o);
    }
    const t = time(new Date("2030-03-01T12:00:00Z"));
    expect(readTime(t, readOnly(t, TAG.UTC_TIME)).toISOString()).toBe("2030-03-01T12:00:00.000Z");
  });

  const refused: Array<[string, string]> = [
    ["indefinite length", "3080 0000"],
    ["length not in its shortest form", "3081 0100"],
    ["length with a leading zero octet", "3082 0001 00"],
    ["value past the end", "3005 0101"],
    ["multi-octet tag", "1f81 00"],
  ];
  for (const [what, h] of refused) {
    it(`refuses ${what}`, () => {
      expect(() => readTlv(bytes(h), 0)).toThrow(DerError);
    });
  }

  it("refuses trailing octets, a non-minimal INTEGER, a non-DER BOOLEAN, a bad OID and a bad time", () => {
    expect(() => readOnly(bytes("3000 00"), TAG.SEQUENCE)).toThrow(/after the end/);
    const csr = async (h: string) => checkCsr(bytes(h)).catch((e: unknown) => (e as CsrError).cause_);
    return Promise.all([
      expect(csr("3003 020100")).resolves.toBe("CSR_UNPARSEABLE"),
      expect(() => readOid(bytes("0602 8001"), readTlv(bytes("0602 8001"), 0))).toThrow(/leading zero/),
      expect(() =>
        readTime(bytes("170d 3330303233303132303030305a"), readTlv(bytes("170d 3330303233303132303030305a"), 0)),
      ).toThrow(/not a valid date/),
    ]);
  });
});
