// The Ub client's step machine (ue/ub/run.ts), without a network: the gba-digest.md §3.3 Ub
// example (test/vectors/gba-digest.json, cross-checked by three codings) end to end, then every
// answer a BSF can give (TS 24.109 A.3/A.4, RFC 3310 §3.3-§3.5), the resynchronisation and MAC
// failure paths, AKAv2 (RFC 4169) and the deviations a conformance run makes on purpose. Expected
// Digest values are computed here with node:crypto MD5 straight from RFC 2617 §3.2.2, not with
// gba/digest.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatAuthenticationInfo, parseDigestCredentials } from "../gba/digest/index.js";
import { hexToBytes } from "../wire/bytes.js";
import { type HttpAnswer, type UbRequest, UbRun, type UbStep, ubHeaders } from "../ue/ub/run.js";

const V = JSON.parse(readFileSync(new URL("./vectors/gba-digest.json", import.meta.url), "utf8"));
const UB = (V.vectors as Array<Record<string, string>>).find((v) => v.name.startsWith("Ub AKAv1-MD5")) as Record<string, string>;
const AKAV2 = V.akav2_password as Record<string, string>;

const BASE = { username: UB.username, realm: UB.realm, nonce: UB.nonce };
const RES = hexToBytes(UB.password_hex);
const CK = hexToBytes(AKAV2.ck);
const IK = hexToBytes(AKAV2.ik);
const EMPTY = new Uint8Array(0);
const utf8 = (s: string) => new TextEncoder().encode(s);
const md5 = (...parts: Array<string | Uint8Array>) => {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

/** RFC 2617 §3.2.2.1 request-digest (qop auth-int over an empty GET body, or no qop) and §3.2.3 rspauth. */
function digest(o: {
  username: string;
  realm: string;
  password: Uint8Array | string;
  nonce: string;
  uri?: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  method?: string;
  body?: Uint8Array;
}): string {
  const ha1 = md5(`${o.username}:${o.realm}:`, o.password);
  const uri = o.uri ?? "/";
  const ha2 =
    o.qop === undefined ? md5(`${o.method ?? "GET"}:${uri}`) : md5(`${o.method ?? "GET"}:${uri}:${md5(o.body ?? EMPTY)}`);
  return o.qop === undefined ? md5(`${ha1}:${o.nonce}:${ha2}`) : md5(`${ha1}:${o.nonce}:${o.nc}:${o.cnonce}:${o.qop}:${ha2}`);
}

/** Bytes 0, 1, 2 ... : the cnonce of the first answer is 000102...0f. */
function counter() {
  let next = 0;
  return (n: number) => Uint8Array.from({ length: n }, () => next++ & 0xff);
}

const newRun = () => new UbRun({ impi: UB.username, realm: UB.realm, userAgent: "test UE; Release-6", randomBytes: counter() });
const answer = (status: number, headers: Record<string, string> = {}, body: Uint8Array | string = EMPTY): HttpAnswer => ({
  status,
  headers,
  body: typeof body === "string" ? utf8(body) : body,
});
const challenge = (www = UB.challenge) => answer(401, { "www-authenticate": www });
const credentials = (r: UbRequest) => parseDigestCredentials(ubHeaders(r).authorization);

function sent(step: UbStep): UbRequest {
  if (step.kind !== "send") throw new Error(`expected a request, got ${step.kind}: ${JSON.stringify(step)}`);
  return step.request;
}

/** A run that has sent its first request and got the vector's challenge. */
function challenged(run = newRun()): UbRun {
  run.first();
  expect(run.next(challenge())).toMatchObject({ kind: "aka" });
  return run;
}

/** The BSF's 200 for the vector's answer (cnonce 0a4f113b): the exact body and its rspauth. */
const OK_200 = answer(
  200,
  {
    "content-type": "application/vnd.3gpp.bsf+xml",
    "authentication-info": formatAuthenticationInfo({ qop: "auth-int", rspauth: UB.rspauth, cnonce: UB.cnonce, nc: UB.nc }),
  },
  UB.response_body,
);

describe("the Ub run against the gba-digest.md §3.3 example", () => {
  it("sends TS 24.109 A.3's first request, answers with RES (A.4) and takes the 200 whose rspauth verifies", () => {
    const run = newRun();
    const first = run.first();
    expect(ubHeaders(first)).toEqual({
      authorization: `Digest username="${UB.username}", realm="${UB.realm}", nonce="", uri="/", response=""`,
      "user-agent": "test UE; Release-6",
    });
    const aka = run.next(challenge());
    if (aka.kind !== "aka") throw new Error(aka.kind);
    expect(aka.challenge).toMatchObject({ rand: hexToBytes(UB.nonce_rand), autn: hexToBytes(UB.nonce_autn), realm: UB.realm });
    const r = sent(run.aka({ kind: "success", res: RES, ck: CK, ik: IK }, { cnonce: UB.cnonce }));
    expect(credentials(r)).toMatchObject({
      username: UB.username,
      realm: UB.realm,
      nonce: UB.nonce,
      uri: "/",
      qop: "auth-int",
      nc: "00000001",
      cnonce: UB.cnonce,
      algorithm: "AKAv1-MD5",
      response: UB.response,
    });
    const done = run.next(OK_200);
    if (done.kind !== "done") throw new Error(`${done.kind}: ${JSON.stringify(done)}`);
    expect(done.result).toMatchObject({ btid: UB.response_body_btid, realm: UB.realm, algorithm: "AKAv1-MD5", resyncs: 0 });
    expect(done.result.lifetime.toISOString()).toBe("2030-01-01T00:00:00.000Z");
    expect(done.result.ck).toEqual(CK);
  });

  it("computes the response with a cnonce of its own when the caller gives none", () => {
    const r = sent(challenged().aka({ kind: "success", res: RES }));
    const c = credentials(r);
    expect(c.cnonce).toBe("000102030405060708090a0b0c0d0e0f");
    expect(c.response).toBe(digest({ ...BASE, password: RES, qop: "auth-int", nc: "00000001", cnonce: c.cnonce }));
    expect(c.opaque).toBeUndefined();
  });

  it("refuses a 200 whose rspauth is not over the exact body, or that has none", () => {
    const tampered = (body: string, headers = OK_200.headers as Record<string, string>) => {
      const run = challenged();
      run.aka({ kind: "success", res: RES }, { cnonce: UB.cnonce });
      return run.next(answer(200, headers, body));
    };
    const code = (s: UbStep) => (s.kind === "failed" ? s.error.code : s.kind);
    expect(code(tampered(UB.response_body.replace("</btid>", "</btid> ")))).toBe("SERVER_AUTH_FAILED");
    expect(code(tampered(UB.response_body, { "content-type": "application/vnd.3gpp.bsf+xml" }))).toBe("SERVER_AUTH_FAILED");
    expect(code(tampered(UB.response_body, { "authentication-info": 'qop=auth-int, nc=00000001, cnonce="0a4f113b"' }))).toBe(
      "SERVER_AUTH_FAILED",
    );
    expect(code(tampered(UB.response_body))).toBe("done");
  });

  it("authenticates the BSF before it reads the body: a bad document with a good rspauth is BAD_BOOTSTRAPPING_INFO", () => {
    const body = "<BootstrappingInfo/>";
    const rsp = digest({ ...BASE, password: RES, qop: "auth-int", nc: UB.nc, cnonce: UB.cnonce, method: "", body: utf8(body) });
    const run = challenged();
    run.aka({ kind: "success", res: RES }, { cnonce: UB.cnonce });
    const s = run.next(
      answer(
        200,
        { "authentication-info": formatAuthenticationInfo({ qop: "auth-int", rspauth: rsp, cnonce: UB.cnonce, nc: UB.nc }) },
        body,
      ),
    );
    expect(s).toMatchObject({ kind: "failed", error: { code: "BAD_BOOTSTRAPPING_INFO" } });
  });
});

describe("the BSF's other answers", () => {
  const first = (a: HttpAnswer) => {
    const run = newRun();
    run.first();
    return run.next(a);
  };

  it("to the first request: 503 with Retry-After, 403, a problem 400, a 200 without challenge", () => {
    const unavailable = answer(503, { "retry-after": "5" });
    expect(first(unavailable)).toEqual({
      kind: "failed",
      error: expect.objectContaining({ code: "BSF_UNAVAILABLE", message: "the BSF is unavailable (503), retry after 5 s" }),
      answer: unavailable,
    });
    expect(first(answer(403))).toMatchObject({ error: { code: "REJECTED", message: "the BSF refused the bootstrapping (403)" } });
    expect(first(answer(400, { "content-type": "application/problem+json" }, '{"detail":"bad Authorization"}'))).toMatchObject({
      error: { code: "UNEXPECTED_STATUS", message: "expected a 401 challenge from the BSF, got 400: bad Authorization" },
    });
    expect(first(answer(200))).toMatchObject({ error: { code: "UNEXPECTED_STATUS" } });
  });

  it("unusable challenges: none, no AKA algorithm, an unknown AKA version, no auth-int, a short nonce", () => {
    expect(first(answer(401))).toMatchObject({ error: { code: "BAD_CHALLENGE" } });
    expect(first(challenge('Digest realm="r", nonce="n", qop="auth-int", algorithm=MD5'))).toMatchObject({
      error: { code: "UNSUPPORTED_ALGORITHM", message: "the BSF offers no Digest AKA challenge (algorithms: MD5)" },
    });
    expect(first(challenge(UB.challenge.replace("AKAv1-MD5", "AKAv3-MD5")))).toMatchObject({
      error: { code: "UNSUPPORTED_ALGORITHM" },
    });
    expect(first(challenge(UB.challenge.replace('qop="auth-int"', 'qop="auth"')))).toMatchObject({
      error: { code: "BAD_CHALLENGE", message: expect.stringContaining("TS 24.109 A.3") },
    });
    expect(first(challenge(UB.challenge.replace(UB.nonce, "AAAA")))).toMatchObject({ error: { code: "BAD_CHALLENGE" } });
  });

  it("to the answer with RES: 403 and a new 401 are a user authentication failure; 503 is unavailability", () => {
    const afterRes = (a: HttpAnswer) => {
      const run = challenged();
      run.aka({ kind: "success", res: RES });
      return run.next(a);
    };
    expect(afterRes(answer(403))).toMatchObject({ error: { code: "REJECTED", message: expect.stringContaining("403") } });
    expect(afterRes(challenge())).toMatchObject({
      error: { code: "REJECTED", message: expect.stringContaining("challenged again") },
    });
    expect(afterRes(answer(503))).toMatchObject({ error: { code: "BSF_UNAVAILABLE" } });
  });
});

describe("what the USIM made of the challenge", () => {
  const AUTS = Uint8Array.from({ length: 14 }, (_, i) => i + 1);

  it("synchronisation failure: auts with an empty password (RFC 3310 §3.4), one resynchronisation per run", () => {
    const run = challenged();
    const r = sent(run.aka({ kind: "sync-failure", auts: AUTS }));
    const c = credentials(r);
    expect(c.auts).toBe(Buffer.from(AUTS).toString("base64"));
    expect(c.response).toBe(digest({ ...BASE, password: EMPTY, qop: "auth-int", nc: c.nc, cnonce: c.cnonce }));
    expect(run.resyncs).toBe(1);
    expect(run.next(challenge())).toMatchObject({ kind: "aka" });
    expect(run.aka({ kind: "sync-failure", auts: AUTS })).toMatchObject({ kind: "failed", error: { code: "RESYNC_FAILED" } });
  });

  it("after one resynchronisation the run still bootstraps, and says it resynchronised", () => {
    const run = challenged();
    run.aka({ kind: "sync-failure", auts: AUTS });
    run.next(challenge());
    run.aka({ kind: "success", res: RES }, { cnonce: UB.cnonce });
    expect(run.next(OK_200)).toMatchObject({ kind: "done", result: { resyncs: 1 } });
  });

  it("MAC failure: reported with an empty password and no auts (§3.5); the run has failed whatever comes back", () => {
    const reported = () => {
      const run = challenged();
      const c = credentials(sent(run.aka({ kind: "mac-failure" })));
      expect(c.auts).toBeUndefined();
      expect(c.response).toBe(digest({ ...BASE, password: EMPTY, qop: "auth-int", nc: c.nc, cnonce: c.cnonce }));
      return run;
    };
    expect(reported().next(answer(403))).toMatchObject({ error: { code: "NETWORK_AUTH_FAILED" } });
    expect(reported().next(OK_200)).toMatchObject({ error: { code: "NETWORK_AUTH_FAILED" } });
    expect(reported().lost("no answer")).toMatchObject({ error: { code: "NETWORK_AUTH_FAILED" } });
  });

  it("a request that got no answer ends the run with the caller's words", () => {
    const run = newRun();
    run.first();
    expect(run.lost("cannot reach the BSF at http://bsf/: ECONNREFUSED")).toMatchObject({
      kind: "failed",
      error: { code: "TRANSPORT", message: "cannot reach the BSF at http://bsf/: ECONNREFUSED" },
    });
  });

  it("AKAv2-MD5 (RFC 4169): the password from RES, IK and CK; refused when the card keeps CK and IK (GBA_U)", () => {
    const v2 = () => {
      const run = newRun();
      run.first();
      run.next(challenge(UB.challenge.replace("AKAv1-MD5", "AKAv2-MD5")));
      return run;
    };
    const c = credentials(sent(v2().aka({ kind: "success", res: RES, ck: CK, ik: IK })));
    expect(c.algorithm).toBe("AKAv2-MD5");
    expect(c.response).toBe(digest({ ...BASE, password: AKAV2.password, qop: "auth-int", nc: c.nc, cnonce: c.cnonce }));
    expect(v2().aka({ kind: "success", res: RES })).toMatchObject({ error: { code: "UNSUPPORTED_ALGORITHM" } });
  });
});

describe("deviations on purpose (a conformance run against someone else's BSF)", () => {
  it("a wrong RES is just another outcome: the response is computed with it", () => {
    const wrong = RES.map((b) => b ^ 0xff);
    const c = credentials(sent(challenged().aka({ kind: "success", res: wrong }, { cnonce: UB.cnonce })));
    expect(c.response).not.toBe(UB.response);
    expect(c.response).toBe(digest({ ...BASE, password: wrong, qop: "auth-int", nc: "00000001", cnonce: UB.cnonce }));
  });

  it("no qop: RFC 2069 form without nc and cnonce, response over it; another nonce and no opaque", () => {
    const run = newRun();
    run.first();
    run.next(challenge(`${UB.challenge}, opaque="op"`));
    const c = credentials(sent(run.aka({ kind: "success", res: RES }, { qop: null, nonce: "old-nonce", opaque: null })));
    expect(c).toMatchObject({ nonce: "old-nonce", qop: undefined, nc: undefined, cnonce: undefined, opaque: undefined });
    expect(c.response).toBe(digest({ ...BASE, password: RES, nonce: "old-nonce" }));
  });

  it("a request is data: the caller may change it and send it again", () => {
    const run = challenged();
    const r = sent(run.aka({ kind: "success", res: RES }, { cnonce: UB.cnonce }));
    const replay: UbRequest = { ...r, credentials: { ...r.credentials, nc: "00000002" } };
    expect(ubHeaders(replay).authorization).toContain("nc=00000002");
    expect(ubHeaders(r).authorization).toContain("nc=00000001");
  });

  it("steps out of order are programming errors", () => {
    const run = newRun();
    expect(() => run.next(challenge())).toThrow(/no request is waiting/);
    expect(() => run.aka({ kind: "mac-failure" })).toThrow(/no challenge is waiting/);
    run.first();
    expect(() => run.first()).toThrow(/one first request/);
  });
});
