// The dashboard's section of the configuration (README "Configuration", "Dashboard"): where it
// listens and its token. The token rule is the HSS provisioning API's (nf/common/loopback.ts):
// none needed on loopback, 16+ characters required beyond it. GBA_DASHBOARD_TOKEN, when set,
// takes the place of dashboard.token (a token kept out of the config file).
import { type ConfigSection, type ListenConfig, LOOPBACK } from "../nf/common/config.js";
import { checkProtectedListener } from "../nf/common/loopback.js";

export interface DashboardConfig {
  listen: ListenConfig;
  /** required when listen.host is not a loopback address */
  token?: string;
}

/** Default port of the dashboard (README "Dashboard"); `--ephemeral-ports` replaces it with 0. */
export const DASHBOARD_PORT = 7080;
export const DASHBOARD_TOKEN_ENV = "GBA_DASHBOARD_TOKEN";

export const dashboardConfigSection: ConfigSection<"dashboard", DashboardConfig> = {
  key: "dashboard",
  defaults: () => ({ listen: { host: LOOPBACK, port: DASHBOARD_PORT } }),
  optionalKeys: ["token"],
  listeners: (c) => [c.listen],
  check(c) {
    checkProtectedListener({
      hostAt: "dashboard.listen.host",
      host: c.listen.host,
      tokenAt: `dashboard.token (or ${DASHBOARD_TOKEN_ENV})`,
      token: c.token,
      so: "the page requires a token",
    });
  },
};

/** The section with GBA_DASHBOARD_TOKEN (when set and not empty) in place of dashboard.token. */
export function withTokenFromEnv(c: DashboardConfig, env: NodeJS.ProcessEnv = process.env): DashboardConfig {
  const t = env[DASHBOARD_TOKEN_ENV];
  return t === undefined || t === "" ? c : { ...c, token: t };
}
