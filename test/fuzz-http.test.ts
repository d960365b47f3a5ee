// Property-based fuzzing over HTTP against the real servers (HSS, BSF, ECA in this process on
// loopback): Zh requests and the HSS provisioning API, Zn requests, and CSRs POSTed to the
// ECA's /enrol behind valid GBA Digest authentication. No answer may be a 5xx, and after each
// round a valid client is still served. Then the limits: oversized headers (431) and bodies
// (413) on every listener, and slow clients: a client that sends its request headers byte by
// byte slower than SERVER_LIMITS.requestTimeoutMs is cut off (408 / closed) in time, while the
// others are served all along (the slow clients start first and stay connected during the fuzz).
import { connect } from "node:net";
import fc from "fast-check";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex } from "../wire/bytes.js";
import type { GbaConfig } from "../nf/config.js";
import type { RunningNf } from "../nf/common/nf.js";
import { SERVER_LIMITS } from "../nf/common/server.js";
import { startBsf } from "../nf/bsf/index.js";
import { startEca } from "../nf/eca/index.js";
import { LmdbEcaStore } from "../nf/eca/store-lmdb.js";
import { startHss } from "../nf/hss/index.js";
import { buildCsr, generateObuKeys } from "../scenarios/engine/enrolment.js";
import { testSubscriber } from "./helpers/bsf-stack.js";
import { removeTempDirs, tempDir } from "./helpers/fault-procs.js";
import { challengeOf, ksNafFor, type UaSession, uaAuthorization } from "./helpers/fault-ua.js";
import { MiniUe } from "./helpers/mini-ue.js";
import { testConfig, TestUsim } from "./hss-fixtures.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const IN_FLIGHT = 32;
const OBU = "OBU-FUZZ-1";
const MSISDN = "491519990001";
const ZN_PATH = "/nbsp-gba/v1/bootstrapping-info-retrieval";

let cfg: GbaConfig;
let hss: RunningNf;
let bsf: RunningNf;
let eca: RunningNf;
let session: UaSession;
const sub = testSubscriber();
const counts = new Map<string, number>();
/** "name status" → count */
const statuses = new Map<string, number>();

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

/**
 * The one documented 5xx for client input: TS 29.500 §5.2.7.2 501 for an authenticationScheme
 * other than DIGEST_AKAV1_MD5 (GBA_Digest's DIGEST_HTTP, or any value of the extensible
 * enumeration), which this HSS does not implement (nf/hss/causes.ts).
 */
const documented5xx = (status: number, text: string) => status === 501 && text.includes("UNSUPPORTED_AUTHENTICATION_SCHEME");

/** Sends every case; records statuses; a 5xx (other than the documented one) or a transport error fails the run. */
async function fire(name: string, base: string, cases: Case[]): Promise<void> {
  const pool = new Pool(base, { connections: IN_FLIGHT });
  const bad: string[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < cases.length) {
          const c = cases[next++];
          try {
            const r = await pool.request({ method: c.method as "GET", path: c.path, headers: c.headers, body: c.body });
            const text = await r.body.text();
            const key = `${name} ${r.statusCode}`;
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
            if (r.statusCode >= 500 && !documented5xx(r.statusCode, text))
              bad.push(`${c.method} ${c.path.slice(0, 80)} → ${r.statusCode} ${text.slice(0, 200)}`);
          } catch (err) {
            bad.push(`${c.method} ${c.path.slice(0, 80)} → ${(err as Error).message}`);
          }
        }
      }),
    );
  } finally {
    await pool.close();
  }
  counts.set(name, (counts.get(name) ?? 0) + cases.length);
  expect(bad.slice(0, 5), `${bad.length} of ${cases.length} ${name} requests failed`).toEqual([]);
}

function sample<T>(arb: fc.Arbitrary<T>, n: number, salt: number): T[] {
  return fc.sample(arb, { numRuns: n, seed: SEED + salt });
}

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map(bytesToHex);
const jsonText = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constantFrom("", "{", "null", "[]", '{"a":1}{', '"\\ud800"', "1e999999", '{"__proto__":{"x":1}}'),
);
const contentTypes = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/problem+json",
  "text/csv",
  "application/x-www-form-urlencoded",
  "",
);

