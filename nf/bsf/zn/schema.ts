// Zn bodies are validated strictly (the schemas are in wire/zn.ts): no type coercion, the first
// failing field is named in the 400 ProblemDetails.
import { Ajv } from "ajv";
import type { FastifySchemaCompiler } from "fastify";

const ajv = new Ajv({ coerceTypes: false, allErrors: false, strict: true });

export const strictValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema }) => ajv.compile(schema as object);
