// Ub HTTP binding: `GET /` with Digest AKA (TS 24.109 §4, Annex A; RFC 3310). HTTP only: the
// Authorization header parsed, the procedure's outcome turned into 401 / 200 / ProblemDetails.
import type { FastifyReply, FastifyRequest } from "fastify";
import { BOOTSTRAPPING_INFO_CONTENT_TYPE } from "../../../gba/bootstrapping-info.js";
import {
  DigestParseError,
  type DigestCredentials,
  formatAuthenticationInfo,
  formatChallenge,
  parseDigestCredentials,
} from "../../../gba/digest/index.js";
import { PRODUCT_TOKEN, productTokens, withProductToken } from "../../../wire/ub.js";
import type { EventBus } from "../../common/events.js";
import { defineRoutes } from "../../common/server.js";
import type { UbOutcome, UbProcedures, UbRefusal } from "../procedures/ub.js";
import { isRefusal, onOutcome, problemOf } from "./outcomes.js";

/** TS 24.109 A.3 example "Bootstrapping Server; Release-6". */
export const UB_SERVER_HEADER = "gba-emu BSF; Release-6";

/** TS 33.220 §4.5.2: a BSF that supports TMPI always includes the product token 3gpp-gba-tmpi in Server. */
export const UB_SERVER_HEADER_TMPI = withProductToken(UB_SERVER_HEADER, PRODUCT_TOKEN.GBA_TMPI);

/** TS 24.109 A.3 / TS 33.220 B.4: UE capabilities announced as User-Agent product tokens on Ub. */
const UB_TOKENS = [PRODUCT_TOKEN.GBA_TMPI, PRODUCT_TOKEN.GBA_UICC] as const;

export interface UbRoutesOptions {
  procedures: UbProcedures;
  /** the dashboard's event bus, when one listens */
  events?: EventBus;
  /** bsf.tmpi: TMPI supported (TS 33.220 §4.5.2) */
  tmpi: boolean;
}

function credentials(req: FastifyRequest): DigestCredentials | UbRefusal {
  const header = req.headers.authorization;
  if (header === undefined) {
    return {
      kind: "refused",
      cause: "MALFORMED_AUTHORIZATION",
      reason: "malformed-authorization",
      detail:
        'an Authorization header is required: Digest username="<IMPI>", realm, nonce="", uri="/", response="" (TS 24.109 A.3)',
      invalidParams: [{ param: "Authorization", reason: "missing" }],
    };
  }
  try {
    return parseDigestCredentials(header);
  } catch (err) {
    if (!(err instanceof DigestParseError)) throw err;
    return {
      kind: "refused",
      cause: "MALFORMED_AUTHORIZATION",
      reason: "malformed-authorization",
      detail: `Authorization: ${err.message}`,
      invalidParams: [{ param: err.param ? `Authorization.${err.param}` : "Authorization", reason: err.code }],
    };
  }
}

function hasBody(req: FastifyRequest): boolean {
  const len = req.headers["content-length"];
  return (len !== undefined && len !== "0") || req.headers["transfer-encoding"] !== undefined;
}

/**
 * The answer to one Ub request: the outcome goes through the hook (with the bus and the time the
 * request arrived when a bus listens), then out as HTTP.
 */
function answer(
  req: FastifyRequest,
  reply: FastifyReply,
  outcome: UbOutcome,
  events: EventBus | undefined,
  startedAt: number | undefined,
  uaTokens?: string[],
): FastifyReply {
  onOutcome(outcome, { iface: "Ub", log: req.log, events, startedAt, uaTokens });
  switch (outcome.kind) {
    case "challenge":
      return reply.code(401).header("www-authenticate", formatChallenge(outcome.challenge)).send();
    case "bootstrapped":
      return reply
        .code(200)
        .header("content-type", BOOTSTRAPPING_INFO_CONTENT_TYPE)
        .header("authentication-info", formatAuthenticationInfo(outcome.authenticationInfo))
        .header("expires", new Date(outcome.expiresAt).toUTCString())
        .header("cache-control", "no-store")
        .send(outcome.body);
    case "refused":
      throw problemOf(outcome);
  }
}

export const ubRoutes = defineRoutes<UbRoutesOptions>("bsf-ub", async (app, { procedures, events, tmpi }) => {
  const server = tmpi ? UB_SERVER_HEADER_TMPI : UB_SERVER_HEADER;
  app.addHook("onRequest", async (_req, reply) => {
    reply.header("server", server);
  });

  app.route({
    method: "GET",
    url: "/",
    exposeHeadRoute: false,
    handler: async (req, reply) => {
      const startedAt = events && performance.now();
      if (hasBody(req)) {
        const refusal: UbRefusal = {
          kind: "refused",
          cause: "UNEXPECTED_BODY",
          reason: "unexpected-body",
          detail: "a Ub request carries no body (TS 24.109 A.3: GET /)",
        };
        return answer(req, reply, refusal, events, startedAt);
      }
      const creds = credentials(req);
      if (isRefusal(creds)) return answer(req, reply, creds, events, startedAt);
      const tokens = productTokens(req.headers["user-agent"], UB_TOKENS);
      const ueTmpi = tokens.includes(PRODUCT_TOKEN.GBA_TMPI);
      const outcome = await procedures.handle(creds, { method: req.method, target: req.url, ueTmpi });
      return answer(req, reply, outcome, events, startedAt, tokens);
    },
  });

  // TS 24.109 A.3 names GET only; other methods on the Ub resource are refused, not challenged.
  app.route({
    method: ["HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
    url: "/",
    handler: async (req, reply) => {
      const refusal: UbRefusal = {
        kind: "refused",
        cause: "METHOD_NOT_ALLOWED",
        reason: "method-not-allowed",
        detail: `${req.method} is not allowed on Ub; use GET / (TS 24.109 A.3)`,
      };
      return answer(req, reply, refusal, events, events && performance.now());
    },
  });
});
