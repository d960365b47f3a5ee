// Zn client (TS 29.309 Nbsp_GBA BootstrappingInfoRetrieval; TS 33.220 §4.5.3): the NAF asks the
// BSF for the NAF-specific key of a B-TID. Answers are cached per (B-TID, NAF_Id) until the key
// expires, and concurrent lookups of one pair share one request.
import { Pool } from "undici";
import type { Capture } from "../common/capture/index.js";
import { bytesToHex } from "../../wire/bytes.js";
import type { Clock } from "../../wire/deps.js";
import {
  bootstrappingInfoRequest,
  type DecodedBootstrappingInfo,
  decodeBootstrappingInfoResponse,
  ZN_PATH,
  ZnAnswerError,
} from "../../wire/zn.js";
import { systemDeps } from "../common/deps.js";

/** A BootstrappingInfoResponse (TS 29.309 §6.1.6.2.3) with the keys decoded, and what it was asked for. */
export interface ZnAnswer extends DecodedBootstrappingInfo {
  btid: string;
  nafFqdn: string;
  /** Ua security protocol id the key was derived for (TS 33.220 H.3) */
  uaId: Uint8Array;
}

/** Why a Zn lookup failed, as the NAF acts on it (TS 29.309 §6.1.7; TS 29.109 §6.3 result codes). */
export type ZnFailureCode = "BTID_UNKNOWN" | "NAF_NOT_AUTHORIZED" | "BSF_UNAVAILABLE";

/** The one way a ZnClient lookup fails; any other rejection is a bug in the client. */
export abstract class ZnFailure extends Error {
  abstract readonly code: ZnFailureCode;
}

export interface ZnClient {
  /** The key of `btid` for NAF_Id = nafFqdn ‖ uaId; rejects with a ZnFailure. */
  lookup(btid: string, nafFqdn: string, uaId: Uint8Array): Promise<ZnAnswer>;
}

/** 404 on Zn: unknown, expired or superseded B-TID (Diameter 5403) → the UE must bootstrap again. */
export class BtidUnknown extends ZnFailure {
  readonly code = "BTID_UNKNOWN";
  constructor(message = "the BSF does not know this B-TID (unknown or expired)") {
    super(message);
    this.name = "BtidUnknown";
  }
}

/** 403 on Zn: the BSF does not hand this key to this NAF (TS 33.220 §4.4.3, Diameter 5402). */
export class NafNotAuthorized extends ZnFailure {
  readonly code = "NAF_NOT_AUTHORIZED";
  constructor(message = "the BSF does not authorise this NAF for this B-TID") {
    super(message);
    this.name = "NafNotAuthorized";
  }
}

/** The BSF could not be asked: unreachable, timed out, refused our token, or answered garbage. */
export class BsfUnavailable extends ZnFailure {
  readonly code = "BSF_UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "BsfUnavailable";
  }
}

export interface ZnClientOptions {
  /** BSF Zn base URL (apiRoot), e.g. http://127.0.0.1:8081 */
  bsfUrl: string;
  /** bearer token this NAF presents on Zn */
  token: string;
  /** whole-request timeout in ms (default 2000) */
  timeoutMs?: number;
  /** TS 29.309: gbaUAware (the NAF can use Ks_int_NAF) */
  gbaUAware?: boolean;
  /** TS 29.309: GAA service identifiers to ask USSs for */
  gsIds?: number[];
  /** maximum cached answers (default 100000); the oldest go first */
  maxEntries?: number;
  /** connections to the BSF (default 16) */
  connections?: number;
  clock?: Clock;
  /** `--pcap`: record the connections to the BSF */
  capture?: Capture;
}

export interface ZnClientHandle extends ZnClient {
  /** the cached answer when it is still valid, without asking the BSF */
  cached(btid: string, nafFqdn: string, uaId: Uint8Array): ZnAnswer | undefined;
  close(): Promise<void>;
}

function cacheKey(btid: string, nafFqdn: string, uaHex: string): string {
  return `${uaHex}\n${nafFqdn}\n${btid}`;
}

/** Validates a BootstrappingInfoResponse body; throws BsfUnavailable naming the bad field. */
function parseAnswer(body: unknown, btid: string, nafFqdn: string, uaId: Uint8Array): ZnAnswer {
  try {
    return { btid, nafFqdn, uaId: uaId.slice(), ...decodeBootstrappingInfoResponse(body) };
  } catch (err) {
    if (err instanceof ZnAnswerError)
      throw new BsfUnavailable(`the BSF answered an invalid BootstrappingInfoResponse: ${err.message}`);
    throw err;
  }
}

/** One question to the BSF over one binding: the decoded answer, or a rejection with a ZnFailure. */
export type ZnAsk = (btid: string, nafFqdn: string, uaId: Uint8Array, uaHex: string) => Promise<ZnAnswer>;