beforeAll(async () => {
  cfg = testConfig(tempDir("gba-fuzz-http-"));
  hss = await startHss(cfg);
  cfg.bsf.hssUrl = hss.urls.zh;
  bsf = await startBsf(cfg);
  cfg.eca.bsfUrl = bsf.urls.zn;
  const store = LmdbEcaStore.open(cfg.data);
  await store.addBindings([{ vehicleId: "VIN-FUZZ-1", obuId: OBU, msisdn: MSISDN }], new Date());
  await store.close();
  eca = await startEca(cfg);
  const p = await fetch(`${hss.urls.admin}/subscribers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ impi: sub.impi, k: bytesToHex(sub.k), opc: bytesToHex(sub.opc), msisdn: MSISDN }),
  });
  expect(p.status).toBe(201);
  const b = await new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc }).bootstrap(bsf.urls.ub, cfg.bsf.fqdn);
  session = { btid: b.btid, impi: sub.impi, ks: b.ks, rand: b.rand };
});

afterAll(async () => {
  await eca?.close();
  await bsf?.close();
  await hss?.close();
  removeTempDirs();
  const total = [...counts.values()].reduce((a, c) => a + c, 0);
  process.stderr.write(
    `fuzz over HTTP (seed ${SEED}): ${[...counts].map(([k, v]) => `${k} ${v}`).join(", ")}; total ${total} requests; ` +
      `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`,
  );
});

// ---- slow clients, started first --------------------------------------------------------

interface SlowResult {
  ms: number;
  answer: string;
}

/** Sends a request line and then one header byte every `everyMs`, until the server closes. */
function slowClient(url: string, everyMs: number): Promise<SlowResult> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const sock = connect(Number(port), hostname);
    let answer = "";
    let timer: NodeJS.Timeout | undefined;
    const header = "X-Slow: ".padEnd(4000, "a");
    let i = 0;
    sock.on("connect", () => {
      sock.write("GET / HTTP/1.1\r\nHost: x\r\n");
      timer = setInterval(() => {
        if (!sock.destroyed && i < header.length) sock.write(header[i++]);
      }, everyMs);
    });
    sock.on("data", (d) => {
      answer += d.toString("latin1");
    });
    sock.on("error", () => undefined);
    sock.on("close", () => {
      clearInterval(timer);
      resolve({ ms: performance.now() - t0, answer });
    });
    setTimeout(() => {
      sock.destroy();
      reject(new Error(`slow client to ${url} still connected after 40 s`));
    }, 40_000).unref();
  });
}

let slow: Promise<SlowResult[]>;

describe("slow clients (slowloris)", () => {
  it("are started on every listener before the fuzz runs", () => {
    const urls = [hss.urls.zh, hss.urls.admin, bsf.urls.ub, bsf.urls.zn, eca.urls.url];
    slow = Promise.all(urls.flatMap((u) => [slowClient(u, 300), slowClient(u, 700)]));
  });
});

// ---- fuzz ------------------------------------------------------------------------------

describe("Zh and the provisioning API of the HSS", () => {
  it("Zh: 6,000 generated requests, no 5xx; the subscriber's vectors still verify", async () => {
    const ueIds = fc.oneof(
      fc.constant(sub.impi),
      fc.string({ unit: "binary", maxLength: 300 }).map(encodeURIComponent),
      fc.constantFrom("imsi-001010000000001", `msisdn-${MSISDN}`, "%00", "..", "%2F", "a%", "x".repeat(300)),
    );
    const body = fc.oneof(
      jsonText,
      fc
        .record(
          {
            authenticationScheme: fc.oneof(fc.constantFrom("DIGEST_AKAV1_MD5", "DIGEST_HTTP", "EAP_AKA"), fc.string()),
            resynchronizationInfo: fc.oneof(
              fc.record({ rand: hex(16), auts: hex(14) }),
              fc.record({ rand: fc.string(), auts: fc.string() }, { requiredKeys: [] }),
              fc.string(),
            ),
            supportedFeatures: fc.string(),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
    );
    const cases = sample(
      fc.record({ ueId: ueIds, body, ct: contentTypes, get: fc.boolean() }).map(
        (r): Case =>
          r.get
            ? { method: "GET", path: `/nhss-gba-sdm/v1/${r.ueId}/subscriber-data`, headers: {} }
            : {
                method: "POST",
                path: `/nhss-gba-ueau/v1/${r.ueId}/security-information/generate-auth-data`,
                headers: r.ct ? { "content-type": r.ct } : {},
                body: r.body,
              },
      ),
      6_000,
      1,
    );
    await fire("zh", hss.urls.zh, cases);
    const av = await fetch(
      `${hss.urls.zh}/nhss-gba-ueau/v1/${encodeURIComponent(sub.impi)}/security-information/generate-auth-data`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      },
    );
    expect(av.status).toBe(200);
    const card = new TestUsim({ k: bytesToHex(sub.k), opc: bytesToHex(sub.opc) });
    card.array.seq.fill(0);
    const { kind } = card.authenticate(((await av.json()) as { "3gAkaAv": Parameters<TestUsim["authenticate"]>[0] })["3gAkaAv"]);
    expect(kind).toBe("success");
  });

  it("provisioning API: 3,000 generated requests, no 5xx; a valid subscriber is still accepted", async () => {
    const subscriber = fc.record(
      {
        impi: fc.oneof(fc.string(), fc.constant(sub.impi), fc.emailAddress()),
        k: fc.oneof(hex(16), fc.string(), fc.integer()),
        opc: fc.oneof(hex(16), fc.string()),
        op: fc.oneof(hex(16), fc.constant(null)),
        amf: fc.oneof(hex(2), fc.string()),
        sqn: fc.oneof(hex(6), fc.string(), fc.constant("ffffffffffff")),
        imsi: fc.oneof(fc.stringMatching(/^[0-9]{5,16}$/), fc.string()),
        msisdn: fc.oneof(fc.stringMatching(/^\+?[0-9]{4,16}$/), fc.string()),
        impus: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.string()),
        uiccType: fc.oneof(fc.constantFrom("GBA", "GBA_U"), fc.string()),
        lifeTime: fc.oneof(fc.integer(), fc.double(), fc.string()),
        guss: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: [] },
    );
    const csvLine = fc.array(fc.oneof(fc.string({ maxLength: 40 }), hex(16)), { maxLength: 12 }).map((cells) => cells.join(","));
    const cases = sample(
      fc
        .record({
          kind: fc.constantFrom("post", "patch", "get", "delete", "import-json", "import-csv", "list"),
          sub: subscriber,
          raw: jsonText,
          useRaw: fc.boolean(),
          impi: fc.oneof(fc.constant(encodeURIComponent(sub.impi)), fc.string({ maxLength: 300 }).map(encodeURIComponent)),
          csv: fc
            .array(csvLine, { maxLength: 6 })
            .map((ls) => ["impi,imsi,msisdn,impu,k,op,opc,amf,sqn,uicc_type", ...ls].join("\n")),
          query: fc.oneof(
            fc.constant(""),
            fc.string({ maxLength: 30 }).map((q) => `?${encodeURIComponent(q)}=1`),
            fc.constantFrom("?limit=0", "?limit=abc", "?limit=5000", "?skipInvalid=maybe"),
          ),
        })
        .map((r): Case => {
          const json = r.useRaw ? r.raw : JSON.stringify(r.sub);
          const h = { "content-type": "application/json" };
          switch (r.kind) {
            case "post":
              return { method: "POST", path: "/subscribers", headers: h, body: json };
            case "patch":
              return { method: "PATCH", path: `/subscribers/${r.impi}`, headers: h, body: json };
            case "get":
              return { method: "GET", path: `/subscribers/${r.impi}${r.query}`, headers: {} };
            case "delete":
              // never the subscriber the later checks use
              return {
                method: "DELETE",
                path: `/subscribers/${r.impi === encodeURIComponent(sub.impi) ? "x" : r.impi}`,
                headers: {},
              };
            case "import-json":
              return {
                method: "POST",
                path: `/subscribers/import${r.query}`,
                headers: h,
                body: r.useRaw ? r.raw : JSON.stringify([r.sub, r.sub]),
              };
            case "import-csv":
              return {
                method: "POST",
                path: `/subscribers/import${r.query}`,
                headers: { "content-type": "text/csv" },
                body: r.csv,
              };
            default:
              return { method: "GET", path: `/subscribers${r.query}`, headers: {} };
          }
        }),
      3_000,
      2,
    );
    await fire("hss-admin", hss.urls.admin, cases);
    const ok = await fetch(`${hss.urls.admin}/subscribers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ impi: `after-fuzz-${SEED}@ims.example.org`, k: "11".repeat(16), opc: "22".repeat(16) }),
    });
    expect(ok.status).toBe(201);
  });
});

