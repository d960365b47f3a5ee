// Which store an NF uses: `store: { backend: "lmdb" }` (the embedded default) or
// `store: { backend: "redis", nodes: ["HOST:PORT", …] }` in the config file, or
// `--store lmdb` / `--store redis://HOST:PORT[,HOST:PORT…]` on the command line. Every refusal
// names the part that is wrong. Credentials never come from the config or the URL (config files
// end up in ConfigMaps, URLs in process lists): GBA_REDIS_USERNAME / GBA_REDIS_PASSWORD.
import { isIP } from "node:net";
import { KEY_PREFIX_RULE } from "./redis-keys.js";

export interface RedisNodeAddress {
  host: string;
  port: number;
}

export interface RedisStoreConfig {
  backend: "redis";
  /** seed nodes: any reachable node of the cluster is enough, the client discovers the rest */
  nodes: RedisNodeAddress[];
  /** first part of every key, so several deployments can share one cluster */
  prefix: string;
  /** a command that gets no answer within this many ms fails (the NF answers 503) */
  commandTimeoutMs: number;
}

export type StoreConfig = { backend: "lmdb" } | RedisStoreConfig;

export const DEFAULT_REDIS_PORT = 6379;
export const DEFAULT_REDIS_PREFIX = "gba";
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;

export class StoreConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreConfigError";
  }
}

const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** "HOST:PORT", "HOST" (port 6379), "[IPv6]:PORT" or "[IPv6]". `where` names it in errors. */
export function parseNodeAddress(text: string, where: string): RedisNodeAddress {
  const t = text.trim();
  if (t === "") throw new StoreConfigError(`${where}: empty node address (expected HOST:PORT)`);
  let host: string;
  let portText: string | undefined;
  if (t.startsWith("[")) {
    const close = t.indexOf("]");
    if (close < 0) throw new StoreConfigError(`${where}: "${t}" opens "[" for an IPv6 address but never closes it`);
    host = t.slice(1, close);
    const rest = t.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) throw new StoreConfigError(`${where}: "${t}" has "${rest}" after the IPv6 address`);
    portText = rest === "" ? undefined : rest.slice(1);
    if (isIP(host) !== 6) throw new StoreConfigError(`${where}: "${host}" in brackets is not an IPv6 address`);
  } else {
    const colons = t.split(":").length - 1;
    if (colons > 1) throw new StoreConfigError(`${where}: "${t}" looks like an IPv6 address: write it as [ADDRESS]:PORT`);
    [host, portText] = colons === 1 ? (t.split(":") as [string, string]) : [t, undefined];
    if (host === "") throw new StoreConfigError(`${where}: "${t}" has no host before the port`);
    if (isIP(host) === 0 && !DNS_NAME.test(host)) {
      throw new StoreConfigError(`${where}: host "${host}" is neither an IP address nor a DNS name`);
    }
  }
  let port = DEFAULT_REDIS_PORT;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) throw new StoreConfigError(`${where}: port "${portText}" of "${t}" is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw new StoreConfigError(`${where}: port ${port} of "${t}" is out of 1..65535`);
  }
  return { host, port };
}

function checkNodes(list: string[], where: string): RedisNodeAddress[] {
  if (list.length === 0) throw new StoreConfigError(`${where}: at least one Redis node is needed (HOST:PORT)`);
  const seen = new Map<string, number>();
  return list.map((text, i) => {
    const at = `${where}, node ${i + 1}`;
    const node = parseNodeAddress(text, at);
    const id = `${node.host.toLowerCase()}:${node.port}`;
    const first = seen.get(id);
    if (first !== undefined) throw new StoreConfigError(`${at}: "${text}" repeats node ${first}`);
    seen.set(id, i + 1);
    return node;
  });
}

/**
 * `--store lmdb` or `--store redis://HOST:PORT[,HOST:PORT…][?prefix=NAME]` (the key prefix lets
 * several deployments share one cluster).
 */
