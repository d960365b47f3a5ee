// Zh consumer: the BSF asks the HSS for one authentication vector and the GUSS (TS 33.220
// §4.5.2 step 2). The interface every Zh binding implements, and its SBI binding over the shapes
// of TS 29.562 Nhss_gbaUEAU and Nhss_gbaSDM (wire/zh.ts); the Diameter binding (TS 29.109
// MAR/MAA) is zh-client-diameter.ts.
//
// Both bindings make one Zh exchange per bootstrap: the BSF keeps the last GUSS of each IMPI
// (bounded, least recently used out) and the HSS sends it again only when it changed (TS 33.220
// §4.5.2 step 2 "GUSS timestamp"). Diameter carries GUSS-Timestamp in the MAR; the SBI binding
// uses the project's gussCheck extension of the vector request (wire/zh.ts GussCheckRequest).
import { Pool } from "undici";
import type { Capture } from "../common/capture/index.js";
import { Lru } from "../common/lru.js";
import { DEFAULT_GUSS_ENTRIES } from "./config.js";
import {
  type AuthVector,
  authInfoRequest,
  decodeAuthInfoAnswer,
  decodeAuthInfoResult,
  decodeSubscriberData,
  type Guss,
  generateAuthDataPath,
  type ResyncInfo,
  subscriberDataPath,
  ZhAnswerError,
} from "../../wire/zh.js";

export type ZhFailure = "USER_UNKNOWN" | "REJECTED" | "UNAVAILABLE";

export class ZhError extends Error {
  constructor(
    readonly kind: ZhFailure,
    message: string,
  ) {
    super(message);
    this.name = "ZhError";
  }
}

/** What a bootstrap needs from the HSS: one 3G AKA vector and the subscriber's GUSS. */
export interface ZhAuthData {
  av: AuthVector;
  guss: Guss;
}

export interface ZhClient {
  /** TS 33.220 §4.5.2 step 2: one vector (after a resynchronisation when `resync` is given) and the GUSS; rejects with a ZhError. */
  authData(impi: string, resync?: ResyncInfo): Promise<ZhAuthData>;
  close(): Promise<void>;
}

/** The SBI binding, whose two operations are also callable on their own. */
export interface SbiZhClient extends ZhClient {
  /** TS 29.562 Nhss_gbaUEAU generate-auth-data: one 3G AKA vector (TS 33.220 §4.5.2 step 2). */
  generateAuthData(impi: string, resync?: ResyncInfo): Promise<AuthVector>;
  /** TS 29.562 Nhss_gbaSDM subscriber-data: the GUSS. */
  subscriberData(impi: string): Promise<Guss>;
}

export interface ZhClientOptions {
  /** base URL of the HSS Zh listener */
  hssUrl: string;
  timeoutMs: number;
  /** `--pcap`: record the connections to the HSS */
  capture?: Capture;
  /**
   * the GUSS timestamp option (default true): the GUSS comes with the vector when it changed.
   * false: every bootstrap asks generate-auth-data and subscriber-data, for an HSS that refuses
   * the extension. An HSS that ignores it is detected per answer (no gussCheck in it).
   */
  gussCheck?: boolean;
  /** GUSSs held for the option (default DEFAULT_GUSS_ENTRIES; 0 holds none) */
  gussEntries?: number;
}

/** The last GUSS of each IMPI, least recently used out; undefined when `entries` is 0. */
export function gussCache<V>(entries = DEFAULT_GUSS_ENTRIES): Lru<string, V> | undefined {
  return entries > 0 ? new Lru<string, V>(entries) : undefined;
}

/** enough parallel Zh requests for one BSF process; more would only add sockets */
const ZH_CONNECTIONS = 64;
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);

interface RawAnswer {
  status: number;
  body: unknown;
}