/**
 * The Zn client of either binding: answers cached per (B-TID, NAF_Id) until the key expires,
 * concurrent lookups of one pair sharing one question, a key expired on arrival refused.
 */
export function cachingZnClient(
  ask: ZnAsk,
  o: { maxEntries?: number; clock?: Clock },
  close: () => Promise<void>,
): ZnClientHandle {
  const maxEntries = o.maxEntries ?? 100_000;
  const clock = o.clock ?? systemDeps.clock;
  const cache = new Map<string, ZnAnswer>();
  const inFlight = new Map<string, Promise<ZnAnswer>>();

  function cached(btid: string, nafFqdn: string, uaId: Uint8Array): ZnAnswer | undefined {
    const key = cacheKey(btid, nafFqdn, bytesToHex(uaId));
    const hit = cache.get(key);
    if (hit === undefined) return undefined;
    if (hit.expiresAt > clock()) return hit;
    cache.delete(key);
    return undefined;
  }

  function store(key: string, answer: ZnAnswer): void {
    const now = clock();
    if (answer.expiresAt <= now) return;
    cache.delete(key);
    // oldest first: expired answers always go (a superseded B-TID is never asked for again),
    // live ones only to make room
    for (const [k, a] of cache) {
      if (a.expiresAt > now && cache.size < maxEntries) break;
      cache.delete(k);
    }
    cache.set(key, answer);
  }

  return {
    cached,
    lookup(btid, nafFqdn, uaId) {
      const uaHex = bytesToHex(uaId);
      const key = cacheKey(btid, nafFqdn, uaHex);
      const hit = cache.get(key);
      if (hit !== undefined) {
        if (hit.expiresAt > clock()) return Promise.resolve(hit);
        cache.delete(key);
      }
      const pending = inFlight.get(key);
      if (pending) return pending;
      const p = ask(btid, nafFqdn, uaId, uaHex).then(
        (answer) => {
          inFlight.delete(key);
          // a key already expired on arrival is as good as an unknown B-TID (TS 24.109 §5.2.5)
          if (answer.expiresAt <= clock()) throw new BtidUnknown("the BSF returned a key that has already expired");
          store(key, answer);
          return answer;
        },
        (err: unknown) => {
          inFlight.delete(key);
          throw err;
        },
      );
      inFlight.set(key, p);
      return p;
    },
    close,
  };
}

/** Creates a Zn client over an undici Pool to the BSF's Zn listener. */
export function createZnClient(opts: ZnClientOptions): ZnClientHandle {
  let base: URL;
  try {
    base = new URL(opts.bsfUrl);
  } catch {
    throw new RangeError(`BSF Zn URL "${opts.bsfUrl}" is not a URL`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:")
    throw new RangeError(`BSF Zn URL must be http(s), got ${base.protocol}`);
  const path = `${base.pathname.replace(/\/+$/, "")}${ZN_PATH}`;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const pool = new Pool(base.origin, {
    connections: opts.connections ?? 16,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    connect: opts.capture?.undiciConnector("NAF Zn client", timeoutMs),
  });
  const headers = {
    "content-type": "application/json",
    accept: "application/json, application/problem+json",
    authorization: `Bearer ${opts.token}`,
  };

  async function ask(btid: string, nafFqdn: string, uaId: Uint8Array, uaHex: string): Promise<ZnAnswer> {
    const request = bootstrappingInfoRequest(btid, nafFqdn, uaHex, opts);
    let res: Awaited<ReturnType<Pool["request"]>>;
    try {
      res = await pool.request({
        method: "POST",
        path,
        headers,
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string };
      const why =
        e.name === "TimeoutError" || e.code?.includes("TIMEOUT")
          ? `no answer within ${timeoutMs} ms`
          : (e.code ?? e.message ?? "request failed");
      throw new BsfUnavailable(`Zn request to ${base.origin} failed: ${why}`);
    }
    let body: unknown;
    try {
      const text = await res.body.text();
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    switch (res.statusCode) {
      case 200:
        return parseAnswer(body, btid, nafFqdn, uaId);
      case 404:
        throw new BtidUnknown();
      case 403:
        throw new NafNotAuthorized();
      case 401:
        throw new BsfUnavailable("the BSF refused this NAF's Zn token (401): check naf.znToken against bsf.nafs");
      default: {
        const detail = (body as { detail?: unknown } | undefined)?.detail;
        throw new BsfUnavailable(`the BSF answered ${res.statusCode}${typeof detail === "string" ? `: ${detail}` : ""}`);
      }
    }
  }

  return cachingZnClient(ask, opts, () => pool.close());
}
