// The X.509 steps of an IoT.04 enrolment, before and after the lean path, in the same run: the
// OBU's P-256 key generation, its PKCS#10 request, the ECA's request check, the ECA's
// certificate issue and the OBU's certificate check. "After" is the code in use (node:crypto and
// wire/der.ts + wire/x509.ts); "before" is the @peculiar/x509 path it replaced (over WebCrypto,
// asn1js and @peculiar/asn1-schema), kept here only to be measured. Each step runs back to back
// in this process (one at a time, awaited), interleaved before/after over several samples; the
// figure is CPU µs per step (process.cpuUsage: every thread, so libuv's pool counts for keygen)
// and steps/s. No target: indicative on a shared machine.
import "reflect-metadata";
import { createPublicKey, generateKeyPair as generateKeyPairCb, webcrypto } from "node:crypto";
import { promisify } from "node:util";
import * as x509 from "@peculiar/x509";
import { withDeps } from "../nf/common/deps.js";
import { type EnrolmentCa, issueEnrolmentCertificate, loadOrCreateCa } from "../nf/eca/ca.js";
import { checkCsr } from "../nf/eca/csr.js";
import { buildCsr, generateObuKeys, parseCaPem, verifyEnrolmentCertificate } from "../scenarios/engine/enrolment.js";
import { cpuFigures } from "./lib/cpu.js";
import { LatencyRecorder } from "./lib/latency.js";
import { machineInfo } from "./lib/machine.js";
import type { BenchOptions } from "./lib/options.js";
import { type BenchResult, compare, type Measurement } from "./lib/result.js";
import { Rig } from "./lib/rig.js";

x509.cryptoProvider.set(webcrypto);
const generateKeyPair = promisify(generateKeyPairCb);
const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const OBU = "OBU-BENCH-0001";
const VEHICLE = "VIN-BENCH-0001";
const SAMPLES = 5;

// ------------------------------------------------------------- before: the @peculiar/x509 path

/** As the OBU did it: node:crypto key pair, exported and imported into WebCrypto for @peculiar/x509. */
async function peculiarKeys(): Promise<webcrypto.CryptoKeyPair> {
  const pair = await generateKeyPair("ec", { namedCurve: "prime256v1" });
  const spki = pair.publicKey.export({ type: "spki", format: "der" });
  const pkcs8 = pair.privateKey.export({ type: "pkcs8", format: "der" });
  const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, EC_P256, false, ["sign"]);
  const publicKey = await webcrypto.subtle.importKey("spki", spki, EC_P256, true, ["verify"]);
  return { privateKey, publicKey };
}

async function peculiarCsr(keys: webcrypto.CryptoKeyPair): Promise<Uint8Array> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ "2.5.4.3": [OBU] }],
    keys,
    signingAlgorithm: SIGNING,
  });
  return new Uint8Array(csr.rawData);
}

async function peculiarCheckCsr(der: Uint8Array): Promise<x509.PublicKey> {
  const csr = new x509.Pkcs10CertificateRequest(der);
  if (csr.publicKey.algorithm.name !== "ECDSA" || !(await csr.verify())) throw new Error("CSR refused");
  if (csr.subjectName.getField("2.5.4.3")[0] !== OBU) throw new Error("CN");
  return csr.publicKey;
}

interface PeculiarCa {
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
}

async function peculiarIssue(ca: PeculiarCa, publicKey: x509.PublicKey): Promise<Uint8Array> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "4a".repeat(16),
    subject: new x509.Name([{ "2.5.4.3": [{ utf8String: OBU }] }, { "2.5.4.5": [{ printableString: VEHICLE }] }]),
    issuer: ca.cert.subjectName,
    notBefore: now,
    notAfter: new Date(now.getTime() + 86_400_000),
    publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return new Uint8Array(cert.rawData);
}

async function peculiarVerify(der: Uint8Array, ca: x509.X509Certificate, spki: Uint8Array): Promise<void> {
  const cert = new x509.X509Certificate(der);
  if (!(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }))) throw new Error("signature");
  if (cert.issuer !== ca.subject) throw new Error("issuer");
  if (cert.subjectName.getField("2.5.4.3")[0] !== OBU || cert.subjectName.getField("2.5.4.5")[0] !== VEHICLE)
    throw new Error("subject");
  if (!Buffer.from(cert.publicKey.rawData).equals(spki)) throw new Error("key");
}

// ------------------------------------------------------------- measuring

interface Tally {
  ops: number;
  wallS: number;
  cpuUs: number;
  latency: LatencyRecorder;
}

