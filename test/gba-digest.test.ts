// gba/digest: RFC 7616 header grammar and the Digest computation, against RFC 2617 §3.5,
// RFC 7616 §3.9.1 and computed Ub/Ua examples (TS 24.109 A.3, §5.2.1; test/vectors/gba-digest.json);
// each vector whole (header → response) and piecewise (HA1, HA2, response); then bad headers.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  akav1Password,
  akav2Password,
  buildAkaNonce,
  buildBootstrappingInfo,
  DIGEST_HEADER_MAX_LENGTH,
  type DigestAlgorithm,
  type DigestInput,
  DigestParseError,
  type DigestQop,
  digestAlgorithm,
  digestEquals,
  digestHa1,
  digestHa2,
  digestResponse,
  digestResponseFromHa1,
  formatAuthenticationInfo,
  formatChallenge,
  formatCredentials,
  formatDigestHeader,
  formatNc,
  ksNafPassword,
  parseAkaNonce,
  parseAuthenticationInfo,
  parseDigestChallenge,
  parseDigestCredentials,
  rspauth,
  rspauthFromHa1,
  verifyDigestResponse,
} from "../gba/index.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";

const V = JSON.parse(readFileSync(new URL("./vectors/gba-digest.json", import.meta.url), "utf8"));
type Vec = Record<string, string>;
const vectors = V.vectors as Vec[];
const utf8 = (s: string) => new TextEncoder().encode(s);

function inputOf(v: Vec): DigestInput {
  return {
    algorithm: v.algorithm as DigestAlgorithm,
    username: v.username,
    realm: v.realm,
    password: v.password_hex !== undefined ? hexToBytes(v.password_hex) : v.password,
    nonce: v.nonce,
    nc: v.nc,
    cnonce: v.cnonce,
    qop: v.qop as DigestQop,
    method: v.method,
    uri: v.uri,
    body: v.body === undefined ? undefined : utf8(v.body),
  };
}

// Independent recomputation of RFC 2617 §3.2.2 with node:crypto, for the piecewise checks.
const H = (alg: string, data: string | Uint8Array) =>
  createHash(alg.startsWith("SHA-256") ? "sha256" : "md5")
    .update(data)
    .digest("hex");

function expectParseError(f: () => unknown, code: string, param?: string): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DigestParseError);
  const e = caught as DigestParseError;
  expect(e.code).toBe(code);
  expect(e.message.length).toBeGreaterThan(10);
  if (param !== undefined) {
    expect(e.param).toBe(param);
    expect(e.message).toContain(`"${param}"`);
  }
}

describe.each(vectors)("$name", (v) => {
  it("whole: response from the inputs", () => {
    expect(digestResponse(inputOf(v))).toBe(v.response);
    expect(verifyDigestResponse(inputOf(v), v.response.toUpperCase())).toBe(true);
    expect(
      verifyDigestResponse(
        inputOf(v),
        v.response.replace(/.$/, (c) => (c === "0" ? "1" : "0")),
      ),
    ).toBe(false);
  });

  it("piecewise: HA1, HA2, response", () => {
    const input = inputOf(v);
    const pw = typeof input.password === "string" ? utf8(input.password) : input.password;
    const ha1 = H(v.algorithm, Buffer.concat([utf8(`${v.username}:${v.realm}:`), pw]));
    if (v.ha1 !== undefined) expect(ha1).toBe(v.ha1);
    expect(digestHa1(input)).toBe(ha1);
    const a2 = v.qop === "auth-int" ? `${v.method}:${v.uri}:${H(v.algorithm, utf8(v.body))}` : `${v.method}:${v.uri}`;
    const ha2 = H(v.algorithm, a2);
    expect(digestHa2(input.algorithm, input.qop, v.method, v.uri, input.body)).toBe(ha2);
    expect(H(v.algorithm, `${ha1}:${v.nonce}:${v.nc}:${v.cnonce}:${v.qop}:${ha2}`)).toBe(v.response);
    expect(digestResponseFromHa1(ha1, input)).toBe(v.response);
  });

  it("the challenge parses to the vector's realm, nonce and algorithm", () => {
    const [c] = parseDigestChallenge(v.challenge);
    expect(c.realm).toBe(v.realm);
    expect(c.nonce).toBe(v.nonce);
    expect(digestAlgorithm(c.algorithm)).toBe(v.algorithm);
    expect(c.qop).toContain(v.qop);
  });

  it("formatCredentials → parseDigestCredentials round trip carries every field", () => {
    const header = formatCredentials({ ...inputOf(v), response: v.response, algorithm: v.algorithm, qop: v.qop });
    const c = parseDigestCredentials(header);
    expect(c).toMatchObject({ username: v.username, realm: v.realm, nonce: v.nonce, uri: v.uri, qop: v.qop });
    expect(c).toMatchObject({ nc: v.nc, cnonce: v.cnonce, response: v.response, algorithm: v.algorithm });
  });
});

