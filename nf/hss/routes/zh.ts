// Zh HTTP binding of the HSS, shaped as TS 29.562 (wire/zh.ts): Nhss_gbaUEAU generate-auth-data
// and Nhss_gbaSDM subscriber-data. Maps the Zh procedures' outcomes to HTTP; what an outcome
// means for the log and the dashboard is outcomes.ts.
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
import type { EventBus } from "../../common/events.js";
import { strictJsonSchemas } from "../../common/schema.js";
import { defineRoutes } from "../../common/server.js";
import { hssProblem } from "../causes.js";
import type { ZhProcedures } from "../procedures/zh.js";
import { onAvDelivered, onAvRefused, onGussDelivered, onGussRefused, type ZhRefusal, zhRefused } from "./outcomes.js";

export interface ZhRoutesOptions {
  procedures: ZhProcedures;
  /** the dashboard's event bus, when one listens */
  events?: EventBus;
}

const refusal = (r: ZhRefusal) => hssProblem(r.cause, r.detail);

export const zhRoutes = defineRoutes<ZhRoutesOptions>("hss-zh", async (app, { procedures, events }) => {
  strictJsonSchemas(app);

  app.post<{ Params: { ueId: string }; Body: AuthenticationInfoRequest }>(
    ZH_GENERATE_AUTH_DATA_ROUTE,
    { schema: { params: UE_ID_PARAMS_SCHEMA, body: AUTH_INFO_REQUEST_SCHEMA, response: { 200: AUTH_INFO_RESULT_SCHEMA } } },
    async (req) => {
      const report = { log: req.log, events, startedAt: events && performance.now() };
      const { ueId } = req.params;
      const body = req.body;
      // only Digest AKA (GBA, TS 33.220 §4.5.2) is served: GBA_Digest (DIGEST_HTTP, Annex M) and any
      // value of the extensible enumeration we do not know are valid requests we cannot honour
      const scheme = body.authenticationScheme;
      if (scheme !== undefined && scheme !== "DIGEST_AKAV1_MD5") {
        const detail =
          scheme === "DIGEST_HTTP"
            ? "authenticationScheme DIGEST_HTTP (GBA_Digest) is not supported"
            : `authenticationScheme ${JSON.stringify(scheme)} is not supported; DIGEST_AKAV1_MD5 is`;
        throw refusal(zhRefused("zh-av", { cause: "UNSUPPORTED_AUTHENTICATION_SCHEME", detail }, report));
      }
      const rs = body.resynchronizationInfo;
      // body.gussCheck: the GUSS timestamp option (wire/zh.ts GussCheckRequest)
      const out = await procedures.generateAuthData(ueId, rs ? decodeResyncInfo(rs) : undefined, body.gussCheck);
      if (out.kind !== "ok") throw refusal(onAvRefused(out, ueId, report));
      onAvDelivered(out, report);
      return encodeAuthInfoResult(out.impi, out.av, out.gussCheck);
    },
  );

  app.get<{ Params: { ueId: string } }>(ZH_SUBSCRIBER_DATA_ROUTE, { schema: { params: UE_ID_PARAMS_SCHEMA } }, async (req) => {
    const report = { log: req.log, events, startedAt: events && performance.now() };
    const out = await procedures.subscriberData(req.params.ueId);
    if (out.kind !== "ok") throw refusal(onGussRefused(req.params.ueId, report));
    onGussDelivered(out, report);
    return { guss: encodeGuss(out.guss) };
  });
});
