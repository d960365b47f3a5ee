// Zh over HTTP/JSON as the SBI shapes it (TS 29.562 Nhss_gbaUEAU and Nhss_gbaSDM): the paths,
// the AuthenticationInfoRequest / AuthenticationInfoResult with one 3G AKA vector, the
// resynchronisation info and the GUSS (TS 29.109 Annex A; TS 29.309 Uss). Both the HSS (producer)
// and the BSF (consumer) use these; AV and GUSS stay separate operations, as on the SBI, but for
// the GUSS timestamp option (GussCheckRequest, a project extension of the vector request).
import { bytesToHex, HexError, hexToBytes } from "./bytes.js";

// ------------------------------------------------------------------ paths

/** TS 29.562 Nhss_gbaUEAU GenerateAuthData, as a route pattern. */
export const ZH_GENERATE_AUTH_DATA_ROUTE = "/nhss-gba-ueau/v1/:ueId/security-information/generate-auth-data";
/** TS 29.562 Nhss_gbaSDM subscriber data (the GUSS), as a route pattern. */
export const ZH_SUBSCRIBER_DATA_ROUTE = "/nhss-gba-sdm/v1/:ueId/subscriber-data";

export function generateAuthDataPath(ueId: string): string {
  return `/nhss-gba-ueau/v1/${encodeURIComponent(ueId)}/security-information/generate-auth-data`;
}

export function subscriberDataPath(ueId: string): string {
  return `/nhss-gba-sdm/v1/${encodeURIComponent(ueId)}/subscriber-data`;
}

/** TS 29.562 UeId path parameter: an IMPI, an IMPU, `imsi-<digits>` or `msisdn-<digits>`. */
export const UE_ID_PARAMS_SCHEMA = {
  type: "object",
  required: ["ueId"],
  properties: { ueId: { type: "string", minLength: 1, maxLength: 256 } },
} as const;

// ------------------------------------------------------------------ authentication vector

/** One 3G AKA vector (TS 33.102 §6.3.2), decoded. */
export interface AuthVector {
  rand: Uint8Array;
  xres: Uint8Array;
  autn: Uint8Array;
  ck: Uint8Array;
  ik: Uint8Array;
}

/** TS 33.102 §6.3.3: AUTS in a resynchronisation, with the RAND it answers. */
export interface ResyncInfo {
  rand: Uint8Array;
  auts: Uint8Array;
}

/** TS 29.562 ResynchronizationInfo: RAND 32 hex digits, AUTS 28. */
export interface ResynchronizationInfo {
  rand: string;
  auts: string;
}

/** TS 29.562 AuthenticationScheme: an extensible enumeration (anyOf the known values or any string). */
export type AuthenticationScheme = "DIGEST_AKAV1_MD5" | "DIGEST_HTTP" | (string & {});

/** TS 29.562 AuthenticationInfoRequest; every field optional, `{}` is a valid request. */
export interface AuthenticationInfoRequest {
  authenticationScheme?: AuthenticationScheme;
  resynchronizationInfo?: ResynchronizationInfo;
  supportedFeatures?: string;
  /** the GUSS timestamp option (project extension, below) */
  gussCheck?: GussCheckRequest;
}

/**
 * The GUSS timestamp option of TS 33.220 §4.5.2 step 2 on the SBI shapes (a project extension:
 * TS 29.562 keeps the vector and the GUSS in two operations; Diameter Zh carries both in one
 * MAR/MAA, with GUSS-Timestamp in the MAR, TS 29.109 §6.1.1-6.1.2). The BSF asks for the
 * GUSS in the vector's answer and names the version of the GUSS it holds; the HSS answers the
 * current version and includes the GUSS unless the versions are equal (33.220: "GUSS TIMESTAMP
 * EQUAL"). A version is opaque and only compared for equality; every change of the subscriber
 * gives a new one. One Zh exchange per bootstrap, and a change reaches the BSF at the next one.
 */
export interface GussCheckRequest {
  /** version of the GUSS the BSF holds for this subscriber; absent: it holds none */
  version?: string;
}

/** The HSS's side of the GUSS timestamp option: the current version, and the GUSS unless the BSF's is current. */
export interface GussCheckResult {
  version: string;
  guss?: Guss;
}

