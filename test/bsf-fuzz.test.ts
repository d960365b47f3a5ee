// Fuzz-style robustness of the BSF over HTTP: more than 10,000 malformed Authorization headers,
// methods and bodies on Ub, and malformed JSON on Zn (fast-check generators, fixed seed).
// Nothing may answer 5xx or crash the BSF, and a valid UE must bootstrap afterwards.
import fc from "fast-check";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDigestChallenge } from "../gba/digest/index.js";
import { type Stack, startStack, testSubscriber } from "./helpers/bsf-stack.js";
import { MiniUe, ubGet } from "./helpers/mini-ue.js";

const SEED = 20240611;
const UB_CASES = 9_000;
const ZN_CASES = 2_000;
const IN_FLIGHT = 48;

/** Header values a client can put on the wire: no CR, LF, NUL or other controls except HTAB (RFC 9110 §5.5). */
function wireSafe(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0x3f;
    out += (c < 0x20 && c !== 0x09) || c === 0x7f ? " " : c > 0xff ? "?" : ch;
  }
  return out;
}

const PARAM_NAMES = [
  "username",
  "realm",
  "nonce",
  "uri",
  "response",
  "qop",
  "nc",
  "cnonce",
  "opaque",
  "algorithm",
  "auts",
  "username*",
  "userhash",
  "stale",
];

function ubAuthorizations(realm: string, nonces: string[], impi: string): fc.Arbitrary<string> {
  const anyText = fc.string({ unit: "binary", maxLength: 120 });
  const b64 = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((b) => Buffer.from(b).toString("base64"));
  const value = fc.oneof(
    anyText,
    b64,
    fc.constantFrom("", "/", realm, impi, "auth-int", "auth", "AKAv1-MD5", "AKAv2-MD5", "MD5", "00000001", "zzzzzzzz", ...nonces),
    fc.stringMatching(/^[0-9a-f]{0,40}$/),
  );
  const param = fc.tuple(fc.oneof(fc.constantFrom(...PARAM_NAMES), fc.string({ maxLength: 8 })), value, fc.boolean());
  const digestish = fc
    .tuple(
      fc.constantFrom("Digest", "digest", "DIGEST", "Basic", "Bearer", "Digestx", ""),
      fc.array(param, { maxLength: 14 }),
      fc.constantFrom(", ", ",", " , ", ",,", " "),
    )
    .map(([scheme, params, sep]) => `${scheme} ${params.map(([n, v, q]) => (q ? `${n}="${v}"` : `${n}=${v}`)).join(sep)}`);
  // a well-formed answer to a real challenge with one field replaced
  const mutated = fc.tuple(fc.constantFrom(...nonces), fc.constantFrom(...PARAM_NAMES), value).map(
    ([nonce, field, v]) =>
      `Digest ${[
        ["username", impi],
        ["realm", realm],
        ["nonce", nonce],
        ["uri", "/"],
        ["qop", "auth-int", false],
        ["nc", "00000001", false],
        ["cnonce", "0a4f113b"],
        ["response", "0".repeat(32)],
        ["algorithm", "AKAv1-MD5", false],
      ]
        .map(([n, val, quoted]) => (n === field ? `${n}="${v}"` : quoted === false ? `${n}=${val}` : `${n}="${val}"`))
        .join(", ")}`,
  );
  return fc
    .oneof({ weight: 1, arbitrary: anyText }, { weight: 3, arbitrary: digestish }, { weight: 3, arbitrary: mutated })
    .map(wireSafe);
}

