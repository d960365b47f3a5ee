// Who may use the dashboard. On loopback, anyone on this host (as the HSS admin API): the Host
// header must then name a loopback host too, so a web page elsewhere cannot reach it through DNS
// rebinding. Bound beyond loopback a token is required (the HSS admin API rule): as
// `Authorization: Bearer <token>`, or once as `?token=` in the address, which sets an HttpOnly
// SameSite=Strict cookie and redirects to the same address without it. Tokens are compared as
// SHA-256 digests in constant time. Requests that change something must come from the page's
// own origin (CSRF).
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isLoopbackHost } from "../nf/common/loopback.js";
import { ProblemError } from "../nf/common/problem.js";

export const TOKEN_COOKIE = "gba_dashboard";

/** The host part of a Host header ("127.0.0.1:7080", "[::1]:7080", "localhost"). */
function hostnameOf(hostHeader: string | undefined): string {
  if (!hostHeader) return "";
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  const colon = hostHeader.lastIndexOf(":");
  return colon < 0 ? hostHeader : hostHeader.slice(0, colon);
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

function cookieToken(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === TOKEN_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return undefined;
}

function unauthorized(): ProblemError {
  return new ProblemError(
    401,
    "UNAUTHORIZED",
    "a valid dashboard token is required: open the address with ?token=<token> or send Authorization: Bearer <token>",
    {},
    { "www-authenticate": 'Bearer realm="gba-dashboard"' },
  );
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

export function installAccessGuard(app: FastifyInstance, o: { token?: string }): void {
  const want = o.token === undefined ? undefined : digest(o.token);
  const matches = (presented: string | undefined) =>
    presented !== undefined && want !== undefined && timingSafeEqual(digest(presented), want);

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    if (want === undefined) {
      if (!isLoopbackHost(hostnameOf(req.headers.host))) {
        throw new ProblemError(403, "HOST_NOT_ALLOWED", "this dashboard answers to loopback host names only (it has no token)");
      }
    } else {
      const url = new URL(req.url, "http://dashboard");
      const fromQuery = url.searchParams.get("token");
      if (fromQuery !== null && SAFE_METHODS.has(req.method)) {
        if (!matches(fromQuery)) throw unauthorized();
        url.searchParams.delete("token");
        reply
          .header("set-cookie", `${TOKEN_COOKIE}=${encodeURIComponent(fromQuery)}; HttpOnly; SameSite=Strict; Path=/`)
          .redirect(`${url.pathname}${url.search}`, 303);
        return reply;
      }
      const bearer = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
      if (!matches(bearer ?? cookieToken(req))) throw unauthorized();
    }
    if (!SAFE_METHODS.has(req.method)) {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host}`) {
        throw new ProblemError(403, "CROSS_ORIGIN", `requests that change data must come from the dashboard page, not ${origin}`);
      }
    }
  });
}
