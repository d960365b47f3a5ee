// The BSF section of the configuration: type, defaults, check (README "Configuration").
import { isDnsName } from "../../wire/dns.js";
import { type ConfigSection, ConfigError, type ListenConfig, LOOPBACK, positiveIntegers } from "../common/config.js";
import {
  checkDiameterPeer,
  checkDiameterServer,
  DEFAULT_TIMERS,
  type DiameterPeerSetting,
  type DiameterServerConfig,
  diameterIdentitySetting,
  OPERATOR_REALM,
} from "../common/diameter/config.js";

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
  /** its Diameter Origin-Host: the NAF may connect and ask over Diameter Zn (TS 29.109 §6) */
  originHost?: string;
}

/** Zn over Diameter (served) and Zh over Diameter (asked): the BSF's node. */
export interface BsfDiameterConfig extends DiameterServerConfig {
  /** the HSS asked over Zh when bsf.zh is "diameter" */
  hss: DiameterPeerSetting;
}

/** GUSSs a BSF holds for the GUSS timestamp by default (bsf.gussCacheEntries) */
export const DEFAULT_GUSS_ENTRIES = 20_000;

export type UbAlgorithm = "AKAv1-MD5" | "AKAv2-MD5";

export interface BsfConfig {
  ub: ListenConfig;
  zn: ListenConfig;
  /** BSF FQDN: Ub realm and B-TID suffix (TS 33.220 §4.5.2) */
  fqdn: string;
  /** Zh base URL of the HSS (bsf.zh "sbi") */
  hssUrl: string;
  /** the Zh binding towards the HSS: TS 29.562 SBI or TS 29.109 Diameter (bsf.diameter.hss) */
  zh: "sbi" | "diameter";
  /** Diameter: the Zn listener, the BSF's identity and the HSS peer */
  diameter: BsfDiameterConfig;
  /** bootstrap session lifetime in seconds when the GUSS names none */
  sessionLifetime: number;
  /** Ub Digest algorithm: RFC 3310 AKAv1-MD5 or RFC 4169 AKAv2-MD5 */
  algorithm: UbAlgorithm;
  /** seconds a Ub challenge (nonce) stays valid */
  nonceTtl: number;
  /** Zh request timeout in ms */
  zhTimeoutMs: number;
  /**
   * SBI Zh: the GUSS timestamp option (TS 33.220 §4.5.2 step 2; wire/zh.ts GussCheckRequest), the
   * GUSS with the vector only when it changed, so a bootstrap makes one Zh exchange. false: a
   * subscriber-data request beside every vector request, for an HSS that refuses the extension.
   * (Diameter Zh always sends GUSS-Timestamp, TS 29.109 §4.2.2.)
   */
  zhGussCheck: boolean;
  /** subscribers whose GUSS the BSF holds for the GUSS timestamp (SBI and Diameter; 0: none) */
  gussCacheEntries: number;
  /**
   * TMPI support (TS 33.220 §4.5.2, B.4): 3gpp-gba-tmpi in Server, a TMPI with each bootstrapping
   * of a UE that announces it, TMPI usernames resolved to their IMPI. false: none of it.
   */
  tmpi: boolean;
  /** NAFs allowed on Zn */
  nafs: ZnClientConfig[];
}

/** Fixed default ports (documented in the README); `--ephemeral-ports` replaces them with 0. */
export const BSF_PORTS = { ub: 8080, zn: 8081, znDiameter: 3868 } as const;

/** The HSS's default Zh listener (nf/hss/config.ts; NFs do not import each other). */
const DEFAULT_HSS_URL = `http://${LOOPBACK}:7001`;
/** The HSS's default Diameter identity and listener (nf/hss/config.ts). */
const DEFAULT_HSS_PEER: DiameterPeerSetting = {
  originHost: `hss.${OPERATOR_REALM}`,
  realm: OPERATOR_REALM,
  host: LOOPBACK,
  port: 3869,
};

const ZH_BINDINGS: ReadonlySet<string> = new Set<BsfConfig["zh"]>(["sbi", "diameter"]);

export const bsfConfigSection: ConfigSection<"bsf", BsfConfig> = {
  key: "bsf",
  defaults: () => ({
    ub: { host: LOOPBACK, port: BSF_PORTS.ub },
    zn: { host: LOOPBACK, port: BSF_PORTS.zn },
    fqdn: "bsf.mnc001.mcc001.pub.3gppnetwork.org",
    hssUrl: DEFAULT_HSS_URL,
    zh: "sbi",
    diameter: {
      enabled: true,
      listen: { host: LOOPBACK, port: BSF_PORTS.znDiameter },
      originHost: `bsf.${OPERATOR_REALM}`,
      originRealm: OPERATOR_REALM,
      ...DEFAULT_TIMERS,
      hss: DEFAULT_HSS_PEER,
    },
    sessionLifetime: 3600,
    algorithm: "AKAv1-MD5",
    nonceTtl: 60,
    zhTimeoutMs: 2000,
    zhGussCheck: true,
    gussCacheEntries: DEFAULT_GUSS_ENTRIES,
    tmpi: true,
    nafs: [
      { id: "naf", token: "naf-zn-token", fqdns: ["naf.example.org"], gbaUAware: true, originHost: "naf.example.org" },
      {
        id: "eca",
        token: "eca-zn-token",
        fqdns: ["eca.vehicleman.example"],
        gbaUAware: false,
        originHost: "eca.vehicleman.example",
      },
    ],
  }),
  listeners: (c) => [c.ub, c.zn, c.diameter.listen],
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
    if (typeof bsf.tmpi !== "boolean") throw new ConfigError("bsf.tmpi: true or false");
    if (typeof bsf.zhGussCheck !== "boolean") throw new ConfigError("bsf.zhGussCheck: true or false");
    if (!Number.isInteger(bsf.gussCacheEntries) || bsf.gussCacheEntries < 0)
      throw new ConfigError(`bsf.gussCacheEntries: ${JSON.stringify(bsf.gussCacheEntries)} is not a whole number ≥ 0`);
    if (!ZH_BINDINGS.has(bsf.zh)) throw new ConfigError(`bsf.zh: "${bsf.zh}" is not sbi or diameter`);
    checkDiameterServer("bsf.diameter", bsf.diameter);
    checkDiameterPeer("bsf.diameter.hss", bsf.diameter.hss);
    // one peer table: the NAFs' Origin-Hosts, our own and the HSS's are all different
    const hosts = new Set<string>([bsf.diameter.originHost.toLowerCase()]);
    if (bsf.zh === "diameter") {
      if (hosts.has(bsf.diameter.hss.originHost.toLowerCase()))
        throw new ConfigError(`bsf.diameter.hss.originHost: ${bsf.diameter.hss.originHost} is the BSF's own Origin-Host`);
      hosts.add(bsf.diameter.hss.originHost.toLowerCase());
    }
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
      if (naf.originHost !== undefined) {
        diameterIdentitySetting(`${at}.originHost`, naf.originHost);
        const host = naf.originHost.toLowerCase();
        if (hosts.has(host)) throw new ConfigError(`${at}.originHost: ${naf.originHost} is given twice (NAFs, the BSF, the HSS)`);
        hosts.add(host);
      }
    });
  },
};
