// The enrolment request: a PKCS#10 certification request (RFC 2986) in the POST body, as DER,
// base64 of DER, or PEM ("-----BEGIN CERTIFICATE REQUEST-----", TS 24.109 Table E.3.1-1).
// Its signature is the proof of possession of the private key; its subject names the OBU.
import { isValidId } from "./ids.js";
import { x509 } from "./x509.js";

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
  publicKey: x509.PublicKey;
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

const CURVES = new Set(["P-256", "P-384", "P-521"]);
const MIN_RSA_BITS = 2048;

/** The key types the ECA certifies; a reason when the key is not one of them. */
function keyProblem(alg: { name: string; namedCurve?: string; modulusLength?: number }): string | undefined {
  switch (alg.name) {
    case "ECDSA":
      return CURVES.has(alg.namedCurve ?? "") ? undefined : `EC curve ${alg.namedCurve} is not P-256, P-384 or P-521`;
    case "Ed25519":
      return undefined;
    case "RSASSA-PKCS1-v1_5":
    case "RSA-PSS":
      return (alg.modulusLength ?? 0) >= MIN_RSA_BITS
        ? undefined
        : `RSA key of ${alg.modulusLength} bits (at least ${MIN_RSA_BITS})`;
    default:
      return `key algorithm ${alg.name} is not supported`;
  }
}

function onlyValue(name: x509.Name, oid: string, what: string): string | undefined {
  const values = name.getField(oid);
  if (values.length > 1)
    throw new CsrError("CSR_BAD_SUBJECT", `the CSR subject has ${values.length} ${what} attributes; expected one`);
  return values[0];
}

/** Parses the request, checks the key type and the signature, and reads the OBU ID from the subject. */
export async function checkCsr(body: Uint8Array): Promise<CheckedCsr> {
  const der = csrDer(body);
  let csr: x509.Pkcs10CertificateRequest;
  let publicKey: x509.PublicKey;
  let subject: x509.Name;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
    publicKey = csr.publicKey;
    subject = csr.subjectName;
  } catch {
    throw new CsrError("CSR_UNPARSEABLE", "the body is not a well-formed PKCS#10 certification request (RFC 2986)");
  }
  let problem: string | undefined;
  try {
    problem = keyProblem(publicKey.algorithm);
  } catch {
    problem = "the subject public key algorithm is not supported";
  }
  if (problem) throw new CsrError("CSR_UNSUPPORTED_KEY", problem);
  let verified = false;
  try {
    verified = await csr.verify();
  } catch {
    verified = false;
  }
  // RFC 2986 §3: the signature over certificationRequestInfo proves possession of the private key
  if (!verified) throw new CsrError("CSR_BAD_SIGNATURE", "the CSR signature does not verify with the public key it carries");
  const obuId = onlyValue(subject, "2.5.4.3", "CN");
  if (obuId === undefined) throw new CsrError("CSR_BAD_SUBJECT", "the CSR subject has no CN: it must be the OBU device ID");
  if (!isValidId(obuId))
    throw new CsrError("CSR_BAD_SUBJECT", `the CSR subject CN "${obuId.slice(0, 80)}" is not a valid OBU device ID`);
  const vehicleId = onlyValue(subject, "2.5.4.5", "serialNumber");
  if (vehicleId !== undefined && !isValidId(vehicleId)) {
    throw new CsrError("CSR_BAD_SUBJECT", `the CSR subject serialNumber "${vehicleId.slice(0, 80)}" is not a valid vehicle ID`);
  }
  return { obuId, vehicleId, publicKey };
}
