// Zn HTTP binding shaped as TS 29.309 Nbsp_GBA: POST /nbsp-gba/v1/bootstrapping-info-retrieval.
import type { FastifyInstance } from "fastify";
import type { ZnClientConfig } from "../config.js";
import { ProblemError } from "../../common/problem.js";
import { BSF_CAUSE } from "../causes.js";
import type { NafRegistry } from "./naf-auth.js";
import type { ZnProcedures } from "./procedures.js";
import {
  BOOTSTRAPPING_INFO_REQUEST_SCHEMA,
  BOOTSTRAPPING_INFO_RESPONSE_SCHEMA,
  type BootstrappingInfoRequest,
  ZN_PATH,
} from "../../../wire/zn.js";
import { strictValidatorCompiler } from "./schema.js";
const JSON_UTF8 = "application/json; charset=utf-8";

declare module "fastify" {
  interface FastifyRequest {
    znNaf?: ZnClientConfig;
  }
}

export function registerZnRoutes(app: FastifyInstance, procedures: ZnProcedures, nafs: NafRegistry): void {
  app.decorateRequest("znNaf", undefined);

  app.route<{ Body: BootstrappingInfoRequest }>({
    method: "POST",
    url: ZN_PATH,
    schema: { body: BOOTSTRAPPING_INFO_REQUEST_SCHEMA, response: { 200: BOOTSTRAPPING_INFO_RESPONSE_SCHEMA } },
    validatorCompiler: strictValidatorCompiler,
    // authenticate before the body is read or validated
    onRequest: (req, _reply, done) => {
      const naf = nafs.authenticate(req.headers.authorization);
      if (naf === undefined) {
        req.log.info("Zn request without a known NAF token refused");
        done(
          new ProblemError(
            401,
            BSF_CAUSE.NAF_NOT_AUTHENTICATED,
            "a configured NAF bearer token is required (Authorization: Bearer <token>)",
            {},
            { "www-authenticate": 'Bearer realm="nbsp-gba"' },
          ),
        );
        return;
      }
      req.znNaf = naf;
      done();
    },
    handler: (req, reply) => {
      const naf = req.znNaf as ZnClientConfig;
      try {
        const serialize = reply.getSerializationFunction("200");
        if (serialize === undefined) throw new Error("the Zn route has no 200 response serializer");
        const body = procedures.retrieveBody(naf, req.body, serialize);
        req.log.debug({ naf: naf.id, btid: req.body.btId, nafFqdn: req.body.nafId.nafFqdn }, "Zn key material delivered");
        // serialised by the route's response schema already: sent as is
        reply.type(JSON_UTF8).send(body);
      } catch (err) {
        if (err instanceof ProblemError && err.status === 403) {
          req.log.warn({ naf: naf.id, nafFqdn: req.body.nafId.nafFqdn }, "NAF asked for another NAF's key");
        }
        throw err;
      }
    },
  });
}
