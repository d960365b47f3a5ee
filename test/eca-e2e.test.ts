// GSMA IoT.04 scenario 7 end to end against the real HSS, BSF, NAF plugin and ECA: an OBU
// (test/helpers/mini-ue.ts for Ub; Ks_NAF, Ua Digest and TLS-PSK built here from gba/ primitives)
// bootstraps, sends an openssl CSR over Ua (HTTP Digest qop=auth-int, TLS 1.2 PSK, TLS 1.3 PSK),
// and openssl verifies the enrolment certificate against GET /ca.pem.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { Client, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PSK_IDENTITY_HINT, pskIdentity } from "../gba/btid.js";
import { UA_ID, uaIdForTls } from "../gba/ua-id.js";
import { hexToBytes } from "../wire/bytes.js";
import { defaultConfig, type GbaConfig, withEphemeralPorts } from "../nf/config.js";
import type { RunningNf } from "../nf/common/nf.js";
import { startBsf } from "../nf/bsf/index.js";
import { startEca } from "../nf/eca/index.js";
import { openEcaStore } from "../nf/eca/store-open.js";
import { startHss } from "../nf/hss/index.js";
import { type Bootstrapped, MiniUe } from "./helpers/mini-ue.js";
import { withTestStore } from "./helpers/store-backend.js";
import { type EnrolAnswer, enrolOverDigest, ksNafFor, OpensslDir } from "./eca-helpers.js";

const K = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC = "cd63cb71954a9f4e48a5994e37a02baf";
const OBUS = [
  { impi: "001010000000001@ims.mnc001.mcc001.3gppnetwork.org", msisdn: "491700000001", vehicle: "VIN-0001", obu: "OBU-0001" },
  { impi: "001010000000002@ims.mnc001.mcc001.3gppnetwork.org", msisdn: "491700000002", vehicle: "VIN-0002", obu: "OBU-0002" },
];

let cfg: GbaConfig;
const nfs: RunningNf[] = [];
let ecaUrl: string;
let ecaTlsPsk: URL;
const ossl = new OpensslDir();
const obuKey = ossl.ecKey("obu.key");
const ues = new Map<string, { ue: MiniUe; boot: Bootstrapped }>();

async function bootstrapped(impi: string): Promise<{ ue: MiniUe; boot: Bootstrapped }> {
  let hit = ues.get(impi);
  if (!hit) {
    const ue = new MiniUe({ impi, k: hexToBytes(K), opc: hexToBytes(OPC) });
    hit = { ue, boot: await ue.bootstrap(nfs[1].urls.ub, cfg.bsf.fqdn) };
    ues.set(impi, hit);
  }
  return hit;
}

type Answer = EnrolAnswer;

async function enrolDigest(impi: string, csr: Uint8Array, opts: { btid?: string; type?: string } = {}): Promise<Answer> {
  const { boot } = await bootstrapped(impi);
  const res = await enrolOverDigest(ecaUrl, cfg.eca.fqdn, impi, boot, csr, opts);
  expect(res.realm).toBe(`3GPP-bootstrapping@${cfg.eca.fqdn}`);
  if (res.status === 200) expect(res.rspauthOk).toBe(true);
  return res;
}

