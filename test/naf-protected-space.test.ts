// The NAF's protected space (TS 33.220 §4.5.1, TS 24.109 §5.2.4): every request under the
// protected prefixes is challenged before it is routed, unknown paths included, public paths are
// carved out; and the qop offer (RFC 7616 §3.3), which a client that splits WWW-Authenticate on
// commas can only answer when it holds one value.
import { createHash } from "node:crypto";
import http from "node:http";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createZnClient,
  gbaNaf,
  installGbaErrorHandler,
  proxyRoutes,
  whoamiRoutes,
  type ZnClientHandle,
} from "../nf/naf/index.js";
import { protectedSpace } from "../nf/naf/protected-space.js";
import { answerChallenge, b64, type FakeZn, NAF_FQDN, parseChallenge, startFakeZn, ZN_TOKEN } from "./naf-fixtures.js";

describe("protectedSpace (path rules)", () => {
  it("protects the whole origin by default, public paths exact or as a prefix ending in /", () => {
    const inSpace = protectedSpace({ publicPaths: ["/ca.pem", "/pub/"] });
    expect(inSpace("/anything")).toBe(true);
    expect(inSpace("/")).toBe(true);
    expect(inSpace("/ca.pem")).toBe(false);
    expect(inSpace("/ca.pem?x=1")).toBe(false);
    expect(inSpace("/ca.pem/x")).toBe(true);
    expect(inSpace("/pub/a/b")).toBe(false);
    expect(inSpace("/pub")).toBe(true);
  });

  it("protects only under the given prefixes, by path segment", () => {
    const inSpace = protectedSpace({ protectedPaths: ["/api", "/admin/"] });
    expect(inSpace("/api")).toBe(true);
    expect(inSpace("/api/x?y")).toBe(true);
    expect(inSpace("/apix")).toBe(false);
    expect(inSpace("/admin/users")).toBe(true);
    expect(inSpace("/open")).toBe(false);
  });

  it("challenges any path a proxy or application could read as another one (dot-segments, escapes)", () => {
    const inSpace = protectedSpace({ protectedPaths: ["/api"], publicPaths: ["/api/pub/"] });
    for (const p of ["/x/../api/secret", "/api/pub/../secret", "/api/pub/%2e%2e/secret", "/open/%2Fapi", "/a\\b", "/./api"]) {
      expect(inSpace(p), p).toBe(true);
    }
  });

  it("refuses settings that are not plain absolute paths", () => {
    for (const bad of ["api", "/a?b", "/a/../b", "/a%2fb", "/a b"]) {
      expect(() => protectedSpace({ publicPaths: [bad] }), bad).toThrow(/gbaNaf: path/);
    }
  });
});

let zn: FakeZn;
beforeAll(async () => {
  zn = await startFakeZn();
});
afterAll(async () => {
  await zn?.close();
});

const opened: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

type PluginOptions = Omit<Parameters<typeof gbaNaf>[1], "fqdn" | "zn">;

/** A NAF app as `gba naf` builds it: the plugin at the root, the routes in a scope of their own. */
async function nafApp(opts: PluginOptions, routes: (scope: FastifyInstance) => Promise<void> | void): Promise<FastifyInstance> {
  const client: ZnClientHandle = createZnClient({ bsfUrl: zn.url, token: ZN_TOKEN });
  const app = Fastify();
  await app.register(gbaNaf, { fqdn: NAF_FQDN, zn: client, nonceTtl: 60, ...opts });
  await app.register(async (scope) => {
    installGbaErrorHandler(scope);
    await routes(scope);
  });
  opened.push(client, app);
  return app;
}

/** GET `url` after its challenge, answered for B-TID `btid` (qop=auth, the fixtures' own RFC 7616 client). */
async function authedGet(app: FastifyInstance, url: string, btid: string, password: string) {
  const first = await app.inject({ url });
  expect(first.statusCode).toBe(401);
  const c = parseChallenge(first.headers["www-authenticate"] as string);
  const a = answerChallenge({
    username: btid,
    password,
    realm: c.realm,
    nonce: c.nonce,
    method: "GET",
    uri: url,
    qop: "auth",
    nc: 1,
  });
  return app.inject({ url, headers: { authorization: a.header } });
}