describe("Zn of the BSF", () => {
  it("4,000 generated requests, no 5xx; the NAF still gets its key", async () => {
    const cases = sample(
      fc
        .record({
          body: fc.oneof(
            jsonText,
            fc
              .record(
                {
                  btId: fc.oneof(fc.constant(session.btid), fc.string(), fc.integer(), fc.constant(null)),
                  nafId: fc.oneof(
                    fc.record(
                      {
                        nafFqdn: fc.oneof(fc.constantFrom(cfg.eca.fqdn, "naf.example.org", "other.example"), fc.string()),
                        uaSecProtId: fc.oneof(fc.constantFrom("0100000002", "0000000000", "0100010035"), fc.string(), hex(5)),
                      },
                      { requiredKeys: [] },
                    ),
                    fc.string(),
                  ),
                  gbaUAware: fc.oneof(fc.boolean(), fc.string()),
                  gsIds: fc.oneof(fc.array(fc.integer({ min: -5, max: 2 ** 33 }), { maxLength: 70 }), fc.string()),
                },
                { requiredKeys: [] },
              )
              .map((o) => JSON.stringify(o)),
          ),
          token: fc.constantFrom(
            "Bearer eca-zn-token",
            "Bearer naf-zn-token",
            "Bearer x",
            "bearer  eca-zn-token ",
            "Basic eA==",
            "",
          ),
          ct: contentTypes,
        })
        .map(
          (r): Case => ({
            method: "POST",
            path: ZN_PATH,
            headers: { ...(r.ct ? { "content-type": r.ct } : {}), ...(r.token ? { authorization: r.token } : {}) },
            body: r.body,
          }),
        ),
      4_000,
      3,
    );
    await fire("zn", bsf.urls.zn, cases);
    const ok = await fetch(`${bsf.urls.zn}${ZN_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer eca-zn-token" },
      body: JSON.stringify({ btId: session.btid, nafId: { nafFqdn: cfg.eca.fqdn, uaSecProtId: "0100000002" } }),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { meKeyMaterial: string }).meKeyMaterial).toBe(bytesToHex(ksNafFor(session, cfg.eca.fqdn)));
  });
});

describe("CSRs POSTed to the ECA (GBA-authenticated)", () => {
  it("3,000 generated bodies behind valid Digest authentication, no 5xx; a valid CSR still enrols", async () => {
    const keys = await generateObuKeys();
    const der = await buildCsr(OBU, keys);
    const flip = fc
      .array(fc.tuple(fc.nat({ max: der.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 })
      .map((fs) => {
        const b = Uint8Array.from(der);
        for (const [i, x] of fs) b[i] ^= x;
        return b;
      });
    const bodies = sample(
      fc.record({
        body: fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          flip,
          fc.nat({ max: der.length }).map((n) => der.slice(0, n)),
          fc.string({ unit: "binary", maxLength: 300 }).map((s) => new Uint8Array(Buffer.from(s, "latin1"))),
          fc.constant(new Uint8Array(Buffer.from(`-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(der).toString("base64")}`))),
        ),
        ct: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom("application/pkcs10", "application/x-pkcs10") },
          { weight: 1, arbitrary: fc.constantFrom("application/json", "text/plain", "application/octet-stream") },
        ),
        query: fc.constantFrom("", "", "?response=single", "?response=chain", "?response=%00"),
      }),
      3_000,
      4,
    );
    const key = ksNafFor(session, cfg.eca.fqdn);
    // one nonce per worker, its nonce-count going up request by request (RFC 7616 §3.4)
    const workers = 8;
    const per = Math.ceil(bodies.length / workers);
    const cases: Case[][] = [];
    for (let w = 0; w < workers; w++) {
      const ch = await challengeOf(`${eca.urls.url}/enrol`, "POST");
      cases.push(
        bodies.slice(w * per, (w + 1) * per).map((b, i) => ({
          method: "POST",
          path: `/enrol${b.query}`,
          headers: {
            "content-type": b.ct,
            authorization: uaAuthorization(ch, { btid: session.btid, key, uri: `/enrol${b.query}`, method: "POST", nc: i + 1 }),
          },
          body: b.body,
        })),
      );
    }
    // sequential within a worker (nonce-counts in order), workers in parallel
    const perWorker = async (list: Case[]) => {
      for (const c of list) await fire("eca-enrol", eca.urls.url, [c]);
    };
    await Promise.all(cases.map(perWorker));
    // every fuzzed body got past the authentication to the CSR checks
    expect(statuses.get("eca-enrol 401") ?? 0).toBe(0);
    const ch = await challengeOf(`${eca.urls.url}/enrol`, "POST");
    const r = await fetch(`${eca.urls.url}/enrol`, {
      method: "POST",
      headers: {
        "content-type": "application/pkcs10",
        authorization: uaAuthorization(ch, { btid: session.btid, key, uri: "/enrol", method: "POST" }),
      },
      body: der,
    });
    expect(r.status, await r.clone().text()).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/pkix-cert");
  }, 60_000);
});

describe("limits", () => {
  it("a header block over SERVER_LIMITS.maxHeaderSize gets 431 on every listener, which keeps serving", async () => {
    const big = "a".repeat(SERVER_LIMITS.maxHeaderSize + 1024);
    for (const url of [hss.urls.zh, hss.urls.admin, bsf.urls.ub, bsf.urls.zn, eca.urls.url]) {
      const status = await new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(url);
        const sock = connect(Number(port), hostname, () => sock.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`));
        let got = "";
        sock.on("data", (d) => {
          got += d;
        });
        sock.on("error", reject);
        sock.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
      });
      expect(status, url).toBe(431);
      expect((await fetch(`${url}/`)).status, url).toBeLessThan(500);
    }
  });

  it("a body over the limit gets 413 ProblemDetails on the JSON points and on /enrol", async () => {
    const body = JSON.stringify({ pad: "x".repeat(SERVER_LIMITS.bodyLimit + 10) });
    const targets: Array<[string, Record<string, string>]> = [
      [`${hss.urls.zh}/nhss-gba-ueau/v1/${encodeURIComponent(sub.impi)}/security-information/generate-auth-data`, {}],
      [`${bsf.urls.zn}${ZN_PATH}`, { authorization: "Bearer eca-zn-token" }],
      [`${hss.urls.admin}/subscribers`, {}],
    ];
    for (const [url, headers] of targets) {
      const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
      expect(r.status, url).toBe(413);
      expect(((await r.json()) as { cause: string }).cause).toBe("PAYLOAD_TOO_LARGE");
    }
    const ch = await challengeOf(`${eca.urls.url}/enrol`, "POST");
    const r = await fetch(`${eca.urls.url}/enrol`, {
      method: "POST",
      headers: {
        "content-type": "application/pkcs10",
        authorization: uaAuthorization(ch, {
          btid: session.btid,
          key: ksNafFor(session, cfg.eca.fqdn),
          uri: "/enrol",
          method: "POST",
        }),
      },
      body: new Uint8Array(64 * 1024),
    });
    expect(r.status).toBe(413);
  });

  it(`slow clients were cut off within requestTimeoutMs (${SERVER_LIMITS.requestTimeoutMs} ms) while the rest was served`, async () => {
    const results = await slow;
    for (const r of results) {
      expect(r.ms).toBeLessThan(SERVER_LIMITS.requestTimeoutMs + 2 * SERVER_LIMITS.timeoutCheckIntervalMs + 1500);
      // answered 408 or simply closed, never with a 2xx or 5xx
      if (r.answer) expect(r.answer).toMatch(/^HTTP\/1\.1 408 /);
    }
    counts.set("slowloris", results.length);
  }, 45_000);
});
