// The BSF section of the configuration: type, defaults, check (README "Configuration").
import { isDnsName } from "../../wire/dns.js";
import { type ConfigSection, ConfigError, type ListenConfig, LOOPBACK, positiveIntegers } from "../common/config.js";

/** A NAF allowed to ask the BSF for keys over Zn (TS 33.220 §4.4.3 NAF authorisation). */
export interface ZnClientConfig {
  /** name used in logs */
  id: string;
  /** bearer token the NAF presents on Zn */
  token: string;
  /** NAF FQDNs this NAF may request keys for (its own) */
  fqdns: string[];
  /** NAF group, matched against the USS nafGroup in the GUSS */
  group?: string;
  /** the NAF understands Ks_int_NAF (Zn gbaUAware may be honoured) */
  gbaUAware?: boolean;
}

export type UbAlgorithm = "AKAv1-MD5" | "AKAv2-MD5";

export interface BsfConfig {
  ub: ListenConfig;
  zn: ListenConfig;
  /** BSF FQDN: Ub realm and B-TID suffix (TS 33.220 §4.5.2) */
  fqdn: string;
  /** Zh base URL of the HSS */
  hssUrl: string;
  /** bootstrap session lifetime in seconds when the GUSS names none */
  sessionLifetime: number;
  /** Ub Digest algorithm: RFC 3310 AKAv1-MD5 or RFC 4169 AKAv2-MD5 */
  algorithm: UbAlgorithm;
  /** seconds a Ub challenge (nonce) stays valid */
  nonceTtl: number;
  /** Zh request timeout in ms */
  zhTimeoutMs: number;
  /** NAFs allowed on Zn */
  nafs: ZnClientConfig[];
}

/** Fixed default ports (documented in the README); `--ephemeral-ports` replaces them with 0. */
export const BSF_PORTS = { ub: 8080, zn: 8081 } as const;

/** The HSS's default Zh listener (nf/hss/config.ts; NFs do not import each other). */
const DEFAULT_HSS_URL = `http://${LOOPBACK}:7001`;

export const bsfConfigSection: ConfigSection<"bsf", BsfConfig> = {
  key: "bsf",
  defaults: () => ({
    ub: { host: LOOPBACK, port: BSF_PORTS.ub },
    zn: { host: LOOPBACK, port: BSF_PORTS.zn },
    fqdn: "bsf.mnc001.mcc001.pub.3gppnetwork.org",
    hssUrl: DEFAULT_HSS_URL,
    sessionLifetime: 3600,
    algorithm: "AKAv1-MD5",
    nonceTtl: 60,
    zhTimeoutMs: 2000,
    nafs: [
      { id: "naf", token: "naf-zn-token", fqdns: ["naf.example.org"], gbaUAware: true },
      { id: "eca", token: "eca-zn-token", fqdns: ["eca.vehicleman.example"], gbaUAware: false },
    ],
  }),
  listeners: (c) => [c.ub, c.zn],
  check(bsf) {
    if (!isDnsName(bsf.fqdn)) throw new ConfigError(`bsf.fqdn: "${bsf.fqdn}" is not a DNS name`);
    let hss: URL;
    try {
      hss = new URL(bsf.hssUrl);
    } catch {
      throw new ConfigError(`bsf.hssUrl: "${bsf.hssUrl}" is not a URL`);
    }
    if (hss.protocol !== "http:" && hss.protocol !== "https:")
      throw new ConfigError("bsf.hssUrl: expected an http:// or https:// URL");
    if (bsf.algorithm !== "AKAv1-MD5" && bsf.algorithm !== "AKAv2-MD5")
      throw new ConfigError("bsf.algorithm: AKAv1-MD5 or AKAv2-MD5");
    positiveIntegers(bsf, "bsf", ["sessionLifetime", "nonceTtl", "zhTimeoutMs"]);
    const tokens = new Set<string>();
    bsf.nafs.forEach((naf, i) => {
      const at = `bsf.nafs.${i}`;
      if (typeof naf?.id !== "string" || naf.id === "") throw new ConfigError(`${at}.id: must be a non-empty string`);
      if (typeof naf.token !== "string" || naf.token.length < 8)
        throw new ConfigError(`${at}.token: must be a string of at least 8 characters`);
      if (tokens.has(naf.token)) throw new ConfigError(`${at}.token: the same token is given to two NAFs`);
      tokens.add(naf.token);
      if (!Array.isArray(naf.fqdns) || naf.fqdns.length === 0 || !naf.fqdns.every(isDnsName)) {
        throw new ConfigError(`${at}.fqdns: must be a non-empty list of DNS names`);
      }
    });
  },
};