describe("the plugin's protected space", () => {
  it("challenges an unknown path without credentials, and answers 404 only once authenticated", async () => {
    const app = await nafApp({}, async (scope) => {
      await scope.register(whoamiRoutes);
    });
    const s = zn.addSession();
    for (const method of ["GET", "POST", "DELETE", "PROPFIND"] as const) {
      const r = await app.inject({ method, url: "/no/such/thing" });
      expect(r.statusCode, method).toBe(401);
      expect(parseChallenge(r.headers["www-authenticate"] as string).realm).toBe(`3GPP-bootstrapping@${NAF_FQDN}`);
    }
    const r = await authedGet(app, "/no/such/thing", s.btid, b64(zn.keyFor(s, NAF_FQDN, "0100000002")));
    expect(r.statusCode).toBe(404);
    expect(r.headers["authentication-info"]).toMatch(/rspauth="[0-9a-f]{32}"/);
  });

  it("serves public paths without a challenge; everything else stays protected", async () => {
    const app = await nafApp({ publicPaths: ["/health", "/pub/"] }, async (scope) => {
      await scope.register(whoamiRoutes);
      scope.get("/health", async (req) => ({ ok: true, gba: req.gba }));
      scope.get("/pub/*", async () => "public");
    });
    expect((await app.inject({ url: "/health" })).json()).toEqual({ ok: true, gba: null });
    expect((await app.inject({ url: "/pub/a" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/pub/../whoami" })).statusCode).toBe(401);
    expect((await app.inject({ url: "/whoami" })).statusCode).toBe(401);
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(401);
  });

  it("protects only the configured prefixes", async () => {
    const app = await nafApp({ protectedPaths: ["/api"] }, (scope) => {
      scope.get("/open", async () => "open");
      scope.get("/api/x", async (req) => ({ impi: req.gba?.impi }));
    });
    expect((await app.inject({ url: "/open" })).statusCode).toBe(200);
    expect((await app.inject({ url: "/api/x" })).statusCode).toBe(401);
    expect((await app.inject({ url: "/api/unknown" })).statusCode).toBe(401);
    expect((await app.inject({ url: "/elsewhere" })).statusCode).toBe(404);
    const s = zn.addSession();
    const ok = await authedGet(app, "/api/x", s.btid, b64(zn.keyFor(s, NAF_FQDN, "0100000002")));
    expect(ok.json()).toEqual({ impi: s.impi });
  });

  it("the proxy forwards public paths unauthenticated, with no asserted identity", async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const upstream = http.createServer((req, res) => {
      seen.push(req.headers);
      res.end(`upstream ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    opened.push({ close: () => new Promise((r) => upstream.close(r)) });
    const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const app = await nafApp({ publicPaths: ["/static/"] }, async (scope) => {
      await scope.register(proxyRoutes, { upstream: url });
    });
    const pub = await app.inject({ url: "/static/app.js", headers: { "x-3gpp-asserted-identity": '"sip:admin@x"' } });
    expect(pub.body).toBe("upstream /static/app.js");
    expect(seen.at(-1)?.["x-3gpp-asserted-identity"]).toBeUndefined();
    const n = seen.length;
    expect((await app.inject({ url: "/api/ping" })).statusCode).toBe(401);
    expect(seen.length).toBe(n);
  });
});

/**
 * A client as found in the field: it splits the WWW-Authenticate parameters on commas, so a
 * quoted list such as qop="auth-int,auth" falls apart into `qop="auth-int` and `auth"`.
 */
function commaSplittingAnswer(header: string, btid: string, password: string, uri: string): string {
  const params = Object.fromEntries(
    header
      .replace(/^Digest /, "")
      .split(",")
      .map((p) => p.trim().split("="))
      .map(([k, v]) => [k, (v ?? "").replace(/^"(.*)"$/, "$1")]),
  );
  const h = (x: string) => createHash("md5").update(x).digest("hex");
  const ha1 = h(`${btid}:${params.realm}:${password}`);
  const response = h(`${ha1}:${params.nonce}:00000001:0a4f113b:${params.qop}:${h(`GET:${uri}`)}`);
  return `Digest username="${btid}", realm="${params.realm}", nonce="${params.nonce}", uri="${uri}", qop=${params.qop}, nc=00000001, cnonce="0a4f113b", response="${response}"`;
}

describe("the qop offer (naf.qop)", () => {
  it('a client that splits the header on commas fails on the default offer and passes with ["auth"]', async () => {
    const s = zn.addSession();
    const password = b64(zn.keyFor(s, NAF_FQDN, "0100000002"));
    const verdict = async (qop?: Array<"auth" | "auth-int">) => {
      const app = await nafApp(qop ? { qop } : {}, async (scope) => {
        await scope.register(whoamiRoutes);
      });
      const first = await app.inject({ url: "/whoami" });
      const header = first.headers["www-authenticate"] as string;
      const r = await app.inject({
        url: "/whoami",
        headers: { authorization: commaSplittingAnswer(header, s.btid, password, "/whoami") },
      });
      return { header, status: r.statusCode };
    };
    const listed = await verdict();
    expect(listed.header).toContain('qop="auth-int,auth"');
    expect(listed.status).toBe(400);
    const one = await verdict(["auth"]);
    expect(one.header).toContain('qop="auth"');
    expect(one.status).toBe(200);
    expect((await verdict(["auth-int"])).header).toContain('qop="auth-int"');
  });
});
