// Configuration machinery every NF shares: defaults ← config file (YAML or JSON) ← CLI flags.
// Each NF owns its section in nf/<nf>/config.ts (type, defaults, check) and registers it as a
// ConfigSection; nf/config.ts lists the sections of a deployment. This module knows no NF: it
// only merges the sections it is given. One data root describes one deployment: each NF keeps
// its store in <data>/<nf>/ (docs/architecture.md).
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { isDnsName } from "../../wire/dns.js";
import type { LogLevel } from "./log.js";
import { checkStoreConfig, type StoreConfig, StoreConfigError } from "./store/redis-config.js";

export interface ListenConfig {
  host: string;
  port: number;
}

export const LOOPBACK = "127.0.0.1";

/** When an NF listener sheds a request with 503 NF_CONGESTION + Retry-After (nf/common/overload.ts). */
export interface OverloadConfig {
  /** shed while the event loop's delay stays above this many ms for two 100 ms samples (0: never for delay) */
  maxEventLoopDelayMs: number;
  /** shed while the listener serves this many requests already (0: no bound) */
  maxInFlight: number;
  /** Retry-After of a shed request, in seconds */
  retryAfterSeconds: number;
}

/**
 * The event-loop bound is below the NAF's 2 s Zn timeout, so a NAF asking a drowning BSF gets a
 * 503 in time rather than a timeout, and well above the few ms of a healthy NF and the scheduling
 * noise of a busy machine.
 */
export function overloadDefaults(): OverloadConfig {
  return { maxEventLoopDelayMs: 500, maxInFlight: 2000, retryAfterSeconds: 1 };
}

/** Refuses settings that are not non-negative integers (Retry-After: positive), naming the setting. */
export function checkOverload(o: OverloadConfig): void {
  for (const key of ["maxEventLoopDelayMs", "maxInFlight", "retryAfterSeconds"] as const) {
    const v = o[key];
    const min = key === "retryAfterSeconds" ? 1 : 0;
    if (!Number.isInteger(v) || v < min)
      throw new ConfigError(`overload.${key}: must be ${min === 0 ? "a non-negative" : "a positive"} integer`);
  }
}

/** The settings outside every NF section. */
export interface CommonConfig {
  /** data root; each NF stores under <data>/<nf>/ */
  data: string;
  logLevel: LogLevel;
  /** TS 33.220 §5.3.2 GBA_U AUTN* (project decision, gba/gba-u.ts); shared by BSF and simulated USIM */
  gbaU: { autnStar: boolean };
  /** shared by every NF listener that serves a peer (not the HSS admin API) */
  overload: OverloadConfig;
  /** where every NF keeps its state: LMDB under <data>/<nf>/ (default) or a Redis Cluster */
  store: StoreConfig;
}

export function commonDefaults(): CommonConfig {
  return {
    data: ".gba-data",
    logLevel: "info",
    gbaU: { autnStar: true },
    overload: overloadDefaults(),
    store: { backend: "lmdb" },
  };
}

/** The configuration an NF starts with: the common settings and its own section. */
export type NfConfig<K extends string, T> = CommonConfig & { [key in K]: T };

/** One NF's section of the configuration, as the NF registers it. */
export interface ConfigSection<K extends string, T> {
  /** the section's key in the configuration, e.g. "hss" */
  readonly key: K;
  defaults(): T;
  /** settings (relative to the section, e.g. "admin.token") that may be given though they have no default */
  readonly optionalKeys?: readonly string[];
  /** the section's listeners: `--ephemeral-ports` sets their ports to 0 */
  listeners(section: T): ListenConfig[];
  /** Refuses a section that could only fail later, naming the setting (throws ConfigError). */
  check(section: T): void;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of sections of different types
export type AnySection = ConfigSection<string, any>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Deep merge of a user object over defaults; unknown keys and wrong types are refused by path.
 * `optional` holds the full paths of keys that have no default but may be given.
 */
export function mergeConfig<T>(base: T, override: unknown, path = "", optional: ReadonlySet<string> = new Set()): T {
  if (override === undefined) return base;
  if (isPlain(base)) {
    if (!isPlain(override)) throw new ConfigError(`${path || "config"}: expected an object`);
    const out: Plain = { ...base };
    for (const [k, v] of Object.entries(override)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in base)) {
        // optional keys with no default are declared in the type but absent at runtime
        if (optional.has(p)) {
          out[k] = v;
          continue;
        }
        throw new ConfigError(`${p}: unknown setting`);
      }
      out[k] = mergeConfig((base as Plain)[k], v, p, optional);
    }
    return out as T;
  }
  if (Array.isArray(base)) {
    if (!Array.isArray(override)) throw new ConfigError(`${path}: expected a list`);
    return override as T;
  }
  if (typeof base !== typeof override)
    throw new ConfigError(`${path}: expected a ${typeof base}, got ${JSON.stringify(override)}`);
  return override as T;
}

/** The common defaults with every section's defaults under its key. */
export function defaultsOf(sections: readonly AnySection[]): CommonConfig & Plain {
  const out: CommonConfig & Plain = { ...commonDefaults() };
  for (const s of sections) out[s.key] = s.defaults();
  return out;
}

/** Reads a YAML or JSON config file (YAML is a superset of JSON) and merges it over `base`. */
export function mergeConfigFile<T extends CommonConfig>(sections: readonly AnySection[], file: string, base: T): T {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
  const optional = new Set(sections.flatMap((s) => (s.optionalKeys ?? []).map((k) => `${s.key}.${k}`)));
  // the store section has its own parser: its keys depend on the backend
  const { store, ...rest } = isPlain(parsed) ? parsed : { store: undefined };
  const merged = mergeConfig(base, isPlain(parsed) ? rest : (parsed ?? {}), "", optional);
  if (store === undefined) return merged;
  try {
    return { ...merged, store: checkStoreConfig(store, "store") };
  } catch (err) {
    if (err instanceof StoreConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/** A copy of `cfg` with every listening port of every section set to 0, so the OS picks free ones. */
export function ephemeralPortsOf<T extends CommonConfig>(sections: readonly AnySection[], cfg: T): T {
  const c = structuredClone(cfg);
  for (const s of sections) for (const l of s.listeners((c as unknown as Plain)[s.key])) l.port = 0;
  return c;
}

/** Refuses any of `keys` of a section (at its path `at`) that is not a positive integer. */
export function positiveIntegers<T extends object>(section: T, at: string, keys: ReadonlyArray<keyof T & string>): void {
  for (const key of keys) {
    const v = section[key];
    if (!Number.isInteger(v) || (v as number) <= 0) throw new ConfigError(`${at}.${key}: must be a positive integer`);
  }
}

/** Refuses a setting (at its path `at`) that is not an http:// or https:// URL. */
export function httpUrlSetting(at: string, value: string): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ConfigError(`${at}: "${value}" is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new ConfigError(`${at}: expected an http:// or https:// URL`);
}

/** Refuses a setting that is not a DNS name (wire/dns.ts). */
export function dnsNameSetting(at: string, value: string): void {
  if (!isDnsName(value)) throw new ConfigError(`${at}: "${value}" is not a DNS name`);
}

/** Refuses a bearer token a client could not send in an Authorization header (printable ASCII, no spaces). */
export function bearerTokenSetting(at: string, value: string): void {
  if (typeof value !== "string" || !/^[\x21-\x7e]+$/.test(value))
    throw new ConfigError(`${at}: must be printable ASCII without spaces`);
}
