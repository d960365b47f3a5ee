// Provisioning API of the HSS on its own listener (docs/architecture.md "Reference points"):
// JSON, application/problem+json errors (RFC 9457), never K or OPc in a response. With a token
// configured every request needs `Authorization: Bearer <token>` (compared in constant time).
import { sha256 } from "@noble/hashes/sha2.js";
import type { FastifyInstance } from "fastify";
import { constantTimeEqual } from "../../../wire/bytes.js";
import { DEFAULT_PAGE, PAGE_QUERY_SCHEMA, type PageQuery, strictJsonSchemas } from "../../common/schema.js";
import { defineRoutes } from "../../common/server.js";
import type { ImportRow, RowError } from "../bulk.js";
import { hssProblem } from "../causes.js";
import { parseSubscriberCsv } from "../csv.js";
import type { AdminProcedures, Imported, Provisioned } from "../procedures/admin.js";
import type { SubscriberView } from "../subscriber.js";

/** Bulk import bodies (100,000 CSV lines are about 15 MB) */
export const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;

export interface AdminRoutesOptions {
  procedures: AdminProcedures;
  token?: string;
}

const utf8 = new TextEncoder();

function tokenGuard(app: FastifyInstance, token: string): void {
  const want = sha256(utf8.encode(token));
  app.addHook("onRequest", async (req) => {
    const m = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? "");
    // hashing first makes the comparison independent of the presented token's length
    if (!m || !constantTimeEqual(sha256(utf8.encode(m[1])), want)) {
      throw hssProblem(
        "UNAUTHORIZED",
        "a valid bearer token is required",
        {},
        { "www-authenticate": 'Bearer realm="gba-hss-admin"' },
      );
    }
  });
}

/** "k: expected 16 bytes" → { param: "k", reason: "expected 16 bytes" } (TS 29.571 InvalidParam) */
function invalidParams(errors: string[]): Array<{ param: string; reason: string }> {
  return errors.map((e) => {
    const i = e.indexOf(": ");
    return i < 0 ? { param: "body", reason: e } : { param: e.slice(0, i), reason: e.slice(i + 2) };
  });
}

function rowParams(errors: RowError[]): Array<{ param: string; reason: string }> {
  return errors.map((e) => ({ param: e.label, reason: e.reason }));
}

function invalid(errors: string[]): Error {
  return hssProblem("INVALID_SUBSCRIBER_DATA", errors.join("; "), { invalidParams: invalidParams(errors) });
}

/** The view of a provisioning outcome, or the ProblemDetails error it maps to. */
function viewOrThrow(out: Provisioned, impi: string): SubscriberView {
  switch (out.kind) {
    case "ok":
      return out.view;
    case "invalid":
      throw invalid(out.errors);
    case "exists":
      throw hssProblem("SUBSCRIBER_EXISTS", out.detail);
    case "not-found":
      throw hssProblem("USER_NOT_FOUND", `no subscriber ${impi}`);
  }
}

function importedOrThrow(out: Imported): { imported: number; skipped: Array<{ param: string; reason: string }> } {
  switch (out.kind) {
    case "ok":
      return { imported: out.imported, skipped: rowParams(out.skipped) };
    case "invalid":
      throw hssProblem("INVALID_SUBSCRIBER_DATA", `${out.errors.length} invalid row(s); nothing imported`, {
        invalidParams: rowParams(out.errors),
      });
    case "exists":
      throw hssProblem("SUBSCRIBER_EXISTS", `${out.detail}; nothing imported`);
  }
}

const IMPI_PARAMS = {
  type: "object",
  required: ["impi"],
  properties: { impi: { type: "string", minLength: 1, maxLength: 253 } },
} as const;

export const adminRoutes = defineRoutes<AdminRoutesOptions>("hss-admin", async (app, { procedures, token }) => {
  strictJsonSchemas(app);
  if (token !== undefined) tokenGuard(app, token);
  app.addContentTypeParser("text/csv", { parseAs: "string", bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );

  app.get("/status", () => procedures.status());

  app.get<{ Querystring: PageQuery }>("/subscribers", { schema: { querystring: PAGE_QUERY_SCHEMA } }, (req) =>
    procedures.list(req.query.limit ?? DEFAULT_PAGE, req.query.after),
  );

  app.post("/subscribers", async (req, reply) => {
    const out = await procedures.provision(req.body);
    const view = viewOrThrow(out, "");
    req.log.info({ impi: view.impi }, "subscriber provisioned");
    return reply
      .code(201)
      .header("location", `/subscribers/${encodeURIComponent(view.impi)}`)
      .send(view);
  });

  app.get<{ Params: { impi: string } }>("/subscribers/:impi", { schema: { params: IMPI_PARAMS } }, async (req) =>
    viewOrThrow(await procedures.show(req.params.impi), req.params.impi),
  );

  app.patch<{ Params: { impi: string } }>("/subscribers/:impi", { schema: { params: IMPI_PARAMS } }, async (req) => {
    const { impi } = req.params;
    const view = viewOrThrow(await procedures.update(impi, req.body), impi);
    req.log.info({ impi }, "subscriber updated");
    return view;
  });

  app.delete<{ Params: { impi: string } }>("/subscribers/:impi", { schema: { params: IMPI_PARAMS } }, async (req, reply) => {
    if (!(await procedures.remove(req.params.impi))) throw hssProblem("USER_NOT_FOUND", `no subscriber ${req.params.impi}`);
    req.log.info({ impi: req.params.impi }, "subscriber removed");
    return reply.code(204).send();
  });

  app.get<{ Params: { impi: string } }>("/subscribers/:impi/auth-failures", { schema: { params: IMPI_PARAMS } }, async (req) => {
    const out = await procedures.authFailures(req.params.impi);
    if (out.kind === "not-found") throw hssProblem("USER_NOT_FOUND", `no subscriber ${req.params.impi}`);
    return { impi: req.params.impi, failures: out.failures };
  });

  app.post<{ Querystring: { skipInvalid?: string } }>(
    "/subscribers/import",
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
    async (req) => {
      let rows: ImportRow[];
      let errors: RowError[];
      if (typeof req.body === "string") {
        ({ rows, errors } = parseSubscriberCsv(req.body));
      } else if (Array.isArray(req.body)) {
        rows = req.body.map((input, i) => ({ label: `item ${i}`, input }));
        errors = [];
      } else {
        throw invalid(["body: must be a JSON array of subscribers or a text/csv document"]);
      }
      const out = importedOrThrow(await procedures.import(rows, errors, req.query.skipInvalid === "true"));
      req.log.info({ imported: out.imported, skipped: out.skipped.length }, "bulk import");
      return out;
    },
  );
});
