// `gba dashboard` (against NFs running elsewhere) and the dashboard of `gba up --dashboard`
// (the NFs in this process, their event bus included). README "Dashboard".
import type { ListenConfig } from "../nf/common/config.js";
import type { GbaConfig } from "../nf/config.js";
import { EventBus } from "../nf/common/events.js";
import type { RunningNf } from "../nf/common/nf.js";
import { BASE_FLAGS, configFromFlags, type PcapFlags, runNfs, STATELESS_HELP, standardReadyLine } from "./nf-runner.js";
import { type Starter, urlOf } from "./up.js";
import { DASHBOARD_PORT, withTokenFromEnv } from "../dashboard/config.js";
import { type Command, type FlagValues, UsageError } from "./usage.js";

/** "127.0.0.1:7080", "[::1]:0", ":7080" → host and port. */
export function parseListen(v: string, flag: string): ListenConfig {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]*):([0-9]{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`--${flag}: expected HOST:PORT, got "${v}"`);
  return { host: (m[1] || "127.0.0.1").replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

/** The listener: the flag's HOST:PORT, else dashboard.listen of the config (port 0 with --ephemeral-ports). */
function listenOf(cfg: GbaConfig, values: FlagValues, flag: string): ListenConfig {
  const v = values[flag];
  return typeof v === "string" ? parseListen(v, flag) : cfg.dashboard.listen;
}

/** The dashboard as the last starter of `gba up`: the bus, and the HSS admin API and ECA started before it. */
export function dashboardStarter(cfg: GbaConfig, listen: ListenConfig, events: EventBus, title = "gba up"): Starter {
  return async (_cfg, started) => {
    const { startDashboard } = await import("../dashboard/server.js");
    const board = await startDashboard({
      listen,
      token: withTokenFromEnv(cfg.dashboard).token,
      events,
      hssAdmin: { url: urlOf(started, "hss", "admin") as string, token: cfg.hss.admin.token },
      eca: { url: urlOf(started, "eca", "url") as string },
      logLevel: cfg.logLevel,
      title,
    });
    return { name: "dashboard", urls: { url: board.url }, close: () => board.close() };
  };
}

/**
 * The starters of `gba up --dashboard`: every NF reporting its outcomes to `events`, then the
 * dashboard that reads them.
 */
export function withDashboard(starters: Starter[], cfg: GbaConfig, listen: ListenConfig, events: EventBus): Starter[] {
  const reporting = starters.map(
    (start): Starter =>
      (c, started, deps) =>
        start(c, started, { ...deps, events }),
  );
  return [...reporting, dashboardStarter(cfg, listen, events)];
}

/** `gba up --dashboard`: every NF, then the dashboard; the ready line gains "dashboard": URL. */
export function upWithDashboard(starters: Starter[], cfg: GbaConfig, values: FlagValues, pcap?: PcapFlags): Promise<number> {
  const listen = listenOf(cfg, values, "dashboard-listen");
  return runNfs(
    withDashboard(starters, cfg, listen, new EventBus()),
    cfg,
    (nfs) => ({
      ...standardReadyLine(nfs.filter((n) => n.name !== "dashboard")),
      dashboard: urlOf(nfs, "dashboard", "url"),
    }),
    pcap,
  );
}

function httpUrl(values: FlagValues, flag: string): string | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  try {
    const u = new URL(String(v));
    if (u.protocol === "http:" || u.protocol === "https:") return String(v).replace(/\/+$/, "");
  } catch {}
  throw new UsageError(`--${flag}: "${String(v)}" is not an http:// or https:// URL`);
}

export const dashboard: Command = {
  summary: "serve the dashboard for NFs running elsewhere (subscribers, ECA certificates)",
  help: `usage: gba dashboard --hss-admin URL [--eca URL] [--listen HOST:PORT] [--data DIR] [--config FILE]
       [--ephemeral-ports] [--log-level LEVEL]

Serves the test-bed dashboard for NFs started by other commands (\`gba hss\`, \`gba eca\`, ...):
the Subscribers tab on the HSS provisioning API (bearer token from GBA_HSS_ADMIN_TOKEN when
the API has one), the ECA tab on the ECA's certificate log and vehicle binding registry. Live counts, latest events and
ladders come from the NFs' in-process event bus, so they need \`gba up --dashboard\`; here
those tabs say so. Prints {"ready":true,"dashboard":URL} once it listens.

  --hss-admin URL       the HSS provisioning API (e.g. http://127.0.0.1:7002)
  --eca URL             the ECA's HTTP listener (e.g. http://127.0.0.1:9090); its certificate
                        log and binding registry answer loopback clients only
  --listen HOST:PORT    default dashboard.listen of the config (127.0.0.1:${DASHBOARD_PORT}); a host
                        beyond loopback needs dashboard.token or GBA_DASHBOARD_TOKEN (16+
                        characters), given once as ?token= in the address

${STATELESS_HELP}`,
  async run(argv) {
    const { cfg, values } = configFromFlags(
      argv,
      {
        "hss-admin": { type: "string" },
        eca: { type: "string" },
        listen: { type: "string" },
      },
      BASE_FLAGS,
    );
    // it reads the HSS and the ECA over their APIs; a store given here would be silently unused
    if (values.store !== undefined)
      throw new UsageError(
        "--store: gba dashboard keeps no state; it reads the HSS and the ECA over --hss-admin and --eca (give --store to the NFs: gba up|hss|bsf|naf|eca|provision)",
      );
    const hssAdmin = httpUrl(values, "hss-admin");
    const eca = httpUrl(values, "eca");
    if (hssAdmin === undefined && eca === undefined) throw new UsageError("give --hss-admin URL, --eca URL or both");
    const listen = listenOf(cfg, values, "listen");
    const hssToken = process.env.GBA_HSS_ADMIN_TOKEN || undefined;
    const start = async (): Promise<RunningNf> => {
      const { startDashboard } = await import("../dashboard/server.js");
      const board = await startDashboard({
        listen,
        token: withTokenFromEnv(cfg.dashboard).token,
        hssAdmin: hssAdmin === undefined ? undefined : { url: hssAdmin, token: hssToken },
        eca: eca === undefined ? undefined : { url: eca },
        logLevel: cfg.logLevel,
        title: "gba dashboard",
      });
      return { name: "dashboard", urls: { url: board.url }, close: () => board.close() };
    };
    return runNfs([start], cfg, (nfs) => ({ ready: true, dashboard: urlOf(nfs, "dashboard", "url") }));
  },
};