/** TS 33.222 §5.4: PSK = Ks_NAF for NAF_Id = FQDN ‖ Ua id, psk_identity "3GPP-bootstrapping." B-TID. */
async function enrolTlsPsk(impi: string, csr: Uint8Array, version: "TLSv1.2" | "TLSv1.3"): Promise<Answer & { cipher: string }> {
  const { boot } = await bootstrapped(impi);
  // TLS 1.2: one suite offered, so its IANA code in the Ua id (TS 33.220 H.3) is known up front
  const suite = { openssl: "PSK-AES128-GCM-SHA256", code: 0x00a8 };
  const uaId = version === "TLSv1.2" ? uaIdForTls(suite.code) : UA_ID.TLS13_PSK;
  const psk = Buffer.from(ksNafFor(boot, impi, cfg.eca.fqdn, uaId));
  let cipher = "";
  const client = new Client(ecaTlsPsk.origin, {
    connect: (_opts, cb) => {
      const socket = tls.connect({
        host: ecaTlsPsk.hostname,
        port: Number(ecaTlsPsk.port),
        minVersion: version,
        maxVersion: version,
        ...(version === "TLSv1.2" ? { ciphers: suite.openssl } : {}),
        checkServerIdentity: () => undefined,
        pskCallback: (hint) => {
          if (version === "TLSv1.2") expect(hint).toBe(PSK_IDENTITY_HINT);
          return { identity: pskIdentity(boot.btid), psk };
        },
      });
      socket.once("secureConnect", () => {
        cipher = socket.getCipher().standardName;
        cb(null, socket);
      });
      socket.once("error", (err) => cb(err, null));
    },
  });
  try {
    const res = await client.request({
      path: "/enrol",
      method: "POST",
      headers: { "content-type": "application/pkcs10" },
      body: csr,
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, type: res.headers["content-type"] as string | undefined, body, cipher };
  } finally {
    await client.close();
  }
}

async function caPem(): Promise<string> {
  const res = await request(`${ecaUrl}/ca.pem`);
  expect(res.statusCode).toBe(200);
  return res.body.text();
}

async function certificateCount(): Promise<number> {
  const res = await request(`${ecaUrl}/certificates`);
  return ((await res.body.json()) as { certificates: unknown[] }).certificates.length;
}

function expectVerified(pem: string, der: Buffer, subject: string): void {
  const v = ossl.verify(pem, der);
  expect(v.code, v.stderr).toBe(0);
  expect(v.stdout).toMatch(/: OK/);
  expect(ossl.x509(der, "-subject").trim()).toBe(`subject=${subject}`);
}

beforeAll(async () => {
  cfg = withEphemeralPorts(defaultConfig());
  cfg.data = mkdtempSync(join(tmpdir(), "eca-e2e-"));
  cfg.logLevel = "silent";
  withTestStore(cfg);
  const hss = await startHss(cfg);
  nfs.push(hss);
  for (const o of OBUS) {
    const res = await request(`${hss.urls.admin}/subscribers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ impi: o.impi, k: K, opc: OPC, msisdn: o.msisdn }),
    });
    expect(res.statusCode, await res.body.text()).toBe(201);
  }
  nfs.push(await startBsf({ ...cfg, bsf: { ...cfg.bsf, hssUrl: hss.urls.zh } }));
  const store = await openEcaStore(cfg);
  await store.addBindings(
    OBUS.map((o) => ({ vehicleId: o.vehicle, obuId: o.obu, msisdn: `+${o.msisdn}` })),
    new Date(),
  );
  await store.close();
  const eca = await startEca({ ...cfg, eca: { ...cfg.eca, bsfUrl: nfs[1].urls.zn } });
  nfs.push(eca);
  ecaUrl = eca.urls.url;
  ecaTlsPsk = new URL(eca.urls.tlsPsk);
});

afterAll(async () => {
  for (const nf of nfs.reverse()) await nf.close();
});

describe("IoT.04 scenario 7 with the real HSS, BSF and NAF plugin", () => {
  it("an openssl P-256 CSR (/CN=OBU-0001) over HTTP Digest gets a certificate openssl verifies with ca.pem", async () => {
    const res = await enrolDigest(OBUS[0].impi, ossl.csr(obuKey, "/CN=OBU-0001"));
    expect(res.status, res.body.toString()).toBe(200);
    expect(res.type).toBe("application/pkix-cert");
    expectVerified(await caPem(), res.body, "CN = OBU-0001, serialNumber = VIN-0001");
  });

  it("over TLS 1.2 PSK (Ua id 01 00 01 00 A8) and TLS 1.3 PSK (01 00 00 00 07)", async () => {
    const pem = await caPem();
    for (const version of ["TLSv1.2", "TLSv1.3"] as const) {
      const res = await enrolTlsPsk(OBUS[1].impi, ossl.csr(obuKey, "/CN=OBU-0002", "DER"), version);
      expect(res.status, `${version}: ${res.body.toString()}`).toBe(200);
      expect(res.type).toBe("application/pkix-cert");
      if (version === "TLSv1.2") expect(res.cipher).toBe("TLS_PSK_WITH_AES_128_GCM_SHA256");
      expectVerified(pem, res.body, "CN = OBU-0002, serialNumber = VIN-0002");
    }
  });

  it("the certificate log names the IMPI and the Ua method of each enrolment", async () => {
    const res = await request(`${ecaUrl}/certificates`);
    const certs = ((await res.body.json()) as { certificates: Array<Record<string, string>> }).certificates;
    expect(certs.filter((c) => c.obuId === "OBU-0001" && c.method === "digest" && c.impi === OBUS[0].impi)).toHaveLength(1);
    expect(certs.filter((c) => c.obuId === "OBU-0002" && c.method === "tls-psk" && c.impi === OBUS[1].impi)).toHaveLength(2);
  });

  describe("refusals: a clear 4xx and no certificate recorded", () => {
    const cases: Array<{ name: string; status: number; cause?: string; send: () => Promise<Answer> }> = [
      {
        name: "OBU of another vehicle",
        status: 403,
        cause: "OBU_BOUND_TO_OTHER_VEHICLE",
        send: () => enrolDigest(OBUS[0].impi, ossl.csr(obuKey, "/CN=OBU-0001/serialNumber=VIN-0002")),
      },
      {
        name: "MSISDN mismatch (OBU-0002's CSR from subscriber 1)",
        status: 403,
        cause: "MSISDN_MISMATCH",
        send: () => enrolDigest(OBUS[0].impi, ossl.csr(obuKey, "/CN=OBU-0002")),
      },
      {
        name: "MSISDN mismatch over TLS-PSK",
        status: 403,
        cause: "MSISDN_MISMATCH",
        send: () => enrolTlsPsk(OBUS[1].impi, ossl.csr(obuKey, "/CN=OBU-0001"), "TLSv1.2"),
      },
      {
        name: "CSR with a bad signature",
        status: 400,
        cause: "CSR_BAD_SIGNATURE",
        send: () => {
          const der = ossl.csr(obuKey, "/CN=OBU-0001", "DER");
          der[der.length - 3] ^= 0x01;
          return enrolDigest(OBUS[0].impi, der, { type: "application/pkcs10" });
        },
      },
      {
        name: "CSR over the size limit",
        status: 413,
        send: () => enrolDigest(OBUS[0].impi, Buffer.alloc(16 * 1024 + 1, "A")),
      },
      {
        name: "unknown B-TID",
        status: 401,
        cause: "FST_GBA_BTID_UNKNOWN",
        send: () =>
          enrolDigest(OBUS[0].impi, ossl.csr(obuKey, "/CN=OBU-0001"), {
            btid: `${Buffer.alloc(16, 7).toString("base64")}@${cfg.bsf.fqdn}`,
          }),
      },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.status}`, async () => {
        const before = await certificateCount();
        const res = await c.send();
        expect(res.status, res.body.toString()).toBe(c.status);
        if (c.cause) expect(JSON.parse(res.body.toString()).cause).toBe(c.cause);
        expect(await certificateCount()).toBe(before);
      });
    }
  });
});