describe("RFC example Authorization headers", () => {
  it.each(vectors.filter((v) => v.authorization))("$name: the response recomputes from the parsed header", (v) => {
    const c = parseDigestCredentials(v.authorization);
    const algorithm = digestAlgorithm(c.algorithm);
    expect(algorithm).toBe(v.algorithm);
    const input: DigestInput = {
      algorithm: algorithm!,
      username: c.username,
      realm: c.realm,
      password: v.password,
      nonce: c.nonce,
      nc: c.nc,
      cnonce: c.cnonce,
      qop: c.qop as DigestQop,
      method: "GET",
      uri: c.uri,
    };
    expect(digestResponse(input)).toBe(c.response);
    expect(c.opaque).toBeDefined();
  });

  it("RFC 7616 §3.9.1: SHA-256 and MD5 challenges in one header value", () => {
    const both = `${vectors[2].challenge}, ${vectors[1].challenge}`;
    const cs = parseDigestChallenge(both);
    expect(cs.map((c) => c.algorithm)).toEqual(["SHA-256", "MD5"]);
    expect(cs[0].qop).toEqual(["auth", "auth-int"]);
    expect(cs[0].opaque).toBe("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  });
});

describe("Ub AKAv1-MD5 example (TS 24.109 A.3, RFC 3310)", () => {
  const v = vectors.find((x) => x.algorithm === "AKAv1-MD5")!;

  it("nonce = base64(RAND || AUTN)", () => {
    const n = parseAkaNonce(v.nonce);
    expect(bytesToHex(n.rand)).toBe(v.nonce_rand);
    expect(bytesToHex(n.autn)).toBe(v.nonce_autn);
    expect(n.serverData.length).toBe(0);
    expect(buildAkaNonce(hexToBytes(v.nonce_rand), hexToBytes(v.nonce_autn))).toBe(v.nonce);
  });

  it("password is RES as raw octets", () => {
    expect(bytesToHex(akav1Password(hexToBytes(v.password_hex)))).toBe(v.password_hex);
    expect(digestResponse({ ...inputOf(v), password: v.password_hex })).not.toBe(v.response); // hex text is the classic bug
  });

  it("rspauth over the exact 200 OK body, which buildBootstrappingInfo produces byte for byte", () => {
    const body = buildBootstrappingInfo({ btid: v.response_body_btid, lifetime: new Date(v.response_body_lifetime) });
    expect(body).toBe(v.response_body);
    const { method: _m, body: _b, ...rest } = inputOf(v);
    expect(rspauth({ ...rest, responseBody: utf8(v.response_body) })).toBe(v.rspauth);
    const ha2 = H("MD5", `:${v.uri}:${H("MD5", utf8(v.response_body))}`);
    expect(H("MD5", `${v.ha1}:${v.nonce}:${v.nc}:${v.cnonce}:${v.qop}:${ha2}`)).toBe(v.rspauth);
    expect(rspauthFromHa1(v.ha1, { ...rest, responseBody: utf8(v.response_body) })).toBe(v.rspauth);
    expect(rspauth({ ...rest, responseBody: utf8(`${v.response_body} `) })).not.toBe(v.rspauth);
  });

  it("Authentication-Info round trip", () => {
    const header = formatAuthenticationInfo({ qop: "auth-int", rspauth: v.rspauth, cnonce: v.cnonce, nc: v.nc });
    expect(header).toBe(`qop=auth-int, rspauth="${v.rspauth}", cnonce="${v.cnonce}", nc=${v.nc}`);
    expect(parseAuthenticationInfo(header)).toMatchObject({ qop: "auth-int", rspauth: v.rspauth, cnonce: v.cnonce, nc: v.nc });
  });

  it("parseAkaNonce refuses non-base64 and short nonces", () => {
    expectParseError(() => parseAkaNonce("not base64!"), "BAD_PARAM", "nonce");
    expectParseError(() => parseAkaNonce(Buffer.alloc(31).toString("base64")), "BAD_PARAM", "nonce");
  });
});

describe("AKA and Ua passwords", () => {
  it("AKAv2-MD5 password (RFC 4169 §3)", () => {
    const a = V.akav2_password;
    expect(akav2Password(hexToBytes(a.res), hexToBytes(a.ik), hexToBytes(a.ck))).toBe(a.password);
  });

  it("Ua password is base64(Ks_NAF); lengths are checked", () => {
    const ks = hexToBytes("ae9ecc3c7c17692c1d44d6d68d53a3b1624a706039753ba991e8293f3cfdec08");
    expect(ksNafPassword(ks)).toBe(vectors[4].password);
    expect(() => ksNafPassword(ks.subarray(1))).toThrow(RangeError);
    expect(() => akav1Password(new Uint8Array(3))).toThrow(/RES must be 4..16/);
    expect(() => akav2Password(new Uint8Array(8), new Uint8Array(15), new Uint8Array(16))).toThrow(/IK/);
  });
});

describe("algorithms", () => {
  it("digestAlgorithm maps tokens case-insensitively", () => {
    expect(digestAlgorithm("akav1-md5")).toBe("AKAv1-MD5");
    expect(digestAlgorithm("sha-256-SESS")).toBe("SHA-256-sess");
    expect(digestAlgorithm("SHA-512-256")).toBeUndefined();
  });

  it("-sess: HA1 = H(H(user:realm:pw):nonce:cnonce) (RFC 7616 §3.4.2)", () => {
    for (const [alg, base] of [
      ["MD5-sess", "MD5"],
      ["SHA-256-sess", "SHA-256"],
    ] as const) {
      const v = { ...inputOf(vectors[2]), algorithm: alg };
      const inner = H(base, `Mufasa:http-auth@example.org:Circle of Life`);
      expect(digestHa1(v)).toBe(H(base, `${inner}:${v.nonce}:${v.cnonce}`));
      expect(() => digestHa1({ ...v, cnonce: undefined })).toThrow(/cnonce/);
    }
  });

  it("without qop: response = H(HA1:nonce:HA2) (RFC 2069 compatibility)", () => {
    const v = { ...inputOf(vectors[0]), qop: undefined };
    const ha1 = H("MD5", "Mufasa:testrealm@host.com:Circle Of Life");
    expect(digestResponse(v)).toBe(H("MD5", `${ha1}:${v.nonce}:${H("MD5", "GET:/dir/index.html")}`));
  });

  it("qop needs nc and cnonce; unknown algorithm refused", () => {
    expect(() => digestResponse({ ...inputOf(vectors[0]), nc: undefined })).toThrow(/nc and cnonce/);
    expect(() => digestResponse({ ...inputOf(vectors[0]), algorithm: "SHA-1" as DigestAlgorithm })).toThrow(
      /unsupported Digest algorithm/,
    );
  });

  it("formatNc and digestEquals", () => {
    expect(formatNc(1)).toBe("00000001");
    expect(formatNc(0xabc)).toBe("00000abc");
    expect(() => formatNc(0)).toThrow(RangeError);
    expect(digestEquals("abc", "ABC")).toBe(true);
    expect(digestEquals("abc", "abd")).toBe(false);
    expect(digestEquals("abc", "abcd")).toBe(false);
  });
});

describe("WWW-Authenticate grammar", () => {
  it.each(V.good_challenges as { name: string; header: string; digest: Record<string, unknown>[] }[])(
    "$name",
    ({ header, digest }) => {
      const cs = parseDigestChallenge(header);
      expect(cs.length).toBe(digest.length);
      for (const [i, c] of cs.entries()) expect(c).toMatchObject(digest[i]);
    },
  );

  it("params keep every parameter, lower-cased, with no prototype surprises", () => {
    const [c] = parseDigestChallenge('Digest realm="r", nonce="n", __proto__="x", X-Custom=y');
    expect(Object.getOwnPropertyDescriptor(c.params, "__proto__")?.value).toBe("x");
    expect(Object.getPrototypeOf(c.params)).toBeNull();
    expect(c.params["x-custom"]).toBe("y");
    expect(Object.keys(c.params)).toEqual(["realm", "nonce", "__proto__", "x-custom"]);
  });

  it.each(V.bad_challenges as Vec[])("bad: $name → $code", ({ header, code, param }) => {
    expectParseError(() => parseDigestChallenge(header), code, param);
  });

  it("bad: very long header → HEADER_TOO_LONG (checked before parsing)", () => {
    const long = `Digest realm="${"a".repeat(DIGEST_HEADER_MAX_LENGTH)}", nonce="b"`;
    expectParseError(() => parseDigestChallenge(long), "HEADER_TOO_LONG");
    expectParseError(() => parseDigestCredentials(long), "HEADER_TOO_LONG");
    expectParseError(() => parseAuthenticationInfo(`rspauth="${"a".repeat(9000)}"`), "HEADER_TOO_LONG");
    expect(parseDigestChallenge(`Digest realm="${"a".repeat(8000)}", nonce="b"`)[0].realm.length).toBe(8000);
  });

  it("no catastrophic backtracking: pathological inputs parse or fail in linear time", () => {
    const t0 = performance.now();
    for (const h of [
      `Digest ${"a=b,".repeat(2000)}`,
      `Digest realm="${"\\\\".repeat(4000)}`,
      `Digest ${",".repeat(8000)}`,
      `${"x ".repeat(4000)}`,
    ]) {
      try {
        parseDigestChallenge(h);
      } catch (err) {
        expect(err).toBeInstanceOf(DigestParseError);
      }
    }
    expect(performance.now() - t0).toBeLessThan(200);
  });
});

describe("Authorization grammar", () => {
  it("Ub initial request with empty nonce and response (TS 24.109 A.3)", () => {
    const c = parseDigestCredentials(
      'Digest username="001010123456789@ims.mnc001.mcc001.3gppnetwork.org", realm="bsf.mnc001.mcc001.pub.3gppnetwork.org", nonce="", uri="/", response=""',
    );
    expect(c).toMatchObject({ nonce: "", response: "", uri: "/", algorithm: "MD5", qop: undefined });
  });

  it("auts, quoted qop/nc as sent by some clients, username*", () => {
    const c = parseDigestCredentials(
      `Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="r", nonce="n", uri="/", qop="AUTH-INT", nc="0000000A", cnonce="c", response="x", auts="RR6L7KQ6Id5ULb37dFM=", algorithm=AKAv1-MD5`,
    );
    expect(c).toMatchObject({ username: "Jäsøn Doe", qop: "auth-int", nc: "0000000A", auts: "RR6L7KQ6Id5ULb37dFM=" });
  });

  it.each(V.bad_credentials as Vec[])("bad: $name → $code", ({ header, code, param }) => {
    expectParseError(() => parseDigestCredentials(header), code, param);
  });

  it("bad username* encodings", () => {
    const base = 'realm="r", nonce="n", uri="/", response="x"';
    expectParseError(() => parseDigestCredentials(`Digest username*=ISO-8859-1''a, ${base}`), "BAD_PARAM", "username*");
    expectParseError(() => parseDigestCredentials(`Digest username*=UTF-8''%E0%A4%A, ${base}`), "BAD_PARAM", "username*");
  });
});

describe("Authentication-Info grammar", () => {
  it("RFC 7616 §3.5 style header", () => {
    const i = parseAuthenticationInfo('qop=auth, rspauth="abc", cnonce="c", nc=00000001, nextnonce="nn"');
    expect(i).toMatchObject({ qop: "auth", rspauth: "abc", cnonce: "c", nc: "00000001", nextnonce: "nn" });
  });

  it.each(V.bad_authentication_info as Vec[])("bad: $name → $code", ({ header, code, param }) => {
    expectParseError(() => parseAuthenticationInfo(header), code, param);
  });
});

describe("formatting", () => {
  it("quotes and escapes; refuses what cannot be sent", () => {
    expect(
      formatDigestHeader("Digest", [
        ["realm", 'a "b" \\c', true],
        ["algorithm", "MD5", false],
      ]),
    ).toBe('Digest realm="a \\"b\\" \\\\c", algorithm=MD5');
    expect(formatDigestHeader(null, [["nc", "00000001", false]])).toBe("nc=00000001");
    expect(() => formatDigestHeader("Digest", [["realm", "a\r\nX-Injected: 1", true]])).toThrow(/control character/);
    expect(() => formatDigestHeader("Digest", [["algorithm", "MD5 x", false]])).toThrow(/token/);
    expect(() => formatDigestHeader("Digest", [["bad name", "x", true]])).toThrow(/not a token/);
  });

  it("formatChallenge as a BSF sends it, and back", () => {
    const h = formatChallenge({
      realm: "bsf.example.org",
      nonce: "bm9uY2U=",
      algorithm: "AKAv1-MD5",
      qop: ["auth-int"],
      opaque: "o",
      stale: true,
    });
    expect(h).toBe(
      'Digest realm="bsf.example.org", nonce="bm9uY2U=", algorithm=AKAv1-MD5, qop="auth-int", opaque="o", stale=true',
    );
    expect(parseDigestChallenge(h)[0]).toMatchObject({ algorithm: "AKAv1-MD5", qop: ["auth-int"], stale: true });
  });

  it("property: any printable value survives format → parse", () => {
    const value = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
    fc.assert(
      fc.property(value, value, value, (realm, nonce, opaque) => {
        const [c] = parseDigestChallenge(formatChallenge({ realm, nonce, opaque, qop: ["auth"] }));
        expect([c.realm, c.nonce, c.opaque]).toEqual([realm, nonce, opaque]);
      }),
      { numRuns: 500 },
    );
  });
});
