// The enrolment request: a PKCS#10 certification request (RFC 2986) in the POST body, as DER,
// base64 of DER, or PEM ("-----BEGIN CERTIFICATE REQUEST-----", TS 24.109 Table E.3.1-1).
// Its signature is the proof of possession of the private key; its subject names the OBU.
import { createPublicKey, type KeyObject } from "node:crypto";
import { DerError } from "../../wire/der.js";
import {
  type CertificationRequest,
  nameValues,
  OID,
  type PublicKeyInfo,
  parseCertificationRequest,
  verifySignature,
} from "../../wire/x509.js";
import { isValidId } from "./ids.js";

export type CsrCause = "CSR_UNPARSEABLE" | "CSR_BAD_SIGNATURE" | "CSR_UNSUPPORTED_KEY" | "CSR_BAD_SUBJECT";

export class CsrError extends Error {
  constructor(
    readonly cause_: CsrCause,
    message: string,
  ) {
    super(message);
    this.name = "CsrError";
  }
}

export interface CheckedCsr {
  /** subject CN: the OBU device ID */
  obuId: string;
  /** subject serialNumber (2.5.4.5) when the OBU names its vehicle */
  vehicleId?: string;
  /** the request's SubjectPublicKeyInfo, certified as it came */
  publicKey: PublicKeyInfo;
}

const PEM = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DER_SEQUENCE = 0x30;

/** The DER bytes of the request, whichever of the three encodings the body uses. */
export function csrDer(body: Uint8Array): Uint8Array {
  if (body.length === 0) throw new CsrError("CSR_UNPARSEABLE", "the body is empty: expected a PKCS#10 certification request");
  if (body[0] === DER_SEQUENCE) return body;
  const text = Buffer.from(body).toString("latin1");
  const armoured = PEM.exec(text);
  const b64 = (armoured ? armoured[1] : text).replace(/\s+/g, "");
  if (!BASE64.test(b64)) {
    throw new CsrError("CSR_UNPARSEABLE", "the body is neither DER, base64 of DER, nor PEM of a PKCS#10 certification request");
  }
  const der = Buffer.from(b64, "base64");
  if (der.length === 0 || der[0] !== DER_SEQUENCE)
    throw new CsrError("CSR_UNPARSEABLE", "the base64 text does not decode to a DER SEQUENCE");
  return der;
}

/** RFC 5480 §2.1.1.1 curves the ECA certifies, and names for the ones it refuses. */
const CURVES: Record<string, string> = { [OID.secp256r1]: "P-256", [OID.secp384r1]: "P-384", [OID.secp521r1]: "P-521" };
const OTHER_CURVES: Record<string, string> = {
  "1.3.132.0.10": "secp256k1",
  "1.3.132.0.33": "P-224",
  "1.2.840.10045.3.1.1": "P-192",
};
const MIN_RSA_BITS = 2048;

/** The key types the ECA certifies; a reason when the key is not one of them. */
function keyProblem(spki: PublicKeyInfo, key: KeyObject | undefined): string | undefined {
  switch (spki.algorithm.oid) {
    case OID.ecPublicKey:
      return spki.curve !== undefined && spki.curve in CURVES
        ? undefined
        : `EC curve ${OTHER_CURVES[spki.curve ?? ""] ?? spki.curve ?? "(implicit)"} is not P-256, P-384 or P-521`;
    case OID.ed25519:
      return undefined;
    case OID.rsaEncryption:
    case OID.rsassaPss: {
      const bits = key?.asymmetricKeyDetails?.modulusLength ?? 0;
      return bits >= MIN_RSA_BITS ? undefined : `RSA key of ${bits} bits (at least ${MIN_RSA_BITS})`;
    }
    default:
      return `key algorithm ${spki.algorithm.oid} is not supported`;
  }
}

const JWK_CURVES: Record<string, { crv: string; size: number }> = {
  [OID.secp256r1]: { crv: "P-256", size: 32 },
  [OID.secp384r1]: { crv: "P-384", size: 48 },
  [OID.secp521r1]: { crv: "P-521", size: 66 },
};

/**
 * The request's key as a KeyObject. An EC point (RFC 5480 §2.2, uncompressed 04‖X‖Y) goes in as
 * a JWK, which OpenSSL 3 imports in about half the time of a DER SubjectPublicKeyInfo; the
 * point is checked to be on the curve either way. Other keys go in as DER.
 */
function publicKeyObject(spki: PublicKeyInfo): KeyObject {
  const c = JWK_CURVES[spki.curve ?? ""];
  const p = spki.key;
  if (c && spki.algorithm.oid === OID.ecPublicKey && p.length === 1 + 2 * c.size && p[0] === 0x04) {
    const b64u = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
    return createPublicKey({
      key: { kty: "EC", crv: c.crv, x: b64u(p.subarray(1, 1 + c.size)), y: b64u(p.subarray(1 + c.size)) },
      format: "jwk",
    });
  }
  return createPublicKey({ key: Buffer.from(spki.der), format: "der", type: "spki" });
}

function onlyValue(csr: CertificationRequest, oid: string, what: string): string | undefined {
  const values = nameValues(csr.subject, oid);
  if (values.length > 1)
    throw new CsrError("CSR_BAD_SUBJECT", `the CSR subject has ${values.length} ${what} attributes; expected one`);
  return values[0];
}

/** Parses the request, checks the key type and the signature, and reads the OBU ID from the subject. */
export async function checkCsr(body: Uint8Array): Promise<CheckedCsr> {
  const der = csrDer(body);
  let csr: CertificationRequest;
  try {
    csr = parseCertificationRequest(der);
  } catch (err) {
    if (!(err instanceof DerError)) throw err;
    throw new CsrError("CSR_UNPARSEABLE", "the body is not a well-formed PKCS#10 certification request (RFC 2986)");
  }
  let key: KeyObject;
  try {
    key = publicKeyObject(csr.publicKey);
  } catch {
    const problem = keyProblem(csr.publicKey, undefined);
    throw new CsrError("CSR_UNSUPPORTED_KEY", problem ?? "the subject public key is not a valid key of its algorithm");
  }
  const problem = keyProblem(csr.publicKey, key);
  if (problem) throw new CsrError("CSR_UNSUPPORTED_KEY", problem);
  // RFC 2986 §3: the signature over certificationRequestInfo proves possession of the private key
  if (!verifySignature(csr.signatureAlgorithm, key, csr.info, csr.signature))
    throw new CsrError("CSR_BAD_SIGNATURE", "the CSR signature does not verify with the public key it carries");
  const obuId = onlyValue(csr, OID.commonName, "CN");
  if (obuId === undefined) throw new CsrError("CSR_BAD_SUBJECT", "the CSR subject has no CN: it must be the OBU device ID");
  if (!isValidId(obuId))
    throw new CsrError("CSR_BAD_SUBJECT", `the CSR subject CN "${obuId.slice(0, 80)}" is not a valid OBU device ID`);
  const vehicleId = onlyValue(csr, OID.serialNumber, "serialNumber");
  if (vehicleId !== undefined && !isValidId(vehicleId)) {
    throw new CsrError("CSR_BAD_SUBJECT", `the CSR subject serialNumber "${vehicleId.slice(0, 80)}" is not a valid vehicle ID`);
  }
  return { obuId, vehicleId, publicKey: csr.publicKey };
}
