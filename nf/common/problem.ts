// ProblemDetails (RFC 9457 / TS 29.571 §5.2.4.1) for the JSON reference points and admin API.
import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { storeWriteFailure } from "./store.js";

export const PROBLEM_JSON = "application/problem+json";

export interface ProblemDetails {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** application error cause, TS 29.571 (e.g. USER_NOT_FOUND) */
  cause?: string;
  invalidParams?: Array<{ param: string; reason?: string }>;
}

/** A handled error with an HTTP status and an SBI cause; thrown by handlers, rendered by the error handler. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly cause_: string,
    message: string,
    readonly extra: Partial<ProblemDetails> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ProblemError";
  }

  /** As Fastify's own errors carry them, so any error handler answers with the right status. */
  get statusCode(): number {
    return this.status;
  }

  get code(): string {
    return this.cause_;
  }

  toProblem(): ProblemDetails {
    return {
      title: STATUS_TITLES[this.status] ?? "Error",
      status: this.status,
      detail: this.message,
      cause: this.cause_,
      ...this.extra,
    };
  }
}

const STATUS_TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  411: "Length Required",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  507: "Insufficient Storage",
};

export function sendProblem(reply: FastifyReply, p: ProblemDetails): FastifyReply {
  return reply.code(p.status).type(PROBLEM_JSON).send(p);
}

/** Fastify errors raised before a handler runs (parser, limits, validation) mapped to 4xx with a cause. */
function problemFromFastifyError(err: FastifyError): ProblemDetails | undefined {
  const status = err.statusCode;
  if (err.validation) {
    const first = err.validation[0];
    const field = first ? `${err.validationContext ?? "body"}${first.instancePath || ""}` : (err.validationContext ?? "body");
    const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const param = missing ? `${field}/${missing}` : field;
    return {
      title: "Bad Request",
      status: 400,
      detail: `${param}: ${first?.message ?? "invalid"}`,
      cause: missing ? "MANDATORY_IE_MISSING" : "MANDATORY_IE_INCORRECT",
      invalidParams: [{ param, reason: first?.message }],
    };
  }
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        title: "Payload Too Large",
        status: 413,
        detail: "request body exceeds the size limit",
        cause: "PAYLOAD_TOO_LARGE",
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { title: "Unsupported Media Type", status: 415, detail: err.message, cause: "UNSUPPORTED_MEDIA_TYPE" };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { title: "Bad Request", status: 400, detail: "request body is empty", cause: "MANDATORY_IE_MISSING" };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return { title: "Bad Request", status: 400, detail: "request body is not valid JSON", cause: "INVALID_MSG_FORMAT" };
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return { title: "Bad Request", status: 400, detail: err.message, cause: "INVALID_MSG_FORMAT" };
  }
  if (err instanceof SyntaxError || err.code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH") {
    return { title: "Bad Request", status: 400, detail: "request body is not valid JSON", cause: "INVALID_MSG_FORMAT" };
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return { title: STATUS_TITLES[status] ?? "Bad Request", status, detail: err.message, cause: "INVALID_MSG_FORMAT" };
  }
  return undefined;
}

/**
 * Installs the error and not-found handlers that render ProblemDetails. Anything unexpected
 * is logged with its stack (never with request bodies) and answered 500 without detail.
 */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler(async (err: FastifyError | ProblemError, req, reply) => {
    if (err instanceof ProblemError) {
      for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
      return sendProblem(reply, err.toProblem());
    }
    const p = problemFromFastifyError(err);
    if (p) {
      req.log.info({ cause: p.cause, detail: p.detail }, "request refused");
      return sendProblem(reply, p);
    }
    // nothing was committed: the disk is full (RFC 4918 §11.5 507) or the store cannot be written
    const store = await storeWriteFailure(err);
    if (store) {
      req.log.error({ cause: store.code, detail: store.message }, "store write failed");
      const full = store.code === "ENOSPC";
      return sendProblem(reply, {
        title: full ? "Insufficient Storage" : "Service Unavailable",
        status: full ? 507 : 503,
        detail: store.message,
        cause: full ? "INSUFFICIENT_STORAGE" : "STORE_UNAVAILABLE",
      });
    }
    req.log.error({ err }, "unexpected error");
    return sendProblem(reply, { title: "Internal Server Error", status: 500, cause: "SYSTEM_FAILURE" });
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, {
      title: "Not Found",
      status: 404,
      detail: `no resource ${req.method} ${req.url.split("?")[0]}`,
      cause: "RESOURCE_URI_STRUCTURE_NOT_FOUND",
    }),
  );
}
