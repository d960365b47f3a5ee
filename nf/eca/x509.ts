// The certificates the ECA holds and issues, on the lean path: DER built and parsed by
// wire/x509.ts, keys and signatures by node:crypto (P-256 ECDSA). An EcaCertificate exposes
// what the routes read of a certificate: its DER, serial, validity and subject name.
import { createHash, type KeyObject, sign } from "node:crypto";
import { toPem } from "../../wire/der.js";
import { type Certificate, OID, parseCertificate, readKeyIdentifier } from "../../wire/x509.js";

export class EcaCertificate {
  readonly parsed: Certificate;

  constructor(der: Uint8Array) {
    this.parsed = parseCertificate(der);
  }

  get rawData(): Uint8Array {
    return this.parsed.der;
  }

  /** lower-case hex of the serial number */
  get serialNumber(): string {
    return this.parsed.serialHex;
  }

  get notBefore(): Date {
    return this.parsed.notBefore;
  }

  get notAfter(): Date {
    return this.parsed.notAfter;
  }

  /** the subject Name's DER (TS 24.109 E.5: GET /getcertificate?in= compares it) */
  get subjectName(): { toArrayBuffer(): Uint8Array } {
    const der = this.parsed.subject.der;
    return { toArrayBuffer: () => der };
  }

  /** RFC 5280 §4.2.1.2 keyIdentifier: the SubjectKeyIdentifier extension, else SHA-1 of the key bits */
  get keyIdentifier(): Uint8Array {
    const ski = this.parsed.extensions.get(OID.subjectKeyIdentifier);
    return ski ? readKeyIdentifier(ski.value) : keyIdentifierOf(this.parsed.publicKey.key);
  }

  toString(_format: "pem" = "pem"): string {
    return toPem(this.parsed.der, "CERTIFICATE");
  }
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value. */
export function keyIdentifierOf(subjectPublicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha1").update(subjectPublicKey).digest());
}

/** ECDSA with SHA-256 over the to-be-signed octets, DER-encoded Ecdsa-Sig-Value (RFC 5758 §3.2). */
export function ecdsaSha256(tbs: Uint8Array, key: KeyObject): Uint8Array {
  return new Uint8Array(sign("sha256", tbs, { key, dsaEncoding: "der" }));
}
