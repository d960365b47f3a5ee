// `gba calc ks-naf` and `gba calc digest` as a researcher runs them: the compiled CLI
// (node dist/cli/main.js; build with `npx tsc -p .` first), output compared with the vectors in
// test/vectors/gba-keys.json and gba-digest.json, and bad flags → exit 2 naming the flag.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const K = JSON.parse(readFileSync(new URL("./vectors/gba-keys.json", import.meta.url), "utf8"));
const D = JSON.parse(readFileSync(new URL("./vectors/gba-digest.json", import.meta.url), "utf8"));
type Vec = Record<string, string>;

function gba(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` before this test`);
});

const ksNafArgs = (uaId: string) => [
  "calc",
  "ks-naf",
  "--ck",
  K.milenage.ck,
  "--ik",
  K.milenage.ik,
  "--rand",
  K.milenage.rand,
  "--impi",
  K.impi,
  "--naf-fqdn",
  K.naf_fqdn,
  "--ua-id",
  uaId,
];

describe("gba calc ks-naf", () => {
  it("prints naf_id, Ks_NAF and its base64 (HTTP Digest Ua id)", async () => {
    const v = K.naf_keys[0];
    const out = await gba(...ksNafArgs(v.ua_id));
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ naf_id: v.naf_id, ks_naf: v.key, ks_naf_base64: v.password_base64 });
  });

  it("PSK-TLS Ua id", async () => {
    const v = K.naf_keys[2];
    const out = await gba(...ksNafArgs(v.ua_id));
    expect(JSON.parse(out.stdout).ks_naf).toBe(v.key);
  });

  it("--gba-u prints Ks_ext_NAF and Ks_int_NAF", async () => {
    const out = await gba(...ksNafArgs("0100000002"), "--gba-u");
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      naf_id: K.naf_keys[0].naf_id,
      ks_ext_naf: K.naf_keys[0].key,
      ks_int_naf: K.naf_keys[1].key,
    });
  });

  const replace = (args: string[], flag: string, value: string | null) => {
    const i = args.indexOf(flag);
    const copy = [...args];
    if (value === null) copy.splice(i, 2);
    else copy[i + 1] = value;
    return copy;
  };

  it.each([
    ["--ck", "zz", "--ck"],
    ["--ik", "f769bcd7", "--ik"],
    ["--rand", `${K.milenage.rand}00`, "--rand"],
    ["--ua-id", "01000000", "--ua-id"],
    ["--ua-id", "0000000002", "--ua-id"],
    ["--impi", null, "--impi"],
    ["--naf-fqdn", null, "--naf-fqdn"],
    ["--ck", null, "--ck"],
  ] as [string, string | null, string][])("%s %s → exit 2 naming %s", async (flag, value, named) => {
    const out = await gba(...replace(ksNafArgs("0100000002"), flag, value));
    expect(out.code).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain(named);
  });

  it("unknown flag → exit 2", async () => {
    const out = await gba(...ksNafArgs("0100000002"), "--gba-x");
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("--gba-x");
  });
});

function digestArgs(v: Vec): string[] {
  const args = ["calc", "digest", "--algorithm", v.algorithm, "--username", v.username, "--realm", v.realm];
  if (v.password_hex !== undefined) args.push("--password-hex", v.password_hex);
  else args.push("--password", v.password);
  args.push("--nonce", v.nonce, "--uri", v.uri, "--method", v.method, "--qop", v.qop, "--nc", v.nc, "--cnonce", v.cnonce);
  if (v.qop === "auth-int") args.push("--body", v.body);
  return args;
}

describe("gba calc digest", () => {
  it.each(D.vectors as Vec[])("$name", async (v) => {
    const args = digestArgs(v);
    if (v.rspauth !== undefined) args.push("--response-body", v.response_body);
    const out = await gba(...args);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const json = JSON.parse(out.stdout);
    expect(json.response).toBe(v.response);
    if (v.ha1 !== undefined) expect(json.ha1).toBe(v.ha1);
    expect(json.rspauth).toBe(v.rspauth);
  });

  it("defaults: --method GET, --nc 00000001", async () => {
    const v = D.vectors[0] as Vec;
    const args = digestArgs(v).filter(
      (a, i, all) => !["--method", "--nc"].includes(a) && !["--method", "--nc"].includes(all[i - 1]),
    );
    const out = await gba(...args);
    expect(JSON.parse(out.stdout).response).toBe(v.response);
  });

  const base = digestArgs(D.vectors[0] as Vec);
  it.each([
    [["--algorithm", "SHA-1"], "--algorithm"],
    [["--qop", "auth-conf"], "--qop"],
    [["--nc", "1"], "--nc"],
    [["--password-hex", "abc"], "--password"],
    [["--body", "x"], "--body"],
  ])("%j → exit 2 naming %s", async (extra, named) => {
    const args = [...base];
    const i = args.indexOf(extra[0]);
    if (i >= 0) args[i + 1] = extra[1];
    else args.push(...extra);
    const out = await gba(...args);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(named);
  });

  it.each(["--cnonce", "--username", "--realm", "--nonce", "--uri", "--password"])(
    "missing %s → exit 2 naming it",
    async (flag) => {
      const i = base.indexOf(flag);
      const out = await gba(...base.slice(0, i), ...base.slice(i + 2));
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(flag);
    },
  );

  it("--password-hex with odd digits → exit 2 naming it", async () => {
    const v = D.vectors[3] as Vec;
    const args = digestArgs(v);
    args[args.indexOf("--password-hex") + 1] = "a54";
    const out = await gba(...args);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("--password-hex");
  });

  it("help lists ks-naf and digest", async () => {
    const out = await gba("calc", "--help");
    expect(out.stdout).toContain("ks-naf");
    expect(out.stdout).toContain("--response-body");
  });
});
