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
