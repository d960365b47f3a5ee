// Zn over HTTP/JSON as TS 29.309 Nbsp_GBA shapes it: POST <apiRoot>/nbsp-gba/v1/bootstrapping-
// info-retrieval with a BootstrappingInfoRequest, answered by a BootstrappingInfoResponse. The BSF
// (producer) and the NAF's Zn client (consumer) both use these.
import { HexError, hexToBytes } from "./bytes.js";
import { DNS_NAME_MAX_LENGTH, DNS_NAME_PATTERN } from "./dns.js";
import { type Uss, USS_ITEM_SERIALIZER_SCHEMA } from "./zh.js";

/** TS 29.309 §6.1: the BootstrappingInfoRetrieval operation. */
export const ZN_PATH = "/nbsp-gba/v1/bootstrapping-info-retrieval";

/** TS 29.309 §6.1.6.2.2 BootstrappingInfoRequest. */
export interface BootstrappingInfoRequest {
  btId: string;
  nafId: { nafFqdn: string; uaSecProtId: string };
  gbaUAware?: boolean;
  gsIds?: number[];
}

export const BOOTSTRAPPING_INFO_REQUEST_SCHEMA = {
  type: "object",
  required: ["btId", "nafId"],
  properties: {
    // TS 31.102 §4.2.79: a B-TID fits a one-octet length
    btId: { type: "string", minLength: 1, maxLength: 255 },
    nafId: {
      type: "object",
      required: ["nafFqdn", "uaSecProtId"],
      properties: {
        nafFqdn: { type: "string", minLength: 1, maxLength: DNS_NAME_MAX_LENGTH, pattern: DNS_NAME_PATTERN },
        // TS 33.220 H.1: 5 octets, 10 hex digits
        uaSecProtId: { type: "string", pattern: "^[A-Fa-f0-9]{10}$" },
      },
    },
    gbaUAware: { type: "boolean" },
    // TS 29.309 GsId: Uint32
    gsIds: { type: "array", maxItems: 64, items: { type: "integer", minimum: 0, maximum: 4294967295 } },
  },
} as const;

/** A NAF's request for the key of `btid` (uaSecProtId: the Ua security protocol id, hex). */
export function bootstrappingInfoRequest(
  btid: string,
  nafFqdn: string,
  uaSecProtId: string,
  opts: { gbaUAware?: boolean; gsIds?: number[] } = {},
): BootstrappingInfoRequest {
  const request: BootstrappingInfoRequest = { btId: btid, nafId: { nafFqdn, uaSecProtId } };
  if (opts.gbaUAware !== undefined) request.gbaUAware = opts.gbaUAware;
  if (opts.gsIds?.length) request.gsIds = opts.gsIds;
  return request;
}

/** TS 29.309 §6.1.6.2.3 BootstrappingInfoResponse (a type, not an interface: serializers take it as a plain record). */
export type BootstrappingInfoResponse = {
  /** Ks_NAF (GBA_ME) or Ks_ext_NAF (GBA_U), 64 hex digits */
  meKeyMaterial: string;
  /** Ks_int_NAF, only for a GBA_U subscriber and a GBA_U-aware NAF */
  uiccKeyMaterial?: string;
  keyExpiryTime: string;
  bootstrappingInfoCreationTime: string;
  /** the USSs relevant to the NAF; absent when none is (TS 29.309: ussList has minItems 1) */
  ussList?: Array<{ uss: Uss }>;
  gbaType: "3G_GBA";
  impi: string;
};

/** BootstrappingInfoResponse, for the producer's serializer (fast-json-stringify). */
export const BOOTSTRAPPING_INFO_RESPONSE_SCHEMA = {
  type: "object",
  required: ["meKeyMaterial", "keyExpiryTime", "bootstrappingInfoCreationTime", "gbaType", "impi"],
  properties: {
    meKeyMaterial: { type: "string" },
    uiccKeyMaterial: { type: "string" },
    keyExpiryTime: { type: "string" },
    bootstrappingInfoCreationTime: { type: "string" },
    ussList: { type: "array", items: USS_ITEM_SERIALIZER_SCHEMA },
    gbaType: { type: "string" },
    impi: { type: "string" },
  },
} as const;

/** A BootstrappingInfoResponse as the consumer reads it: keys decoded, expiry parsed. */
export interface DecodedBootstrappingInfo {
  meKeyMaterial: Uint8Array;
  uiccKeyMaterial?: Uint8Array;
  impi: string;
  ussList: unknown[];
  gbaType: string;
  keyExpiryTime: string;
  /** keyExpiryTime in ms since the epoch */
  expiresAt: number;
  bootstrappingInfoCreationTime?: string;
}

/** A Zn answer that does not have the shape of TS 29.309; the message names the bad field. */
export class ZnAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ZnAnswerError";
  }
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** Validates and decodes a BootstrappingInfoResponse body; throws ZnAnswerError. */
export function decodeBootstrappingInfoResponse(body: unknown): DecodedBootstrappingInfo {
  const bad = (what: string) => new ZnAnswerError(what);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw bad("not a JSON object");
  const b = body as Record<string, unknown>;
  if (typeof b.meKeyMaterial !== "string" || !HEX64.test(b.meKeyMaterial)) throw bad("meKeyMaterial is not 64 hex digits");
  if (b.uiccKeyMaterial !== undefined && (typeof b.uiccKeyMaterial !== "string" || !HEX64.test(b.uiccKeyMaterial))) {
    throw bad("uiccKeyMaterial is not 64 hex digits");
  }
  if (typeof b.keyExpiryTime !== "string") throw bad("keyExpiryTime missing");
  const expiresAt = Date.parse(b.keyExpiryTime);
  if (Number.isNaN(expiresAt)) throw bad("keyExpiryTime is not an RFC 3339 date-time");
  if (typeof b.impi !== "string" || b.impi === "") throw bad("impi missing");
  if (b.ussList !== undefined && !Array.isArray(b.ussList)) throw bad("ussList is not a list");
  // TS 29.309 BootstrappingInfoResponse: ussList, when present, has minItems 1 (a BSF with no USS for
  // the NAF leaves it out); an empty one is read as none
  if (b.bootstrappingInfoCreationTime !== undefined && typeof b.bootstrappingInfoCreationTime !== "string") {
    throw bad("bootstrappingInfoCreationTime is not a string");
  }
  try {
    return {
      meKeyMaterial: hexToBytes(b.meKeyMaterial, "meKeyMaterial", 32),
      uiccKeyMaterial: typeof b.uiccKeyMaterial === "string" ? hexToBytes(b.uiccKeyMaterial, "uiccKeyMaterial", 32) : undefined,
      impi: b.impi,
      ussList: (b.ussList as unknown[] | undefined) ?? [],
      gbaType: typeof b.gbaType === "string" ? b.gbaType : "3G_GBA",
      keyExpiryTime: b.keyExpiryTime,
      expiresAt,
      bootstrappingInfoCreationTime: b.bootstrappingInfoCreationTime as string | undefined,
    };
  } catch (err) {
    if (err instanceof HexError) throw bad(err.message);
    throw err;
  }
}
