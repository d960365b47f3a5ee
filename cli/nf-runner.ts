// Shared plumbing of the long-running commands (`gba up`, `gba hss|bsf|naf|eca`): common
// flags, config loading, the one-line ready JSON on stdout, clean shutdown on SIGINT/SIGTERM.
import { ConfigError, type GbaConfig, loadConfig, withEphemeralPorts } from "../nf/config.js";
import { closeAll, type RunningNf } from "../nf/common/nf.js";
import { StoreError } from "../nf/common/store.js";
import { type FlagValues, parseFlags, UsageError } from "./usage.js";

type Options = Parameters<typeof parseFlags>[1];

export const COMMON_FLAGS = {
  data: { type: "string" },
  config: { type: "string" },
  "ephemeral-ports": { type: "boolean" },
  "log-level": { type: "string" },
} as const;

export const COMMON_HELP = `common options:
  --data DIR            data root; each NF stores under DIR/<nf>/ (default .gba-data)
  --config FILE         YAML or JSON config file over the defaults (see README "Configuration")
  --ephemeral-ports     listen on free ports chosen by the OS instead of the fixed defaults
  --log-level LEVEL     fatal|error|warn|info|debug|trace|silent (default info; logs go to stderr)`;

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** Parses common + extra flags and builds the effective config. */
export function configFromFlags(argv: string[], extra: Options = {}): { cfg: GbaConfig; values: FlagValues } {
  const { values } = parseFlags(argv, { ...COMMON_FLAGS, ...extra });
  let cfg: GbaConfig;
  try {
    cfg = loadConfig(values.config as string | undefined);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (values.data !== undefined) cfg.data = values.data as string;
  if (values["log-level"] !== undefined) {
    const level = values["log-level"] as string;
    if (!LEVELS.has(level)) throw new UsageError(`--log-level: unknown level "${level}"`);
    cfg.logLevel = level as GbaConfig["logLevel"];
  }
  if (values["ephemeral-ports"]) cfg = withEphemeralPorts(cfg);
  return { cfg, values };
}

/**
 * Starts NFs in order (each may read the URLs of those before it), prints the ready line
 * once every listener accepts connections, and stays up until SIGINT/SIGTERM.
 */
export async function runNfs(
  starters: Array<(cfg: GbaConfig, started: RunningNf[]) => Promise<RunningNf>>,
  cfg: GbaConfig,
  readyLine: (nfs: RunningNf[]) => unknown,
): Promise<number> {
  const started: RunningNf[] = [];
  try {
    for (const start of starters) started.push(await start(cfg, started));
  } catch (err) {
    await closeAll(started).catch(() => {});
    if (err instanceof StoreError || err instanceof ConfigError) {
      process.stderr.write(`gba: ${err.message}\n`);
      return 1;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE" || e.code === "EACCES") {
      process.stderr.write(`gba: cannot listen: ${e.message} (use --ephemeral-ports or change the port in --config)\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(`${JSON.stringify(readyLine(started))}\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`gba: ${signal}, stopping\n`);
      closeAll(started).then(
        () => resolve(0),
        (err) => {
          process.stderr.write(`gba: error while stopping: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}

/**
 * `{"ready":true, <nf>: {<listener>: url, ...info}, "diameter": {"realm", "<nf>Host"...}}` as
 * docs/architecture.md "The gba command" specifies for `gba up`: the "diameter" object names the
 * operator's realm (the HSS's or BSF's) and the Origin-Host of every NF that speaks Diameter.
 */
export function standardReadyLine(nfs: RunningNf[]): Record<string, unknown> {
  const line: Record<string, unknown> = { ready: true };
  for (const nf of nfs) line[nf.name] = { ...nf.urls, ...nf.info };
  const speakers = nfs.filter((nf) => nf.diameter !== undefined);
  if (speakers.length > 0) {
    const operator = speakers.find((nf) => nf.name === "hss" || nf.name === "bsf") ?? speakers[0];
    line.diameter = {
      realm: operator.diameter?.originRealm,
      ...Object.fromEntries(speakers.map((nf) => [`${nf.name}Host`, nf.diameter?.originHost])),
    };
  }
  return line;
}
