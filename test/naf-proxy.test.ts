// The authentication proxy (TS 24.109 §7, TS 33.222): identity headers reach the upstream only
// from the proxy; client copies are dropped; Authorization is consumed.
import http from "node:http";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createZnClient, gbaNaf, installGbaErrorHandler, proxyRoutes, type ZnClientHandle } from "../nf/naf/index.js";
import {
  answerChallenge,
  b64,
  rspauthFor,
  type FakeZn,
  NAF_FQDN,
  parseChallenge,
  rspauthOf,
  startFakeZn,
  ZN_TOKEN,
} from "./naf-fixtures.js";

let zn: FakeZn;
let client: ZnClientHandle;
let upstream: http.Server;
let app: FastifyInstance;
const seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  zn = await startFakeZn();
  client = createZnClient({ bsfUrl: zn.url, token: ZN_TOKEN });
  upstream = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.setHeader("content-type", "text/plain");
      res.setHeader("keep-alive", "timeout=99");
      res.end(`upstream saw ${req.method} ${req.url} ${body}`);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const port = (upstream.address() as { port: number }).port;
  app = Fastify();
  await app.register(async (scope) => {
    installGbaErrorHandler(scope);
    await scope.register(gbaNaf, { fqdn: NAF_FQDN, zn: client });
    await scope.register(proxyRoutes, { upstream: `http://127.0.0.1:${port}` });
  });
});
afterAll(async () => {
  await app.close();
  await client.close();
  await zn.close();
  await new Promise((r) => upstream.close(r));
});

async function authenticated(o: {
  method?: string;
  url?: string;
  body?: string;
  qop?: "auth" | "auth-int";
  headers?: Record<string, string>;
  ussList?: unknown[];
}) {
  const method = o.method ?? "GET";
  const url = o.url ?? "/api/things?x=1";
  const s = zn.addSession(o.ussList ? { ussList: o.ussList } : {});
  const first = await app.inject({ method, url, payload: o.body });
  expect(first.statusCode).toBe(401);
  const c = parseChallenge(first.headers["www-authenticate"] as string);
  const a = answerChallenge({
    username: s.btid,
    password: b64(zn.keyFor(s, NAF_FQDN, "0100000002")),
    realm: c.realm,
    nonce: c.nonce,
    method,
    uri: url,
    qop: o.qop ?? "auth",
    nc: 1,
    body: o.body,
  });
  const res = await app.inject({ method, url, payload: o.body, headers: { ...o.headers, authorization: a.header } });
  return { s, c, a, res };
}

describe("authentication proxy", () => {
  it("forwards only authenticated requests, with the asserted identities and the IMPI", async () => {
    const before = seen.length;
    const { s, res } = await authenticated({});
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe("upstream saw GET /api/things?x=1 ");
    expect(seen.length).toBe(before + 1); // the 401 round never reached the upstream
    const h = seen.at(-1)?.headers ?? {};
    expect(h["x-3gpp-asserted-identity"]).toBe('"sip:001010123456789@ims.mnc001.mcc001.3gppnetwork.org", "tel:+15551234567"');
    expect(h["x-gba-impi"]).toBe(s.impi);
    expect(h.authorization).toBeUndefined();
    // RFC 9110 §7.6.1: the upstream's connection-specific fields stay between proxy and upstream
    expect(res.headers["keep-alive"]).toBeUndefined();
  });

  it("never lets client-supplied identity headers reach the upstream", async () => {
    const { s, res } = await authenticated({
      headers: {
        "X-3GPP-Asserted-Identity": '"sip:admin@evil.example"',
        "x-gba-impi": "admin@evil.example",
        "X-GBA-Anything": "forged",
        connection: "x-gba-impi",
      },
    });
    expect(res.statusCode).toBe(200);
    const h = seen.at(-1)?.headers ?? {};
    expect(h["x-3gpp-asserted-identity"]).not.toContain("evil");
    expect(h["x-gba-impi"]).toBe(s.impi);
    expect(h["x-gba-anything"]).toBeUndefined();
    // and an unauthenticated request carrying them is not forwarded at all
    const before = seen.length;
    const unauth = await app.inject({
      method: "GET",
      url: "/api/things",
      headers: { "x-3gpp-asserted-identity": '"sip:admin@evil.example"' },
    });
    expect(unauth.statusCode).toBe(401);
    expect(seen.length).toBe(before);
  });

  it("drops a client-supplied X-3GPP-Asserted-Identity even when the subscriber has no IMPU to assert", async () => {
    const { s, res } = await authenticated({ ussList: [], headers: { "x-3gpp-asserted-identity": '"sip:admin@evil.example"' } });
    expect(res.statusCode).toBe(200);
    const h = seen.at(-1)?.headers ?? {};
    expect(h["x-3gpp-asserted-identity"]).toBeUndefined();
    expect(h["x-gba-impi"]).toBe(s.impi);
  });

  it("asserts only the intended identity when it belongs to the subscriber, 403 otherwise", async () => {
    const ok = await authenticated({ headers: { "x-3gpp-intended-identity": '"tel:+15551234567"' } });
    expect(ok.res.statusCode).toBe(200);
    expect(seen.at(-1)?.headers["x-3gpp-asserted-identity"]).toBe('"tel:+15551234567"');
    const before = seen.length;
    const bad = await authenticated({ headers: { "x-3gpp-intended-identity": '"sip:someone@else.example"' } });
    expect(bad.res.statusCode).toBe(403);
    expect(bad.res.json().cause).toBe("FST_GBA_IDENTITY_NOT_ALLOWED");
    expect(seen.length).toBe(before);
  });

  it("proxies a POST body under qop=auth-int and signs the upstream's answer", async () => {
    const body = "temperature=21";
    const { a, c, res } = await authenticated({
      method: "POST",
      url: "/api/readings",
      body,
      qop: "auth-int",
      headers: { "content-type": "text/plain" },
    });
    expect(res.statusCode).toBe(200);
    expect(seen.at(-1)?.body).toBe(body);
    expect(rspauthOf(res.headers["authentication-info"])).toBe(
      rspauthFor(a, c, { qop: "auth-int", uri: "/api/readings", responseBody: res.body }),
    );
  });
});
