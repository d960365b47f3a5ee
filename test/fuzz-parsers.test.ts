// Property-based fuzzing (fast-check) of every parser that reads outside input, in process:
// Digest headers and AKA nonces, BootstrappingInfo XML, B-TIDs and Ua ids, scenario YAML, the
// HSS subscriber CSV, the scenario and vehicle-binding CSVs, APDUs on the simulated USIM, and
// PKCS#10 CSRs. Each parser either returns or throws its own named error, never anything else,
// and the things that must keep working (a valid header, a valid card command, a valid CSR)
// still do afterwards. The seed is fixed for CI (FUZZ_SEED=n explores others); the number of
// inputs tried per parser is printed.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { BootstrappingInfoError, buildBootstrappingInfo, parseBootstrappingInfo } from "../gba/bootstrapping-info.js";
import { BtidError, makeBtid, parseBtid, parsePskIdentity } from "../gba/btid.js";
import {
  DigestParseError,
  formatChallenge,
  formatCredentials,
  parseAkaNonce,
  parseAuthenticationInfo,
  parseDigestChallenge,
  parseDigestCredentials,
} from "../gba/digest/index.js";
import { parseUaId, UaIdError } from "../gba/ua-id.js";
import { generateAuthVector } from "../milenage/aka.js";
import { bytesToHex, HexError } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { sqnToBytes } from "../milenage/sqn.js";
import { parseBindingsCsv } from "../nf/eca/bindings-csv.js";
import { CsrError, checkCsr } from "../nf/eca/csr.js";
import { BindingError } from "../nf/eca/bindings.js";
import { parseSubscriberCsv } from "../nf/hss/csv.js";
import { validateCreate } from "../nf/hss/subscriber.js";
import { readBindingsCsv, readSubscribersCsv } from "../scenarios/csv.js";
import { buildCsr, generateObuKeys } from "../scenarios/engine/enrolment.js";
import { parseScenario, ScenarioError } from "../scenarios/load.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { newUsimState } from "../ue/usim/usim-state.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const counts = new Map<string, number>();
const scratch = mkdtempSync(join(tmpdir(), "gba-fuzz-"));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  process.stderr.write(`fuzz (seed ${SEED}): ${[...counts].map(([k, v]) => `${k} ${v}`).join(", ")}; total ${total} inputs\n`);
});

function tally(parser: string): void {
  counts.set(parser, (counts.get(parser) ?? 0) + 1);
}

/** Runs `f` on `runs` inputs; `f` may throw only errors for which `allowed` is true. */
function fuzz<T>(parser: string, arb: fc.Arbitrary<T>, runs: number, allowed: (e: unknown) => boolean, f: (v: T) => void): void {
  fc.assert(
    fc.property(arb, (v) => {
      tally(parser);
      try {
        f(v);
      } catch (err) {
        if (!allowed(err)) throw err;
      }
    }),
    { seed: SEED, numRuns: runs },
  );
}

async function fuzzAsync<T>(
  parser: string,
  arb: fc.Arbitrary<T>,
  runs: number,
  allowed: (e: unknown) => boolean,
  f: (v: T) => Promise<void>,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arb, async (v) => {
      tally(parser);
      try {
        await f(v);
      } catch (err) {
        if (!allowed(err)) throw err;
      }
    }),
    { seed: SEED, numRuns: runs },
  );
}

/** Random edits of a valid text: delete, duplicate, replace or insert characters. */
function mutations(
  base: string,
  alphabet: fc.Arbitrary<string> = fc.string({ unit: "binary", maxLength: 4 }),
): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat({ max: base.length }), fc.nat({ max: 8 }), alphabet);
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let s = base;
    for (const [at, del, ins] of edits) {
      const i = Math.min(at, s.length);
      s = s.slice(0, i) + ins + s.slice(Math.min(s.length, i + del));
    }
    return s;
  });
}

const anyText = fc.string({ unit: "binary", maxLength: 300 });

