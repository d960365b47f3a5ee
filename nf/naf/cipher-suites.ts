// IANA TLS cipher suite codes (RFC 8446 B.4, RFC 4279, RFC 5487, RFC 5489, RFC 7905, RFC 5288,
// RFC 5289) for the suites node/OpenSSL negotiate here. The Ua security protocol id of TLS-based
// Ua is 01 00 01 yy zz with yy zz = the negotiated suite (TS 33.220 H.3), and node reports only
// names, so names map to codes here.

export interface CipherSuite {
  /** OpenSSL name, as in `ciphers` and tlsSocket.getCipher().name */
  openssl: string;
  /** IANA name, as in tlsSocket.getCipher().standardName */
  iana: string;
  code: number;
}

const suite = (openssl: string, iana: string, code: number): CipherSuite => ({ openssl, iana, code });

/**
 * TLS 1.2 PSK suites the TLS-PSK listener offers, in server preference order: forward-secret
 * ECDHE-PSK first, then AEAD, then CBC (TS 33.222 §5.4 lets the NAF choose).
 */
export const TLS12_PSK_SUITES: readonly CipherSuite[] = [
  suite("ECDHE-PSK-CHACHA20-POLY1305", "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", 0xccac),
  suite("ECDHE-PSK-AES256-CBC-SHA384", "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384", 0xc038),
  suite("ECDHE-PSK-AES128-CBC-SHA256", "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", 0xc037),
  suite("ECDHE-PSK-AES256-CBC-SHA", "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA", 0xc036),
  suite("ECDHE-PSK-AES128-CBC-SHA", "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", 0xc035),
  suite("PSK-AES256-GCM-SHA384", "TLS_PSK_WITH_AES_256_GCM_SHA384", 0x00a9),
  suite("PSK-AES128-GCM-SHA256", "TLS_PSK_WITH_AES_128_GCM_SHA256", 0x00a8),
  suite("PSK-CHACHA20-POLY1305", "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", 0xccab),
  suite("PSK-AES256-CBC-SHA384", "TLS_PSK_WITH_AES_256_CBC_SHA384", 0x00af),
  suite("PSK-AES128-CBC-SHA256", "TLS_PSK_WITH_AES_128_CBC_SHA256", 0x00ae),
  suite("PSK-AES256-CBC-SHA", "TLS_PSK_WITH_AES_256_CBC_SHA", 0x008d),
  suite("PSK-AES128-CBC-SHA", "TLS_PSK_WITH_AES_128_CBC_SHA", 0x008c),
];

/** Suites that need an (EC)DHE group shared with the client. */
export function isEcdhePsk(s: CipherSuite): boolean {
  return s.openssl.startsWith("ECDHE-PSK-");
}

/** Certificate-based suites node negotiates by default (Digest over HTTPS, TS 33.222 §5.3). */
const CERT_SUITES: readonly CipherSuite[] = [
  suite("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", 0x1301),
  suite("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", 0x1302),
  suite("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", 0x1303),
  suite("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b),
  suite("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xc02c),
  suite("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f),
  suite("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xc030),
  suite("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9),
  suite("ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca8),
  suite("DHE-RSA-AES128-GCM-SHA256", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 0x009e),
  suite("DHE-RSA-AES256-GCM-SHA384", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 0x009f),
  suite("ECDHE-RSA-AES128-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0xc027),
  suite("ECDHE-RSA-AES256-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 0xc028),
  suite("ECDHE-ECDSA-AES128-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0xc023),
  suite("ECDHE-ECDSA-AES256-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", 0xc024),
  suite("DHE-RSA-AES128-SHA256", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", 0x0067),
  suite("DHE-RSA-AES256-SHA256", "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", 0x006b),
  suite("ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xc013),
  suite("ECDHE-RSA-AES256-SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xc014),
  suite("ECDHE-ECDSA-AES128-SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xc009),
  suite("ECDHE-ECDSA-AES256-SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xc00a),
  suite("AES128-GCM-SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009c),
  suite("AES256-GCM-SHA384", "TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009d),
  suite("AES128-SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003c),
  suite("AES256-SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA256", 0x003d),
  suite("AES128-SHA", "TLS_RSA_WITH_AES_128_CBC_SHA", 0x002f),
  suite("AES256-SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035),
];

const BY_NAME = new Map<string, number>();
for (const s of [...TLS12_PSK_SUITES, ...CERT_SUITES]) {
  BY_NAME.set(s.openssl, s.code);
  BY_NAME.set(s.iana, s.code);
}

/** IANA code of a suite from the names node reports (getCipher()), or undefined when not in the table. */
export function cipherSuiteCode(cipher: { name?: string; standardName?: string } | undefined): number | undefined {
  if (!cipher) return undefined;
  return (cipher.standardName && BY_NAME.get(cipher.standardName)) || (cipher.name && BY_NAME.get(cipher.name)) || undefined;
}
