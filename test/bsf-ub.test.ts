// Ub end to end over real HTTP (TS 24.109 §4, Annex A and C; RFC 3310, RFC 4169): a minimal UE
// bootstraps against the BSF, which asks the HSS over Zh. rspauth, the body and the headers are
// checked with computations written here (node:crypto), not with gba/digest.
import { createHash, createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { parseDigestChallenge } from "../gba/digest/index.js";
import { type Stack, startStack, testSubscriber } from "./helpers/bsf-stack.js";
import { MiniUe, ubGet } from "./helpers/mini-ue.js";

const md5 = (s: string | Buffer) => createHash("md5").update(s).digest("hex");
const md5Bytes = (...parts: (string | Uint8Array)[]) => {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

/** RFC 2617 §3.2.3 with qop=auth-int, computed here independently of gba/digest. */
function expectedRspauth(o: {
  username: string;
  realm: string;
  password: Uint8Array | string;
  nonce: string;
  nc: string;
  cnonce: string;
  uri: string;
  body: string;
}): string {
  const ha1 = md5Bytes(`${o.username}:${o.realm}:`, o.password);
  const ha2 = md5(`:${o.uri}:${md5(Buffer.from(o.body, "utf8"))}`);
  return md5(`${ha1}:${o.nonce}:${o.nc}:${o.cnonce}:auth-int:${ha2}`);
}

function authInfoParams(h: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of h.matchAll(/([a-z]+)=("([^"]*)"|[^,\s]+)/g)) out[m[1]] = m[3] ?? m[2];
  return out;
}

/** the one 403 body of a wrong password, an unknown IMPI and a rejected AUTS */
const REJECTED = { title: "Forbidden", status: 403, detail: "authentication failed", cause: "AUTHENTICATION_REJECTED" };

const ANNEX_C_BODY = (btid: string, lifetime: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<BootstrappingInfo xmlns="uri:3gpp-gba">\n<btid>${btid}</btid>\n<lifetime>${lifetime}</lifetime>\n</BootstrappingInfo>\n`;

describe("Ub with AKAv1-MD5", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  const newUe = async (extra = {}) => {
    const sub = testSubscriber(extra);
    await s.provision(sub);
    return { sub, ue: new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc, gbaU: sub.uiccType === "GBA_U" }) };
  };

  /** a provisioned UE and the challenge to its first request */
  const challenged = async () => {
    const { ue } = await newUe();
    const first = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    return { ue, ch: parseDigestChallenge(first.headers["www-authenticate"])[0] };
  };

  it("challenges the first request exactly as TS 24.109 A.3 and RFC 3310 describe", async () => {
    const { ue } = await newUe();
    const r = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    expect(r.status).toBe(401);
    expect(r.headers.server).toBe("gba-emu BSF; Release-6; 3gpp-gba-tmpi");
    const fqdn = s.cfg.bsf.fqdn.replace(/\./g, "\\.");
    expect(r.headers["www-authenticate"]).toMatch(
      new RegExp(
        `^Digest realm="${fqdn}", nonce="[A-Za-z0-9+/]{43}=", algorithm=AKAv1-MD5, qop="auth-int", opaque="[0-9a-f]{32}"$`,
      ),
    );
  });

  it("bootstraps: 200 with the Annex C body, Expires, and an rspauth that verifies independently", async () => {
    const { sub, ue } = await newUe();
    const r = await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn);
    const res = r.response;
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/vnd.3gpp.bsf+xml");
    expect(res.headers.server).toBe("gba-emu BSF; Release-6; 3gpp-gba-tmpi");

    // B-TID = base64(RAND) "@" BSF FQDN (TS 33.220 §4.5.2), RAND taken from the nonce
    const nonceBytes = Buffer.from(r.nonce, "base64");
    expect(nonceBytes).toHaveLength(32);
    const btid = `${nonceBytes.subarray(0, 16).toString("base64")}@${s.cfg.bsf.fqdn}`;
    // lifetime = BSF clock (whole seconds) + sessionLifetime, UTC with Z (TS 24.109 C.1)
    const expiry = new Date(Math.floor(s.clock.now / 1000) * 1000 + s.cfg.bsf.sessionLifetime * 1000);
    const lifetime = `${expiry.toISOString().slice(0, 19)}Z`;
    expect(res.body).toBe(ANNEX_C_BODY(btid, lifetime));
    expect(r.btid).toBe(btid);
    expect(res.headers.expires).toBe(expiry.toUTCString());

    const info = authInfoParams(res.headers["authentication-info"]);
    expect(info.qop).toBe("auth-int");
    expect(info.cnonce).toBe(r.cnonce);
    expect(info.nc).toBe(r.nc);
    // password = RES as raw octets (RFC 3310 §3.2); RES from Milenage f2 computed here
    const resHere = new Milenage(sub.k, sub.opc).f2345(nonceBytes.subarray(0, 16)).res;
    const want = expectedRspauth({
      username: sub.impi,
      realm: s.cfg.bsf.fqdn,
      password: resHere,
      nonce: r.nonce,
      nc: r.nc,
      cnonce: r.cnonce,
      uri: "/",
      body: res.body,
    });
    expect(info.rspauth).toBe(want);
    // and it would not verify over a different body
    expect(
      expectedRspauth({
        username: sub.impi,
        realm: s.cfg.bsf.fqdn,
        password: resHere,
        nonce: r.nonce,
        nc: r.nc,
        cnonce: r.cnonce,
        uri: "/",
        body: "",
      }),
    ).not.toBe(info.rspauth);
  });

  it("resynchronises after the USIM's SQN was moved ahead (TS 24.109 A.4)", async () => {
    const { ue } = await newUe();
    // every IND slot ahead of what the HSS will send next (TS 33.102 Annex C.2.2)
    ue.sqnArray = { indBits: 5, seq: new Array(32).fill(100_000) };
    const r = await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn);
    expect(r.challenges).toBe(2);
    expect(r.response.status).toBe(200);
  });

  it("refuses a forged AUTS with 403", async () => {
    const { ue, ch } = await challenged();
    const forged = ue.answerAuthorization(ch, new Uint8Array(0), { auts: new Uint8Array(14).fill(0x5a) });
    const r = await ubGet(s.bsf.urls.ub, forged.header);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).cause).toBe("AUTHENTICATION_REJECTED");
  });

  it("answers a wrong RES with 403 and spends the nonce", async () => {
    const { ue, ch } = await challenged();
    const wrong = await ubGet(s.bsf.urls.ub, ue.answerAuthorization(ch, new Uint8Array(8).fill(1)).header);
    expect(wrong.status).toBe(403);
    expect(JSON.parse(wrong.body)).toEqual(REJECTED);
    // the right RES on the same nonce no longer works
    const rand = Buffer.from(ch.nonce, "base64").subarray(0, 16);
    const aka = ue.authenticate(rand, Buffer.from(ch.nonce, "base64").subarray(16, 32));
    if (aka.kind !== "ok") throw new Error("USIM refused");
    const late = await ubGet(s.bsf.urls.ub, ue.answerAuthorization(ch, aka.res).header);
    expect(late.status).toBe(403);
    expect(JSON.parse(late.body).cause).toBe("NONCE_ALREADY_USED");
  });

  it("refuses a replayed answer and keeps the B-TID of the first run", async () => {
    const { ue, ch } = await challenged();
    const nonce = Buffer.from(ch.nonce, "base64");
    const aka = ue.authenticate(nonce.subarray(0, 16), nonce.subarray(16, 32));
    if (aka.kind !== "ok") throw new Error("USIM refused");
    const answer = ue.answerAuthorization(ch, aka.res).header;
    const ok = await ubGet(s.bsf.urls.ub, answer);
    expect(ok.status).toBe(200);
    const replay = await ubGet(s.bsf.urls.ub, answer);
    expect(replay.status).toBe(403);
    expect(JSON.parse(replay.body).cause).toBe("NONCE_ALREADY_USED");
    expect(replay.headers["authentication-info"]).toBeUndefined();
  });

  it("answers an expired nonce with a right digest by 401 stale=true and a fresh challenge", async () => {
    const { ue, ch } = await challenged();
    const nonce = Buffer.from(ch.nonce, "base64");
    const aka = ue.authenticate(nonce.subarray(0, 16), nonce.subarray(16, 32));
    if (aka.kind !== "ok") throw new Error("USIM refused");
    s.clock.now += (s.cfg.bsf.nonceTtl + 1) * 1000;
    const stale = await ubGet(s.bsf.urls.ub, ue.answerAuthorization(ch, aka.res).header);
    expect(stale.status).toBe(401);
    const fresh = parseDigestChallenge(stale.headers["www-authenticate"])[0];
    expect(fresh.stale).toBe(true);
    expect(fresh.nonce).not.toBe(ch.nonce);
    // the fresh challenge works
    const n2 = Buffer.from(fresh.nonce, "base64");
    const aka2 = ue.authenticate(n2.subarray(0, 16), n2.subarray(16, 32));
    if (aka2.kind !== "ok") throw new Error("USIM refused");
    expect((await ubGet(s.bsf.urls.ub, ue.answerAuthorization(fresh, aka2.res).header)).status).toBe(200);
  });

  it("answers an expired nonce with a wrong digest by 403, not stale", async () => {
    const { ue, ch } = await challenged();
    s.clock.now += (s.cfg.bsf.nonceTtl + 1) * 1000;
    const r = await ubGet(s.bsf.urls.ub, ue.answerAuthorization(ch, new Uint8Array(8)).header);
    expect(r.status).toBe(403);
  });

  it("answers a nonce it never issued with a fresh challenge (stale absent)", async () => {
    const { ue, ch } = await challenged();
    const bogus = { ...ch, nonce: Buffer.alloc(32, 7).toString("base64") };
    const r = await ubGet(s.bsf.urls.ub, ue.answerAuthorization(bogus, new Uint8Array(8)).header);
    expect(r.status).toBe(401);
    const again = parseDigestChallenge(r.headers["www-authenticate"])[0];
    expect(again.stale).toBe(false);
    expect(again.nonce).not.toBe(bogus.nonce);
  });

  it("challenges an unknown IMPI like a known one and refuses every answer with the wrong-password 403", async () => {
    const { ue: known } = await newUe();
    const stranger = new MiniUe({
      impi: "999990000000000@ims.mnc999.mcc999.3gppnetwork.org",
      k: new Uint8Array(16),
      opc: new Uint8Array(16),
    });
    const shape = (h: string) => h.replace(/nonce="[^"]*"/, "nonce").replace(/opaque="[^"]*"/, "opaque");
    const mine = await ubGet(s.bsf.urls.ub, known.initialAuthorization(s.cfg.bsf.fqdn));
    const theirs = await ubGet(s.bsf.urls.ub, stranger.initialAuthorization(s.cfg.bsf.fqdn));
    // the first answer does not tell whether the subscriber exists
    expect(theirs.status).toBe(401);
    expect(shape(theirs.headers["www-authenticate"])).toBe(shape(mine.headers["www-authenticate"]));
    expect(theirs.body).toBe(mine.body);
    const ch = parseDigestChallenge(theirs.headers["www-authenticate"])[0];
    expect(Buffer.from(ch.nonce, "base64")).toHaveLength(32);
    const answer = await ubGet(s.bsf.urls.ub, stranger.answerAuthorization(ch, new Uint8Array(8)).header);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual(REJECTED);
    // nor does a resynchronisation on a fresh decoy
    const again = parseDigestChallenge(
      (await ubGet(s.bsf.urls.ub, stranger.initialAuthorization(s.cfg.bsf.fqdn))).headers["www-authenticate"],
    )[0];
    const resync = await ubGet(
      s.bsf.urls.ub,
      stranger.answerAuthorization(again, new Uint8Array(0), { auts: new Uint8Array(14).fill(1) }).header,
    );
    expect(resync.status).toBe(403);
    expect(JSON.parse(resync.body)).toEqual(REJECTED);
  });

  describe("clear 4xx for bad requests", () => {
    let ue: MiniUe;
    let ch: ReturnType<typeof parseDigestChallenge>[0];
    beforeAll(async () => {
      ue = (await newUe()).ue;
      const first = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
      ch = parseDigestChallenge(first.headers["www-authenticate"])[0];
    });
    const expect400 = async (authorization: string | undefined, cause: string, mention: RegExp) => {
      const r = await ubGet(s.bsf.urls.ub, authorization);
      expect(r.status).toBe(400);
      const p = JSON.parse(r.body);
      expect(p.cause).toBe(cause);
      expect(p.detail).toMatch(mention);
    };
    it("wrong realm", () =>
      expect400(ue.answerAuthorization(ch, new Uint8Array(8), { realm: "evil.example" }).header, "REALM_MISMATCH", /realm/));
    it("wrong uri", () =>
      expect400(ue.answerAuthorization(ch, new Uint8Array(8), { uri: "/other" }).header, "URI_MISMATCH", /uri/));
    it("qop=auth", () =>
      expect400(
        ue.answerAuthorization(ch, new Uint8Array(8)).header.replace("qop=auth-int", "qop=auth"),
        "UNSUPPORTED_DIGEST_PARAMETER",
        /qop/,
      ));
    it("MD5 instead of AKA", () =>
      expect400(
        ue.answerAuthorization(ch, new Uint8Array(8)).header.replace("algorithm=AKAv1-MD5", "algorithm=MD5"),
        "UNSUPPORTED_DIGEST_PARAMETER",
        /algorithm/,
      ));
    it("no Authorization", () => expect400(undefined, "MALFORMED_AUTHORIZATION", /Authorization/));
    it("Basic scheme", () => expect400("Basic Zm9vOmJhcg==", "MALFORMED_AUTHORIZATION", /Digest/));
    it("unbalanced quote", () => expect400('Digest username="abc, realm=x', "MALFORMED_AUTHORIZATION", /quote/));
    it("missing uri", () => expect400('Digest username="a", realm="r", nonce="", response=""', "MALFORMED_AUTHORIZATION", /uri/));
    it("auts of the wrong length", () =>
      expect400(
        ue.answerAuthorization(ch, new Uint8Array(0), { auts: new Uint8Array(10) }).header,
        "MALFORMED_AUTHORIZATION",
        /auts/,
      ));
    it("nonce that is not base64(RAND‖AUTN)", () =>
      expect400(ue.answerAuthorization({ ...ch, nonce: "abc" }, new Uint8Array(8)).header, "MALFORMED_AUTHORIZATION", /nonce/));
    it("a body on GET", async () => {
      const { request } = await import("undici");
      const r = await request(s.bsf.urls.ub, {
        method: "GET",
        headers: { authorization: ue.initialAuthorization(s.cfg.bsf.fqdn), "content-type": "text/plain" },
        body: "x",
      });
      expect(r.statusCode).toBe(400);
      expect((await r.body.json()) as object).toMatchObject({ cause: "UNEXPECTED_BODY" });
    });
    it("POST is 405 with Allow: GET", async () => {
      const { request } = await import("undici");
      const r = await request(s.bsf.urls.ub, {
        method: "POST",
        headers: { authorization: ue.initialAuthorization(s.cfg.bsf.fqdn) },
      });
      expect(r.statusCode).toBe(405);
      expect(r.headers.allow).toBe("GET");
      await r.body.dump();
    });
  });
});

describe("Ub with AKAv2-MD5 (RFC 4169)", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack((cfg) => {
      cfg.bsf.algorithm = "AKAv2-MD5";
    });
  });
  afterAll(() => s.close());

  it("bootstraps with password base64(HMAC-MD5(RES‖IK‖CK, label)) and rspauth verifies", async () => {
    const sub = testSubscriber();
    await s.provision(sub);
    const ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
    const r = await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn);
    expect(r.algorithm).toBe("AKAv2-MD5");
    const rand = Buffer.from(r.nonce, "base64").subarray(0, 16);
    const v = new Milenage(sub.k, sub.opc).f2345(rand);
    const password = createHmac("md5", Buffer.concat([v.res, v.ik, v.ck]))
      .update("http-digest-akav2-password")
      .digest("base64");
    const info = authInfoParams(r.response.headers["authentication-info"]);
    const want = expectedRspauth({
      username: sub.impi,
      realm: s.cfg.bsf.fqdn,
      password,
      nonce: r.nonce,
      nc: r.nc,
      cnonce: r.cnonce,
      uri: "/",
      body: r.response.body,
    });
    expect(info.rspauth).toBe(want);
    // an AKAv1 password does not pass an AKAv2 challenge
    const first = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    const ch = parseDigestChallenge(first.headers["www-authenticate"])[0];
    expect(ch.algorithm).toBe("AKAv2-MD5");
    const n = Buffer.from(ch.nonce, "base64");
    const aka = ue.authenticate(n.subarray(0, 16), n.subarray(16, 32));
    if (aka.kind !== "ok") throw new Error("USIM refused");
    expect((await ubGet(s.bsf.urls.ub, ue.answerAuthorization(ch, aka.res).header)).status).toBe(403);
  });
});

describe("Ub for a GBA_U subscriber (TS 33.220 §5.3.2, AUTN*)", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  it("sends AUTN* = SQN⊕AK ‖ AMF ‖ MAC ⊕ first8(SHA-1(IK)), which a plain 3G check refuses", async () => {
    const sub = testSubscriber({ uiccType: "GBA_U" });
    await s.provision(sub);
    const r = await ubGet(
      s.bsf.urls.ub,
      new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc }).initialAuthorization(s.cfg.bsf.fqdn),
    );
    const ch = parseDigestChallenge(r.headers["www-authenticate"])[0];
    const n = Buffer.from(ch.nonce, "base64");
    const rand = n.subarray(0, 16);
    const autnStar = n.subarray(16, 32);
    const m = new Milenage(sub.k, sub.opc);
    const { ak, ik } = m.f2345(rand);
    const sqn = Buffer.from(autnStar.subarray(0, 6).map((b, i) => b ^ ak[i]));
    const amf = autnStar.subarray(6, 8);
    const mac = m.f1(rand, sqn, amf);
    const mask = createHash("sha1").update(ik).digest().subarray(0, 8);
    expect(bytesToHex(autnStar.subarray(8))).toBe(bytesToHex(mac.map((b, i) => b ^ mask[i])));
    // an ME running plain 3G AKA on AUTN* gets a MAC failure
    const plain = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
    expect(plain.authenticate(rand, autnStar).kind).toBe("mac");
    // a GBA_U UICC completes the bootstrap
    const uicc = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc, gbaU: true });
    expect((await uicc.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn)).response.status).toBe(200);
  });

  it("with gbaU.autnStar off, sends the plain AUTN", async () => {
    const off = await startStack((cfg) => {
      cfg.gbaU.autnStar = false;
    });
    try {
      const sub = testSubscriber({ uiccType: "GBA_U" });
      await off.provision(sub);
      const ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
      expect((await ue.bootstrap(off.bsf.urls.ub, off.cfg.bsf.fqdn)).response.status).toBe(200);
    } finally {
      await off.close();
    }
  });
});