describe("Digest headers (RFC 7616 grammar, RFC 3310 nonce)", () => {
  const isDigestError = (e: unknown) => e instanceof DigestParseError;
  const valid = formatCredentials({
    username: "001010000000001@ims.mnc001.mcc001.3gppnetwork.org",
    realm: "bsf.mnc001.mcc001.pub.3gppnetwork.org",
    nonce: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    uri: "/",
    response: "0".repeat(32),
    algorithm: "AKAv1-MD5",
    qop: "auth-int",
    nc: "00000001",
    cnonce: "abc",
    opaque: "xyz",
  });
  const challenge = formatChallenge({ realm: "3GPP-bootstrapping@naf.example.org", nonce: "abc", qop: ["auth-int", "auth"] });
  const param = fc.tuple(
    fc.oneof(
      fc.constantFrom("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce", "auts", "rspauth"),
      fc.string(),
    ),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom('"', "", "'"),
  );
  const structured = fc
    .tuple(
      fc.constantFrom("Digest ", "digest ", "Digest", "Basic ", ""),
      fc.array(param, { maxLength: 12 }),
      fc.constantFrom(", ", ",", " "),
    )
    .map(([s, ps, sep]) => s + ps.map(([n, v, q]) => `${n}=${q}${v}${q}`).join(sep));
  const headers = fc.oneof(anyText, structured, mutations(valid), mutations(challenge));

  it("credentials: parsed or DigestParseError; a valid header still parses", () => {
    fuzz("digest-credentials", headers, 20_000, isDigestError, (h) => {
      const c = parseDigestCredentials(h);
      expect(typeof c.username).toBe("string");
    });
    expect(parseDigestCredentials(valid).qop).toBe("auth-int");
  });

  it("challenges and Authentication-Info: parsed or DigestParseError", () => {
    fuzz("digest-challenge", headers, 10_000, isDigestError, (h) => {
      for (const c of parseDigestChallenge(h)) expect(typeof c.nonce).toBe("string");
    });
    fuzz("digest-authentication-info", headers, 5_000, isDigestError, (h) => void parseAuthenticationInfo(h));
    expect(parseDigestChallenge(challenge)[0].realm).toBe("3GPP-bootstrapping@naf.example.org");
  });

  it("AKA nonces: RAND and AUTN or DigestParseError", () => {
    const nonces = fc.oneof(
      anyText,
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("base64")),
      mutations(Buffer.alloc(32, 7).toString("base64")),
    );
    fuzz("aka-nonce", nonces, 5_000, isDigestError, (n) => {
      const { rand, autn } = parseAkaNonce(n);
      expect(rand.length + autn.length).toBe(32);
    });
  });
});

describe("BootstrappingInfo XML (TS 24.109 Annex C)", () => {
  const btid = makeBtid(new Uint8Array(16).fill(9), "bsf.mnc001.mcc001.pub.3gppnetwork.org");
  const valid = buildBootstrappingInfo({ btid, lifetime: new Date(Date.UTC(2030, 0, 1)) });
  const xmlBits = fc.constantFrom(
    "<",
    ">",
    "&",
    "&amp;",
    "&lt;",
    "<!DOCTYPE x>",
    "<!ENTITY e 'x'>",
    "<![CDATA[",
    "]]>",
    "<?",
    "?>",
    '"',
    "xmlns=",
    "</btid>",
    "<btid>",
    "\u0000",
    "\uFEFF",
  );
  const docs = fc.oneof(
    anyText,
    mutations(valid),
    mutations(valid, xmlBits),
    fc.uint8Array({ maxLength: 400 }),
    fc.nat({ max: 4096 }).map((n) => `${valid}${" ".repeat(16 * 1024 + n)}`),
  );

  it("parsed or BootstrappingInfoError; the valid body still parses", () => {
    fuzz(
      "bootstrapping-info-xml",
      docs,
      15_000,
      (e) => e instanceof BootstrappingInfoError,
      (d) => {
        const info = parseBootstrappingInfo(d);
        expect(info.lifetime.getTime()).not.toBeNaN();
      },
    );
    expect(parseBootstrappingInfo(valid).btid).toBe(btid);
  });
});

describe("B-TID, TLS-PSK identity, Ua security protocol id", () => {
  it("parsed or BtidError / UaIdError", () => {
    const btid = makeBtid(new Uint8Array(16).fill(1), "bsf.example.org");
    const texts = fc.oneof(anyText, mutations(btid), mutations(`3GPP-bootstrapping.${btid}`), fc.string({ maxLength: 400 }));
    fuzz(
      "btid",
      texts,
      8_000,
      (e) => e instanceof BtidError,
      (t) => {
        expect(parseBtid(t).rand.length).toBe(16);
      },
    );
    fuzz(
      "psk-identity",
      texts,
      2_000,
      () => false,
      (t) => void parsePskIdentity(t),
    );
    // documented: HexError for bad hex, UaIdError for a bad organisation-00 id
    const uaIdErrors = (e: unknown) => e instanceof UaIdError || e instanceof HexError;
    fuzz("ua-security-protocol-id", fc.oneof(anyText, mutations("0100000002")), 4_000, uaIdErrors, (t) => {
      expect(parseUaId(t).length).toBe(5);
    });
  });
});

