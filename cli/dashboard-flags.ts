// The flags `gba up` takes for its dashboard; cli/dashboard.ts (loaded only when asked for) serves it.
/** Default port of the dashboard (README "Dashboard"). */
export const DASHBOARD_PORT = 7080;

export const DASHBOARD_FLAGS = {
  dashboard: { type: "boolean" },
  "dashboard-listen": { type: "string" },
} as const;

export const DASHBOARD_HELP = `  --dashboard           also serve the dashboard (live counts, ladders, subscribers); the ready
                        line gains "dashboard": URL
  --dashboard-listen HOST:PORT
                        its listener (default 127.0.0.1:${DASHBOARD_PORT}; port 0 with --ephemeral-ports); a
                        host beyond loopback needs GBA_DASHBOARD_TOKEN (16+ characters)`;