export const AUTH_INFO_REQUEST_SCHEMA = {
  type: "object",
  properties: {
    // extensible enumeration (TS 29.562 anyOf enum / string): a value we do not know is valid input
    authenticationScheme: { type: "string", minLength: 1, maxLength: 64 },
    resynchronizationInfo: {
      type: "object",
      required: ["rand", "auts"],
      properties: {
        rand: { type: "string", pattern: "^[A-Fa-f0-9]{32}$" },
        auts: { type: "string", pattern: "^[A-Fa-f0-9]{28}$" },
      },
    },
    supportedFeatures: { type: "string", pattern: "^[A-Fa-f0-9]*$" },
    gussCheck: {
      type: "object",
      additionalProperties: false,
      properties: { version: { type: "string", minLength: 1, maxLength: 64 } },
    },
  },
} as const;

/**
 * The request the BSF sends for a Digest AKA challenge (TS 33.220 §4.5.2 step 2), with the GUSS
 * timestamp option when `gussCheck` is given.
 */
export function authInfoRequest(resync?: ResyncInfo, gussCheck?: GussCheckRequest): AuthenticationInfoRequest {
  const req: AuthenticationInfoRequest = { authenticationScheme: "DIGEST_AKAV1_MD5" };
  if (resync) req.resynchronizationInfo = { rand: bytesToHex(resync.rand), auts: bytesToHex(resync.auts) };
  if (gussCheck) req.gussCheck = gussCheck.version === undefined ? {} : { version: gussCheck.version };
  return req;
}

/** The resynchronisation info of a request that passed AUTH_INFO_REQUEST_SCHEMA. */
export function decodeResyncInfo(r: ResynchronizationInfo): ResyncInfo {
  return { rand: hexToBytes(r.rand, "rand", 16), auts: hexToBytes(r.auts, "auts", 14) };
}

/** TS 29.503 3GAkaAv field names, hex. */
export interface ThreeGAkaAv {
  rand: string;
  xres: string;
  autn: string;
  ck: string;
  ik: string;
}

/** TS 29.562 AuthenticationInfoResult with a 3gAkaAv (and the GUSS timestamp option's answer). */
export interface AuthenticationInfoResult {
  impi: string;
  "3gAkaAv": ThreeGAkaAv;
  gussCheck?: GussCheckResult;
}

const HEX_STRING = { type: "string" } as const;

export function encodeAuthInfoResult(impi: string, av: AuthVector, gussCheck?: GussCheckResult): AuthenticationInfoResult {
  const result: AuthenticationInfoResult = {
    impi,
    "3gAkaAv": {
      rand: bytesToHex(av.rand),
      xres: bytesToHex(av.xres),
      autn: bytesToHex(av.autn),
      ck: bytesToHex(av.ck),
      ik: bytesToHex(av.ik),
    },
  };
  if (gussCheck) result.gussCheck = gussCheck.guss ? { version: gussCheck.version, guss: encodeGuss(gussCheck.guss) } : gussCheck;
  return result;
}

/** The HSS's answer to a GUSS check: the current version, the GUSS (built only then) unless the BSF named that version. */
export function gussCheckResult(asked: GussCheckRequest, version: string, guss: () => Guss): GussCheckResult {
  return asked.version === version ? { version } : { version, guss: guss() };
}

/** A Zh answer that does not have the shape of TS 29.562; the message names what is wrong. */
export class ZhAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ZhAnswerError";
  }
}

function hexField(o: Record<string, unknown>, name: string, min: number, max = min): Uint8Array {
  let b: Uint8Array;
  try {
    b = hexToBytes(o[name] as string, `3gAkaAv.${name}`);
  } catch (err) {
    if (err instanceof HexError) throw new ZhAnswerError(err.message);
    throw err;
  }
  if (b.length < min || b.length > max) throw new ZhAnswerError(`3gAkaAv.${name} has ${b.length} bytes`);
  return b;
}

/** A vector answer: the vector and, from an HSS with the GUSS timestamp option, its GUSS check. */
export interface AuthInfoAnswer {
  av: AuthVector;
  gussCheck?: GussCheckResult;
}

/** The vector and the GUSS check of an AuthenticationInfoResult; throws ZhAnswerError. */
export function decodeAuthInfoAnswer(body: unknown): AuthInfoAnswer {
  const av = decodeAuthInfoResult(body);
  const check = (body as { gussCheck?: unknown }).gussCheck as Record<string, unknown> | undefined;
  if (check === undefined) return { av };
  if (typeof check !== "object" || check === null || typeof check.version !== "string" || check.version === "")
    throw new ZhAnswerError("gussCheck without a version");
  if (check.guss === undefined) return { av, gussCheck: { version: check.version } };
  return { av, gussCheck: { version: check.version, guss: decodeSubscriberData({ guss: check.guss }) } };
}