describe("scenario YAML (scenarios/load.ts parseScenario)", () => {
  const demo = readFileSync(fileURLToPath(new URL("../scenarios/iot04-obu-enrolment.yaml", import.meta.url)), "utf8");
  const yamlBits = fc.constantFrom(
    ":",
    "- ",
    "  ",
    "\n",
    "{",
    "}",
    "[",
    "]",
    "&a",
    "*a",
    "!!binary",
    "<<: *a",
    "#",
    "'",
    '"',
    "\t",
    "~",
    "null",
    "-1",
    "1e309",
  );
  const texts = fc.oneof(
    { weight: 2, arbitrary: mutations(demo, yamlBits) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: anyText },
    {
      weight: 2,
      arbitrary: fc
        .record(
          {
            name: fc.oneof(fc.string(), fc.integer()),
            devices: fc.array(fc.record({ name: fc.string(), count: fc.integer({ min: -2, max: 5 }) }, { requiredKeys: [] }), {
              maxLength: 3,
            }),
            flow: fc.array(fc.oneof(fc.constantFrom("bootstrap", "enrol", "x"), fc.record({ wait: fc.integer() })), {
              maxLength: 4,
            }),
            load: fc.record({ rate: fc.double(), durationSeconds: fc.integer() }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
    },
  );

  it("a loaded scenario or ScenarioError; the demo file still loads", () => {
    fuzz(
      "scenario-yaml",
      texts,
      4_000,
      (e) => e instanceof ScenarioError,
      (t) => {
        const s = parseScenario(t, join(scratch, "fuzz.yaml"));
        expect(Array.isArray(s.devices)).toBe(true);
      },
    );
    expect(parseScenario(demo, "demo.yaml").name).toBe("iot04-obu-enrolment");
    // found by this fuzzer: an alias without its anchor used to escape as a ReferenceError
    expect(() => parseScenario("name: x\ndevices: [*nowhere]\n", "alias.yaml")).toThrow(ScenarioError);
  });
});

describe("CSV imports", () => {
  const header = "impi,imsi,msisdn,impu,k,op,opc,amf,sqn,uicc_type";
  const row = `a@ims.example.org,001010000000001,491510000001,sip:a@x;tel:+491510000001,${"11".repeat(16)},,${"22".repeat(16)},8000,000000000020,GBA`;
  const csvBits = fc.constantFrom(",", '"', '""', "\n", "\r\n", "\r", ";", "\uFEFF", " ", "x".repeat(300));

  it("HSS subscriber CSV: rows and row errors, never an exception; every row is validated without one either", () => {
    const docs = fc.oneof(anyText, mutations(`${header}\n${row}\n${row}\n`, csvBits), mutations(`${header}\n${row}\n`));
    fuzz(
      "hss-csv",
      docs,
      8_000,
      () => false,
      (t) => {
        const { rows, errors } = parseSubscriberCsv(t);
        for (const r of rows) void validateCreate(r.input, { defaultAmf: "8000" });
        expect(Array.isArray(errors)).toBe(true);
      },
    );
  });

  it("scenario subscriber and binding CSV files: rows and problems, never an exception", () => {
    const subHeader = "id,imsi,msisdn,k,opc,sqn,uiccType,keyLifetime";
    const subRow = `alice,001010000000099,+491510000099,${"11".repeat(16)},${"22".repeat(16)},000000000000,GBA_U,60`;
    const file = join(scratch, "fuzz.csv");
    const docs = fc.oneof(
      anyText,
      mutations(`${subHeader}\n${subRow}\n`, csvBits),
      mutations("vehicle,obu,msisdn\nVIN-1,OBU-1,+4915100001\n", csvBits),
    );
    fuzz(
      "scenario-csv",
      docs,
      3_000,
      () => false,
      (t) => {
        writeFileSync(file, t);
        expect(Array.isArray(readSubscribersCsv(file).problems)).toBe(true);
        expect(Array.isArray(readBindingsCsv(file).problems)).toBe(true);
      },
    );
  });

  it("ECA vehicle bindings CSV: rows and problems or BindingError", () => {
    const docs = fc.oneof(
      anyText,
      mutations("vehicle_id,obu_id,msisdn\nVIN-1,OBU-1,+4915100001\nVIN-2,OBU-2,4915100002\n", csvBits),
    );
    fuzz(
      "eca-bindings-csv",
      docs,
      5_000,
      (e) => e instanceof BindingError,
      (t) => {
        expect(Array.isArray(parseBindingsCsv(t).rows)).toBe(true);
      },
    );
  });
});

describe("APDUs on the simulated USIM (TS 31.102, ETSI TS 102 221)", () => {
  it("every command gets a response ending in a status word; the card still authenticates afterwards", async () => {
    const k = new Uint8Array(16).fill(0x46);
    const opc = new Uint8Array(16).fill(0xcd);
    const state = newUsimState({ k, opc, imsi: "001010000000123", sqn: 0, gbaU: true });
    const card = new SimulatedUsim(state);
    const INS = [0xa4, 0xb0, 0xb2, 0xd6, 0xdc, 0x88, 0xc0, 0x70, 0xf2, 0xca, 0x20, 0x2c, 0x84, 0x12];
    const apdu = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc
        .record({
          cla: fc.oneof(fc.constantFrom(0x00, 0x80, 0x01, 0x40), fc.integer({ min: 0, max: 255 })),
          ins: fc.oneof(fc.constantFrom(...INS), fc.integer({ min: 0, max: 255 })),
          p1: fc.oneof(fc.constantFrom(0x00, 0x04, 0x08), fc.integer({ min: 0, max: 255 })),
          p2: fc.oneof(fc.constantFrom(0x81, 0x84, 0x04, 0x0c, 0x00), fc.integer({ min: 0, max: 255 })),
          data: fc.oneof(
            fc.uint8Array({ maxLength: 255 }),
            fc.constantFrom(
              Uint8Array.of(0x3f, 0x00),
              Uint8Array.of(0x7f, 0xff),
              Uint8Array.of(0x6f, 0xd5),
              Uint8Array.of(0x6f, 0xd6),
            ),
            fc
              .tuple(fc.constantFrom(0xdd, 0xde, 0x10, 0x20), fc.uint8Array({ maxLength: 60 }))
              .map(([t, v]) => Uint8Array.of(t, v.length, ...v)),
          ),
          le: fc.option(fc.integer({ min: 0, max: 255 })),
          lcLies: fc.boolean(),
        })
        .map((c) => {
          const lc = c.lcLies ? (c.data.length + 3) & 0xff : c.data.length;
          const body = c.data.length > 0 ? [lc, ...c.data] : [];
          return Uint8Array.from([c.cla, c.ins, c.p1, c.p2, ...body, ...(c.le === null ? [] : [c.le])]);
        }),
    );
    await fuzzAsync(
      "usim-apdu",
      apdu,
      25_000,
      () => false,
      async (a) => {
        const r = await card.transmit(a);
        expect(r.length).toBeGreaterThanOrEqual(2);
      },
    );
    // the card still answers a real AUTHENTICATE (3G context) with the right RES
    const m = new Milenage(k, opc);
    const rand = new Uint8Array(16).fill(0x23);
    const av = generateAuthVector(m, rand, sqnToBytes(1 << 20), Uint8Array.of(0x80, 0x00));
    const client = new UsimClient(card);
    await client.selectUsim();
    const res = await client.authenticate3g(rand, av.autn);
    expect(res.kind).toBe("success");
    if (res.kind === "success") expect(bytesToHex(res.res)).toBe(bytesToHex(av.xres));
  }, 60_000);
});

describe("PKCS#10 CSRs (nf/eca/csr.ts)", () => {
  it("checked or CsrError; a valid CSR still passes", async () => {
    const keys = await generateObuKeys();
    const der = await buildCsr("OBU-0001", keys);
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(der).toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    const flip = fc
      .array(fc.tuple(fc.nat({ max: der.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })
      .map((fs) => {
        const b = Uint8Array.from(der);
        for (const [i, x] of fs) b[i] ^= x;
        return b;
      });
    const cut = fc.nat({ max: der.length - 1 }).map((n) => der.slice(0, n));
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      flip,
      cut,
      mutations(pem).map((s) => new Uint8Array(Buffer.from(s, "latin1"))),
      mutations(Buffer.from(der).toString("base64")).map((s) => new Uint8Array(Buffer.from(s, "latin1"))),
      fc.uint8Array({ maxLength: 300 }).map((b) => Uint8Array.of(0x30, 0x82, 0x01, 0x00, ...b)),
    );
    await fuzzAsync(
      "csr",
      bodies,
      4_000,
      (e) => e instanceof CsrError,
      async (b) => {
        const c = await checkCsr(b);
        expect(typeof c.obuId).toBe("string");
      },
    );
    expect((await checkCsr(der)).obuId).toBe("OBU-0001");
    expect((await checkCsr(new Uint8Array(Buffer.from(pem)))).obuId).toBe("OBU-0001");
  }, 60_000);
});
