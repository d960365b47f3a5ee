// Zn HTTP binding shaped as TS 29.309 Nbsp_GBA: POST /nbsp-gba/v1/bootstrapping-info-retrieval
// (wire/zn.ts). HTTP only: the NAF's bearer token checked before the body is read, the body
// validated strictly, the procedure's outcome turned into 200 / ProblemDetails.
import {
  BOOTSTRAPPING_INFO_REQUEST_SCHEMA,
  BOOTSTRAPPING_INFO_RESPONSE_SCHEMA,
  type BootstrappingInfoRequest,
  ZN_PATH,
} from "../../../wire/zn.js";
import type { EventBus } from "../../common/events.js";
import { strictJsonSchemas } from "../../common/schema.js";
import { defineRoutes } from "../../common/server.js";
import type { ZnClientConfig } from "../config.js";
import type { ZnProcedures } from "../procedures/zn.js";
import { isRefusal, onOutcome, problemOf } from "./outcomes.js";

const JSON_UTF8 = "application/json; charset=utf-8";

export interface ZnRoutesOptions {
  procedures: ZnProcedures;
  /** the dashboard's event bus, when one listens */
  events?: EventBus;
}

declare module "fastify" {
  interface FastifyRequest {
    znNaf?: ZnClientConfig;
  }
}

export const znRoutes = defineRoutes<ZnRoutesOptions>("bsf-zn", async (app, { procedures, events }) => {
  strictJsonSchemas(app);
  app.decorateRequest("znNaf", undefined);

  app.route<{ Body: BootstrappingInfoRequest }>({
    method: "POST",
    url: ZN_PATH,
    schema: { body: BOOTSTRAPPING_INFO_REQUEST_SCHEMA, response: { 200: BOOTSTRAPPING_INFO_RESPONSE_SCHEMA } },
    // authenticate before the body is read or validated
    onRequest: (req, _reply, done) => {
      const naf = procedures.authenticate(req.headers.authorization);
      if (isRefusal(naf)) {
        onOutcome(naf, { iface: "Zn", log: req.log, events, startedAt: events && performance.now() });
        done(problemOf(naf));
        return;
      }
      req.znNaf = naf;
      done();
    },
    handler: async (req, reply) => {
      const startedAt = events && performance.now();
      const naf = req.znNaf as ZnClientConfig;
      const serialize = reply.getSerializationFunction("200");
      if (serialize === undefined) throw new Error("the Zn route has no 200 response serializer");
      const outcome = await procedures.retrieve(naf, req.body, serialize);
      onOutcome(outcome, {
        iface: "Zn",
        log: req.log,
        events,
        startedAt,
        naf: naf.id,
        btid: req.body.btId,
        nafFqdn: req.body.nafId.nafFqdn,
      });
      if (outcome.kind === "refused") throw problemOf(outcome);
      // serialised by the route's response schema already: sent as is
      return reply.type(JSON_UTF8).send(outcome.body);
    },
  });
});