async function runFor(op: () => Promise<unknown>, ms: number, t: Tally): Promise<void> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  for (let now = start; now < end; ) {
    await op();
    const after = performance.now();
    t.latency.add(after - now);
    t.ops++;
    now = after;
  }
  const c = process.cpuUsage(cpu0);
  t.cpuUs += c.user + c.system;
  t.wallS += (performance.now() - start) / 1000;
}

function measurement(label: string, t: Tally): Measurement {
  return {
    label,
    unit: "step",
    perSec: t.ops / t.wallS,
    ok: t.ops,
    errors: {},
    seconds: t.wallS,
    latencyMs: t.latency.summary(),
    histogram: t.latency.histogram(),
    cpu: cpuFigures([{ us: { "bench process": t.cpuUs }, wallS: t.wallS }], t.ops, "one step at a time"),
  };
}

export async function benchX509(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  try {
    const deps = withDeps();
    const ca: EnrolmentCa = await loadOrCreateCa(rig.tmp("x509"), "eca.bench.example", deps);
    const root = parseCaPem(ca.pem);
    const pCa: PeculiarCa = {
      cert: new x509.X509Certificate(ca.pem),
      key: await webcrypto.subtle.importKey("pkcs8", ca.privateKey.export({ type: "pkcs8", format: "der" }), EC_P256, false, [
        "sign",
      ]),
    };
    const keys = await generateObuKeys();
    const csr = await buildCsr(OBU, keys);
    const checked = await checkCsr(csr);
    const pKeys = await peculiarKeys();
    const pCsr = await peculiarCsr(pKeys);
    const pPublicKey = await peculiarCheckCsr(pCsr);
    const issue = () =>
      issueEnrolmentCertificate(ca, {
        publicKey: checked.publicKey,
        obuId: OBU,
        vehicleId: VEHICLE,
        serialRandom: deps.randomBytes(16),
        now: Date.now(),
        validityDays: 1,
      });
    const cert = (await issue()).rawData;
    const pCert = await peculiarIssue(pCa, pPublicKey);
    const pSpki = new Uint8Array(createPublicKey(pPublicKey.toString("pem")).export({ type: "spki", format: "der" }));
    const expect = { obuId: OBU, vehicleId: VEHICLE, spki: keys.spki, now: new Date() };

    const steps: Array<[string, () => Promise<unknown>, () => Promise<unknown>]> = [
      ["P-256 key generation (OBU)", generateObuKeys, peculiarKeys],
      ["PKCS#10 build and sign (OBU)", () => buildCsr(OBU, keys), () => peculiarCsr(pKeys)],
      ["PKCS#10 parse and verify (ECA)", () => checkCsr(csr), () => peculiarCheckCsr(pCsr)],
      ["certificate build and sign (ECA)", issue, () => peculiarIssue(pCa, pPublicKey)],
      [
        "certificate parse and verify (OBU)",
        () => verifyEnrolmentCertificate(cert, root, expect),
        () => peculiarVerify(pCert, pCa.cert, pSpki),
      ],
    ];
    const ms = (o.durationS * 1000) / SAMPLES;
    const tallies = steps.map(() => [0, 1].map(() => ({ ops: 0, wallS: 0, cpuUs: 0, latency: new LatencyRecorder() })));
    o.log(`x509: ${steps.length} steps, lean vs @peculiar/x509, ${o.durationS} s each`);
    // warm-up (JIT), then interleaved samples
    for (const [, lean, peculiar] of steps) {
      const dummy = { ops: 0, wallS: 0, cpuUs: 0, latency: new LatencyRecorder() };
      await runFor(lean, Math.min(300, ms), dummy);
      await runFor(peculiar, Math.min(300, ms), dummy);
    }
    for (let s = 0; s < SAMPLES; s++)
      for (const [i, [, lean, peculiar]] of steps.entries()) {
        await runFor(lean, ms, tallies[i][0]);
        await runFor(peculiar, ms, tallies[i][1]);
      }
    return {
      bench: "x509",
      title: "IoT.04 X.509 steps: lean path (node:crypto + DER) vs @peculiar/x509 (before)",
      target: "built-in",
      machine,
      config: { durationS: o.durationS, samples: SAMPLES },
      comparisons: steps.map(([name], i) =>
        compare(name, measurement(`${name}, lean`, tallies[i][0]), measurement(`${name}, @peculiar/x509`, tallies[i][1]), {
          ratioOf: "lean steps/s ÷ @peculiar/x509 steps/s",
        }),
      ),
      notes: [
        "one step at a time in the bench process; CPU µs per step from process.cpuUsage (all threads: key generation runs in libuv's pool)",
      ],
    };
  } finally {
    await rig.close();
  }
}
