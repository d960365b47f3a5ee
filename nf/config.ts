// The configuration of a deployment: the common settings and the section of every NF, as each
// NF registers it in nf/<nf>/config.ts, and the dashboard's (dashboard/config.ts). `gba up`, the per-NF commands, the scenario runner and
// the benches read their configuration here; an NF itself only reads its own section
// (NfConfig<"hss", HssConfig> and so on).
import { DASHBOARD_PORT, type DashboardConfig, dashboardConfigSection } from "../dashboard/config.js";
import { type BsfConfig, BSF_PORTS, bsfConfigSection } from "./bsf/config.js";
import {
  type CommonConfig,
  ConfigError,
  defaultsOf,
  ephemeralPortsOf,
  type ListenConfig,
  mergeConfigFile,
} from "./common/config.js";
import { ECA_PORTS, type EcaConfig, ecaConfigSection } from "./eca/config.js";
import { HSS_PORTS, type HssConfig, hssConfigSection } from "./hss/config.js";
import { NAF_PORTS, type NafConfig, nafConfigSection } from "./naf/config.js";

export { ConfigError, type ListenConfig };

export interface GbaConfig extends CommonConfig {
  hss: HssConfig;
  bsf: BsfConfig;
  naf: NafConfig;
  eca: EcaConfig;
  dashboard: DashboardConfig;
}

/** Every NF's section, in `gba up` start order, then the dashboard's. */
export const CONFIG_SECTIONS = [
  hssConfigSection,
  bsfConfigSection,
  nafConfigSection,
  ecaConfigSection,
  dashboardConfigSection,
] as const;

/** Fixed default ports (documented in the README); `--ephemeral-ports` replaces them with 0. */
export const DEFAULT_PORTS = {
  hssZh: HSS_PORTS.zh,
  hssAdmin: HSS_PORTS.admin,
  bsfUb: BSF_PORTS.ub,
  bsfZn: BSF_PORTS.zn,
  nafHttp: NAF_PORTS.http,
  nafTlsPsk: NAF_PORTS.tlsPsk,
  ecaHttp: ECA_PORTS.http,
  ecaTlsPsk: ECA_PORTS.tlsPsk,
  dashboard: DASHBOARD_PORT,
} as const;

export function defaultConfig(): GbaConfig {
  return defaultsOf(CONFIG_SECTIONS) as unknown as GbaConfig;
}

/** Reads a YAML or JSON config file (YAML is a superset of JSON) over the defaults. */
export function loadConfig(file?: string, base: GbaConfig = defaultConfig()): GbaConfig {
  return file ? mergeConfigFile(CONFIG_SECTIONS, file, base) : base;
}

/** Replaces every listening port with 0 so the OS picks free ones. */
export function withEphemeralPorts(cfg: GbaConfig): GbaConfig {
  return ephemeralPortsOf(CONFIG_SECTIONS, cfg);
}
