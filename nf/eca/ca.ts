// The Enrolment CA's own key and certificate: P-256 ECDSA, created on first start and kept in
// <data>/eca/ca.key (PKCS#8 PEM, mode 0600) and <data>/eca/ca.pem; and the enrolment
// certificate profile (RFC 5280) it issues to OBUs.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  contextConstructed,
  contextPrimitive,
  fromPem,
  namedBits,
  octetString,
  printableString,
  sequence,
  smallInteger,
  tlv,
  time,
  unsignedInteger,
  utf8String,
  boolean as derBoolean,
  oid,
} from "../../wire/der.js";
import { algorithm, buildExtension, buildName, OID, type PublicKeyInfo, parsePublicKeyInfo, signed } from "../../wire/x509.js";
import type { NfDeps } from "../common/deps.js";
import { describeFsError, nfDataDir, StoreError } from "../common/store.js";
import { EcaCertificate, ecdsaSha256, keyIdentifierOf } from "./x509.js";

const CA_VALIDITY_DAYS = 3650;
const DAY_MS = 86_400_000;
export const CA_KEY_FILE = "ca.key";
export const CA_CERT_FILE = "ca.pem";

export interface EnrolmentCa {
  cert: EcaCertificate;
  /** the CA certificate as PEM (GET /ca.pem) */
  pem: string;
  privateKey: KeyObject;
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

/** RFC 5280 §4.2.1.3 keyUsage bits */
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

/** RFC 5280 §4.1: a v3 TBSCertificate signed with ECDSA P-256 / SHA-256 by `key`. */
function certificate(o: {
  serialHex: string;
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  extensions: Uint8Array[];
  key: KeyObject;
}): EcaCertificate {
  const sigAlg = algorithm(OID.ecdsaWithSha256);
  const tbs = sequence(
    tlv(contextConstructed(0), smallInteger(2)), // v3
    unsignedInteger(Buffer.from(o.serialHex, "hex")),
    sigAlg,
    o.issuer,
    sequence(time(o.notBefore), time(o.notAfter)),
    o.subject,
    o.spki,
    tlv(contextConstructed(3), sequence(...o.extensions)),
  );
  return new EcaCertificate(signed(tbs, sigAlg, ecdsaSha256(tbs, o.key)));
}

const spkiDer = (key: KeyObject) => new Uint8Array(createPublicKey(key).export({ type: "spki", format: "der" }));

function createCaCertificate(privateKey: KeyObject, fqdn: string, deps: NfDeps): EcaCertificate {
  const spki = spkiDer(privateKey);
  const notBefore = wholeSeconds(deps.clock());
  const name = buildName([[OID.commonName, utf8String(`${fqdn} Enrolment CA`)]]);
  const keyId = keyIdentifierOf(parsePublicKeyInfo(spki).key);
  return certificate({
    serialHex: serialFromRandom(deps.randomBytes(16)),
    issuer: name,
    subject: name,
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    spki,
    key: privateKey,
    extensions: [
      // RFC 5280 §4.2.1.9: CA TRUE, pathLenConstraint 0, critical
      buildExtension(OID.basicConstraints, true, sequence(derBoolean(true), smallInteger(0))),
      buildExtension(OID.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
      buildExtension(OID.subjectKeyIdentifier, false, octetString(keyId)),
    ],
  });
}

function caKeyProblem(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    return `the CA key is ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ""}, not EC P-256`;
  return undefined;
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
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      writeAtomically(keyPath, privateKey.export({ type: "pkcs8", format: "pem" }) as string, 0o600);
    }
    const mode = statSync(keyPath).mode & 0o777;
    if (mode & 0o077) throw new StoreError(`${keyPath} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`);
    const privateKey = createPrivateKey(readFileSync(keyPath, "utf8"));
    const problem = caKeyProblem(privateKey);
    if (problem) throw new StoreError(`${keyPath}: ${problem}`);
    if (!existsSync(certPath)) writeAtomically(certPath, createCaCertificate(privateKey, fqdn, deps).toString("pem"), 0o644);
    const cert = new EcaCertificate(fromPem(readFileSync(certPath, "utf8"), "CERTIFICATE"));
    if (!Buffer.from(cert.parsed.publicKey.der).equals(spkiDer(privateKey)))
      throw new StoreError(`${certPath} does not belong to the key in ${keyPath}`);
    return { cert, pem: cert.toString("pem"), privateKey };
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`CA key or certificate in ${dir} is not usable: ${describeFsError(err)}`);
  }
}

export interface EnrolmentRequest {
  /** the SubjectPublicKeyInfo of the CSR, certified as it came */
  publicKey: PublicKeyInfo;
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
export async function issueEnrolmentCertificate(ca: EnrolmentCa, req: EnrolmentRequest): Promise<EcaCertificate> {
  const notBefore = wholeSeconds(req.now);
  const notAfter = wholeSeconds(Math.min(notBefore.getTime() + req.validityDays * DAY_MS, ca.cert.notAfter.getTime()));
  return certificate({
    serialHex: serialFromRandom(req.serialRandom),
    issuer: ca.cert.parsed.subject.der,
    subject: buildName([
      [OID.commonName, utf8String(req.obuId)],
      [OID.serialNumber, printableString(req.vehicleId)],
    ]),
    notBefore,
    notAfter,
    spki: req.publicKey.der,
    key: ca.privateKey,
    extensions: [
      // RFC 5280 §4.2.1.9: cA DEFAULT FALSE is absent in DER, so CA:FALSE is an empty SEQUENCE
      buildExtension(OID.basicConstraints, true, sequence()),
      buildExtension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature])),
      buildExtension(OID.extKeyUsage, false, sequence(oid(OID.clientAuth))),
      buildExtension(OID.subjectKeyIdentifier, false, octetString(keyIdentifierOf(req.publicKey.key))),
      // RFC 5280 §4.2.1.1: AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT ... }
      buildExtension(OID.authorityKeyIdentifier, false, sequence(tlv(contextPrimitive(0), ca.cert.keyIdentifier))),
    ],
  });
}
