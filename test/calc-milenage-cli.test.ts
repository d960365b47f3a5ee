// `gba calc milenage` and `gba calc auts` as a researcher runs them: the compiled CLI
// (node dist/cli/main.js; build with `npx tsc -p .` first), output compared with the published
// vectors in test/vectors/milenage-test-sets.json, and bad flags → exit 2 naming the flag.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
type Vector = Record<string, string | number> & { kind: string };
const vectors = JSON.parse(readFileSync(new URL("./vectors/milenage-test-sets.json", import.meta.url), "utf8")) as Vector[];
const set1 = vectors.find((v) => v.kind === "milenage" && v.test_set === 1) as Record<string, string>;
const set35207 = vectors.find((v) => v.kind === "milenage" && v.test_set === "35.207-2") as Record<string, string>;

function gba(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The object `gba calc milenage` must print for a vector, built from the vector's fields only. */
function expectedMilenage(v: Record<string, string>) {
  const sqnXorAk = (BigInt(`0x${v.SQN}`) ^ BigInt(`0x${v.f5}`)).toString(16).padStart(12, "0");
  return {
    opc: v.OPc,
    mac_a: v.f1,
    mac_s: v.f1star,
    res: v.f2,
    ck: v.f3,
    ik: v.f4,
    ak: v.f5,
    ak_star: v.f5star,
    autn: `${sqnXorAk}${v.AMF}${v.f1}`,
  };
}

const milenageArgs = (v: Record<string, string>, key: "op" | "opc") => [
  "calc",
  "milenage",
  "--k",
  v.K,
  `--${key}`,
  key === "op" ? v.OP : v.OPc,
  "--rand",
  v.RAND,
  "--sqn",
  v.SQN,
  "--amf",
  v.AMF,
];

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` before this test`);
});

describe("gba calc milenage", () => {
  it.each(["op", "opc"] as const)("prints TS 35.208 test set 1 exactly (from --%s)", async (key) => {
    const out = await gba(...milenageArgs(set1, key));
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expectedMilenage(set1));
    // test set 1 AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A (TS 33.102 §6.3.2), as in test/vectors/gba-keys.json
    expect(JSON.parse(out.stdout).autn).toBe("55f328b43577b9b94a9ffac354dfafb3");
  });

  it("prints the published AUTN of the TS 35.207 set", async () => {
    const out = await gba(...milenageArgs(set35207, "op"));
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expectedMilenage(set35207));
    expect(JSON.parse(out.stdout).autn).toBe(set35207.AUTN);
  });

  it("accepts upper-case hex and prints lower case", async () => {
    const args = milenageArgs(set1, "opc").map((a) =>
      a.startsWith("--") || a === "calc" || a === "milenage" ? a : a.toUpperCase(),
    );
    const out = await gba(...args);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expectedMilenage(set1));
  });
});

describe("gba calc auts", () => {
  it.each(vectors.filter((v) => v.kind === "auts").map((v) => [String(v.name), v as Record<string, string>] as const))(
    "%s",
    async (_, v) => {
      const out = await gba("calc", "auts", "--k", v.K, "--opc", v.OPc, "--rand", v.RAND, "--sqn-ms", v.SQN_MS);
      expect(out.code).toBe(0);
      expect(JSON.parse(out.stdout)).toEqual({ auts: v.AUTS, auts_base64: Buffer.from(v.AUTS, "hex").toString("base64") });
    },
  );

  it("test set 1 with SQN_MS 000000000001 (gba-digest §8 example)", async () => {
    const out = await gba("calc", "auts", "--k", set1.K, "--op", set1.OP, "--rand", set1.RAND, "--sqn-ms", "000000000001");
    expect(JSON.parse(out.stdout)).toEqual({ auts: "451e8beca43a21de542dbdfb7453", auts_base64: "RR6L7KQ6Id5ULb37dFM=" });
  });
});

describe("bad flags exit 2 with a message naming the flag", () => {
  const good: Record<string, string> = { k: set1.K, opc: set1.OPc, rand: set1.RAND, sqn: set1.SQN, amf: set1.AMF };
  const flags = (over: Record<string, string | undefined>) =>
    Object.entries({ ...good, ...over }).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, v]));

  const cases: [string, string[], RegExp][] = [
    ["missing --rand", ["calc", "milenage", ...flags({ rand: undefined })], /missing required flag --rand/],
    ["missing --sqn", ["calc", "milenage", ...flags({ sqn: undefined })], /missing required flag --sqn\b/],
    ["15-byte --k", ["calc", "milenage", ...flags({ k: set1.K.slice(2) })], /--k: expected 16 bytes \(32 hex digits\), got 15/],
    ["both --op and --opc", ["calc", "milenage", ...flags({ op: set1.OP })], /either --op or --opc, not both/],
    ["neither --op nor --opc", ["calc", "milenage", ...flags({ opc: undefined })], /missing required flag --op or --opc/],
    ["odd hex in --sqn", ["calc", "milenage", ...flags({ sqn: "ff9bb4d0b60" })], /--sqn: odd number of hex digits/],
    ["non-hex --amf", ["calc", "milenage", ...flags({ amf: "b9bz" })], /--amf: contains a character that is not a hex digit/],
    ["1-byte --amf", ["calc", "milenage", ...flags({ amf: "b9" })], /--amf: expected 2 bytes/],
    ["17-byte --opc", ["calc", "milenage", ...flags({ opc: `${set1.OPc}00` })], /--opc: expected 16 bytes/],
    ["15-byte --rand", ["calc", "milenage", ...flags({ rand: set1.RAND.slice(2) })], /--rand: expected 16 bytes/],
    ["an unknown flag", ["calc", "milenage", ...flags({}), "--sqnn", "00"], /--sqnn/],
    ["a flag without its value", ["calc", "milenage", ...flags({ amf: undefined }), "--amf"], /--amf/],
    [
      "7-byte --sqn-ms",
      ["calc", "auts", "--k", set1.K, "--opc", set1.OPc, "--rand", set1.RAND, "--sqn-ms", `${set1.SQN}00`],
      /--sqn-ms: expected 6 bytes/,
    ],
    [
      "missing --sqn-ms",
      ["calc", "auts", "--k", set1.K, "--opc", set1.OPc, "--rand", set1.RAND],
      /missing required flag --sqn-ms/,
    ],
    ["no calculation named", ["calc"], /missing what to compute: one of milenage, auts/],
    ["an unknown calculation", ["calc", "milenag"], /unknown calculation "milenag"/],
  ];

  it.each(cases)("%s", async (_, args, message) => {
    const out = await gba(...args);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr).toMatch(message);
    // secrets are not echoed back
    expect(out.stderr).not.toContain(set1.K.slice(2, 18));
    expect(out.stderr).not.toContain(set1.OPc.slice(2, 18));
  });
});
