// Shared plumbing of the long-running commands (`gba up`, `gba hss|bsf|naf|eca`): common
// flags, config loading, the one-line ready JSON on stdout, clean shutdown on SIGINT/SIGTERM.
import { ConfigError, type GbaConfig, loadConfig, withEphemeralPorts } from "../nf/config.js";
import { Capture, captureStartedLine, captureWrittenLine } from "../nf/common/capture/index.js";
import type { NfDeps } from "../nf/common/deps.js";
import { closeAll, type RunningNf } from "../nf/common/nf.js";
import { StoreError } from "../nf/common/store.js";
import { type FlagValues, parseFlags, STORE_HELP, storeFlag, UsageError } from "./usage.js";

type Options = Parameters<typeof parseFlags>[1];

export const BASE_FLAGS = {
  data: { type: "string" },
  config: { type: "string" },
  "ephemeral-ports": { type: "boolean" },
  "log-level": { type: "string" },
  store: { type: "string" },
} as const;

/** The flags of the commands that run NFs: the base ones and the capture. */
export const COMMON_FLAGS = { ...BASE_FLAGS, pcap: { type: "string" }, "pcap-keys": { type: "boolean" } } as const;

/** The base options but --store, for a command that keeps no state of its own (`gba dashboard`). */
export const STATELESS_HELP = `common options:
  --data DIR            data root; each NF stores under DIR/<nf>/ (default .gba-data)
  --config FILE         YAML or JSON config file over the defaults (see README "Configuration")
  --ephemeral-ports     listen on free ports chosen by the OS instead of the fixed defaults
  --log-level LEVEL     fatal|error|warn|info|debug|trace|silent (default info; logs go to stderr)`;

export const BASE_HELP = `${STATELESS_HELP}
${STORE_HELP}`;

export const COMMON_HELP = `${BASE_HELP}
  --pcap FILE           write every Ub, Ua, Zh and Zn message (HTTP and Diameter, real addresses and
                        ports) to FILE as pcapng; key material zeroed. Open it with
                        tshark -r FILE --enable-heuristic diameter_tcp (see README "Wireshark")
  --pcap-keys           keep the key material in the capture (CK, IK, XRES, Ks_NAF, Digest responses)`;

/** `--pcap FILE [--pcap-keys]` */
export interface PcapFlags {
  file: string;
  keys: boolean;
}

/** The capture flags, or undefined without --pcap. */
export function pcapFromFlags(values: FlagValues): PcapFlags | undefined {
  if (values["pcap-keys"] && values.pcap === undefined) throw new UsageError("--pcap-keys needs --pcap FILE");
  if (values.pcap === undefined) return undefined;
  const file = values.pcap;
  if (typeof file !== "string" || file === "") throw new UsageError("--pcap: expected a file name");
  return { file, keys: values["pcap-keys"] === true };
}

/** Opens the --pcap capture (the file at once: a bad path is a usage error) and says so on stderr. */
export function openCapture(pcap: PcapFlags, who: string): Capture {
  let capture: Capture;
  try {
    capture = Capture.toFile(pcap.file, { keys: pcap.keys });
  } catch (err) {
    throw new UsageError(`--pcap: cannot write ${pcap.file}: ${(err as Error).message}`);
  }
  process.stderr.write(`${who}: ${captureStartedLine(pcap.file, pcap.keys)}\n`);
  return capture;
}

/** Closes the capture and says how to open it. */
export async function closeCapture(capture: Capture, pcap: PcapFlags, who: string): Promise<void> {
  try {
    await capture.close();
    process.stderr.write(`${who}: ${captureWrittenLine(pcap.file)}\n`);
  } catch (err) {
    process.stderr.write(`${who}: capture ${pcap.file} is incomplete: ${(err as Error).message}\n`);
  }
}

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** Parses common (or, without NFs to capture, base) + extra flags and builds the effective config. */
export function configFromFlags(
  argv: string[],
  extra: Options = {},
  common: Options = COMMON_FLAGS,
): { cfg: GbaConfig; values: FlagValues; pcap?: PcapFlags } {
  const { values } = parseFlags(argv, { ...common, ...extra });
  let cfg: GbaConfig;
  try {
    cfg = loadConfig(values.config as string | undefined);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (values.data !== undefined) cfg.data = values.data as string;
  cfg.store = storeFlag(values.store) ?? cfg.store;
  if (values["log-level"] !== undefined) {
    const level = values["log-level"] as string;
    if (!LEVELS.has(level)) throw new UsageError(`--log-level: unknown level "${level}"`);
    cfg.logLevel = level as GbaConfig["logLevel"];
  }
  if (values["ephemeral-ports"]) cfg = withEphemeralPorts(cfg);
  return { cfg, values, pcap: pcapFromFlags(values) };
}

/**
 * Starts NFs in order (each may read the URLs of those before it), prints the ready line
 * once every listener accepts connections, and stays up until SIGINT/SIGTERM.
 */
export async function runNfs(
  starters: Array<(cfg: GbaConfig, started: RunningNf[], deps?: Partial<NfDeps>) => Promise<RunningNf>>,
  cfg: GbaConfig,
  readyLine: (nfs: RunningNf[]) => unknown,
  pcap?: PcapFlags,
): Promise<number> {
  const started: RunningNf[] = [];
  const capture = pcap && openCapture(pcap, "gba");
  const deps = capture && { capture };
  const stopCapture = () => (capture && pcap ? closeCapture(capture, pcap, "gba") : Promise.resolve());
  try {
    for (const start of starters) started.push(await start(cfg, started, deps));
  } catch (err) {
    await closeAll(started).catch(() => {});
    await stopCapture();
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
        () => stopCapture().then(() => resolve(0)),
        (err) => {
          process.stderr.write(`gba: error while stopping: ${(err as Error).message}\n`);
          stopCapture().then(() => resolve(1));
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
