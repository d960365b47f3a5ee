// Zh HTTP binding of the HSS, shaped as TS 29.562 (wire/zh.ts): Nhss_gbaUEAU generate-auth-data
// and Nhss_gbaSDM subscriber-data. Maps the Zh procedures' outcomes to HTTP and logs the
// resynchronisation verdicts an operator acts on.
import {
  AUTH_INFO_REQUEST_SCHEMA,
  AUTH_INFO_RESULT_SCHEMA,
  type AuthenticationInfoRequest,
  decodeResyncInfo,
  encodeAuthInfoResult,
  encodeGuss,
  UE_ID_PARAMS_SCHEMA,
  ZH_GENERATE_AUTH_DATA_ROUTE,
  ZH_SUBSCRIBER_DATA_ROUTE,
} from "../../../wire/zh.js";
import { strictJsonSchemas } from "../../common/schema.js";
import { defineRoutes } from "../../common/server.js";
import { hssProblem } from "../causes.js";
import type { ZhProcedures } from "../procedures/zh.js";

export interface ZhRoutesOptions {
  procedures: ZhProcedures;
}

export const zhRoutes = defineRoutes<ZhRoutesOptions>("hss-zh", async (app, { procedures }) => {
  strictJsonSchemas(app);

  app.post<{ Params: { ueId: string }; Body: AuthenticationInfoRequest }>(
    ZH_GENERATE_AUTH_DATA_ROUTE,
    { schema: { params: UE_ID_PARAMS_SCHEMA, body: AUTH_INFO_REQUEST_SCHEMA, response: { 200: AUTH_INFO_RESULT_SCHEMA } } },
    async (req) => {
      const { ueId } = req.params;
      const body = req.body;
      if (body.authenticationScheme === "DIGEST_HTTP") {
        throw hssProblem("UNSUPPORTED_AUTHENTICATION_SCHEME", "authenticationScheme DIGEST_HTTP (GBA_Digest) is not supported");
      }
      const rs = body.resynchronizationInfo;
      const out = await procedures.generateAuthData(ueId, rs ? decodeResyncInfo(rs) : undefined);
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
      return encodeAuthInfoResult(out.impi, out.av);
    },
  );

  app.get<{ Params: { ueId: string } }>(ZH_SUBSCRIBER_DATA_ROUTE, { schema: { params: UE_ID_PARAMS_SCHEMA } }, async (req) => {
    const out = await procedures.subscriberData(req.params.ueId);
    if (out.kind === "not-found") throw hssProblem("USER_NOT_FOUND", `no subscriber for ueId ${req.params.ueId}`);
    return { guss: encodeGuss(out.guss) };
  });
});
