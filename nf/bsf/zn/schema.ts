// TS 29.309 Nbsp_GBA BootstrappingInfoRequest (shared/spec/sbi-shapes.md), validated strictly:
// no type coercion, the first failing field is named in the 400 ProblemDetails.
import { Ajv } from "ajv";
import type { FastifySchemaCompiler } from "fastify";

export interface BootstrappingInfoRequest {
  btId: string;
  nafId: { nafFqdn: string; uaSecProtId: string };
  gbaUAware?: boolean;
  gsIds?: number[];
}

export const bootstrappingInfoRequestSchema = {
  type: "object",
  required: ["btId", "nafId"],
  properties: {
    // TS 31.102 §4.2.79: a B-TID fits a one-octet length
    btId: { type: "string", minLength: 1, maxLength: 255 },
    nafId: {
      type: "object",
      required: ["nafFqdn", "uaSecProtId"],
      properties: {
        nafFqdn: { type: "string", minLength: 1, maxLength: 253, pattern: "^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$" },
        // TS 33.220 H.1: 5 octets, 10 hex digits
        uaSecProtId: { type: "string", pattern: "^[A-Fa-f0-9]{10}$" },
      },
    },
    gbaUAware: { type: "boolean" },
    // TS 29.309 GsId: Uint32
    gsIds: { type: "array", maxItems: 64, items: { type: "integer", minimum: 0, maximum: 4294967295 } },
  },
} as const;

const ajv = new Ajv({ coerceTypes: false, allErrors: false, strict: true });

export const strictValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema }) => ajv.compile(schema as object);

const USS = {
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

/** TS 29.309 BootstrappingInfoResponse, for the serializer (fast-json-stringify) */
export const bootstrappingInfoResponseSchema = {
  type: "object",
  required: ["meKeyMaterial", "keyExpiryTime", "bootstrappingInfoCreationTime", "ussList", "gbaType", "impi"],
  properties: {
    meKeyMaterial: { type: "string" },
    uiccKeyMaterial: { type: "string" },
    keyExpiryTime: { type: "string" },
    bootstrappingInfoCreationTime: { type: "string" },
    ussList: { type: "array", items: USS },
    gbaType: { type: "string" },
    impi: { type: "string" },
  },
} as const;
