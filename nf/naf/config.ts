// The NAF's section of the configuration: type, defaults and check (README "Configuration").
import {
  bearerTokenSetting,
  type ConfigSection,
  ConfigError,
  dnsNameSetting,
  httpUrlSetting,
  type ListenConfig,
  LOOPBACK,
  positiveIntegers,
} from "../common/config.js";
import { checkDiameterClient, DEFAULT_TIMERS, type DiameterClientConfig, OPERATOR_REALM } from "../common/diameter/config.js";
import { pathSettingProblem } from "./protected-space.js";

/** The Zn binding a NAF asks the BSF over: TS 29.309 SBI or TS 29.109 Diameter. */
export type ZnBinding = "sbi" | "diameter";
const ZN_BINDINGS: ReadonlySet<string> = new Set<ZnBinding>(["sbi", "diameter"]);

/** The BSF's default Diameter identity and Zn listener (nf/bsf/config.ts; NFs do not import each other). */
export function znDiameterDefaults(originHost: string, originRealm: string): DiameterClientConfig {
  return {
    originHost,
    originRealm,
    ...DEFAULT_TIMERS,
    peer: { originHost: `bsf.${OPERATOR_REALM}`, realm: OPERATOR_REALM, host: LOOPBACK, port: 3868 },
  };
}

/** Refuses a Zn binding setting (`at`: the section, e.g. "naf") that could only fail later. */
export function checkZnBinding(at: string, c: { zn: ZnBinding; diameter: DiameterClientConfig }): void {
  if (!ZN_BINDINGS.has(c.zn)) throw new ConfigError(`${at}.zn: "${c.zn}" is not sbi or diameter`);
  checkDiameterClient(`${at}.diameter`, c.diameter);
}

export interface NafConfig {
  http: ListenConfig;
  tlsPsk: ListenConfig;
  /** NAF FQDN used in the realm and in NAF_Id */
  fqdn: string;
  /** Zn base URL of the BSF (naf.zn "sbi") */
  bsfUrl: string;
  /** the Zn binding towards the BSF */
  zn: ZnBinding;
  /** Diameter Zn (naf.zn "diameter"): this NAF's identity, the BSF peer and the timers */
  diameter: DiameterClientConfig;
  /** bearer token this NAF presents on Zn */
  znToken: string;
  /** Ua Digest algorithm offered: MD5 (TS 24.109 default) or SHA-256 (RFC 7616) */
  digestAlgorithm: "MD5" | "SHA-256";
  /** which bootstrapping realms to offer (TS 24.109 §5.2.4) */
  realms: "gba-me" | "gba-u" | "both";
  /** qop values offered, in order (RFC 7616 §3.3): ["auth-int", "auth"], ["auth"] or ["auth-int"] */
  qop: Array<"auth-int" | "auth">;
  /** path prefixes whose every request is challenged before routing (TS 33.220 §4.5.1); "/" is the whole origin */
  protectedPaths: string[];
  /** paths inside them served without authentication (exact, or a prefix ending in "/") */
  publicPaths: string[];
  /** seconds a Ua server nonce stays valid */
  nonceTtl: number;
  /** reverse-proxy upstream; when set, the NAF forwards authenticated requests there */
  upstream?: string;
}

/** Fixed default ports (documented in the README); `--ephemeral-ports` replaces them with 0. */
export const NAF_PORTS = { http: 9080, tlsPsk: 9443 } as const;

/** The BSF's default Zn listener (nf/bsf/config.ts; NFs do not import each other). */
const DEFAULT_BSF_URL = `http://${LOOPBACK}:8081`;

const DIGEST_ALGORITHMS: ReadonlySet<string> = new Set<NafConfig["digestAlgorithm"]>(["MD5", "SHA-256"]);
const REALMS: ReadonlySet<string> = new Set<NafConfig["realms"]>(["gba-me", "gba-u", "both"]);

export const nafConfigSection: ConfigSection<"naf", NafConfig> = {
  key: "naf",
  defaults: () => ({
    http: { host: LOOPBACK, port: NAF_PORTS.http },
    tlsPsk: { host: LOOPBACK, port: NAF_PORTS.tlsPsk },
    fqdn: "naf.example.org",
    bsfUrl: DEFAULT_BSF_URL,
    zn: "sbi",
    diameter: znDiameterDefaults("naf.example.org", "example.org"),
    znToken: "naf-zn-token",
    digestAlgorithm: "MD5",
    realms: "gba-me",
    qop: ["auth-int", "auth"],
    protectedPaths: ["/"],
    publicPaths: [],
    nonceTtl: 300,
  }),
  optionalKeys: ["upstream"],
  listeners: (c) => [c.http, c.tlsPsk],
  check(c) {
    dnsNameSetting("naf.fqdn", c.fqdn);
    httpUrlSetting("naf.bsfUrl", c.bsfUrl);
    bearerTokenSetting("naf.znToken", c.znToken);
    checkZnBinding("naf", c);
    if (!DIGEST_ALGORITHMS.has(c.digestAlgorithm))
      throw new ConfigError(`naf.digestAlgorithm: "${c.digestAlgorithm}" is not MD5 or SHA-256`);
    if (!REALMS.has(c.realms)) throw new ConfigError(`naf.realms: "${c.realms}" is not gba-me, gba-u or both`);
    const qop = c.qop as unknown[];
    if (
      !Array.isArray(qop) ||
      qop.length === 0 ||
      new Set(qop).size !== qop.length ||
      !qop.every((q) => q === "auth-int" || q === "auth")
    )
      throw new ConfigError('naf.qop: ["auth-int", "auth"], ["auth"] or ["auth-int"]');
    pathList("naf.protectedPaths", c.protectedPaths, true);
    pathList("naf.publicPaths", c.publicPaths, false);
    positiveIntegers(c, "naf", ["nonceTtl"]);
    if (c.upstream !== undefined) httpUrlSetting("naf.upstream", c.upstream);
  },
};

function pathList(at: string, list: unknown, nonEmpty: boolean): void {
  if (!Array.isArray(list) || (nonEmpty && list.length === 0))
    throw new ConfigError(`${at}: expected a ${nonEmpty ? "non-empty " : ""}list of paths`);
  list.forEach((p, i) => {
    const problem = pathSettingProblem(p);
    if (problem !== undefined) throw new ConfigError(`${at}.${i}: "${String(p)}" ${problem}`);
  });
}
