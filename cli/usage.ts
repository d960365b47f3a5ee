// Shared CLI plumbing: usage errors (exit 2), flag parsing helpers that name the flag.
import { parseStoreOption, type StoreConfig, StoreConfigError } from "../nf/common/store/redis-config.js";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { HexError, hexToBytes } from "../wire/bytes.js";
import { isDnsName } from "../wire/dns.js";

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface Command {
  /** one line for `gba --help` */
  summary: string;
  /** full help text, printed for `gba <cmd> --help` */
  help: string;
  /** each subcommand's own help, printed for `gba <cmd> <sub> --help` (absent: `help` serves all) */
  subcommands?: Record<string, string>;
  run(argv: string[]): Promise<number | undefined> | number | undefined;
}

/** The help `gba <argv> --help` prints: the subcommand's own when it has one. */
export function helpFor(cmd: Command, argv: string[]): string {
  const sub = argv[0];
  return sub !== undefined && cmd.subcommands && Object.hasOwn(cmd.subcommands, sub) ? cmd.subcommands[sub] : cmd.help;
}

/** The usage lines of a help text (up to its first blank line), indented, for a parent's overview. */
export function synopsis(help: string, indent = "  "): string {
  return (
    help
      .split("\n\n")[0]
      .replace(/^usage: /, "")
      .split("\n")
      // "usage: " lines start a synopsis; the lines continuing one are indented under it
      .map((l) =>
        l.startsWith("       gba ")
          ? `${indent}${l.slice(7)}`
          : l.startsWith("gba ")
            ? `${indent}${l}`
            : `${indent}    ${l.trim()}`,
      )
      .join("\n")
  );
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with strict checking; unknown flags and missing values become UsageErrors. */
export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function parseFlags(
  argv: string[],
  options: Options,
  allowPositionals = false,
): { values: FlagValues; positionals: string[] } {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ""));
  }
}

export function requireString(values: Record<string, unknown>, flag: string): string {
  const v = values[flag];
  if (typeof v !== "string" || v === "") throw new UsageError(`missing required flag --${flag}`);
  return v;
}

/** Hex flag value with exact byte length (or any even length when bytes is undefined). */
export function hexFlag(values: Record<string, unknown>, flag: string, bytes?: number): Uint8Array {
  const v = requireString(values, flag);
  try {
    return hexToBytes(v, `--${flag}`, bytes);
  } catch (err) {
    if (err instanceof HexError) throw new UsageError(err.message);
    throw err;
  }
}

export function optionalHexFlag(values: Record<string, unknown>, flag: string, bytes?: number): Uint8Array | undefined {
  return values[flag] === undefined ? undefined : hexFlag(values, flag, bytes);
}

/** An http:// or https:// URL flag value. */
export function httpUrlFlag(flag: string, v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new UsageError(`--${flag}: "${v}" is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`--${flag}: expected an http:// or https:// URL`);
  return v;
}

/** `--store lmdb` or `--store redis://HOST:PORT[,HOST:PORT…][?prefix=NAME]` over the config's store section. */
export function storeFlag(v: unknown): StoreConfig | undefined {
  if (v === undefined) return undefined;
  try {
    return parseStoreOption(String(v));
  } catch (err) {
    if (err instanceof StoreConfigError) throw new UsageError(err.message);
    throw err;
  }
}

export const STORE_HELP = `  --store lmdb|redis://HOST:PORT[,HOST:PORT…][?prefix=NAME]
                        where the NFs keep their state: LMDB under DIR/<nf>/ (default) or a Redis
                        Cluster (any reachable node; credentials from GBA_REDIS_USERNAME /
                        GBA_REDIS_PASSWORD); overrides the config's store section`;

/** A DNS-name flag value (wire/dns.ts). */
export function dnsNameFlag(flag: string, v: string): string {
  if (!isDnsName(v)) throw new UsageError(`--${flag}: "${v}" is not a DNS name`);
  return v;
}

/** Exactly one of two flags (e.g. --op / --opc). */
export function oneOf(values: Record<string, unknown>, a: string, b: string): string {
  const hasA = values[a] !== undefined;
  const hasB = values[b] !== undefined;
  if (hasA && hasB) throw new UsageError(`give either --${a} or --${b}, not both`);
  if (!hasA && !hasB) throw new UsageError(`missing required flag --${a} or --${b}`);
  return hasA ? a : b;
}

export function printJson(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj, null, 2)}\n`);
}
