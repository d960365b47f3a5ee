// The ECA application (routes, CSR checks, binding checks, certificate profile and log) behind a
// stub GBA plugin that sets request.gba from a test header, so every branch can be reached
// without a BSF. openssl makes the requests and verifies what comes back.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withDeps } from "../nf/common/deps.js";
import { createNfServer } from "../nf/common/server.js";
import { type EnrolmentCa, loadOrCreateCa } from "../nf/eca/ca.js";
import type { EcaStore } from "../nf/eca/store.js";
import { openEcaStore } from "../nf/eca/store-open.js";
import { EnrolmentProcedures } from "../nf/eca/procedures/enrolment.js";
import { enrolmentRoutes } from "../nf/eca/routes/enrolment.js";
import { OpensslDir } from "./eca-helpers.js";
import { testStore } from "./helpers/store-backend.js";

const FQDN = "eca.vehicleman.example";
const VALIDITY_DAYS = 30;
const NOW = Date.parse("2030-03-01T12:00:00Z");

function identity(btid: string, msisdn: string | undefined) {
  return {
    btid,
    impi: `imsi-${btid}@ims.example`,
    impus: [`sip:${btid}@ims.example`],
    msisdn,
    ussList: [],
    nafId: { nafFqdn: FQDN, uaSecProtId: "0100000002" },
    keyExpiryTime: "2030-03-02T12:00:00Z",
    method: "digest",
    keyKind: "ks_naf",
  };
}

/** B-TIDs the stub knows; any other answers 401 as the real plugin does for an unknown B-TID. */
const IDENTITIES = new Map<string, ReturnType<typeof identity>>([
  ["btid-obu1@bsf", identity("btid-obu1@bsf", "491700000001")],
  ["btid-obu2@bsf", identity("btid-obu2@bsf", "+491700000002")],
  ["btid-nomsisdn@bsf", identity("btid-nomsisdn@bsf", undefined)],
]);

const stubGba = fp(async (app: FastifyInstance) => {
  app.decorateRequest("gba", null);
  app.decorate("gbaAuthenticate", async (req: FastifyRequest, reply: FastifyReply) => {
    const id = IDENTITIES.get(String(req.headers["x-test-btid"]));
    if (!id) return reply.code(401).header("www-authenticate", `Digest realm="3GPP-bootstrapping@${FQDN}"`).send();
    (req as unknown as { gba: unknown }).gba = id;
  });
});

let data: string;
let ca: EnrolmentCa;
let store: EcaStore;
let app: FastifyInstance;
/** serial randomness the test can pin: queued values first, then counting bytes */
const queuedRandom: Uint8Array[] = [];
let counter = 0;
const ossl = new OpensslDir();
const obuKey = ossl.ecKey("obu1.key");

function randomBytes(n: number): Uint8Array {
  const q = queuedRandom.shift();
  if (q) return q;
  counter++;
  return Uint8Array.from({ length: n }, (_, i) => (counter * 31 + i) & 0xff);
}

async function enrol(
  body: Uint8Array | string,
  btid = "btid-obu1@bsf",
  type = "application/x-pkcs10",
  url = "/enrol?response=single",
) {
  return app.inject({ method: "POST", url, headers: { "content-type": type, "x-test-btid": btid }, payload: body });
}

