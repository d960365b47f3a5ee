// The HSS section of the configuration: type, defaults, check (README "Configuration").
import { HexError, hexToBytes } from "../../wire/bytes.js";
import { type ConfigSection, ConfigError, type ListenConfig, LOOPBACK, positiveIntegers } from "../common/config.js";
import { checkProtectedListener } from "../common/loopback.js";
import {
  checkDiameterServer,
  DEFAULT_TIMERS,
  type DiameterServerConfig,
  diameterIdentitySetting,
  OPERATOR_REALM,
} from "../common/diameter/config.js";

/** Zh over Diameter (TS 29.109 §5): the HSS's identity and listener, and the BSFs it admits. */
export interface HssDiameterConfig extends DiameterServerConfig {
  /** Origin-Hosts of the BSFs allowed to connect (RFC 6733 §2.6 peer table) */
  peers: string[];
}

export interface HssConfig {
  zh: ListenConfig;
  admin: ListenConfig & { token?: string };
  /** TS 33.102 Annex C: IND length in bits */
  indBits: number;
  /** IND value used for vectors requested over Zh (the BSF as its own IND consumer, Annex C.3.2) */
  zhInd: number;
  /**
   * AMF used for new subscribers that do not name one. Bit 0 (the separation bit) stays 0:
   * set, it marks a vector for E-UTRAN (TS 33.401 §6.1.2), and Zh vectors are 3G AKA vectors for
   * Ub (TS 33.220 §4.5.2), not E-UTRAN vectors. The other bits are operator-specific (TS 33.102 Annex H).
   */
  defaultAmf: string;
  /** seconds between SEQ_HE checkpoints (the journal folded into the per-subscriber table) */
  sqnCheckpointSeconds: number;
  /** a checkpoint starts early once this many SEQ_HE entries are journaled */
  sqnLogMax: number;
  /** Zh over Diameter (MAR/MAA) */
  diameter: HssDiameterConfig;
}

/** Fixed default ports (documented in the README); `--ephemeral-ports` replaces them with 0. */
export const HSS_PORTS = { zh: 7001, admin: 7002, zhDiameter: 3869 } as const;

/** The BSF's default Diameter identity (nf/bsf/config.ts; NFs do not import each other). */
const DEFAULT_BSF_HOST = `bsf.${OPERATOR_REALM}`;

export const hssConfigSection: ConfigSection<"hss", HssConfig> = {
  key: "hss",
  defaults: () => ({
    zh: { host: LOOPBACK, port: HSS_PORTS.zh },
    admin: { host: LOOPBACK, port: HSS_PORTS.admin },
    indBits: 5,
    zhInd: 1,
    defaultAmf: "0000",
    sqnCheckpointSeconds: 60,
    sqnLogMax: 100_000,
    diameter: {
      enabled: true,
      listen: { host: LOOPBACK, port: HSS_PORTS.zhDiameter },
      originHost: `hss.${OPERATOR_REALM}`,
      originRealm: OPERATOR_REALM,
      ...DEFAULT_TIMERS,
      peers: [DEFAULT_BSF_HOST],
    },
  }),
  optionalKeys: ["admin.token"],
  listeners: (c) => [c.zh, c.admin, c.diameter.listen],
  check(c) {
    positiveIntegers(c, "hss", ["sqnCheckpointSeconds", "sqnLogMax"]);
    // the provisioning API needs no token on loopback, and one beyond it
    checkProtectedListener({
      hostAt: "hss.admin.host",
      host: c.admin.host,
      tokenAt: "hss.admin.token",
      token: c.admin.token,
      so: "the provisioning API requires a bearer token",
    });
    try {
      hexToBytes(c.defaultAmf, "hss.defaultAmf", 2);
    } catch (err) {
      if (err instanceof HexError) throw new ConfigError(err.message);
      throw err;
    }
    checkDiameterServer("hss.diameter", c.diameter);
    if (!Array.isArray(c.diameter.peers)) throw new ConfigError("hss.diameter.peers: expected a list of Origin-Hosts");
    for (const [i, p] of c.diameter.peers.entries()) diameterIdentitySetting(`hss.diameter.peers.${i}`, p);
  },
};
