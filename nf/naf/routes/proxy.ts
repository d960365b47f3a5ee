// Authentication proxy (TS 33.222 §6, TS 24.109 §7): every request is authenticated by the GBA
// plugin, then forwarded to the application server with the asserted identities. Identity
// headers sent by the client are removed first, so only the proxy can assert them.
import httpProxy from "@fastify/http-proxy";
import type { FastifyRequest } from "fastify";
import { defineRoutes } from "../../common/server.js";
import { nafProblem } from "../causes.js";
import type { GbaIdentity } from "../identity.js";

/** TS 24.109 §7 / TS 33.222: the identities the proxy asserts to the AS, as quoted strings. */
export const ASSERTED_IDENTITY_HEADER = "x-3gpp-asserted-identity";
/** TS 24.109 §7.2: the identity the UE asks for, as a quoted string. */
export const INTENDED_IDENTITY_HEADER = "x-3gpp-intended-identity";
/** This proxy's own header (not 3GPP): the IMPI of the authenticated subscriber. */
export const IMPI_HEADER = "x-gba-impi";
/** Client-sent headers with this prefix are dropped: the prefix is reserved for the proxy. */
const OWN_PREFIX = "x-gba-";

const SAFE = /^[\x21\x23-\x7e]+$/;

function quoted(id: string): string | undefined {
  return SAFE.test(id) ? `"${id}"` : undefined;
}

/** The identities to assert: the intended one if the UE named one of its own, else all IMPUs. */
export function assertedIdentities(gba: GbaIdentity, intended: string | string[] | undefined): string[] {
  if (intended === undefined) return gba.impus;
  const raw = (Array.isArray(intended) ? intended[0] : intended).trim();
  const id = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (!gba.impus.includes(id)) throw nafProblem("FST_GBA_IDENTITY_NOT_ALLOWED");
  return [id];
}

/**
 * Request headers for the AS (reply-from hands over its own copy, changed in place): client
 * copies of the proxy's headers removed, the proxy's added.
 */
export function upstreamHeaders(
  request: Pick<FastifyRequest, "gba" | "headers">,
  headers: Record<string, unknown>,
): Record<string, unknown> {
  for (const k in headers) {
    const name = k.toLowerCase();
    // TS 24.109 §7.2: the AP removes the Authorization header it consumed
    if (
      name === ASSERTED_IDENTITY_HEADER ||
      name.startsWith(OWN_PREFIX) ||
      (name === "authorization" && request.gba?.method === "digest")
    ) {
      delete headers[k];
    }
  }
  const gba = request.gba;
  if (gba) {
    const intended = request.headers[INTENDED_IDENTITY_HEADER];
    const value = intended === undefined ? allAsserted(gba) : assertedValue(assertedIdentities(gba, intended));
    if (value !== "") headers[ASSERTED_IDENTITY_HEADER] = value;
    headers[IMPI_HEADER] = gba.impi;
  }
  return headers;
}

function assertedValue(ids: string[]): string {
  return ids
    .map(quoted)
    .filter((q): q is string => q !== undefined)
    .join(", ");
}

const assertedMemo = new WeakMap<GbaIdentity, string>();
function allAsserted(gba: GbaIdentity): string {
  let v = assertedMemo.get(gba);
  if (v === undefined) {
    v = assertedValue(gba.impus);
    assertedMemo.set(gba, v);
  }
  return v;
}

/** RFC 9110 §7.6.1: connection-specific fields of the upstream's answer are not forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"]);

/** Removes them in place (reply-from passes its own copy of the upstream's headers). */
export function withoutHopByHop<T extends Record<string, unknown>>(headers: T): T {
  for (const k in headers) if (HOP_BY_HOP.has(k.toLowerCase())) delete headers[k];
  return headers;
}

export interface ProxyRoutesOptions {
  /** the application server every authenticated request goes to */
  upstream: string;
}

/**
 * The proxy for every path, mounted on a scope that has gbaNaf: `await scope.register(proxyRoutes,
 * { upstream })`. The plugin authenticates every request of its protected space before routing
 * (public paths go through unauthenticated, with no asserted identity); the intended identity is
 * checked before forwarding.
 */
export const proxyRoutes = defineRoutes<ProxyRoutesOptions>("naf-proxy", async (app, { upstream }) => {
  await app.register(async (scope) => {
    scope.addHook("preHandler", (request, _reply, done) => {
      const intended = request.headers[INTENDED_IDENTITY_HEADER];
      try {
        if (intended !== undefined && request.gba) assertedIdentities(request.gba, intended);
      } catch (err) {
        done(err as Error);
        return;
      }
      done();
    });
    await scope.register(httpProxy, {
      upstream,
      replyOptions: {
        rewriteRequestHeaders: (request, headers) => upstreamHeaders(request, headers) as typeof headers,
        rewriteHeaders: (headers) => withoutHopByHop(headers),
      },
    });
  });
});
