// The syntax of X.509 v3 certificates (RFC 5280 §4.1) and PKCS#10 certification requests
// (RFC 2986 §4) over wire/der.ts: parse into their fields (keeping the exact signed octets) and
// build names, algorithm identifiers and extensions, and check a signature by its
// AlgorithmIdentifier with node:crypto. No policy here: the Enrolment CA (nf/eca) and the OBU
// (scenarios/engine/enrolment.ts) decide what they accept.
import { constants, type KeyObject, verify } from "node:crypto";
import {
  children,
  contextConstructed,
  DerError,
  encodingOf,
  expectTag,
  octetString,
  oid,
  readBoolean,
  readIntegerBytes,
  readOctetAlignedBits,
  readOid,
  readOnly,
  readSmallInteger,
  readString,
  readTime,
  sequence,
  setOf,
  TAG,
  type Tlv,
  tlv,
  contentOf,
  boolean as derBoolean,
} from "./der.js";

/** Object identifiers used here, named as in their RFCs. */
export const OID = {
  // X.520 attribute types (RFC 5280 Appendix A)
  commonName: "2.5.4.3",
  serialNumber: "2.5.4.5",
  countryName: "2.5.4.6",
  organizationName: "2.5.4.10",
  organizationalUnitName: "2.5.4.11",
  // RFC 5480 §2.1.1, RFC 8410 §3, RFC 8017 Appendix C, RFC 4055 §2.1
  ecPublicKey: "1.2.840.10045.2.1",
  ed25519: "1.3.101.112",
  ed448: "1.3.101.113",
  rsaEncryption: "1.2.840.113549.1.1.1",
  rsassaPss: "1.2.840.113549.1.1.10",
  // RFC 5480 §2.1.1.1 named curves
  secp256r1: "1.2.840.10045.3.1.7",
  secp384r1: "1.3.132.0.34",
  secp521r1: "1.3.132.0.35",
  // RFC 5758 §3.2, RFC 3279 §2.2.3, RFC 4055 §5
  ecdsaWithSha1: "1.2.840.10045.4.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
  sha1WithRsa: "1.2.840.113549.1.1.5",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  sha384WithRsa: "1.2.840.113549.1.1.12",
  sha512WithRsa: "1.2.840.113549.1.1.13",
  mgf1: "1.2.840.113549.1.1.8",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  sha512: "2.16.840.1.101.3.4.2.3",
  // RFC 5280 §4.2.1 extensions
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  basicConstraints: "2.5.29.19",
  extKeyUsage: "2.5.29.37",
  authorityKeyIdentifier: "2.5.29.35",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

const ATTRIBUTE_NAMES: Record<string, string> = {
  [OID.commonName]: "CN",
  [OID.serialNumber]: "serialNumber",
  [OID.countryName]: "C",
  [OID.organizationName]: "O",
  [OID.organizationalUnitName]: "OU",
};

// ------------------------------------------------------------------ names

export interface NameAttribute {
  type: string;
  value: string;
}

export interface Name {
  /** the DER of the Name, as signed (issuer/subject matching compares these octets) */
  der: Uint8Array;
  /** RDNs in order, each a set of attributes (almost always one) */
  rdns: NameAttribute[][];
}

/** RFC 5280 §4.1.2.4: Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue). */
export function readName(bytes: Uint8Array, t: Tlv): Name {
  expectTag(t, TAG.SEQUENCE, "Name");
  const rdns = children(bytes, t).map((set) => {
    expectTag(set, TAG.SET, "RelativeDistinguishedName");
    const atvs = children(bytes, set);
    if (atvs.length === 0) throw new DerError("empty RelativeDistinguishedName", set.offset);
    return atvs.map((atv) => {
      expectTag(atv, TAG.SEQUENCE, "AttributeTypeAndValue");
      const [type, value, ...rest] = children(bytes, atv);
      if (!type || !value || rest.length) throw new DerError("AttributeTypeAndValue is not type and value", atv.offset);
      return { type: readOid(bytes, type), value: readString(bytes, value) };
    });
  });
  return { der: encodingOf(bytes, t), rdns };
}

/** Every value of one attribute type, in order. */
export function nameValues(n: Name, type: string): string[] {
  return n.rdns
    .flat()
    .filter((a) => a.type === type)
    .map((a) => a.value);
}

/** "CN=OBU-0001, serialNumber=VIN-0001" (for messages; RFC 4514 order is reversed, this is as encoded). */
export function nameText(n: Name): string {
  return n.rdns.map((rdn) => rdn.map((a) => `${ATTRIBUTE_NAMES[a.type] ?? a.type}=${a.value}`).join("+")).join(", ") || "(empty)";
}

/** A Name of single-attribute RDNs: [type OID, DER of the value] in order. */
export function buildName(attributes: ReadonlyArray<readonly [string, Uint8Array]>): Uint8Array {
  return sequence(...attributes.map(([type, value]) => setOf(sequence(oid(type), value))));
}

// ------------------------------------------------------------------ algorithms and keys

export interface AlgorithmIdentifier {
  oid: string;
  /** the parameters' TLV, when present */
  params?: { bytes: Uint8Array; tlv: Tlv };
}

/** RFC 5280 §4.1.1.2: AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }. */
export function readAlgorithm(bytes: Uint8Array, t: Tlv): AlgorithmIdentifier {
  expectTag(t, TAG.SEQUENCE, "AlgorithmIdentifier");
  const [id, params, ...rest] = children(bytes, t);
  if (!id || rest.length) throw new DerError("AlgorithmIdentifier is not an OID and parameters", t.offset);
  return { oid: readOid(bytes, id), params: params && { bytes, tlv: params } };
}

/** AlgorithmIdentifier with absent parameters (RFC 5758 §3.2: the ECDSA signature algorithms). */
export const algorithm = (id: string): Uint8Array => sequence(oid(id));

export interface PublicKeyInfo {
  /** the DER of the SubjectPublicKeyInfo (node:crypto createPublicKey takes it as "spki") */
  der: Uint8Array;
  algorithm: AlgorithmIdentifier;
  /** the namedCurve parameter of an EC key (RFC 5480 §2.1.1) */
  curve?: string;
  /** the subjectPublicKey bits */
  key: Uint8Array;
}

/** RFC 5280 §4.1.2.7: SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }. */
export function readPublicKeyInfo(bytes: Uint8Array, t: Tlv): PublicKeyInfo {
  expectTag(t, TAG.SEQUENCE, "SubjectPublicKeyInfo");
  const [alg, key, ...rest] = children(bytes, t);
  if (!alg || !key || rest.length) throw new DerError("SubjectPublicKeyInfo is not an algorithm and a key", t.offset);
  const algorithm = readAlgorithm(bytes, alg);
  const p = algorithm.params;
  const curve = algorithm.oid === OID.ecPublicKey && p?.tlv.tag === TAG.OID ? readOid(bytes, p.tlv) : undefined;
  return { der: encodingOf(bytes, t), algorithm, curve, key: readOctetAlignedBits(bytes, key) };
}

/** A SubjectPublicKeyInfo on its own (node:crypto's "spki" export). */
export function parsePublicKeyInfo(der: Uint8Array): PublicKeyInfo {
  return readPublicKeyInfo(der, readOnly(der, TAG.SEQUENCE));
}

/** What node:crypto needs to check a signature of this algorithm (RFC 5758, RFC 4055, RFC 8410). */
export interface SignatureScheme {
  /** the key type the algorithm needs: node's KeyObject.asymmetricKeyType */
  keyTypes: readonly string[];
  /** digest name for node:crypto.verify; null for Ed25519 (no separate hash) */
  hash: string | null;
  pss?: { saltLength: number };
}

const HASH_OF: Record<string, string> = {
  [OID.sha1]: "sha1",
  [OID.sha256]: "sha256",
  [OID.sha384]: "sha384",
  [OID.sha512]: "sha512",
};

const SCHEMES: Record<string, SignatureScheme> = {
  [OID.ecdsaWithSha1]: { keyTypes: ["ec"], hash: "sha1" },
  [OID.ecdsaWithSha256]: { keyTypes: ["ec"], hash: "sha256" },
  [OID.ecdsaWithSha384]: { keyTypes: ["ec"], hash: "sha384" },
  [OID.ecdsaWithSha512]: { keyTypes: ["ec"], hash: "sha512" },
  [OID.sha1WithRsa]: { keyTypes: ["rsa"], hash: "sha1" },
  [OID.sha256WithRsa]: { keyTypes: ["rsa"], hash: "sha256" },
  [OID.sha384WithRsa]: { keyTypes: ["rsa"], hash: "sha384" },
  [OID.sha512WithRsa]: { keyTypes: ["rsa"], hash: "sha512" },
  [OID.ed25519]: { keyTypes: ["ed25519"], hash: null },
};

/**
 * The signature scheme of an AlgorithmIdentifier; undefined when not supported. RSASSA-PSS
 * (RFC 4055 §3.1): hash and MGF1 hash must agree, trailerField 1; defaults SHA-1 and salt 20.
 */
export function signatureScheme(a: AlgorithmIdentifier): SignatureScheme | undefined {
  if (a.oid !== OID.rsassaPss) return SCHEMES[a.oid];
  let hash = "sha1";
  let mgfHash = "sha1";
  let saltLength = 20;
  if (a.params) {
    const { bytes, tlv: p } = a.params;
    expectTag(p, TAG.SEQUENCE, "RSASSA-PSS-params");
    for (const f of children(bytes, p)) {
      const [inner] = children(bytes, f);
      if (!inner) throw new DerError("empty RSASSA-PSS parameter", f.offset);
      if (f.tag === contextConstructed(0)) hash = HASH_OF[readAlgorithm(bytes, inner).oid] ?? "";
      else if (f.tag === contextConstructed(1)) {
        const mgf = readAlgorithm(bytes, inner);
        if (mgf.oid !== OID.mgf1 || !mgf.params) return undefined;
        mgfHash = HASH_OF[readAlgorithm(bytes, mgf.params.tlv).oid] ?? "";
      } else if (f.tag === contextConstructed(2)) saltLength = readSmallInteger(bytes, inner);
      else if (f.tag === contextConstructed(3)) {
        if (readSmallInteger(bytes, inner) !== 1) return undefined;
      } else throw new DerError("unknown RSASSA-PSS parameter", f.offset);
    }
  }
  if (!hash || hash !== mgfHash) return undefined;
  return { keyTypes: ["rsa", "rsa-pss"], hash, pss: { saltLength } };
}

/**
 * Does `signature` over `data` verify with `key` under this AlgorithmIdentifier? false for an
 * unsupported algorithm, a key of the wrong type, or a malformed signature.
 */
export function verifySignature(a: AlgorithmIdentifier, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    const scheme = signatureScheme(a);
    if (!scheme?.keyTypes.includes(key.asymmetricKeyType ?? "")) return false;
    const options = scheme.pss
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.pss.saltLength }
      : { key, dsaEncoding: "der" as const };
    return verify(scheme.hash, data, options, signature);
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ extensions

export interface Extension {
  critical: boolean;
  /** the extnValue OCTET STRING's content (the extension's own DER) */
  value: Uint8Array;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
export function buildExtension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  // X.690 §11.5: a DEFAULT value is not encoded
  return critical ? sequence(oid(id), derBoolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function readExtensions(bytes: Uint8Array, t: Tlv): Map<string, Extension> {
  const out = new Map<string, Extension>();
  const [list, ...rest] = children(bytes, t);
  if (!list || rest.length) throw new DerError("extensions [3] holds one SEQUENCE", t.offset);
  expectTag(list, TAG.SEQUENCE, "Extensions");
  for (const e of children(bytes, list)) {
    expectTag(e, TAG.SEQUENCE, "Extension");
    const f = children(bytes, e);
    const id = readOid(bytes, f[0] ?? e);
    let i = 1;
    let critical = false;
    if (f[i]?.tag === TAG.BOOLEAN) {
      critical = readBoolean(bytes, f[i]);
      if (!critical) throw new DerError("critical FALSE is the DEFAULT and must be absent in DER", f[i].offset);
      i++;
    }
    if (!f[i] || f.length !== i + 1) throw new DerError("Extension without its value", e.offset);
    expectTag(f[i], TAG.OCTET_STRING, "extnValue");
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension
    if (out.has(id)) throw new DerError(`extension ${id} appears twice`, e.offset);
    out.set(id, { critical, value: contentOf(bytes, f[i]) });
  }
  return out;
}

/** RFC 5280 §4.2.1.2: the keyIdentifier of a SubjectKeyIdentifier extension's value. */
export function readKeyIdentifier(value: Uint8Array): Uint8Array {
  const t = readOnly(value, TAG.OCTET_STRING);
  return contentOf(value, t);
}

// ------------------------------------------------------------------ certificates

export interface Certificate {
  der: Uint8Array;
  /** the signed TBSCertificate octets */
  tbs: Uint8Array;
  /** 1, 2 or 3 */
  version: number;
  /** lower-case hex of the serial's INTEGER content octets */
  serialHex: string;
  signatureAlgorithm: AlgorithmIdentifier;
  issuer: Name;
  notBefore: Date;
  notAfter: Date;
  subject: Name;
  publicKey: PublicKeyInfo;
  extensions: Map<string, Extension>;
  signature: Uint8Array;
}

/** RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }. */
export function parseCertificate(der: Uint8Array): Certificate {
  const top = readOnly(der, TAG.SEQUENCE);
  const [tbsT, algT, sigT, ...rest] = children(der, top);
  if (!tbsT || !algT || !sigT || rest.length) throw new DerError("Certificate is not TBS, algorithm, signature", top.offset);
  expectTag(tbsT, TAG.SEQUENCE, "TBSCertificate");
  const f = children(der, tbsT);
  let i = 0;
  let version = 1;
  if (f[0]?.tag === contextConstructed(0)) {
    const [v] = children(der, f[0]);
    version = readSmallInteger(der, v ?? f[0]) + 1;
    i++;
  }
  const [serialT, innerAlgT, issuerT, validityT, subjectT, spkiT] = f.slice(i, i + 6);
  if (!spkiT) throw new DerError("TBSCertificate is missing fields", tbsT.offset);
  expectTag(validityT, TAG.SEQUENCE, "Validity");
  const [nb, na, ...vr] = children(der, validityT);
  if (!nb || !na || vr.length) throw new DerError("Validity is not two times", validityT.offset);
  let extensions = new Map<string, Extension>();
  for (const t of f.slice(i + 6)) {
    // issuerUniqueID [1], subjectUniqueID [2] are skipped; extensions [3] (v3 only)
    if (t.tag === contextConstructed(3)) extensions = readExtensions(der, t);
  }
  const signatureAlgorithm = readAlgorithm(der, algT);
  // RFC 5280 §4.1.1.2: the outer algorithm MUST equal the signed one
  if (!Buffer.from(encodingOf(der, algT)).equals(encodingOf(der, innerAlgT)))
    throw new DerError("signatureAlgorithm differs from the TBSCertificate's signature field", algT.offset);
  return {
    der,
    tbs: encodingOf(der, tbsT),
    version,
    serialHex: Buffer.from(readIntegerBytes(der, serialT)).toString("hex"),
    signatureAlgorithm,
    issuer: readName(der, issuerT),
    notBefore: readTime(der, nb),
    notAfter: readTime(der, na),
    subject: readName(der, subjectT),
    publicKey: readPublicKeyInfo(der, spkiT),
    extensions,
    signature: readOctetAlignedBits(der, sigT),
  };
}

/** Signs and wraps a TBSCertificate (or a CertificationRequestInfo): SEQUENCE { tbs, algorithm, BIT STRING }. */
export function signed(tbs: Uint8Array, signatureAlgorithm: Uint8Array, signature: Uint8Array): Uint8Array {
  return sequence(tbs, signatureAlgorithm, tlv(TAG.BIT_STRING, Uint8Array.of(0), signature));
}

// ------------------------------------------------------------------ PKCS#10

export interface CertificationRequest {
  der: Uint8Array;
  /** the signed CertificationRequestInfo octets */
  info: Uint8Array;
  subject: Name;
  publicKey: PublicKeyInfo;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
}

/**
 * RFC 2986 §4: CertificationRequest ::= SEQUENCE { certificationRequestInfo SEQUENCE { version
 * INTEGER (0), subject Name, subjectPKInfo, attributes [0] IMPLICIT SET OF Attribute },
 * signatureAlgorithm, signature BIT STRING }.
 */
export function parseCertificationRequest(der: Uint8Array): CertificationRequest {
  const top = readOnly(der, TAG.SEQUENCE);
  const [infoT, algT, sigT, ...rest] = children(der, top);
  if (!infoT || !algT || !sigT || rest.length)
    throw new DerError("CertificationRequest is not info, algorithm, signature", top.offset);
  expectTag(infoT, TAG.SEQUENCE, "CertificationRequestInfo");
  const [versionT, subjectT, spkiT, attrsT, ...more] = children(der, infoT);
  if (!attrsT || more.length) throw new DerError("CertificationRequestInfo is missing fields", infoT.offset);
  if (readSmallInteger(der, versionT) !== 0)
    throw new DerError("CertificationRequestInfo version is not 0 (v1)", versionT.offset);
  expectTag(attrsT, contextConstructed(0), "attributes");
  children(der, attrsT); // well-formed; the ECA copies no requested attribute
  return {
    der,
    info: encodingOf(der, infoT),
    subject: readName(der, subjectT),
    publicKey: readPublicKeyInfo(der, spkiT),
    signatureAlgorithm: readAlgorithm(der, algT),
    signature: readOctetAlignedBits(der, sigT),
  };
}