/** The vector of an AuthenticationInfoResult; throws ZhAnswerError. */
export function decodeAuthInfoResult(body: unknown): AuthVector {
  const av = (body as Record<string, unknown> | undefined)?.["3gAkaAv"];
  if (typeof av !== "object" || av === null) throw new ZhAnswerError("no 3gAkaAv");
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

// ------------------------------------------------------------------ GUSS

export type UiccType = "GBA" | "GBA_U";

/** TS 29.309 Uss keyChoice: where the NAF keys of this service live (TS 33.220 §4.4.6). */
export const KEY_CHOICES = ["ME_BASED_KEY", "UICC_BASED_KEY", "ME_UICC_BASED_KEYS"] as const;
export type KeyChoice = (typeof KEY_CHOICES)[number];

/** TS 29.309 Uss (TS 29.109 Annex A "uss"): one GAA service's settings. */
export interface Uss {
  gsId: number;
  gsType: number;
  ueIds: Array<{ ueId: string }>;
  nafGroup?: string;
  flags?: Array<{ flag: number }>;
  keyChoice?: KeyChoice;
}

/** TS 29.562 Guss (TS 29.109 Annex A "guss"). */
export interface Guss {
  bsfInfo: { uiccType: UiccType; lifeTime?: number; securityFeatures?: string[] };
  ussList: Array<{ uss: Uss }>;
}

/** TS 29.562 subscriber-data answer. */
export interface SubscriberDataResult {
  guss: Guss;
}

const UINT32 = { type: "integer", minimum: 0, maximum: 4294967295 } as const;

/** A non-empty list (TS 29.309 minItems 1) of at most 64 objects holding exactly `field`. */
function listOf<F extends string, S extends object>(field: F, schema: S) {
  return {
    type: "array",
    minItems: 1,
    maxItems: 64,
    items: { type: "object", additionalProperties: false, required: [field], properties: { [field]: schema } },
  } as const;
}

/** A Uss as it may be provisioned: gsType and ueIds required, lists non-empty (TS 29.309 minItems 1). */
export const USS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["gsId", "gsType", "ueIds"],
  properties: {
    gsId: UINT32,
    gsType: UINT32,
    ueIds: listOf("ueId", { type: "string", minLength: 1, maxLength: 256 }),
    nafGroup: { type: "string", minLength: 1, maxLength: 256 },
    flags: listOf("flag", UINT32),
    keyChoice: { enum: KEY_CHOICES },
  },
} as const;

/** A Guss as it may be provisioned. */
export const GUSS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["bsfInfo", "ussList"],
  properties: {
    bsfInfo: {
      type: "object",
      additionalProperties: false,
      required: ["uiccType"],
      properties: {
        uiccType: { enum: ["GBA", "GBA_U"] },
        lifeTime: { type: "integer", minimum: 1, maximum: 2147483647 },
        securityFeatures: { type: "array", minItems: 1, maxItems: 16, items: { type: "string", minLength: 1, maxLength: 64 } },
      },
    },
    ussList: {
      type: "array",
      minItems: 1,
      maxItems: 64,
      items: { type: "object", additionalProperties: false, required: ["uss"], properties: { uss: USS_SCHEMA } },
    },
  },
} as const;

/** A Uss for the serializer of an answer (fast-json-stringify): every field, no constraints. */
export const USS_ITEM_SERIALIZER_SCHEMA = {
  type: "object",
  properties: {
    uss: {
      type: "object",
      properties: {
        gsId: { type: "integer" },
        gsType: { type: "integer" },
        ueIds: { type: "array", items: { type: "object", properties: { ueId: { type: "string" } } } },
        nafGroup: { type: "string" },
        flags: { type: "array", items: { type: "object", properties: { flag: { type: "integer" } } } },
        keyChoice: { type: "string" },
      },
    },
  },
} as const;

/** A Guss for the serializer of an answer. */
const GUSS_SERIALIZER_SCHEMA = {
  type: "object",
  properties: {
    bsfInfo: {
      type: "object",
      properties: {
        uiccType: { type: "string" },
        lifeTime: { type: "integer" },
        securityFeatures: { type: "array", items: { type: "string" } },
      },
    },
    ussList: { type: "array", items: USS_ITEM_SERIALIZER_SCHEMA },
  },
} as const;

