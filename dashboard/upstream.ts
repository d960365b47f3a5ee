// The NFs' own HTTP endpoints as the dashboard reaches them: the HSS provisioning API (with its
// bearer token) and the ECA's certificate log. Answers pass through with their status and
// ProblemDetails, so the page shows exactly the validation messages `gba provision` prints; a
// node that cannot be reached is a 503 naming it. K, OP and OPc are dropped from any JSON that
// comes back (the HSS never sends them; this is the second line of defence).
import type { FastifyInstance, FastifyReply } from "fastify";
import { request } from "undici";
import { ProblemError, PROBLEM_JSON } from "../nf/common/problem.js";

export interface UpstreamOptions {
  hssAdmin?: { url: string; token?: string };
  eca?: { url: string };
}

const TIMEOUT_MS = 10_000;
/** CSV imports as the HSS takes them (100,000 lines are about 15 MB) */
export const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;
const NEVER_SHOWN = new Set(["k", "op", "opc"]);

function withoutKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutKeys);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!NEVER_SHOWN.has(k.toLowerCase())) out[k] = withoutKeys(x);
  return out;
}

function unreachable(what: string, url: string, err: unknown): ProblemError {
  const reason = (err as { code?: string }).code ?? (err as Error).message;
  return new ProblemError(503, "UPSTREAM_UNAVAILABLE", `the ${what} at ${url} cannot be reached: ${reason}`);
}

async function forward(
  reply: FastifyReply,
  what: string,
  base: string,
  path: string,
  init: { method?: "GET" | "POST" | "DELETE"; headers?: Record<string, string>; body?: string },
): Promise<FastifyReply> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(`${base}${path}`, {
      method: init.method ?? "GET",
      headers: init.headers,
      body: init.body,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
  } catch (err) {
    throw unreachable(what, base, err);
  }
  const type = String(res.headers["content-type"] ?? "");
  reply.code(res.statusCode).header("cache-control", "no-store");
  if (res.statusCode === 204) {
    await res.body.dump();
    return reply.send();
  }
  const text = await res.body.text();
  if (!/json/.test(type))
    throw new ProblemError(503, "UPSTREAM_UNAVAILABLE", `the ${what} at ${base} answered ${type || "no content type"}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ProblemError(503, "UPSTREAM_UNAVAILABLE", `the ${what} at ${base} answered JSON that does not parse`);
  }
  return reply.type(type.startsWith(PROBLEM_JSON) ? PROBLEM_JSON : "application/json").send(withoutKeys(parsed));
}

function notConfigured(what: string, flag: string): ProblemError {
  return new ProblemError(404, "NOT_CONFIGURED", `this dashboard has no ${what}: start it with ${flag}`);
}

const IMPI_PARAMS = {
  type: "object",
  required: ["impi"],
  properties: { impi: { type: "string", minLength: 1, maxLength: 253 } },
} as const;

/** ?limit=N&after=CURSOR of a paged listing, passed on to the NF (which checks them again) */
interface PageParams {
  limit?: string;
  after?: string;
}

const PAGE_PARAMS = {
  type: "object",
  additionalProperties: false,
  properties: {
    limit: { type: "string", pattern: "^[0-9]{1,4}$" },
    after: { type: "string", minLength: 1, maxLength: 1000 },
  },
} as const;

function pageQuery(p: PageParams): string {
  const q = new URLSearchParams();
  if (p.limit !== undefined) q.set("limit", p.limit);
  if (p.after !== undefined) q.set("after", p.after);
  return q.size ? `?${q}` : "";
}

export function registerUpstreamRoutes(app: FastifyInstance, o: UpstreamOptions): void {
  const hss = o.hssAdmin;
  const hssHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...extra,
    ...(hss?.token !== undefined && { authorization: `Bearer ${hss.token}` }),
  });
  const toHss = (reply: FastifyReply, path: string, init: Parameters<typeof forward>[4] = {}) => {
    if (!hss) throw notConfigured("HSS provisioning API", "--hss-admin URL");
    return forward(reply, "HSS provisioning API", hss.url, path, { ...init, headers: hssHeaders(init.headers) });
  };
  const enc = encodeURIComponent;

  app.addContentTypeParser("text/csv", { parseAs: "string", bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );

  app.get<{ Querystring: PageParams }>("/api/subscribers", { schema: { querystring: PAGE_PARAMS } }, (req, reply) =>
    toHss(reply, `/subscribers${pageQuery(req.query)}`),
  );
  app.get<{ Params: { impi: string } }>("/api/subscribers/:impi", { schema: { params: IMPI_PARAMS } }, (req, reply) =>
    toHss(reply, `/subscribers/${enc(req.params.impi)}`),
  );
  app.post("/api/subscribers", (req, reply) =>
    toHss(reply, "/subscribers", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(req.body ?? null),
    }),
  );
  app.delete<{ Params: { impi: string } }>("/api/subscribers/:impi", { schema: { params: IMPI_PARAMS } }, (req, reply) =>
    toHss(reply, `/subscribers/${enc(req.params.impi)}`, { method: "DELETE" }),
  );
  app.post<{ Querystring: { skipInvalid?: "true" | "false" } }>(
    "/api/subscribers/import",
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { skipInvalid: { type: "string", enum: ["true", "false"] } },
        },
      },
    },
    (req, reply) => {
      if (typeof req.body !== "string") {
        throw new ProblemError(415, "UNSUPPORTED_MEDIA_TYPE", "send the subscriber CSV as text/csv");
      }
      return toHss(reply, `/subscribers/import${req.query.skipInvalid === "true" ? "?skipInvalid=true" : ""}`, {
        method: "POST",
        headers: { "content-type": "text/csv" },
        body: req.body,
      });
    },
  );

  // the ECA's certificate log (newest first) and binding registry (by OBU ID), one page each
  for (const list of ["certificates", "bindings"]) {
    app.get<{ Querystring: PageParams }>(`/api/eca/${list}`, { schema: { querystring: PAGE_PARAMS } }, (req, reply) => {
      if (!o.eca) throw notConfigured("ECA", "--eca URL");
      return forward(reply, "ECA", o.eca.url, `/${list}${pageQuery(req.query)}`, {});
    });
  }
}
