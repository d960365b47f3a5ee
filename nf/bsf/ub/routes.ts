// Ub HTTP binding: `GET /` with Digest AKA (TS 24.109 §4, Annex A; RFC 3310).
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BOOTSTRAPPING_INFO_CONTENT_TYPE } from "../../../gba/bootstrapping-info.js";
import { DigestParseError, type DigestCredentials, parseDigestCredentials } from "../../../gba/digest/index.js";
import { PRODUCT_TOKEN, productTokens } from "../../../wire/ub.js";
import { ProblemError } from "../../common/problem.js";
import { BSF_CAUSE } from "../causes.js";
import type { UbProcedures } from "./procedures.js";

/** TS 24.109 A.3 example "Bootstrapping Server; Release-6"; TMPI (B.4) is not offered, so no 3gpp-gba-tmpi token. */
export const UB_SERVER_HEADER = "gba-emu BSF; Release-6";

/** TS 24.109 A.3 / TS 33.220 B.4: UE capabilities announced as User-Agent product tokens on Ub. */
const UB_TOKENS = [PRODUCT_TOKEN.GBA_TMPI, PRODUCT_TOKEN.GBA_UICC] as const;

function credentials(req: FastifyRequest): DigestCredentials {
  const header = req.headers.authorization;
  if (header === undefined) {
    throw new ProblemError(
      400,
      BSF_CAUSE.MALFORMED_AUTHORIZATION,
      'an Authorization header is required: Digest username="<IMPI>", realm, nonce="", uri="/", response="" (TS 24.109 A.3)',
      { invalidParams: [{ param: "Authorization", reason: "missing" }] },
    );
  }
  try {
    return parseDigestCredentials(header);
  } catch (err) {
    if (err instanceof DigestParseError) {
      throw new ProblemError(400, BSF_CAUSE.MALFORMED_AUTHORIZATION, `Authorization: ${err.message}`, {
        invalidParams: [{ param: err.param ? `Authorization.${err.param}` : "Authorization", reason: err.code }],
      });
    }
    throw err;
  }
}

function hasBody(req: FastifyRequest): boolean {
  const len = req.headers["content-length"];
  return (len !== undefined && len !== "0") || req.headers["transfer-encoding"] !== undefined;
}

export function registerUbRoutes(app: FastifyInstance, procedures: UbProcedures): void {
  app.addHook("onRequest", async (_req, reply) => {
    reply.header("server", UB_SERVER_HEADER);
  });

  app.route({
    method: "GET",
    url: "/",
    exposeHeadRoute: false,
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      if (hasBody(req)) {
        throw new ProblemError(400, BSF_CAUSE.UNEXPECTED_BODY, "a Ub request carries no body (TS 24.109 A.3: GET /)");
      }
      const creds = credentials(req);
      const tokens = productTokens(req.headers["user-agent"], UB_TOKENS);
      const outcome = await procedures.handle(creds, { method: req.method, target: req.url });
      if (outcome.kind === "challenge") {
        req.log.debug({ impi: outcome.impi, uaTokens: tokens }, "Ub challenge sent");
        return reply.code(401).header("www-authenticate", outcome.wwwAuthenticate).send();
      }
      req.log.info({ impi: outcome.impi, btid: outcome.btid, superseded: outcome.superseded, uaTokens: tokens }, "bootstrapped");
      return reply
        .code(200)
        .header("content-type", BOOTSTRAPPING_INFO_CONTENT_TYPE)
        .header("authentication-info", outcome.authenticationInfo)
        .header("expires", new Date(outcome.expiresAt).toUTCString())
        .header("cache-control", "no-store")
        .send(outcome.body);
    },
  });

  // TS 24.109 A.3 names GET only; other methods on the Ub resource are refused, not challenged.
  app.route({
    method: ["HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
    url: "/",
    handler: async (req, reply) => {
      reply.header("allow", "GET");
      throw new ProblemError(405, BSF_CAUSE.METHOD_NOT_ALLOWED, `${req.method} is not allowed on Ub; use GET / (TS 24.109 A.3)`);
    },
  });
}
