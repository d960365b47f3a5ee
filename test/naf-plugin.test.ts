// The gba-naf plugin against a fake BSF Zn: TS 24.109 §5.2 Digest, nonces, nc replay,
// renegotiation, BSF failure, realms, Authentication-Info. Nonce-counts on the suite's store
// backend: the plugin's in-process counter on LMDB (a single NAF process), the Redis Cluster's
// shared counts and nonce secret in the vitest project "redis" (as NAF replicas keep them).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createZnClient, gbaNaf, installGbaErrorHandler, whoamiRoutes, type ZnClientHandle } from "../nf/naf/index.js";
import { openNonceCounts } from "../nf/naf/store-open.js";
import {
  answerChallenge,
  answerWhoami,
  b64,
  DEFAULT_USS,
  rspauthFor,
  type FakeZn,
  NAF_FQDN,
  OTHER_NAF_FQDN,
  parseChallenge,
  rspauthOf,
  startFakeZn,
  ZN_TOKEN,
} from "./naf-fixtures.js";
import { testStore } from "./helpers/store-backend.js";

const REALM = `3GPP-bootstrapping@${NAF_FQDN}`;
const UICC_REALM = `3GPP-bootstrapping-uicc@${NAF_FQDN}`;

let zn: FakeZn;
let now = Date.now();
const clock = () => now;

beforeAll(async () => {
  zn = await startFakeZn({ allowedFqdns: [NAF_FQDN, OTHER_NAF_FQDN], clock });
});
afterAll(async () => {
  await zn.close();
});

const apps: Array<{ app: FastifyInstance; client: ZnClientHandle }> = [];
afterEach(async () => {
  for (const a of apps.splice(0)) {
    await a.app.close();
    await a.client.close();
  }
});

async function naf(opts: { realms?: "gba-me" | "gba-u" | "both"; digestAlgorithm?: "MD5" | "SHA-256"; bsfUrl?: string } = {}) {
  const client = createZnClient({
    bsfUrl: opts.bsfUrl ?? zn.url,
    token: ZN_TOKEN,
    gbaUAware: opts.realms !== undefined && opts.realms !== "gba-me",
    clock,
    timeoutMs: 500,
  });
  const data = mkdtempSync(join(tmpdir(), "naf-plugin-"));
  const shared = await openNonceCounts({ data, store: testStore(data) }, { ttlSeconds: 60, clock, fqdn: NAF_FQDN });
  const app = Fastify();
  app.addHook("onClose", async () => {
    await shared.counts?.close();
    rmSync(data, { recursive: true, force: true });
  });
  await app.register(async (scope) => {
    installGbaErrorHandler(scope);
    await scope.register(gbaNaf, {
      fqdn: NAF_FQDN,
      zn: client,
      deps: { clock },
      nonceTtl: 60,
      nonceCounts: shared.counts,
      nonceSecret: shared.secret,
      ...opts,
    });
    await scope.register(whoamiRoutes);
    scope.post("/echo", { onRequest: scope.gbaAuthenticate }, async (req) => ({ got: req.body, impi: req.gba?.impi }));
    // called directly (promise mode) rather than as a hook
    scope.get("/direct", async (req, reply) => {
      await scope.gbaAuthenticate.call(scope, req, reply);
      return { impi: req.gba?.impi };
    });
  });
  apps.push({ app, client });
  return app;
}

async function challengeOf(app: FastifyInstance, url = "/whoami") {
  const res = await app.inject({ method: url === "/echo" ? "POST" : "GET", url });
  expect(res.statusCode).toBe(401);
  return parseChallenge(res.headers["www-authenticate"] as string);
}

/** Challenge, a qop=auth answer with nc 1, and GET /whoami with it. */
async function whoami(app: FastifyInstance, username: string, password: string) {
  const c = await challengeOf(app);
  const a = answerWhoami(c, username, password);
  const res = await app.inject({ method: "GET", url: "/whoami", headers: { authorization: a.header } });
  return { c, a, res };
}

