// The Enrolment CA's own key and certificate: P-256 ECDSA, created on first start and kept in
// <data>/eca/ca.key (PKCS#8 PEM, mode 0600) and <data>/eca/ca.pem; and the enrolment
// certificate profile (RFC 5280) it issues to OBUs.
import { createPrivateKey, createPublicKey, webcrypto } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NfDeps } from "../common/deps.js";
import { describeFsError, nfDataDir, StoreError } from "../common/store.js";
import { x509 } from "./x509.js";

const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const CA_VALIDITY_DAYS = 3650;
const DAY_MS = 86_400_000;
export const CA_KEY_FILE = "ca.key";
export const CA_CERT_FILE = "ca.pem";

export interface EnrolmentCa {
  cert: x509.X509Certificate;
  /** the CA certificate as PEM (GET /ca.pem) */
  pem: string;
  privateKey: webcrypto.CryptoKey;
}

/**
 * RFC 5280 §4.1.2.2: a positive serial of at most 20 octets. 16 random octets with the top two
 * bits set to 01 keep the DER INTEGER exactly 16 octets (no sign padding, no leading zero) and
 * leave 126 random bits.
 */
export function serialFromRandom(random: Uint8Array): string {
  if (random.length !== 16) throw new RangeError("serial needs 16 random octets");
  const b = Uint8Array.from(random);
  b[0] = (b[0] & 0x3f) | 0x40;
  return Buffer.from(b).toString("hex");
}

/** X.509 times carry whole seconds. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function writeAtomically(path: string, data: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, data, { mode, flag: "wx" });
  renameSync(tmp, path);
}

function spkiOf(pem: string): Buffer {
  return createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
}

async function createCaCertificate(
  privateKey: webcrypto.CryptoKey,
  spki: Buffer,
  fqdn: string,
  deps: NfDeps,
): Promise<x509.X509Certificate> {
  const publicKey = await webcrypto.subtle.importKey("spki", spki, EC_P256, true, ["verify"]);
  const notBefore = wholeSeconds(deps.clock());
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialFromRandom(deps.randomBytes(16)),
    name: [{ CN: [`${fqdn} Enrolment CA`] }],
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    keys: { privateKey, publicKey },
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
}

/**
 * Loads the CA key and certificate from <data>/eca/, creating whichever is missing. Refuses a
 * key file readable by others, a certificate without its key, and a certificate whose public
 * key is not the key's.
 */
export async function loadOrCreateCa(dataRoot: string, fqdn: string, deps: NfDeps): Promise<EnrolmentCa> {
  const dir = nfDataDir(dataRoot, "eca");
  const keyPath = join(dir, CA_KEY_FILE);
  const certPath = join(dir, CA_CERT_FILE);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(keyPath)) {
      if (existsSync(certPath))
        throw new StoreError(`${certPath} exists without its key ${keyPath}; restore the key or remove both`);
      const pair = (await webcrypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
      const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", pair.privateKey));
      writeAtomically(keyPath, x509.PemConverter.encode(pkcs8, "PRIVATE KEY"), 0o600);
    }
    const mode = statSync(keyPath).mode & 0o777;
    if (mode & 0o077) throw new StoreError(`${keyPath} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`);
    const keyPem = readFileSync(keyPath, "utf8");
    const spki = spkiOf(keyPem);
    const der = createPrivateKey(keyPem).export({ type: "pkcs8", format: "der" });
    const privateKey = await webcrypto.subtle.importKey("pkcs8", der, EC_P256, false, ["sign"]);
    if (!existsSync(certPath)) {
      const created = await createCaCertificate(privateKey, spki, fqdn, deps);
      writeAtomically(certPath, created.toString("pem"), 0o644);
    }
    const cert = new x509.X509Certificate(readFileSync(certPath, "utf8"));
    if (!Buffer.from(cert.publicKey.rawData).equals(spki))
      throw new StoreError(`${certPath} does not belong to the key in ${keyPath}`);
    return { cert, pem: cert.toString("pem"), privateKey };
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`CA key or certificate in ${dir} is not usable: ${describeFsError(err)}`);
  }
}

export interface EnrolmentRequest {
  publicKey: x509.PublicKey;
  obuId: string;
  vehicleId: string;
  /** 16 random octets for the serial number */
  serialRandom: Uint8Array;
  /** milliseconds since the epoch */
  now: number;
  validityDays: number;
}

/**
 * The enrolment certificate profile (RFC 5280): v3, subject CN = OBU device ID and
 * serialNumber (2.5.4.5, PrintableString) = vehicle ID; basicConstraints CA:FALSE (critical);
 * keyUsage digitalSignature (critical); extKeyUsage id-kp-clientAuth; SKI and AKI. Requested
 * extensions in the CSR are not copied. Validity ends no later than the CA's own.
 */
export async function issueEnrolmentCertificate(ca: EnrolmentCa, req: EnrolmentRequest): Promise<x509.X509Certificate> {
  const notBefore = wholeSeconds(req.now);
  const notAfter = wholeSeconds(Math.min(notBefore.getTime() + req.validityDays * DAY_MS, ca.cert.notAfter.getTime()));
  return x509.X509CertificateGenerator.create({
    serialNumber: serialFromRandom(req.serialRandom),
    subject: new x509.Name([{ "2.5.4.3": [{ utf8String: req.obuId }] }, { "2.5.4.5": [{ printableString: req.vehicleId }] }]),
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: req.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(req.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
}
