// Fastify JSON-schema validation without type coercion for bodies: a number where a hex
// string belongs is refused with the field named, not turned into a string. Query strings and
// path parameters are text, so there "limit=10" may become the integer 10.
import { Ajv } from "ajv";
import type { FastifyInstance } from "fastify";

const strict = new Ajv({ coerceTypes: false, allErrors: false, strict: false });
const coercing = new Ajv({ coerceTypes: true, allErrors: false, strict: false });

export function strictJsonSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? strict : coercing).compile(schema as object));
}

/** Most items one page of a listing holds (the HSS's subscribers, the ECA's bindings and certificates). */
export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

/** ?limit=N&after=CURSOR of a paged listing; answered as { <items>: [...], next: CURSOR | null }. */
export const PAGE_QUERY_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    limit: { type: "integer", minimum: 1, maximum: MAX_PAGE },
    after: { type: "string", minLength: 1, maxLength: 1000 },
  },
} as const;

export interface PageQuery {
  limit?: number;
  after?: string;
}