beforeAll(async () => {
  data = mkdtempSync(join(tmpdir(), "eca-app-"));
  const deps = withDeps({ clock: () => NOW, randomBytes });
  ca = await loadOrCreateCa(data, FQDN, deps);
  store = await openEcaStore({ data, store: testStore(data) });
  await store.addBindings(
    [
      { vehicleId: "VIN-0001", obuId: "OBU-0001", msisdn: "+491700000001" },
      { vehicleId: "VIN-0002", obuId: "OBU-0002", msisdn: "491700000002" },
    ],
    new Date(NOW),
  );
  app = createNfServer({ name: "eca-test", logLevel: "silent" });
  await app.register(stubGba);
  await app.register(enrolmentRoutes, {
    enrolment: new EnrolmentProcedures({ ca, store, deps, certValidityDays: VALIDITY_DAYS }),
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await store?.close();
});

describe("ECA enrolment (TS 24.109 Annex E shape)", () => {
  it("issues a certificate for an openssl P-256 CSR that openssl verifies against GET /ca.pem", async () => {
    const csr = ossl.csr(obuKey, "/CN=OBU-0001");
    const res = await enrol(csr);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers["content-type"]).toBe("application/pkix-cert");
    const der = res.rawPayload;

    const caRes = await app.inject({ method: "GET", url: "/ca.pem" });
    expect(caRes.statusCode).toBe(200);
    expect(caRes.body).toContain("-----BEGIN CERTIFICATE-----");
    expect(caRes.body).toBe(readFileSync(join(data, "eca", "ca.pem"), "utf8"));

    const v = ossl.verify(caRes.body, der, NOW + 60_000);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/: OK/);
    expect(ossl.x509(der, "-subject").trim()).toBe("subject=CN = OBU-0001, serialNumber = VIN-0001");

    const text = ossl.x509(der, "-text");
    expect(text).toMatch(/Version: 3/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\s/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\s/);
    expect(text).toMatch(/Subject Key Identifier/);
    expect(text).toMatch(/Authority Key Identifier/);
    // the certified key is the CSR's key
    expect(ossl.x509(der, "-pubkey")).toBe(ossl.publicKey(obuKey));
  });

  it("validity is eca.certValidityDays from the injected clock; serial is 16 octets from the injected random", async () => {
    const fixed = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 - i);
    queuedRandom.push(fixed);
    const res = await enrol(ossl.csr(obuKey, "/CN=OBU-0001"));
    expect(res.statusCode, res.body).toBe(200);
    const dates = ossl.x509(res.rawPayload, "-startdate", "-enddate");
    expect(dates).toContain("notBefore=Mar  1 12:00:00 2030 GMT");
    expect(dates).toContain("notAfter=Mar 31 12:00:00 2030 GMT");
    // top two bits forced to 01 (positive, exactly 16 octets): f0 → 70
    const expected = `70${Buffer.from(fixed.subarray(1)).toString("hex")}`;
    expect(ossl.x509(res.rawPayload, "-serial").trim().toLowerCase()).toBe(`serial=${expected}`);
    expect((await store.listCertificates()).some((c) => c.serial === expected)).toBe(true);
  });

  it("draws a new serial when the drawn one is already recorded", async () => {
    const taken = (await store.listCertificates())[0].serial;
    const again = Buffer.from(taken, "hex");
    const fresh = Uint8Array.from({ length: 16 }, () => 0x55);
    queuedRandom.push(again, fresh);
    const res = await enrol(ossl.csr(obuKey, "/CN=OBU-0001"));
    expect(res.statusCode, res.body).toBe(200);
    expect(ossl.x509(res.rawPayload, "-serial").trim().toLowerCase()).toBe(`serial=${"55".repeat(16)}`);
  });

  it("accepts DER (application/pkcs10), bare base64, PEM with media-type parameters, and a CSR naming its vehicle", async () => {
    const key2 = ossl.ecKey("obu2.key", "secp384r1");
    const der = ossl.csr(key2, "/CN=OBU-0002", "DER");
    const cases: Array<[Uint8Array | string, string]> = [
      [der, "application/pkcs10"],
      [der.toString("base64"), "application/x-pkcs10"],
      [ossl.csr(key2, "/CN=OBU-0002"), "application/x-pkcs10; charset=us-ascii"],
      [ossl.csr(key2, "/CN=OBU-0002/serialNumber=VIN-0002"), "application/pkcs10"],
    ];
    for (const [body, type] of cases) {
      const res = await enrol(body, "btid-obu2@bsf", type);
      expect(res.statusCode, `${type}: ${res.body}`).toBe(200);
      expect(ossl.x509(res.rawPayload, "-subject").trim()).toBe("subject=CN = OBU-0002, serialNumber = VIN-0002");
    }
  });

  it("records every issued certificate with serial, IMPI, vehicle, OBU and time; GET /certificates lists them to loopback only", async () => {
    const before = (await store.listCertificates()).length;
    const res = await enrol(ossl.csr(obuKey, "/CN=OBU-0001"));
    expect(res.statusCode).toBe(200);
    const serial = ossl.x509(res.rawPayload, "-serial").trim().slice("serial=".length).toLowerCase();
    const list = await app.inject({ method: "GET", url: "/certificates", remoteAddress: "127.0.0.1" });
    expect(list.statusCode).toBe(200);
    const certs = list.json().certificates as Array<Record<string, string>>;
    expect(certs).toHaveLength(before + 1);
    expect(certs.find((c) => c.serial === serial)).toMatchObject({
      impi: "imsi-btid-obu1@bsf@ims.example",
      btid: "btid-obu1@bsf",
      vehicleId: "VIN-0001",
      obuId: "OBU-0001",
      msisdn: "491700000001",
      method: "digest",
      issuedAt: new Date(NOW).toISOString(),
    });
    const remote = await app.inject({ method: "GET", url: "/certificates", remoteAddress: "192.0.2.7" });
    expect(remote.statusCode).toBe(403);
    expect(remote.json().cause).toBe("ADMIN_LOOPBACK_ONLY");
  });

  it("GET /certificates pages newest first; GET /bindings pages the registry by OBU ID; both loopback only", async () => {
    const get = async (url: string, remoteAddress = "127.0.0.1") => app.inject({ method: "GET", url, remoteAddress });
    // every page of two, following `next`, is the whole log newest first (issuedAt, then serial)
    const all = await store.listCertificates();
    expect(all.length).toBeGreaterThan(2);
    const paged: string[] = [];
    let next: string | null = null;
    do {
      const page = await get(`/certificates?limit=2${next ? `&after=${encodeURIComponent(next)}` : ""}`);
      expect(page.statusCode, page.body).toBe(200);
      const body = page.json() as { certificates: Array<{ serial: string }>; next: string | null };
      expect(body.certificates.length).toBeLessThanOrEqual(2);
      paged.push(...body.certificates.map((c) => c.serial));
      next = body.next;
    } while (next !== null);
    expect(paged).toEqual(all.map((c) => c.serial).reverse());

    const first = await get("/bindings?limit=1");
    expect(first.json()).toMatchObject({
      bindings: [{ obuId: "OBU-0001", vehicleId: "VIN-0001", msisdn: "491700000001" }],
      next: "OBU-0001",
    });
    const second = await get("/bindings?limit=1&after=OBU-0001");
    expect(second.json()).toMatchObject({ bindings: [{ obuId: "OBU-0002" }], next: null });
    expect((await get("/bindings")).json().bindings).toHaveLength(2);

    for (const bad of ["/bindings?limit=0", "/certificates?limit=1001", "/bindings?sort=obu"]) {
      const res = await get(bad);
      expect(res.statusCode, bad).toBe(400);
    }
    const remote = await get("/bindings", "192.0.2.7");
    expect(remote.statusCode).toBe(403);
    expect(remote.json().cause).toBe("ADMIN_LOOPBACK_ONLY");
  });

  it("GET /getcertificate?in=<base64 DER issuer> returns the CA certificate (24.109 E.5), 404 for another issuer (E.6)", async () => {
    const issuer = Buffer.from(ca.cert.subjectName.toArrayBuffer()).toString("base64");
    const hit = await app.inject({
      method: "GET",
      url: `/getcertificate?in=${encodeURIComponent(issuer)}`,
      headers: { "x-test-btid": "btid-obu1@bsf" },
    });
    expect(hit.statusCode).toBe(200);
    expect(hit.headers["content-type"]).toBe("application/pkix-cert");
    expect(ossl.x509(hit.rawPayload, "-subject").trim()).toBe(`subject=CN = ${FQDN} Enrolment CA`);
    const miss = await app.inject({ method: "GET", url: "/getcertificate?in=MAA=", headers: { "x-test-btid": "btid-obu1@bsf" } });
    expect(miss.statusCode).toBe(404);
    const none = await app.inject({ method: "GET", url: "/getcertificate", headers: { "x-test-btid": "btid-obu1@bsf" } });
    expect(none.statusCode).toBe(400);
    const anon = await app.inject({ method: "GET", url: `/getcertificate?in=${encodeURIComponent(issuer)}` });
    expect(anon.statusCode).toBe(401);
  });
});

