// Logging: pino through Fastify. Secrets never reach a log line: the code never logs key
// material, and these redaction paths are a second line of defence for headers and bodies.
import type { FastifyServerOptions } from "fastify";

export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers['proxy-authorization']",
  "*.k",
  "*.op",
  "*.opc",
  "*.ck",
  "*.ik",
  "*.ks",
  "*.xres",
  "*.res",
  "*.meKeyMaterial",
  "*.uiccKeyMaterial",
  "*.password",
];

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export function loggerOptions(name: string, level: LogLevel): FastifyServerOptions["logger"] {
  if (level === "silent") return false;
  // stdout carries only the ready line (docs/architecture.md "The gba command"); logs go to stderr
  return { name, level, redact: { paths: REDACT_PATHS, censor: "[redacted]" }, stream: process.stderr };
}
