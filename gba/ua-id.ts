// TS 33.220 Annex H: Ua security protocol identifiers (5 octets: organisation octet || 4 octets).
import { bytesToHex, hexToBytes } from "../wire/bytes.js";

/** A 5-octet Ua security protocol identifier (TS 33.220 H.1). Treat values as read-only. */
export type UaId = Uint8Array;

export const UA_ID_LENGTH = 5;

const id = (...b: number[]): UaId => Uint8Array.from(b);

/** TS 33.220 H.3 identifiers with fixed values. */
export const UA_ID = Object.freeze({
  /** 00 00 00 00 00: protocol not specified (H.2: the only identifier with organisation 00) */
  UNSPECIFIED: id(0x00, 0x00, 0x00, 0x00, 0x00),
  /** TS 33.221 subscriber certificates (PKI portal) */
  PKI_PORTAL: id(0x01, 0x00, 0x00, 0x00, 0x00),
  /** TS 33.246 MBMS */
  MBMS: id(0x01, 0x00, 0x00, 0x00, 0x01),
  /** TS 24.109 HTTP Digest over plain HTTP */
  HTTP_DIGEST: id(0x01, 0x00, 0x00, 0x00, 0x02),
  /** TS 26.237 HTTP-based MBMS user service security */
  HTTP_MBMS: id(0x01, 0x00, 0x00, 0x00, 0x03),
  /** TS 26.237 SIP-based MBMS user service security */
  SIP_MBMS: id(0x01, 0x00, 0x00, 0x00, 0x04),
  /** TS 33.224 Generic Push Layer */
  GPL: id(0x01, 0x00, 0x00, 0x00, 0x05),
  /** TS 33.328 IMS UE to KMS */
  IMS_KMS: id(0x01, 0x00, 0x00, 0x00, 0x06),
  /** TS 33.222 clause 5.4.0.2 shared-key TLS 1.3 */
  TLS13_PSK: id(0x01, 0x00, 0x00, 0x00, 0x07),
  /** TS 33.220 B.4: BSF_Id for TMPI generation (not a Ua protocol) */
  TMPI: id(0x01, 0x00, 0x00, 0x01, 0x00),
});

function withCipherSuite(prefix: number, cipherSuite: number): UaId {
  if (!Number.isInteger(cipherSuite) || cipherSuite < 0 || cipherSuite > 0xffff) {
    throw new RangeError(`TLS cipher suite must be 0x0000..0xFFFF, got ${cipherSuite}`);
  }
  return id(0x01, 0x00, prefix, cipherSuite >>> 8, cipherSuite & 0xff);
}

/**
 * TS 33.220 H.3: 01 00 01 yy zz, TS 33.222 §5.3 (HTTP Digest inside server-authenticated TLS)
 * and §5.4 (PSK-TLS); yy zz is the IANA code of the negotiated TLS cipher suite.
 */
export function uaIdForTls(cipherSuite: number): UaId {
  return withCipherSuite(0x01, cipherSuite);
}

/** TS 33.220 H.3: 01 00 02 yy zz, TS 33.222 Annex D (the "TLS browser" variant). */
export function uaIdForTlsBrowser(cipherSuite: number): UaId {
  return withCipherSuite(0x02, cipherSuite);
}

export class UaIdError extends Error {
  readonly code = "BAD_UA_ID";
  constructor(message: string) {
    super(message);
    this.name = "UaIdError";
  }
}

/**
 * 10 hex digits to a Ua security protocol id. Throws HexError for bad hex or length, and
 * UaIdError for an organisation-00 id other than 00 00 00 00 00 (TS 33.220 H.2).
 */
export function parseUaId(hex: string): UaId {
  const b = hexToBytes(hex, "Ua security protocol id", UA_ID_LENGTH);
  if (b[0] === 0x00 && (b[1] | b[2] | b[3] | b[4]) !== 0) {
    throw new UaIdError(`Ua security protocol id ${bytesToHex(b)}: organisation 00 allows only 0000000000 (TS 33.220 H.2)`);
  }
  return b;
}

const FIXED_3GPP: Record<string, string> = {
  "00000000": "TS 33.221 subscriber certificates (PKI portal)",
  "00000001": "TS 33.246 MBMS",
  "00000002": "TS 24.109 HTTP Digest",
  "00000003": "TS 26.237 HTTP-based MBMS",
  "00000004": "TS 26.237 SIP-based MBMS",
  "00000005": "TS 33.224 Generic Push Layer",
  "00000006": "TS 33.328 IMS UE-KMS",
  "00000007": "TS 33.222 shared-key TLS 1.3",
  "00000100": "TMPI generation (TS 33.220 B.4)",
};

const OMA: Record<string, string> = {
  "00000001": "SUPL ULP",
  "00000002": "LOCSIP",
  "00000003": "SIP Digest (SEC_CF)",
};

const CIPHER_SUITES: Record<number, string> = {
  47: "TLS_RSA_WITH_AES_128_CBC_SHA",
  53: "TLS_RSA_WITH_AES_256_CBC_SHA",
  139: "TLS_PSK_WITH_3DES_EDE_CBC_SHA",
  140: "TLS_PSK_WITH_AES_128_CBC_SHA",
  141: "TLS_PSK_WITH_AES_256_CBC_SHA",
  168: "TLS_PSK_WITH_AES_128_GCM_SHA256",
  169: "TLS_PSK_WITH_AES_256_GCM_SHA384",
  174: "TLS_PSK_WITH_AES_128_CBC_SHA256",
  175: "TLS_PSK_WITH_AES_256_CBC_SHA384",
};

function suiteName(b: UaId): string {
  const suite = (b[3] << 8) | b[4];
  const hex = `0x${suite.toString(16).padStart(4, "0").toUpperCase()}`;
  const name = CIPHER_SUITES[suite];
  return name ? `${hex} ${name}` : hex;
}

/** A human-readable description of a Ua security protocol id (TS 33.220 H.2, H.3; OMNA registry). */
export function describeUaId(uaId: Uint8Array): string {
  if (uaId.length !== UA_ID_LENGTH) return `invalid Ua security protocol id (${uaId.length} octets, expected 5)`;
  const rest = bytesToHex(uaId.subarray(1));
  switch (uaId[0]) {
    case 0x00:
      return rest === "00000000" ? "protocol not specified" : `invalid: organisation 00 with protocol ${rest}`;
    case 0x01:
      if (uaId[1] === 0x00 && uaId[2] === 0x01) return `3GPP TS 33.222 shared-key TLS, cipher suite ${suiteName(uaId)}`;
      if (uaId[1] === 0x00 && uaId[2] === 0x02) return `3GPP TS 33.222 Annex D TLS browser, cipher suite ${suiteName(uaId)}`;
      return FIXED_3GPP[rest] ? `3GPP ${FIXED_3GPP[rest]}` : `3GPP, unknown protocol ${rest}`;
    case 0x02:
      return `3GPP2 protocol ${rest}`;
    case 0x03:
      if (uaId[1] === 0x00 && uaId[2] === 0x01) return `OMA TLS, cipher suite ${suiteName(uaId)}`;
      return OMA[rest] ? `OMA ${OMA[rest]}` : `OMA, unknown protocol ${rest}`;
    case 0x04:
      return `GSMA protocol ${rest}`;
    case 0xff:
      return `private / experimental protocol ${rest}`;
    default:
      return `unknown organisation 0x${uaId[0].toString(16).padStart(2, "0")}, protocol ${rest}`;
  }
}
