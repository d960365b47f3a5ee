// IANA TLS cipher suite codes (RFC 8446 B.4; RFC 4279, RFC 5487, RFC 5489, RFC 7905 for PSK;
// RFC 5288, RFC 5289 for the certificate suites) of the suites node/OpenSSL negotiate here. The Ua
// security protocol id of TLS-based Ua is 01 00 01 yy zz with yy zz = the negotiated suite
// (TS 33.220 H.3), and node names a suite only by its names, so both sides of Ua map names to
// codes through this one table.

export interface TlsSuite {
  /** IANA name, as TLSSocket.getCipher().standardName reports it */
  iana: string;
  /** OpenSSL name, as the `ciphers` option takes it and getCipher().name reports it */
  openssl: string;
  code: number;
}

const suite = (iana: string, openssl: string, code: number): TlsSuite => ({ iana, openssl, code });

/** Every suite known here, one entry each. */
export const TLS_SUITES: readonly TlsSuite[] = [
  // TLS 1.3 (RFC 8446 B.4): OpenSSL uses the IANA names
  suite("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", 0x1301),
  suite("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", 0x1302),
  suite("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", 0x1303),
  // TLS 1.2 PSK (RFC 4279, RFC 5487, RFC 5489, RFC 7905)
  suite("TLS_PSK_WITH_AES_128_CBC_SHA", "PSK-AES128-CBC-SHA", 0x008c),
  suite("TLS_PSK_WITH_AES_256_CBC_SHA", "PSK-AES256-CBC-SHA", 0x008d),
  suite("TLS_PSK_WITH_AES_128_GCM_SHA256", "PSK-AES128-GCM-SHA256", 0x00a8),
  suite("TLS_PSK_WITH_AES_256_GCM_SHA384", "PSK-AES256-GCM-SHA384", 0x00a9),
  suite("TLS_PSK_WITH_AES_128_CBC_SHA256", "PSK-AES128-CBC-SHA256", 0x00ae),
  suite("TLS_PSK_WITH_AES_256_CBC_SHA384", "PSK-AES256-CBC-SHA384", 0x00af),
  suite("TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", "PSK-CHACHA20-POLY1305", 0xccab),
  suite("TLS_DHE_PSK_WITH_AES_128_GCM_SHA256", "DHE-PSK-AES128-GCM-SHA256", 0x00aa),
  suite("TLS_DHE_PSK_WITH_AES_256_GCM_SHA384", "DHE-PSK-AES256-GCM-SHA384", 0x00ab),
  suite("TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256", "DHE-PSK-CHACHA20-POLY1305", 0xccad),
  suite("TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", "ECDHE-PSK-AES128-CBC-SHA", 0xc035),
  suite("TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA", "ECDHE-PSK-AES256-CBC-SHA", 0xc036),
  suite("TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", "ECDHE-PSK-AES128-CBC-SHA256", 0xc037),
  suite("TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384", "ECDHE-PSK-AES256-CBC-SHA384", 0xc038),
  suite("TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-PSK-CHACHA20-POLY1305", 0xccac),
  // certificate suites, for Digest over server-authenticated TLS (TS 33.222 §5.3)
  suite("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", 0xc02b),
  suite("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", 0xc02c),
  suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", 0xc02f),
  suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", 0xc030),
  suite("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", 0xcca9),
  suite("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", 0xcca8),
  suite("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256", 0x009e),
  suite("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384", 0x009f),
  suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256", 0xc027),
  suite("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384", 0xc028),
  suite("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256", 0xc023),
  suite("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384", 0xc024),
  suite("TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256", 0x0067),
  suite("TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256", 0x006b),
  suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", 0xc013),
  suite("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", 0xc014),
  suite("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", 0xc009),
  suite("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", 0xc00a),
  suite("TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", 0x009c),
  suite("TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384", 0x009d),
  suite("TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256", 0x003c),
  suite("TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256", 0x003d),
  suite("TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA", 0x002f),
  suite("TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA", 0x0035),
];

// both names, upper-cased: OpenSSL matches cipher names without regard to case
const BY_NAME = new Map<string, TlsSuite>();
for (const s of TLS_SUITES) {
  BY_NAME.set(s.iana, s);
  BY_NAME.set(s.openssl, s);
}

/** The suite with this IANA or OpenSSL name (OpenSSL's names in any case), or undefined. */
export function tlsSuiteByName(name: string): TlsSuite | undefined {
  return BY_NAME.get(name) ?? BY_NAME.get(name.toUpperCase());
}

/** IANA code of the suite node reports (getCipher(): standardName, else name), or undefined when not in the table. */
export function tlsSuiteCode(cipher: { name?: string; standardName?: string } | undefined): number | undefined {
  if (!cipher) return undefined;
  return (
    (cipher.standardName && tlsSuiteByName(cipher.standardName)?.code) ||
    (cipher.name && tlsSuiteByName(cipher.name)?.code) ||
    undefined
  );
}

/** A TLS 1.2 PSK key exchange (RFC 4279 PSK, DHE_PSK; RFC 5489 ECDHE_PSK). */
export function isPskSuite(s: TlsSuite): boolean {
  return /^TLS_(EC)?(DHE_)?PSK_WITH_/.test(s.iana);
}

/** Suites that need an (EC)DHE group shared with the client (RFC 5489). */
export function isEcdhePsk(s: TlsSuite): boolean {
  return s.iana.startsWith("TLS_ECDHE_PSK_");
}
