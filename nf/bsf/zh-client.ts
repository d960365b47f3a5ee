// Zh consumer: the BSF asks the HSS for one authentication vector and the GUSS, over the
// SBI shapes of TS 29.562 Nhss_gbaUEAU and Nhss_gbaSDM (shared/spec/sbi-shapes.md).
import { Pool } from "undici";
import { bytesToHex, HexError, hexToBytes } from "../../milenage/bytes.js";

export interface ZhAuthVector {
  rand: Uint8Array;
  xres: Uint8Array;
  autn: Uint8Array;
  ck: Uint8Array;
  ik: Uint8Array;
}

/** TS 29.562 UssList item (GBA user security setting of one GAA service). */
export interface Uss {
  gsId: number;
  gsType?: number;
  ueIds?: Array<{ ueId: string }>;
  nafGroup?: string;
  flags?: Array<{ flag: number }>;
  keyChoice?: "ME_BASED_KEY" | "UICC_BASED_KEY" | "ME_UICC_BASED_KEYS";
}

/** TS 29.109 Annex A / TS 29.562 Guss, as far as the BSF reads it. */
export interface Guss {
  bsfInfo: { uiccType: "GBA" | "GBA_U"; lifeTime?: number };
  ussList: Array<{ uss: Uss }>;
}

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

export interface ResyncInfo {
  rand: Uint8Array;
  auts: Uint8Array;
}

export interface ZhClient {
  /** TS 29.562 Nhss_gbaUEAU generate-auth-data: one 3G AKA vector (TS 33.220 §4.5.2 step 2). */
  generateAuthData(impi: string, resync?: ResyncInfo): Promise<ZhAuthVector>;
  /** TS 29.562 Nhss_gbaSDM subscriber-data: the GUSS. */
  subscriberData(impi: string): Promise<Guss>;
  close(): Promise<void>;
}

export interface ZhClientOptions {
  /** base URL of the HSS Zh listener */
  hssUrl: string;
  timeoutMs: number;
}

/** enough parallel Zh requests for one BSF process; more would only add sockets */
const ZH_CONNECTIONS = 64;
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);

interface RawAnswer {
  status: number;
  body: unknown;
}

export function createZhClient(opts: ZhClientOptions): ZhClient {
  const origin = new URL(opts.hssUrl);
  const base = origin.pathname.replace(/\/+$/, "");
  // connect, first byte and body each bounded by the Zh timeout
  const pool = new Pool(origin.origin, {
    connections: ZH_CONNECTIONS,
    connectTimeout: opts.timeoutMs,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
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

  function ueIdPath(impi: string): string {
    return encodeURIComponent(impi);
  }

  return {
    async generateAuthData(impi, resync) {
      const req: Record<string, unknown> = { authenticationScheme: "DIGEST_AKAV1_MD5" };
      if (resync) req.resynchronizationInfo = { rand: bytesToHex(resync.rand), auts: bytesToHex(resync.auts) };
      const ans = await call("POST", `/nhss-gba-ueau/v1/${ueIdPath(impi)}/security-information/generate-auth-data`, req);
      failOnStatus(ans);
      return parseAv(ans.body);
    },
    async subscriberData(impi) {
      const ans = await call("GET", `/nhss-gba-sdm/v1/${ueIdPath(impi)}/subscriber-data`);
      failOnStatus(ans);
      return parseGuss(ans.body);
    },
    close: () => pool.close(),
  };
}

function unavailable(err: unknown): ZhError {
  const e = err as NodeJS.ErrnoException;
  return new ZhError("UNAVAILABLE", `HSS not reachable on Zh: ${e.code ?? e.name ?? "error"}`);
}

/**
 * TS 29.562 / sbi-shapes.md: 404 USER_NOT_FOUND, 403 AUTHENTICATION_REJECTED. A 400 can only be
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

function badAnswer(what: string): ZhError {
  return new ZhError("UNAVAILABLE", `HSS answer is malformed: ${what}`);
}

function hexField(o: Record<string, unknown>, name: string, min: number, max = min): Uint8Array {
  try {
    const b = hexToBytes(o[name] as string, `3gAkaAv.${name}`);
    if (b.length < min || b.length > max) throw badAnswer(`3gAkaAv.${name} has ${b.length} bytes`);
    return b;
  } catch (err) {
    if (err instanceof HexError) throw badAnswer(err.message);
    throw err;
  }
}

function parseAv(body: unknown): ZhAuthVector {
  const av = (body as Record<string, unknown> | undefined)?.["3gAkaAv"];
  if (typeof av !== "object" || av === null) throw badAnswer("no 3gAkaAv");
  const o = av as Record<string, unknown>;
  // TS 33.102 §6.3.2: RAND, AUTN, CK, IK 128 bits; XRES 32..128 bits (TS 29.562 xres 8..32 hex)
  return {
    rand: hexField(o, "rand", 16),
    autn: hexField(o, "autn", 16),
    xres: hexField(o, "xres", 4, 16),
    ck: hexField(o, "ck", 16),
    ik: hexField(o, "ik", 16),
  };
}

const KEY_CHOICES = new Set(["ME_BASED_KEY", "UICC_BASED_KEY", "ME_UICC_BASED_KEYS"]);

function parseUss(raw: unknown): Uss {
  const u = (raw as { uss?: unknown } | undefined)?.uss as Record<string, unknown> | undefined;
  if (typeof u !== "object" || u === null) throw badAnswer("ussList item without uss");
  if (!Number.isInteger(u.gsId)) throw badAnswer("uss.gsId is not an integer");
  const out: Uss = { gsId: u.gsId as number };
  if (Number.isInteger(u.gsType)) out.gsType = u.gsType as number;
  if (Array.isArray(u.ueIds)) {
    out.ueIds = u.ueIds
      .filter((x): x is { ueId: string } => typeof (x as { ueId?: unknown })?.ueId === "string")
      .map((x) => ({ ueId: x.ueId }));
  }
  if (typeof u.nafGroup === "string") out.nafGroup = u.nafGroup;
  if (Array.isArray(u.flags)) {
    out.flags = u.flags
      .filter((x): x is { flag: number } => Number.isInteger((x as { flag?: unknown })?.flag))
      .map((x) => ({ flag: x.flag }));
  }
  if (typeof u.keyChoice === "string" && KEY_CHOICES.has(u.keyChoice)) out.keyChoice = u.keyChoice as Uss["keyChoice"];
  return out;
}

function parseGuss(body: unknown): Guss {
  const g = (body as { guss?: unknown } | undefined)?.guss as Record<string, unknown> | undefined;
  if (typeof g !== "object" || g === null) throw badAnswer("no guss");
  const info = (g.bsfInfo ?? {}) as Record<string, unknown>;
  const uiccType = info.uiccType ?? "GBA";
  if (uiccType !== "GBA" && uiccType !== "GBA_U") throw badAnswer(`bsfInfo.uiccType ${JSON.stringify(uiccType)}`);
  const bsfInfo: Guss["bsfInfo"] = { uiccType };
  if (info.lifeTime !== undefined) {
    if (!Number.isInteger(info.lifeTime) || (info.lifeTime as number) <= 0)
      throw badAnswer("bsfInfo.lifeTime is not a positive integer");
    bsfInfo.lifeTime = info.lifeTime as number;
  }
  const list = g.ussList ?? [];
  if (!Array.isArray(list)) throw badAnswer("ussList is not a list");
  return { bsfInfo, ussList: list.map((x) => ({ uss: parseUss(x) })) };
}
