// The Enrolment CA's section of the configuration: type, defaults, check (README "Configuration").
import {
  bearerTokenSetting,
  type ConfigSection,
  ConfigError,
  dnsNameSetting,
  httpUrlSetting,
  type ListenConfig,
  LOOPBACK,
} from "../common/config.js";
import type { DiameterClientConfig } from "../common/diameter/index.js";
import { checkZnBinding, type ZnBinding, znDiameterDefaults } from "../naf/config.js";

export interface EcaConfig {
  http: ListenConfig;
  tlsPsk: ListenConfig;
  /** the ECA's FQDN: realm and NAF_Id of the NAF plugin in front of it */
  fqdn: string;
  /** Zn base URL of the BSF (eca.zn "sbi") */
  bsfUrl: string;
  /** the Zn binding towards the BSF */
  zn: ZnBinding;
  /** Diameter Zn (eca.zn "diameter"): the ECA's identity, the BSF peer and the timers */
  diameter: DiameterClientConfig;
  /** bearer token the ECA presents on Zn */
  znToken: string;
  /** validity of issued enrolment certificates, days */
  certValidityDays: number;
}

/** Fixed default ports (documented in the README); `--ephemeral-ports` replaces them with 0. */
export const ECA_PORTS = { http: 9090, tlsPsk: 9444 } as const;

/** The BSF's default Zn listener (nf/bsf/config.ts; NFs do not import each other). */
const DEFAULT_BSF_URL = `http://${LOOPBACK}:8081`;

export const ecaConfigSection: ConfigSection<"eca", EcaConfig> = {
  key: "eca",
  defaults: () => ({
    http: { host: LOOPBACK, port: ECA_PORTS.http },
    tlsPsk: { host: LOOPBACK, port: ECA_PORTS.tlsPsk },
    fqdn: "eca.vehicleman.example",
    bsfUrl: DEFAULT_BSF_URL,
    zn: "sbi",
    diameter: znDiameterDefaults("eca.vehicleman.example", "vehicleman.example"),
    znToken: "eca-zn-token",
    certValidityDays: 365,
  }),
  listeners: (c) => [c.http, c.tlsPsk],
  check(c) {
    if (!Number.isInteger(c.certValidityDays) || c.certValidityDays < 1) {
      throw new ConfigError(`eca.certValidityDays: expected a whole number of days ≥ 1, got ${c.certValidityDays}`);
    }
    dnsNameSetting("eca.fqdn", c.fqdn);
    httpUrlSetting("eca.bsfUrl", c.bsfUrl);
    bearerTokenSetting("eca.znToken", c.znToken);
    checkZnBinding("eca", c);
  },
};