export function parseStoreOption(text: string, where = "--store"): StoreConfig {
  const t = text.trim();
  if (t === "lmdb") return { backend: "lmdb" };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(t);
  if (!scheme) throw new StoreConfigError(`${where}: "${t}" is neither "lmdb" nor a redis://HOST:PORT[,HOST:PORT…] URL`);
  if (scheme[1].toLowerCase() !== "redis") {
    const hint = scheme[1].toLowerCase() === "rediss" ? " (TLS to Redis is not supported yet)" : "";
    throw new StoreConfigError(`${where}: scheme "${scheme[1]}://" is not supported${hint}; use redis://HOST:PORT[,HOST:PORT…]`);
  }
  let body = t.slice(scheme[0].length);
  let prefix: string | undefined;
  const q = body.indexOf("?");
  if (q >= 0) {
    const query = body.slice(q + 1);
    body = body.slice(0, q);
    const m = /^prefix=([^&#]*)$/.exec(query);
    if (!m) {
      throw new StoreConfigError(
        `${where}: "?${query}" in "${t}": the only query option is prefix=NAME (other settings go in the config's store section)`,
      );
    }
    if (!KEY_PREFIX_RULE.test(m[1])) {
      throw new StoreConfigError(`${where}: prefix "${m[1]}" in "${t}" must be 1 to 32 of A-Z a-z 0-9 _ . -`);
    }
    prefix = m[1];
  }
  if (body.includes("@")) {
    throw new StoreConfigError(
      `${where}: credentials do not belong in the URL (it shows in process lists); set GBA_REDIS_USERNAME / GBA_REDIS_PASSWORD`,
    );
  }
  const extra = /[/?#]/.exec(body);
  if (extra) {
    const what = extra[0] === "/" ? "a path (a Redis Cluster has only database 0)" : "a fragment";
    throw new StoreConfigError(
      `${where}: "${body.slice(extra.index)}" in "${t}" is ${what}; only ?prefix=NAME may follow the node list`,
    );
  }
  const cfg = { ...redisDefaults(), nodes: checkNodes(body.split(","), where) };
  if (prefix !== undefined) cfg.prefix = prefix;
  return cfg;
}

function redisDefaults(): Omit<RedisStoreConfig, "nodes"> {
  return { backend: "redis", prefix: DEFAULT_REDIS_PREFIX, commandTimeoutMs: DEFAULT_REDIS_COMMAND_TIMEOUT_MS };
}

/** The `store` section of a config file (already parsed YAML/JSON); `where` is its path. */
export function checkStoreConfig(raw: unknown, where = "store"): StoreConfig {
  if (raw === undefined) return { backend: "lmdb" };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new StoreConfigError(`${where}: expected an object`);
  const o = raw as Record<string, unknown>;
  const known = new Set(["backend", "nodes", "prefix", "commandTimeoutMs"]);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new StoreConfigError(`${where}.${k}: unknown setting`);
  if (o.backend === "lmdb" || o.backend === undefined) {
    const stray = ["nodes", "prefix", "commandTimeoutMs"].find((k) => o[k] !== undefined);
    if (stray) throw new StoreConfigError(`${where}.${stray}: only for backend "redis" (backend is "lmdb")`);
    return { backend: "lmdb" };
  }
  if (o.backend !== "redis")
    throw new StoreConfigError(`${where}.backend: expected "lmdb" or "redis", got ${JSON.stringify(o.backend)}`);
  const cfg = redisDefaults();
  if (!Array.isArray(o.nodes) || o.nodes.some((n) => typeof n !== "string")) {
    throw new StoreConfigError(`${where}.nodes: expected a list of "HOST:PORT" strings`);
  }
  if (o.prefix !== undefined) {
    if (typeof o.prefix !== "string" || !KEY_PREFIX_RULE.test(o.prefix)) {
      throw new StoreConfigError(`${where}.prefix: expected 1 to 32 of A-Z a-z 0-9 _ . -, got ${JSON.stringify(o.prefix)}`);
    }
    cfg.prefix = o.prefix;
  }
  if (o.commandTimeoutMs !== undefined) {
    const n = o.commandTimeoutMs;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 10 || n > 60_000) {
      throw new StoreConfigError(`${where}.commandTimeoutMs: expected an integer 10..60000, got ${JSON.stringify(n)}`);
    }
    cfg.commandTimeoutMs = n;
  }
  return { ...cfg, nodes: checkNodes(o.nodes as string[], `${where}.nodes`) };
}

/** The nodes as a redis:// URL (for logs and the ready line; never carries credentials); a non-default prefix as ?prefix=. */
export function storeUrl(cfg: RedisStoreConfig): string {
  const nodes = cfg.nodes.map((n) => (isIP(n.host) === 6 ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(",");
  return `redis://${nodes}${cfg.prefix === DEFAULT_REDIS_PREFIX ? "" : `?prefix=${cfg.prefix}`}`;
}

/** The store for a start-up log line: "lmdb" or the redis:// URL. */
export function storeDescription(cfg: StoreConfig): string {
  return cfg.backend === "lmdb" ? "lmdb" : storeUrl(cfg);
}
