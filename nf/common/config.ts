// Configuration shared by every NF: defaults ← config file (YAML or JSON) ← CLI flags.
// One data root describes one deployment: each NF keeps its store in <data>/<nf>/ (DESIGN.md).
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";

export interface ListenConfig {
  host: string;
  port: number;
}

/** A NAF allowed to ask the BSF for keys over Zn (TS 33.220 §4.4.3 NAF authorisation). */
export interface ZnClientConfig {
  /** name used in logs */
  id: string;
  /** bearer token the NAF presents on Zn */
  token: string;
  /** NAF FQDNs this NAF may request keys for (its own) */
  fqdns: string[];
  /** NAF group, matched against the USS nafGroup in the GUSS */
  group?: string;
  /** the NAF understands Ks_int_NAF (Zn gbaUAware may be honoured) */
  gbaUAware?: boolean;
}

export interface GbaConfig {
  /** data root; each NF stores under <data>/<nf>/ */
  data: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** TS 33.220 §5.3.2 GBA_U AUTN* (project decision, gba/gba-u.ts); shared by BSF and simulated USIM */
  gbaU: { autnStar: boolean };
  hss: {
    zh: ListenConfig;
    admin: ListenConfig & { token?: string };
    /** TS 33.102 Annex C: IND length in bits */
    indBits: number;
    /** IND value used for vectors requested over Zh (the BSF as its own IND consumer, Annex C.3.2) */
    zhInd: number;
    /** AMF used for new subscribers that do not name one */
    defaultAmf: string;
    /** seconds between SEQ_HE checkpoints (the journal folded into the per-subscriber table) */
    sqnCheckpointSeconds: number;
    /** a checkpoint starts early once this many SEQ_HE entries are journaled */
    sqnLogMax: number;
  };
  bsf: {
    ub: ListenConfig;
    zn: ListenConfig;
    /** BSF FQDN: Ub realm and B-TID suffix (TS 33.220 §4.5.2) */
    fqdn: string;
    /** Zh base URL of the HSS */
    hssUrl: string;
    /** bootstrap session lifetime in seconds when the GUSS names none */
    sessionLifetime: number;
    /** Ub Digest algorithm: RFC 3310 AKAv1-MD5 or RFC 4169 AKAv2-MD5 */
    algorithm: "AKAv1-MD5" | "AKAv2-MD5";
    /** seconds a Ub challenge (nonce) stays valid */
    nonceTtl: number;
    /** Zh request timeout in ms */
    zhTimeoutMs: number;
    /** NAFs allowed on Zn */
    nafs: ZnClientConfig[];
  };
  naf: {
    http: ListenConfig;
    tlsPsk: ListenConfig;
    /** NAF FQDN used in the realm and in NAF_Id */
    fqdn: string;
    /** Zn base URL of the BSF */
    bsfUrl: string;
    /** bearer token this NAF presents on Zn */
    znToken: string;
    /** Ua Digest algorithm offered: MD5 (TS 24.109 default) or SHA-256 (RFC 7616) */
    digestAlgorithm: "MD5" | "SHA-256";
    /** which bootstrapping realms to offer (TS 24.109 §5.2.4) */
    realms: "gba-me" | "gba-u" | "both";
    /** seconds a Ua server nonce stays valid */
    nonceTtl: number;
    /** reverse-proxy upstream; when set, the NAF forwards authenticated requests there */
    upstream?: string;
  };
  eca: {
    http: ListenConfig;
    tlsPsk: ListenConfig;
    fqdn: string;
    bsfUrl: string;
    znToken: string;
    /** validity of issued enrolment certificates, days */
    certValidityDays: number;
  };
}

const LOOPBACK = "127.0.0.1";

/** Fixed default ports (documented in the README); `--ephemeral-ports` replaces them with 0. */
export const DEFAULT_PORTS = {
  hssZh: 7001,
  hssAdmin: 7002,
  bsfUb: 8080,
  bsfZn: 8081,
  nafHttp: 9080,
  nafTlsPsk: 9443,
  ecaHttp: 9090,
  ecaTlsPsk: 9444,
} as const;

export function defaultConfig(): GbaConfig {
  const p = DEFAULT_PORTS;
  return {
    data: ".gba-data",
    logLevel: "info",
    gbaU: { autnStar: true },
    hss: {
      zh: { host: LOOPBACK, port: p.hssZh },
      admin: { host: LOOPBACK, port: p.hssAdmin },
      indBits: 5,
      zhInd: 1,
      defaultAmf: "8000",
      sqnCheckpointSeconds: 60,
      sqnLogMax: 100_000,
    },
    bsf: {
      ub: { host: LOOPBACK, port: p.bsfUb },
      zn: { host: LOOPBACK, port: p.bsfZn },
      fqdn: "bsf.mnc001.mcc001.pub.3gppnetwork.org",
      hssUrl: `http://${LOOPBACK}:${p.hssZh}`,
      sessionLifetime: 3600,
      algorithm: "AKAv1-MD5",
      nonceTtl: 60,
      zhTimeoutMs: 2000,
      nafs: [
        { id: "naf", token: "naf-zn-token", fqdns: ["naf.example.org"], gbaUAware: true },
        { id: "eca", token: "eca-zn-token", fqdns: ["eca.vehicleman.example"], gbaUAware: false },
      ],
    },
    naf: {
      http: { host: LOOPBACK, port: p.nafHttp },
      tlsPsk: { host: LOOPBACK, port: p.nafTlsPsk },
      fqdn: "naf.example.org",
      bsfUrl: `http://${LOOPBACK}:${p.bsfZn}`,
      znToken: "naf-zn-token",
      digestAlgorithm: "MD5",
      realms: "gba-me",
      nonceTtl: 300,
    },
    eca: {
      http: { host: LOOPBACK, port: p.ecaHttp },
      tlsPsk: { host: LOOPBACK, port: p.ecaTlsPsk },
      fqdn: "eca.vehicleman.example",
      bsfUrl: `http://${LOOPBACK}:${p.bsfZn}`,
      znToken: "eca-zn-token",
      certValidityDays: 365,
    },
  };
}

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

/** Deep merge of a user object over defaults; unknown keys and wrong types are refused by path. */
export function mergeConfig<T>(base: T, override: unknown, path = ""): T {
  if (override === undefined) return base;
  if (isPlain(base)) {
    if (!isPlain(override)) throw new ConfigError(`${path || "config"}: expected an object`);
    const out: Plain = { ...base };
    for (const [k, v] of Object.entries(override)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in base)) {
        // optional keys with no default are declared in the type but absent at runtime
        if (OPTIONAL_KEYS.has(p)) {
          out[k] = v;
          continue;
        }
        throw new ConfigError(`${p}: unknown setting`);
      }
      out[k] = mergeConfig((base as Plain)[k], v, p);
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

const OPTIONAL_KEYS = new Set(["hss.admin.token", "naf.upstream"]);

/** Reads a YAML or JSON config file (YAML is a superset of JSON) over the defaults. */
export function loadConfig(file?: string, base: GbaConfig = defaultConfig()): GbaConfig {
  if (!file) return base;
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
  return mergeConfig(base, parsed ?? {});
}

/** Replaces every listening port with 0 so the OS picks free ones. */
export function withEphemeralPorts(cfg: GbaConfig): GbaConfig {
  const c = structuredClone(cfg);
  for (const l of [c.hss.zh, c.hss.admin, c.bsf.ub, c.bsf.zn, c.naf.http, c.naf.tlsPsk, c.eca.http, c.eca.tlsPsk]) l.port = 0;
  return c;
}