export function createZhClient(opts: ZhClientOptions): SbiZhClient {
  const origin = new URL(opts.hssUrl);
  const base = origin.pathname.replace(/\/+$/, "");
  // connect, first byte and body each bounded by the Zh timeout
  const pool = new Pool(origin.origin, {
    connections: ZH_CONNECTIONS,
    connectTimeout: opts.timeoutMs,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
    connect: opts.capture?.undiciConnector("BSF Zh client", opts.timeoutMs),
  });

  async function once(method: "GET" | "POST", path: string, body?: unknown): Promise<RawAnswer> {
    const res = await pool.request({
      method,
      path: base + path,
      headers:
        body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.statusCode, body: parsed };
  }

  /** One retry when a kept-alive connection was reset under us; never on timeouts. */
  async function call(method: "GET" | "POST", path: string, body?: unknown): Promise<RawAnswer> {
    try {
      return await once(method, path, body);
    } catch (err) {
      if (RESET_CODES.has((err as NodeJS.ErrnoException).code ?? "")) {
        try {
          return await once(method, path, body);
        } catch (err2) {
          throw unavailable(err2);
        }
      }
      throw unavailable(err);
    }
  }

  async function generateAuthData(impi: string, resync?: ResyncInfo): Promise<AuthVector> {
    const ans = await call("POST", generateAuthDataPath(impi), authInfoRequest(resync));
    failOnStatus(ans);
    return decoded(decodeAuthInfoResult, ans.body);
  }
  async function subscriberData(impi: string): Promise<Guss> {
    const ans = await call("GET", subscriberDataPath(impi));
    failOnStatus(ans);
    return decoded(decodeSubscriberData, ans.body);
  }
  const gussCheck = opts.gussCheck ?? true;
  const held = gussCache<{ version: string; guss: Guss }>(opts.gussEntries);

  /** TS 33.220 §4.5.2 step 2 with the GUSS timestamp option: one exchange unless the HSS does not know it. */
  async function checkedAuthData(impi: string, resync?: ResyncInfo): Promise<ZhAuthData> {
    const mine = held?.get(impi);
    const ans = await call("POST", generateAuthDataPath(impi), authInfoRequest(resync, { version: mine?.version }));
    failOnStatus(ans);
    const { av, gussCheck: check } = decoded(decodeAuthInfoAnswer, ans.body);
    if (check?.guss !== undefined) {
      held?.set(impi, { version: check.version, guss: check.guss });
      return { av, guss: check.guss };
    }
    // "GUSS TIMESTAMP EQUAL": the one held is current
    if (mine !== undefined && check?.version === mine.version) return { av, guss: mine.guss };
    // an HSS without the option (no gussCheck in its answer): the GUSS separately
    return { av, guss: await subscriberData(impi) };
  }

  return {
    generateAuthData,
    subscriberData,
    authData: gussCheck
      ? checkedAuthData
      : // TS 29.562 keeps AV and GUSS apart: both operations at once
        async (impi, resync) => {
          const [av, guss] = await Promise.all([generateAuthData(impi, resync), subscriberData(impi)]);
          return { av, guss };
        },
    close: () => pool.close(),
  };
}

function unavailable(err: unknown): ZhError {
  const e = err as NodeJS.ErrnoException;
  return new ZhError("UNAVAILABLE", `HSS not reachable on Zh: ${e.code ?? e.name ?? "error"}`);
}

/**
 * TS 29.562 (TS 29.503 family causes): 404 USER_NOT_FOUND, 403 AUTHENTICATION_REJECTED. A 400 can only be
 * about the IMPI the UE chose (the BSF validates everything else), so it counts as an unknown
 * user. Anything else non-2xx is an HSS fault.
 */
function failOnStatus(ans: RawAnswer): void {
  if (ans.status >= 200 && ans.status < 300) return;
  const cause = (ans.body as { cause?: unknown } | undefined)?.cause;
  if (ans.status === 404 || ans.status === 400) throw new ZhError("USER_UNKNOWN", `HSS: ${String(cause ?? "user not found")}`);
  if (ans.status === 403) throw new ZhError("REJECTED", `HSS: ${String(cause ?? "authentication rejected")}`);
  throw new ZhError("UNAVAILABLE", `HSS answered ${ans.status} ${String(cause ?? "")}`.trim());
}

/** A Zh answer of the wrong shape is an HSS fault. */
function decoded<T>(decode: (body: unknown) => T, body: unknown): T {
  try {
    return decode(body);
  } catch (err) {
    if (err instanceof ZhAnswerError) throw new ZhError("UNAVAILABLE", `HSS answer is malformed: ${err.message}`);
    throw err;
  }
}