/** AuthenticationInfoResult, for the producer's serializer. */
export const AUTH_INFO_RESULT_SCHEMA = {
  type: "object",
  properties: {
    impi: { type: "string" },
    "3gAkaAv": {
      type: "object",
      properties: { rand: HEX_STRING, xres: HEX_STRING, autn: HEX_STRING, ck: HEX_STRING, ik: HEX_STRING },
    },
    gussCheck: { type: "object", properties: { version: { type: "string" }, guss: GUSS_SERIALIZER_SCHEMA } },
  },
} as const;

/** The SBI rendering of a GUSS: no empty lists (TS 29.309 Uss flags and ueIds have minItems 1). */
export function encodeGuss(g: Guss): Guss {
  return {
    bsfInfo: g.bsfInfo,
    ussList: g.ussList.map(({ uss }) => {
      const { flags, ...rest } = uss;
      return { uss: flags && flags.length > 0 ? { ...rest, flags } : rest };
    }),
  };
}

const KEY_CHOICE_SET = new Set<string>(KEY_CHOICES);

function decodeUss(raw: unknown, at: string): Uss {
  const u = (raw as { uss?: unknown } | undefined)?.uss as Record<string, unknown> | undefined;
  if (typeof u !== "object" || u === null) throw new ZhAnswerError(`${at} has no uss`);
  // TS 29.309 Uss: gsId, gsType and ueIds (minItems 1, each with a ueId) are required
  if (!Number.isInteger(u.gsId)) throw new ZhAnswerError(`${at}.uss.gsId is not an integer`);
  if (!Number.isInteger(u.gsType))
    throw new ZhAnswerError(`${at}.uss.gsType is missing or not an integer (required, TS 29.309 Uss)`);
  if (!Array.isArray(u.ueIds) || u.ueIds.length === 0)
    throw new ZhAnswerError(`${at}.uss.ueIds is missing or empty (required, minItems 1, TS 29.309 Uss)`);
  const ueIds = u.ueIds.map((x, i) => {
    const ueId = (x as { ueId?: unknown } | null)?.ueId;
    if (typeof ueId !== "string" || ueId === "") throw new ZhAnswerError(`${at}.uss.ueIds[${i}] has no ueId`);
    return { ueId };
  });
  const out: Uss = { gsId: u.gsId as number, gsType: u.gsType as number, ueIds };
  if (typeof u.nafGroup === "string") out.nafGroup = u.nafGroup;
  if (Array.isArray(u.flags)) {
    const flags = u.flags
      .filter((x): x is { flag: number } => Number.isInteger((x as { flag?: unknown })?.flag))
      .map((x) => ({ flag: x.flag }));
    if (flags.length > 0) out.flags = flags;
  }
  if (typeof u.keyChoice === "string" && KEY_CHOICE_SET.has(u.keyChoice)) out.keyChoice = u.keyChoice as KeyChoice;
  return out;
}

/**
 * The GUSS of a subscriber-data answer, as far as the BSF reads it (uiccType, lifeTime, the USSs;
 * unknown USS fields dropped); throws ZhAnswerError, also for a USS without the fields TS 29.309
 * requires (gsType, ueIds), which would otherwise pass from Zh to Zn.
 */
export function decodeSubscriberData(body: unknown): Guss {
  const g = (body as { guss?: unknown } | undefined)?.guss as Record<string, unknown> | undefined;
  if (typeof g !== "object" || g === null) throw new ZhAnswerError("no guss");
  const info = (g.bsfInfo ?? {}) as Record<string, unknown>;
  const uiccType = info.uiccType ?? "GBA";
  if (uiccType !== "GBA" && uiccType !== "GBA_U") throw new ZhAnswerError(`bsfInfo.uiccType ${JSON.stringify(uiccType)}`);
  const bsfInfo: Guss["bsfInfo"] = { uiccType };
  if (info.lifeTime !== undefined) {
    if (!Number.isInteger(info.lifeTime) || (info.lifeTime as number) <= 0)
      throw new ZhAnswerError("bsfInfo.lifeTime is not a positive integer");
    bsfInfo.lifeTime = info.lifeTime as number;
  }
  const list = g.ussList ?? [];
  if (!Array.isArray(list)) throw new ZhAnswerError("ussList is not a list");
  return { bsfInfo, ussList: list.map((x, i) => ({ uss: decodeUss(x, `ussList[${i}]`) })) };
}