describe("challenge (TS 24.109 §5.2.4)", () => {
  it("answers a request without credentials with 401 and a Digest challenge for the NAF FQDN", async () => {
    const app = await naf();
    const res = await app.inject({ method: "GET", url: "/whoami" });
    expect(res.statusCode).toBe(401);
    const www = res.headers["www-authenticate"] as string;
    expect(www).toMatch(/^Digest /);
    const c = parseChallenge(www);
    expect(c.realm).toBe(REALM);
    expect(c.qop).toBe("auth-int,auth");
    expect(c.algorithm).toBe("MD5");
    expect(Buffer.from(c.nonce, "base64")).toHaveLength(36);
    expect(res.json()).toMatchObject({ status: 401, cause: "FST_GBA_NO_CREDENTIALS" });
    const again = await challengeOf(app);
    expect(again.nonce).not.toBe(c.nonce);
  });

  it("offers both realms separated by ';' when the policy says both", async () => {
    const app = await naf({ realms: "both" });
    expect((await challengeOf(app)).realm).toBe(`${UICC_REALM};${REALM}`);
  });

  it("offers SHA-256 when configured (RFC 7616)", async () => {
    const app = await naf({ digestAlgorithm: "SHA-256" });
    expect((await challengeOf(app)).algorithm).toBe("SHA-256");
  });
});

