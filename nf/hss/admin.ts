// Provisioning API of the HSS, on its own listener (DESIGN.md "Reference points"): JSON,
// application/problem+json errors, never K or OPc in a response. With a token configured
// every request needs `Authorization: Bearer <token>` (compared in constant time).
import { sha256 } from "@noble/hashes/sha2.js";
import type { FastifyInstance } from "fastify";
import { constantTimeEqual } from "../../wire/bytes.js";
import { checkRows, type ImportRow, type RowError, writeRows } from "./bulk.js";
import { hssProblem } from "./causes.js";
import { parseSubscriberCsv } from "./csv.js";
import { strictJsonSchemas } from "./schema.js";
import { ExistsError, type HssStore } from "./store.js";
import { type SubscriberRecord, type ValidationContext, validateCreate, validatePatch } from "./subscriber.js";

/** Bulk import bodies (100,000 CSV lines are about 15 MB) */
export const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;
const MAX_PAGE = 1000;

export interface AdminOptions extends ValidationContext {
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

const IMPI_PARAMS = {
  type: "object",
  required: ["impi"],
  properties: { impi: { type: "string", minLength: 1, maxLength: 253 } },
} as const;

export function registerAdminRoutes(app: FastifyInstance, store: HssStore, opts: AdminOptions): void {
  strictJsonSchemas(app);
  if (opts.token !== undefined) tokenGuard(app, opts.token);
  app.addContentTypeParser("text/csv", { parseAs: "string", bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) =>
    done(null, body),
  );

  const view = (r: SubscriberRecord) => store.view(r);
  const fresh = (impi: string) => {
    store.refreshReads();
    return store.get(impi);
  };

  app.get("/status", async () => ({ subscribers: store.count(), indBits: store.indBits }));

  app.get<{ Querystring: { limit?: number; after?: string } }>(
    "/subscribers",
    {
      schema: {
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { limit: { type: "integer", minimum: 1, maximum: MAX_PAGE }, after: { type: "string", minLength: 1 } },
        },
      },
    },
    async (req) => {
      store.refreshReads();
      const page = store.list(req.query.limit ?? 100, req.query.after);
      return { subscribers: page.items.map(view), next: page.next ?? null };
    },
  );

  app.post("/subscribers", async (req, reply) => {
    const v = validateCreate(req.body, opts);
    if (!v.ok) throw invalid(v.errors);
    try {
      await store.create([store.seal(v.value)], [v.value.sqn]);
    } catch (err) {
      if (err instanceof ExistsError) throw hssProblem("SUBSCRIBER_EXISTS", err.message);
      throw err;
    }
    req.log.info({ impi: v.value.impi }, "subscriber provisioned");
    return reply
      .code(201)
      .header("location", `/subscribers/${encodeURIComponent(v.value.impi)}`)
      .send(view(fresh(v.value.impi)!));
  });

  app.get<{ Params: { impi: string } }>("/subscribers/:impi", { schema: { params: IMPI_PARAMS } }, async (req) => {
    const r = fresh(req.params.impi);
    if (!r) throw hssProblem("USER_NOT_FOUND", `no subscriber ${req.params.impi}`);
    return view(r);
  });

  app.patch<{ Params: { impi: string } }>("/subscribers/:impi", { schema: { params: IMPI_PARAMS } }, async (req) => {
    const { impi } = req.params;
    let out: Awaited<ReturnType<HssStore["update"]>>;
    try {
      out = await store.update(impi, (existing, secrets) => validatePatch(req.body, existing, secrets));
    } catch (err) {
      if (err instanceof ExistsError) throw hssProblem("SUBSCRIBER_EXISTS", err.message);
      throw err;
    }
    if (out.kind === "not-found") throw hssProblem("USER_NOT_FOUND", `no subscriber ${impi}`);
    if (out.kind === "invalid") throw invalid(out.errors);
    req.log.info({ impi }, "subscriber updated");
    return view(out.record);
  });

  app.delete<{ Params: { impi: string } }>("/subscribers/:impi", { schema: { params: IMPI_PARAMS } }, async (req, reply) => {
    if (!(await store.remove(req.params.impi))) throw hssProblem("USER_NOT_FOUND", `no subscriber ${req.params.impi}`);
    req.log.info({ impi: req.params.impi }, "subscriber removed");
    return reply.code(204).send();
  });

  app.get<{ Params: { impi: string } }>("/subscribers/:impi/auth-failures", { schema: { params: IMPI_PARAMS } }, async (req) => {
    const r = fresh(req.params.impi);
    if (!r) throw hssProblem("USER_NOT_FOUND", `no subscriber ${req.params.impi}`);
    return { impi: r.impi, failures: store.authFailures(r.impi) };
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
      const skipInvalid = req.query.skipInvalid === "true";
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
      store.refreshReads();
      const checked = checkRows(rows, store, opts);
      errors.push(...checked.errors);
      if (errors.length > 0 && !skipInvalid) {
        throw hssProblem("INVALID_SUBSCRIBER_DATA", `${errors.length} invalid row(s); nothing imported`, {
          invalidParams: rowParams(errors),
        });
      }
      let imported: number;
      try {
        imported = await writeRows(store, checked.valid);
      } catch (err) {
        if (err instanceof ExistsError) throw hssProblem("SUBSCRIBER_EXISTS", `${err.message}; nothing imported`);
        throw err;
      }
      req.log.info({ imported, skipped: errors.length }, "bulk import");
      return { imported, skipped: rowParams(errors) };
    },
  );
}
