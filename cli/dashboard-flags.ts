// The flags `gba up` takes for its dashboard; cli/dashboard.ts (loaded only when asked for) serves it.
import { DASHBOARD_PORT } from "../dashboard/config.js";

export const DASHBOARD_FLAGS = {
  dashboard: { type: "boolean" },
  "dashboard-listen": { type: "string" },
} as const;

export const DASHBOARD_HELP = `  --dashboard           also serve the dashboard (live counts, ladders, subscribers); the ready
                        line gains "dashboard": URL
  --dashboard-listen HOST:PORT
                        its listener (default dashboard.listen of the config, 127.0.0.1:${DASHBOARD_PORT};
                        port 0 with --ephemeral-ports); a host beyond loopback needs dashboard.token
                        or GBA_DASHBOARD_TOKEN (16+ characters)`;
