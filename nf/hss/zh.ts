// Zh over HTTP/JSON shaped as TS 29.562: Nhss_gbaUEAU generate-auth-data (one 3G AKA vector,
// with resynchronisation) and Nhss_gbaSDM subscriber-data (the GUSS). Shapes:
// shared/spec/sbi-shapes.md. AV and GUSS stay separate operations, as on the SBI.
import type { FastifyInstance } from "fastify";
import { bytesToHex, hexToBytes } from "../../milenage/bytes.js";
import type { Auc, AvOutcome } from "./auc.js";
import { hssProblem } from "./causes.js";
import { strictJsonSchemas } from "./schema.js";
import type { HssStore } from "./store.js";
import { effectiveGuss, type Guss } from "./subscriber.js";

const UE_ID_PARAMS = {
  type: "object",
  required: ["ueId"],
  properties: { ueId: { type: "string", minLength: 1, maxLength: 256 } },
} as const;

/** TS 29.562 AuthenticationInfoRequest; every field optional, `{}` is a valid request. */
const AUTH_INFO_REQUEST = {
  type: "object",
  properties: {
    authenticationScheme: { type: "string", enum: ["DIGEST_AKAV1_MD5", "DIGEST_HTTP"] },
    resynchronizationInfo: {
      type: "object",
      required: ["rand", "auts"],
      properties: {
        rand: { type: "string", pattern: "^[A-Fa-f0-9]{32}$" },
        auts: { type: "string", pattern: "^[A-Fa-f0-9]{28}$" },
      },
    },
    supportedFeatures: { type: "string", pattern: "^[A-Fa-f0-9]*$" },
  },
} as const;

const HEX32 = { type: "string" } as const;
/** TS 29.562 AuthenticationInfoResult with a 3gAkaAv (TS 29.503 3GAkaAv field names) */
const AUTH_INFO_RESULT = {
  type: "object",
  properties: {
    impi: { type: "string" },
    "3gAkaAv": {
      type: "object",
      properties: { rand: HEX32, xres: HEX32, autn: HEX32, ck: HEX32, ik: HEX32 },
    },
  },
} as const;

interface AuthInfoRequest {
  authenticationScheme?: "DIGEST_AKAV1_MD5" | "DIGEST_HTTP";
  resynchronizationInfo?: { rand: string; auts: string };
  supportedFeatures?: string;
}

/** The SBI rendering of a GUSS: no empty lists (TS 29.309 Uss flags and ueIds have minItems 1). */
export function sbiGuss(g: Guss): Guss {
  return {
    bsfInfo: g.bsfInfo,
    ussList: g.ussList.map(({ uss }) => {
      const { flags, ...rest } = uss;
      return { uss: flags && flags.length > 0 ? { ...rest, flags } : rest };
    }),
  };
}

export function registerZhRoutes(app: FastifyInstance, store: HssStore, auc: Auc): void {
  strictJsonSchemas(app);

  app.post<{ Params: { ueId: string }; Body: AuthInfoRequest }>(
    "/nhss-gba-ueau/v1/:ueId/security-information/generate-auth-data",
    { schema: { params: UE_ID_PARAMS, body: AUTH_INFO_REQUEST, response: { 200: AUTH_INFO_RESULT } } },
    async (req) => {
      const { ueId } = req.params;
      const body = req.body;
      if (body.authenticationScheme === "DIGEST_HTTP") {
        throw hssProblem("UNSUPPORTED_AUTHENTICATION_SCHEME", "authenticationScheme DIGEST_HTTP (GBA_Digest) is not supported");
      }
      const rs = body.resynchronizationInfo;
      const resync = rs ? { rand: hexToBytes(rs.rand, "rand", 16), auts: hexToBytes(rs.auts, "auts", 14) } : undefined;
      const out: AvOutcome = await auc.generate(ueId, resync);
      switch (out.kind) {
        case "not-found":
          throw hssProblem("USER_NOT_FOUND", `no subscriber for ueId ${ueId}`);
        case "mac-s-failure":
          req.log.warn(
            { impi: out.impi, check: "MAC-S", outcome: "rejected", sqnMs: out.failure.sqnMs, sqnHe: out.failure.sqnHe },
            "resynchronisation refused: MAC-S of the AUTS does not verify (TS 33.102 §6.3.5); SQN_MS unverified",
          );
          throw hssProblem("AUTHENTICATION_REJECTED", "AUTS rejected: MAC-S verification failed (TS 33.102 §6.3.5)");
        case "sqn-exhausted":
          req.log.warn({ impi: out.impi }, "SQN space of this subscriber is used up (TS 33.102 Annex C)");
          throw hssProblem("AUTHENTICATION_REJECTED", "no fresh SQN left for this subscriber");
      }
      if (out.resync) {
        const r = out.resync;
        req.log.warn(
          { impi: out.impi, check: "MAC-S", outcome: r.outcome, sqnMs: r.sqnMs, sqnHe: r.sqnHe, nextSqn: r.nextSqn },
          r.outcome === "sqn-ms-adopted"
            ? "resynchronisation: MAC-S verified, SQN_HE := SQN_MS (TS 33.102 §6.3.5)"
            : "resynchronisation: MAC-S verified, SQN_HE already above SQN_MS, kept",
        );
      }
      const av = out.av;
      return {
        impi: out.impi,
        "3gAkaAv": {
          rand: bytesToHex(av.rand),
          xres: bytesToHex(av.xres),
          autn: bytesToHex(av.autn),
          ck: bytesToHex(av.ck),
          ik: bytesToHex(av.ik),
        },
      };
    },
  );

  app.get<{ Params: { ueId: string } }>(
    "/nhss-gba-sdm/v1/:ueId/subscriber-data",
    { schema: { params: UE_ID_PARAMS } },
    async (req) => {
      const { ueId } = req.params;
      let impi = store.resolveUeId(ueId);
      if (impi === undefined) {
        store.refreshReads();
        impi = store.resolveUeId(ueId);
      }
      const record = impi === undefined ? undefined : store.get(impi);
      if (!record) throw hssProblem("USER_NOT_FOUND", `no subscriber for ueId ${ueId}`);
      return { guss: sbiGuss(effectiveGuss(record)) };
    },
  );
}