interface Case {
  method: "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "HEAD";
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

function ubCases(realm: string, nonces: string[], impi: string): fc.Arbitrary<Case> {
  return fc
    .record({
      method: fc.oneof(
        { weight: 8, arbitrary: fc.constant("GET" as const) },
        { weight: 1, arbitrary: fc.constantFrom("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD") },
      ),
      path: fc.oneof(
        { weight: 8, arbitrary: fc.constant("/") },
        { weight: 1, arbitrary: fc.constantFrom("/?a=b", "/x", "//", "/%00", "/..") },
      ),
      authorization: fc.option(ubAuthorizations(realm, nonces, impi), { freq: 12 }),
      userAgent: fc.option(fc.string({ unit: "binary", maxLength: 60 }).map(wireSafe)),
      body: fc.option(fc.uint8Array({ maxLength: 200 }), { freq: 4 }),
      contentType: fc.constantFrom("application/json", "text/plain", "application/xml", "application/x-www-form-urlencoded"),
    })
    .map((r) => {
      const headers: Record<string, string> = {};
      if (r.authorization !== null) headers.authorization = r.authorization;
      if (r.userAgent !== null) headers["user-agent"] = r.userAgent;
      const withBody = r.body !== null && r.method !== "HEAD";
      if (withBody) headers["content-type"] = r.contentType;
      return {
        method: r.method as Case["method"],
        path: r.path,
        headers,
        body: withBody ? Buffer.from(r.body as Uint8Array) : undefined,
      };
    });
}

function znCases(btid: string): fc.Arbitrary<Case> {
  const jsonish = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          btId: fc.oneof(fc.constant(btid), fc.string(), fc.integer(), fc.constant(null)),
          nafId: fc.oneof(
            fc.record(
              {
                nafFqdn: fc.oneof(fc.constant("naf.example.org"), fc.string()),
                uaSecProtId: fc.oneof(fc.constant("0100000002"), fc.string(), fc.integer()),
              },
              { requiredKeys: [] },
            ),
            fc.string(),
            fc.array(fc.integer()),
          ),
          gbaUAware: fc.oneof(fc.boolean(), fc.string(), fc.integer()),
          gsIds: fc.oneof(fc.array(fc.integer({ min: -5, max: 2 ** 33 })), fc.string()),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
    fc.string({ unit: "binary", maxLength: 200 }),
  );
  return fc
    .record({
      body: jsonish,
      token: fc.constantFrom("Bearer naf-zn-token", "Bearer eca-zn-token", "Bearer nope", "Basic x", ""),
      contentType: fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/problem+json",
      ),
    })
    .map((r) => ({
      method: "POST" as const,
      path: "/nbsp-gba/v1/bootstrapping-info-retrieval",
      headers: { "content-type": r.contentType, ...(r.token ? { authorization: r.token } : {}) },
      body: Buffer.from(r.body, "utf8"),
    }));
}

async function fire(pool: Pool, cases: Case[], statuses: Map<number, number>, clientErrors: string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < cases.length) {
        const c = cases[next++];
        try {
          const r = await pool.request({ method: c.method, path: c.path, headers: c.headers, body: c.body });
          await r.body.dump();
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
        } catch (err) {
          clientErrors.push(`${(err as Error).name}: ${(err as Error).message}`);
        }
      }
    }),
  );
}

describe("BSF under malformed input", () => {
  let s: Stack;
  let realUe: MiniUe;
  beforeAll(async () => {
    s = await startStack();
    const sub = testSubscriber();
    await s.provision(sub);
    realUe = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
  });
  afterAll(() => s.close());

  it(`survives ${UB_CASES + ZN_CASES} malformed requests without a 5xx and still bootstraps`, async () => {
    const realm = s.cfg.bsf.fqdn;
    // real outstanding challenges, so mutated answers reach the nonce checks
    const nonces: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await ubGet(s.bsf.urls.ub, realUe.initialAuthorization(realm));
      nonces.push(parseDigestChallenge(r.headers["www-authenticate"])[0].nonce);
    }
    const before = await realUe.bootstrap(s.bsf.urls.ub, realm);

    const ub = fc.sample(ubCases(realm, nonces, realUe.impi), { numRuns: UB_CASES, seed: SEED });
    const zn = fc.sample(znCases(before.btid), { numRuns: ZN_CASES, seed: SEED + 1 });
    const ubPool = new Pool(s.bsf.urls.ub, { connections: 16 });
    const znPool = new Pool(s.bsf.urls.zn, { connections: 16 });
    const statuses = new Map<number, number>();
    const clientErrors: string[] = [];
    const t0 = Date.now();
    await Promise.all([fire(ubPool, ub, statuses, clientErrors), fire(znPool, zn, statuses, clientErrors)]);
    const seconds = (Date.now() - t0) / 1000;
    await Promise.all([ubPool.close(), znPool.close()]);

    const summary = Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0]));
    console.log(`fuzz: ${UB_CASES + ZN_CASES} requests in ${seconds.toFixed(1)} s, statuses ${JSON.stringify(summary)}`);
    expect(clientErrors).toEqual([]);
    const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(answered).toBe(UB_CASES + ZN_CASES);
    expect([...statuses.keys()].filter((st) => st >= 500)).toEqual([]);
    // the inputs did reach the interesting answers, not only one kind of refusal
    for (const st of [400, 401, 403, 404, 405]) expect(statuses.get(st) ?? 0).toBeGreaterThan(0);

    const after = await realUe.bootstrap(s.bsf.urls.ub, realm);
    expect(after.response.status).toBe(200);
    expect(after.btid).not.toBe(before.btid);
  }, 60_000);
});