describe("Digest with username = B-TID and password = base64(Ks_NAF)", () => {
  it("authenticates (qop=auth), exposes the identity and signs the response", async () => {
    const app = await naf();
    const s = zn.addSession();
    const key = zn.keyFor(s, NAF_FQDN, "0100000002");
    const { c, a, res } = await whoami(app, s.btid, b64(key));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      btid: s.btid,
      impi: s.impi,
      impus: ["sip:001010123456789@ims.mnc001.mcc001.3gppnetwork.org", "tel:+15551234567"],
      msisdn: "15551234567",
      nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "0100000002" },
      method: "digest",
      keyKind: "ks-naf",
    });
    const info = res.headers["authentication-info"] as string;
    expect(info).toContain("qop=auth,");
    expect(info).toContain(`nc=${a.nc}`);
    expect(info).toContain(`cnonce="${a.cnonce}"`);
    const rsp = rspauthOf(info);
    expect(rsp).toBe(rspauthFor(a, c, { qop: "auth", uri: "/whoami" }));
    expect(zn.requests.at(-1)).toMatchObject({
      btId: s.btid,
      nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "0100000002" },
      auth: `Bearer ${ZN_TOKEN}`,
    });
  });

  it("works when awaited directly instead of as a hook", async () => {
    const app = await naf();
    const s = zn.addSession();
    const first = await app.inject({ method: "GET", url: "/direct" });
    expect(first.statusCode).toBe(401);
    const c = parseChallenge(first.headers["www-authenticate"] as string);
    const a = answerChallenge({
      username: s.btid,
      password: b64(zn.keyFor(s, NAF_FQDN, "0100000002")),
      realm: c.realm,
      nonce: c.nonce,
      method: "GET",
      uri: "/direct",
      qop: "auth",
      nc: 1,
    });
    const ok = await app.inject({ method: "GET", url: "/direct", headers: { authorization: a.header } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ impi: s.impi });
  });

  it("checks auth-int over the request body and signs the response body", async () => {
    const app = await naf();
    const s = zn.addSession();
    const key = zn.keyFor(s, NAF_FQDN, "0100000002");
    const c = await challengeOf(app, "/echo");
    const body = JSON.stringify({ hello: "gba" });
    const a = answerChallenge({
      username: s.btid,
      password: b64(key),
      realm: c.realm,
      nonce: c.nonce,
      method: "POST",
      uri: "/echo",
      qop: "auth-int",
      nc: 1,
      body,
    });
    const res = await app.inject({
      method: "POST",
      url: "/echo",
      payload: body,
      headers: { authorization: a.header, "content-type": "application/json" },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ got: { hello: "gba" }, impi: s.impi });
    expect(rspauthOf(res.headers["authentication-info"])).toBe(
      rspauthFor(a, c, { qop: "auth-int", uri: "/echo", responseBody: res.body }),
    );

    // the same credentials over a different body are refused
    const c2 = await challengeOf(app, "/echo");
    const a2 = answerChallenge({
      username: s.btid,
      password: b64(key),
      realm: c2.realm,
      nonce: c2.nonce,
      method: "POST",
      uri: "/echo",
      qop: "auth-int",
      nc: 1,
      body,
    });
    const tampered = await app.inject({
      method: "POST",
      url: "/echo",
      payload: JSON.stringify({ hello: "evil" }),
      headers: { authorization: a2.header, "content-type": "application/json" },
    });
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json().cause).toBe("FST_GBA_BAD_DIGEST");
  });

  it("refuses a wrong key with a fresh challenge", async () => {
    const app = await naf();
    const s = zn.addSession();
    const { res } = await whoami(app, s.btid, b64(new Uint8Array(32).fill(9)));
    expect(res.statusCode).toBe(401);
    expect(res.json().cause).toBe("FST_GBA_BAD_DIGEST");
    expect(parseChallenge(res.headers["www-authenticate"] as string).realm).toBe(REALM);
    expect(res.headers["authentication-info"]).toBeUndefined();
  });

  it("refuses a key derived for another NAF (its NAF_Id), and a realm naming another NAF", async () => {
    const app = await naf();
    const s = zn.addSession();
    const otherKey = zn.keyFor(s, OTHER_NAF_FQDN, "0100000002");
    const { res } = await whoami(app, s.btid, b64(otherKey));
    expect(res.statusCode).toBe(401);
    expect(res.json().cause).toBe("FST_GBA_BAD_DIGEST");
    // the other NAF's realm: refused before any Zn lookup for it
    const c2 = await challengeOf(app);
    const b = answerWhoami({ realm: `3GPP-bootstrapping@${OTHER_NAF_FQDN}`, nonce: c2.nonce }, s.btid, b64(otherKey));
    const res2 = await app.inject({ method: "GET", url: "/whoami", headers: { authorization: b.header } });
    expect(res2.statusCode).toBe(401);
    expect(res2.json().cause).toBe("FST_GBA_REALM_MISMATCH");
    expect(zn.requests.some((r) => r.btId === s.btid && r.nafId.nafFqdn === OTHER_NAF_FQDN)).toBe(false);
  });

  it("refuses a replayed nonce-count and accepts a higher one", async () => {
    const app = await naf();
    const s = zn.addSession();
    const key = b64(zn.keyFor(s, NAF_FQDN, "0100000002"));
    const c = await challengeOf(app);
    const send = (nc: number) => {
      const a = answerWhoami(c, s.btid, key, nc);
      return app.inject({ method: "GET", url: "/whoami", headers: { authorization: a.header } });
    };
    expect((await send(1)).statusCode).toBe(200);
    const replay = await send(1);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().cause).toBe("FST_GBA_NC_REPLAY");
    expect(replay.json().detail).toContain("00000001");
    expect((await send(2)).statusCode).toBe(200);
    expect((await send(5)).statusCode).toBe(200);
    expect((await send(3)).json().cause).toBe("FST_GBA_NC_REPLAY");
  });

  it("answers an unknown or expired B-TID with a new bootstrapping challenge (TS 24.109 §5.2.5)", async () => {
    const app = await naf();
    const s = zn.addSession({ expiresAt: now + 1000 });
    const key = b64(zn.keyFor(s, NAF_FQDN, "0100000002"));
    for (const username of ["AAAAAAAAAAAAAAAAAAAAAA==@bsf.mnc001.mcc001.pub.3gppnetwork.org", s.btid]) {
      if (username === s.btid) now += 2000; // expired at the BSF
      const c = await challengeOf(app);
      const a = answerWhoami(c, username, key);
      const res = await app.inject({ method: "GET", url: "/whoami", headers: { authorization: a.header } });
      expect(res.statusCode).toBe(401);
      expect(res.json().cause).toBe("FST_GBA_BTID_UNKNOWN");
      expect(parseChallenge(res.headers["www-authenticate"] as string).realm).toBe(REALM);
    }
  });

  it("refuses a username that is not a B-TID without asking the BSF", async () => {
    const app = await naf();
    const before = zn.requests.length;
    const { res } = await whoami(app, "alice", "x");
    expect(res.statusCode).toBe(401);
    expect(res.json().cause).toBe("FST_GBA_BAD_BTID");
    expect(zn.requests.length).toBe(before);
  });

  it("marks an expired nonce stale and refuses a forged one", async () => {
    const app = await naf();
    const s = zn.addSession();
    const key = b64(zn.keyFor(s, NAF_FQDN, "0100000002"));
    const c = await challengeOf(app);
    now += 61_000;
    const a = answerWhoami(c, s.btid, key);
    const stale = await app.inject({ method: "GET", url: "/whoami", headers: { authorization: a.header } });
    expect(stale.statusCode).toBe(401);
    expect(stale.json().cause).toBe("FST_GBA_STALE_NONCE");
    expect(parseChallenge(stale.headers["www-authenticate"] as string).stale).toBe("true");
    const forged = Buffer.from(c.nonce, "base64");
    forged[30] ^= 1;
    const f = answerWhoami({ realm: c.realm, nonce: forged.toString("base64") }, s.btid, key);
    const bad = await app.inject({ method: "GET", url: "/whoami", headers: { authorization: f.header } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().cause).toBe("FST_GBA_BAD_NONCE");
  });

  it("refuses a uri other than the request target, a missing qop and a malformed header with 400", async () => {
    const app = await naf();
    const s = zn.addSession();
    const key = b64(zn.keyFor(s, NAF_FQDN, "0100000002"));
    const c = await challengeOf(app);
    const a = answerChallenge({
      username: s.btid,
      password: key,
      realm: c.realm,
      nonce: c.nonce,
      method: "GET",
      uri: "/other",
      qop: "auth",
      nc: 1,
    });
    const res = await app.inject({ method: "GET", url: "/whoami", headers: { authorization: a.header } });
    expect(res.statusCode).toBe(400);
    expect(res.json().cause).toBe("FST_GBA_URI_MISMATCH");
    const noQop = await app.inject({
      method: "GET",
      url: "/whoami",
      headers: {
        authorization: `Digest username="${s.btid}", realm="${REALM}", nonce="${c.nonce}", uri="/whoami", response="00"`,
      },
    });
    expect(noQop.statusCode).toBe(400);
    expect(noQop.json().cause).toBe("FST_GBA_UNSUPPORTED_DIGEST");
    const broken = await app.inject({
      method: "GET",
      url: "/whoami",
      headers: { authorization: 'Digest username="unterminated' },
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().cause).toBe("FST_GBA_BAD_AUTHORIZATION");
    const basic = await app.inject({ method: "GET", url: "/whoami", headers: { authorization: "Basic YTpi" } });
    expect(basic.statusCode).toBe(401);
    expect(basic.headers["www-authenticate"]).toMatch(/^Digest /);
  });

  it("caches the Zn answer per (B-TID, NAF_Id) until the key expires", async () => {
    const app = await naf();
    const s = zn.addSession({ expiresAt: now + 30_000 });
    const key = b64(zn.keyFor(s, NAF_FQDN, "0100000002"));
    const count = () => zn.requests.filter((r) => r.btId === s.btid).length;
    const once = async () => {
      const c = await challengeOf(app);
      const a = answerWhoami(c, s.btid, key);
      return app.inject({ method: "GET", url: "/whoami", headers: { authorization: a.header } });
    };
    const [r1, r2] = await Promise.all([once(), once()]);
    expect([r1.statusCode, r2.statusCode]).toEqual([200, 200]);
    expect((await once()).statusCode).toBe(200);
    expect(count()).toBe(1);
    now += 31_000; // key expired: asked again, and the BSF now says 404
    expect((await once()).json().cause).toBe("FST_GBA_BTID_UNKNOWN");
    expect(count()).toBe(2);
  });

  /** GET /whoami answered in `realm` with the key of `kind` for session `s`. */
  async function withKey(app: FastifyInstance, s: ReturnType<FakeZn["addSession"]>, realm: string, kind: "me" | "uicc") {
    const c = await challengeOf(app);
    const key = b64(zn.keyFor(s, NAF_FQDN, "0100000002", kind));
    const a = answerChallenge({
      username: s.btid,
      password: key,
      realm,
      nonce: c.nonce,
      method: "GET",
      uri: "/whoami",
      qop: "auth",
      nc: 1,
    });
    return app.inject({ method: "GET", url: "/whoami", headers: { authorization: a.header } });
  }

  const ussWith = (keyChoice: string) => [{ uss: { ...DEFAULT_USS[0].uss, keyChoice } }];

  it("uses Ks_int_NAF for the -uicc realm and Ks_ext_NAF for the ME realm (GBA_U, keyChoice ME_UICC_BASED_KEYS)", async () => {
    const app = await naf({ realms: "both" });
    const s = zn.addSession({ gbaU: true, ussList: ussWith("ME_UICC_BASED_KEYS") });
    for (const [realm, kind, keyKind] of [
      [UICC_REALM, "uicc", "ks-int-naf"],
      [REALM, "me", "ks-ext-naf"],
    ] as const) {
      const res = await withKey(app, s, realm, kind);
      expect(res.statusCode).toBe(200);
      expect(res.json().keyKind).toBe(keyKind);
    }
    expect(zn.requests.at(-1)?.gbaUAware).toBe(true);
  });

  it("honours the USS keyChoice whatever realms it offers (TS 33.220 §4.4.6, TS 29.309 KeyChoice)", async () => {
    const app = await naf({ realms: "both" });
    const uiccOnly = zn.addSession({ gbaU: true, ussList: ussWith("UICC_BASED_KEY") });
    expect((await withKey(app, uiccOnly, UICC_REALM, "uicc")).statusCode).toBe(200);
    const me = await withKey(app, uiccOnly, REALM, "me");
    expect(me.statusCode).toBe(403);
    expect(me.json()).toMatchObject({ cause: "FST_GBA_KEY_CHOICE", detail: expect.stringContaining("UICC_BASED_KEY") });
    const meOnly = zn.addSession({ gbaU: true, ussList: ussWith("ME_BASED_KEY") });
    expect((await withKey(app, meOnly, REALM, "me")).statusCode).toBe(200);
    expect((await withKey(app, meOnly, UICC_REALM, "uicc")).json()).toMatchObject({ cause: "FST_GBA_KEY_CHOICE" });
    // a value the extensible enumeration may grow is not ours to judge
    const future = zn.addSession({ gbaU: true, ussList: ussWith("SOME_FUTURE_CHOICE") });
    expect((await withKey(app, future, REALM, "me")).statusCode).toBe(200);
  });

  it("authenticates with SHA-256", async () => {
    const app = await naf({ digestAlgorithm: "SHA-256" });
    const s = zn.addSession();
    const c = await challengeOf(app);
    const a = answerChallenge({
      username: s.btid,
      password: b64(zn.keyFor(s, NAF_FQDN, "0100000002")),
      realm: c.realm,
      nonce: c.nonce,
      method: "GET",
      uri: "/whoami",
      qop: "auth",
      nc: 1,
      algorithm: "SHA-256",
    });
    const res = await app.inject({ method: "GET", url: "/whoami", headers: { authorization: a.header } });
    expect(res.statusCode).toBe(200);
  });

  it("answers 503 with Retry-After when the BSF is down", async () => {
    const app = await naf({ bsfUrl: "http://127.0.0.1:1" });
    const s = zn.addSession();
    const { res } = await whoami(app, s.btid, "x");
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.json()).toMatchObject({ status: 503, cause: "FST_GBA_BSF_UNAVAILABLE" });
    expect(res.json().detail).toContain("127.0.0.1:1");
  });
});
