// IANA TLS cipher suite codes (the "yy zz" of the Ua id 01 00 01 yy zz, TS 33.220 H.3) for the
// suites Node/OpenSSL negotiate. Node reports a suite by name only (TLSSocket.getCipher()).

interface Suite {
  /** RFC / IANA name, as TLSSocket.getCipher().standardName reports it */
  standard: string;
  /** OpenSSL name, as the `ciphers` option takes it */
  openssl: string;
  code: number;
}

const SUITES: readonly Suite[] = [
  // TLS 1.3 (RFC 8446 B.4)
  { standard: "TLS_AES_128_GCM_SHA256", openssl: "TLS_AES_128_GCM_SHA256", code: 0x1301 },
  { standard: "TLS_AES_256_GCM_SHA384", openssl: "TLS_AES_256_GCM_SHA384", code: 0x1302 },
  { standard: "TLS_CHACHA20_POLY1305_SHA256", openssl: "TLS_CHACHA20_POLY1305_SHA256", code: 0x1303 },
  // PSK (RFC 4279, RFC 5487, RFC 5489, RFC 7905)
  { standard: "TLS_PSK_WITH_AES_128_CBC_SHA", openssl: "PSK-AES128-CBC-SHA", code: 0x008c },
  { standard: "TLS_PSK_WITH_AES_256_CBC_SHA", openssl: "PSK-AES256-CBC-SHA", code: 0x008d },
  { standard: "TLS_PSK_WITH_AES_128_GCM_SHA256", openssl: "PSK-AES128-GCM-SHA256", code: 0x00a8 },
  { standard: "TLS_PSK_WITH_AES_256_GCM_SHA384", openssl: "PSK-AES256-GCM-SHA384", code: 0x00a9 },
  { standard: "TLS_PSK_WITH_AES_128_CBC_SHA256", openssl: "PSK-AES128-CBC-SHA256", code: 0x00ae },
  { standard: "TLS_PSK_WITH_AES_256_CBC_SHA384", openssl: "PSK-AES256-CBC-SHA384", code: 0x00af },
  { standard: "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", openssl: "PSK-CHACHA20-POLY1305", code: 0xccab },
  { standard: "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256", openssl: "DHE-PSK-AES128-GCM-SHA256", code: 0x00aa },
  { standard: "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384", openssl: "DHE-PSK-AES256-GCM-SHA384", code: 0x00ab },
  { standard: "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256", openssl: "DHE-PSK-CHACHA20-POLY1305", code: 0xccad },
  { standard: "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", openssl: "ECDHE-PSK-AES128-CBC-SHA256", code: 0xc037 },
  { standard: "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384", openssl: "ECDHE-PSK-AES256-CBC-SHA384", code: 0xc038 },
  { standard: "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", openssl: "ECDHE-PSK-CHACHA20-POLY1305", code: 0xccac },
  // certificate suites for Digest over server-authenticated TLS (TS 33.222 §5.3)
  { standard: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", openssl: "ECDHE-ECDSA-AES128-GCM-SHA256", code: 0xc02b },
  { standard: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", openssl: "ECDHE-ECDSA-AES256-GCM-SHA384", code: 0xc02c },
  { standard: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", openssl: "ECDHE-RSA-AES128-GCM-SHA256", code: 0xc02f },
  { standard: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", openssl: "ECDHE-RSA-AES256-GCM-SHA384", code: 0xc030 },
  { standard: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", openssl: "ECDHE-RSA-CHACHA20-POLY1305", code: 0xcca8 },
  { standard: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", openssl: "ECDHE-ECDSA-CHACHA20-POLY1305", code: 0xcca9 },
  { standard: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", openssl: "ECDHE-RSA-AES128-SHA", code: 0xc013 },
  { standard: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", openssl: "ECDHE-RSA-AES256-SHA", code: 0xc014 },
  { standard: "TLS_RSA_WITH_AES_128_CBC_SHA", openssl: "AES128-SHA", code: 0x002f },
  { standard: "TLS_RSA_WITH_AES_256_CBC_SHA", openssl: "AES256-SHA", code: 0x0035 },
  { standard: "TLS_RSA_WITH_AES_128_GCM_SHA256", openssl: "AES128-GCM-SHA256", code: 0x009c },
  { standard: "TLS_RSA_WITH_AES_256_GCM_SHA384", openssl: "AES256-GCM-SHA384", code: 0x009d },
];

const BY_STANDARD = new Map(SUITES.map((s) => [s.standard, s.code]));
const BY_OPENSSL = new Map(SUITES.map((s) => [s.openssl.toUpperCase(), s]));

/** IANA code of a suite named as getCipher().standardName reports it, or undefined when not in the table. */
export function suiteCode(standardName: string): number | undefined {
  return BY_STANDARD.get(standardName);
}

/** The suite behind an OpenSSL name (e.g. "PSK-AES128-CBC-SHA"), or undefined. */
export function suiteByOpensslName(name: string): { standard: string; code: number } | undefined {
  const s = BY_OPENSSL.get(name.toUpperCase());
  return s && { standard: s.standard, code: s.code };
}