describe("ECA refusals: a clear 4xx naming the problem, and no certificate recorded", () => {
  function tamperedCn(der: Buffer): Buffer {
    const at = der.indexOf(Buffer.from("OBU-0001"));
    expect(at).toBeGreaterThan(0);
    const copy = Buffer.from(der);
    copy[at + 7] = "2".charCodeAt(0);
    return copy;
  }

  function flippedSignature(der: Buffer): Buffer {
    const copy = Buffer.from(der);
    copy[copy.length - 3] ^= 0x01;
    return copy;
  }

  const cases: Array<{ name: string; status: number; cause?: string; send: () => ReturnType<typeof enrol> }> = [
    {
      name: "OBU bound to another vehicle than the CSR names",
      status: 403,
      cause: "OBU_BOUND_TO_OTHER_VEHICLE",
      send: () => enrol(ossl.csr(obuKey, "/CN=OBU-0001/serialNumber=VIN-0002")),
    },
    {
      name: "MSISDN of the bootstrapped subscriber is not the OBU's",
      status: 403,
      cause: "MSISDN_MISMATCH",
      send: () => enrol(ossl.csr(obuKey, "/CN=OBU-0001"), "btid-obu2@bsf"),
    },
    {
      name: "subscriber without an MSISDN in its USS",
      status: 403,
      cause: "MSISDN_NOT_IN_USS",
      send: () => enrol(ossl.csr(obuKey, "/CN=OBU-0001"), "btid-nomsisdn@bsf"),
    },
    { name: "OBU not in the registry", status: 403, cause: "OBU_UNKNOWN", send: () => enrol(ossl.csr(obuKey, "/CN=OBU-9999")) },
    {
      name: "CSR whose subject was changed after signing",
      status: 400,
      cause: "CSR_BAD_SIGNATURE",
      send: () => enrol(tamperedCn(ossl.csr(obuKey, "/CN=OBU-0001", "DER")), "btid-obu2@bsf", "application/pkcs10"),
    },
    {
      name: "CSR with a corrupted signature",
      status: 400,
      cause: "CSR_BAD_SIGNATURE",
      send: () => enrol(flippedSignature(ossl.csr(obuKey, "/CN=OBU-0001", "DER")), "btid-obu1@bsf", "application/pkcs10"),
    },
    { name: "body that is no CSR", status: 400, cause: "CSR_UNPARSEABLE", send: () => enrol("hello, ECA") },
    {
      name: "truncated DER",
      status: 400,
      cause: "CSR_UNPARSEABLE",
      send: () => enrol(ossl.csr(obuKey, "/CN=OBU-0001", "DER").subarray(0, 60), "btid-obu1@bsf", "application/pkcs10"),
    },
    { name: "empty body", status: 400, cause: "CSR_UNPARSEABLE", send: () => enrol(Buffer.alloc(0)) },
    { name: "CSR over the 16 KiB limit", status: 413, cause: "PAYLOAD_TOO_LARGE", send: () => enrol("A".repeat(16 * 1024 + 1)) },
    { name: "unknown B-TID", status: 401, send: () => enrol(ossl.csr(obuKey, "/CN=OBU-0001"), "unknown@bsf") },
    {
      name: "body that is not a CSR media type",
      status: 415,
      cause: "UNSUPPORTED_MEDIA_TYPE",
      send: () => enrol(JSON.stringify({ csr: "x" }), "btid-obu1@bsf", "application/json"),
    },
    {
      name: "CSR sent as text/plain",
      status: 415,
      cause: "UNSUPPORTED_MEDIA_TYPE",
      send: () => enrol("MIIB", "btid-obu1@bsf", "text/plain"),
    },
    {
      name: "response type other than single",
      status: 400,
      cause: "UNSUPPORTED_RESPONSE_TYPE",
      send: () => enrol(ossl.csr(obuKey, "/CN=OBU-0001"), "btid-obu1@bsf", "application/x-pkcs10", "/enrol?response=chain"),
    },
    {
      name: "RSA key below 2048 bits",
      status: 400,
      cause: "CSR_UNSUPPORTED_KEY",
      send: () => enrol(ossl.csr(ossl.rsaKey("rsa1024.key", 1024), "/CN=OBU-0001")),
    },
    {
      name: "EC key on a curve other than P-256/384/521",
      status: 400,
      cause: "CSR_UNSUPPORTED_KEY",
      send: () => enrol(ossl.csr(ossl.ecKey("k1.key", "secp256k1"), "/CN=OBU-0001")),
    },
    { name: "CSR without CN", status: 400, cause: "CSR_BAD_SUBJECT", send: () => enrol(ossl.csr(obuKey, "/O=VehicleMan")) },
    {
      name: "CSR with two CNs",
      status: 400,
      cause: "CSR_BAD_SUBJECT",
      send: () => enrol(ossl.csr(obuKey, "/CN=OBU-0001/CN=OBU-0002")),
    },
    {
      name: "CN that is no valid OBU ID",
      status: 400,
      cause: "CSR_BAD_SUBJECT",
      send: () => enrol(ossl.csr(obuKey, "/CN=OBU 0001_x")),
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status}${c.cause ? ` ${c.cause}` : ""}`, async () => {
      const before = (await store.listCertificates()).length;
      const res = await c.send();
      expect(res.statusCode, res.body).toBe(c.status);
      if (c.cause) {
        expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
        const p = res.json();
        expect(p.cause).toBe(c.cause);
        expect(p.detail).toEqual(expect.any(String));
      }
      expect(await store.listCertificates()).toHaveLength(before);
    });
  }
});
