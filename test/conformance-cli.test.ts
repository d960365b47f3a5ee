// `gba conformance` from dist/ (run `npx tsc -p .` first) against our stack in this process:
// one line per check, the JSON and Markdown reports, exit status 0 / 1 / 2, and no key material
// in anything it writes.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conformance } from "../cli/conformance.js";
import { UsageError } from "../cli/usage.js";
import type { SuiteReport } from "../conformance/index.js";
import { deriveKsNaf, ksFromCkIk, nafId } from "../gba/keys.js";
import { UA_ID } from "../gba/ua-id.js";
import { Milenage } from "../milenage/milenage.js";
import { bytesToBase64, bytesToHex } from "../wire/bytes.js";
import { type ConformanceStack, freshCard, IMPI, NAF_FQDN, startConformanceStack } from "./helpers/conformance-stack.js";
import { FakeBsf, K, OPC } from "./helpers/ue-fake-network.js";

const MAIN = new URL("../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "conformance-cli-"));

function gba(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let stack: ConformanceStack;
beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` first`);
  stack = await startConformanceStack();
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** RES, CK, IK, Ks and Ks_NAF (Digest Ua id) of every B-TID in a report, hex and base64. */
function secretsOf(report: SuiteReport): string[] {
  const out: string[] = [];
  for (const r of report.results) {
    for (const [, r64] of r.detail.matchAll(/([A-Za-z0-9+/]{22}==)@/g)) {
      const rand = new Uint8Array(Buffer.from(r64, "base64"));
      const { res, ck, ik } = new Milenage(K, OPC).f2345(rand);
      const ks = ksFromCkIk(ck, ik);
      const ksNaf = deriveKsNaf(ks, rand, IMPI, nafId(NAF_FQDN, UA_ID.HTTP_DIGEST));
      for (const v of [res, ck, ik, ks, ksNaf]) out.push(bytesToHex(v), bytesToBase64(v));
    }
  }
  return out;
}

describe("gba conformance", () => {
  it("bsf: one line per check, JSON and Markdown reports, exit 0 when no check fails", { timeout: 60_000 }, async () => {
    const json = join(dir, "bsf.json");
    const md = join(dir, "bsf.md");
    const r = await gba(["conformance", "bsf", stack.bsfUrl, "--usim", stack.cardFile, "--report", json, "--markdown", md]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(json, "utf8")) as SuiteReport;
    expect(report.suite).toBe("bsf");
    expect(report.tool).toMatch(/^gba-emu \d/);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(report.results.length + 1);
    expect(lines[0]).toMatch(
      /^PASS {2}bsf\.challenge {2}\[TS 24\.109 A\.3; TS 33\.220 §4\.5\.2\] {2}401 with 1 Digest challenge/,
    );
    expect(lines).toContain(
      "SKIP  bsf.stale  [RFC 7616 §3.3]  needs --stale-wait SECONDS, longer than the BSF's nonce lifetime, to let a challenge expire before answering",
    );
    expect(lines.at(-1)).toBe(
      `BSF conformance: ${report.summary.pass} passed, ${report.summary.fail} failed, ${report.summary.skip} skipped`,
    );
    const markdown = readFileSync(md, "utf8");
    expect(markdown).toContain("| result | check | clause | detail |");
    expect(markdown).toContain("| PASS | `bsf.server-token`");
    expect(markdown).toContain("| SKIP | `bsf.stale`");
    expect(markdown).toContain("Our readings");
    const secrets = secretsOf(report);
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(r.stdout).not.toContain(s);
      expect(readFileSync(json, "utf8")).not.toContain(s);
      expect(markdown).not.toContain(s);
    }
  });

  it("exit 1 when a check fails (a BSF without the 3gpp-gba-tmpi Server token)", { timeout: 60_000 }, async () => {
    const fake = new FakeBsf();
    await fake.start();
    try {
      const r = await gba(["conformance", "bsf", fake.url, "--usim", await freshCard(), "--only", "bsf.server-token"]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/^FAIL {2}bsf\.server-token {2}\[TS 33\.220 §4\.5\.2\]/);
    } finally {
      await fake.stop();
    }
  });

  it("exit 0 when every selected check passes", { timeout: 60_000 }, async () => {
    const r = await gba(["conformance", "bsf", stack.bsfUrl, "--usim", stack.cardFile, "--only", "bsf.challenge,bsf.bootstrap"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/BSF conformance: 12 passed, 0 failed, 0 skipped/);
  });

  it("naf: keys from the BSF, TLS-PSK, no key material in the output", { timeout: 60_000 }, async () => {
    const json = join(dir, "naf.json");
    const args = ["conformance", "naf", stack.nafUrl, "--bsf", stack.bsfUrl, "--naf-fqdn", NAF_FQDN];
    const r = await gba([...args, "--tls-psk", stack.tlsPskUrl, "--usim", stack.cardFile, "--report", json]);
    const report = JSON.parse(readFileSync(json, "utf8")) as SuiteReport;
    expect(report.results.filter((x) => x.verdict !== "PASS").map((x) => x.id)).toEqual([]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const secrets = secretsOf(report);
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(r.stdout).not.toContain(s);
      expect(readFileSync(json, "utf8")).not.toContain(s);
    }
  });

  it("a card that cannot be read: one line, exit 1", async () => {
    const r = await gba(["conformance", "bsf", stack.bsfUrl, "--usim", join(dir, "missing.json")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`gba conformance bsf: cannot read USIM state file ${join(dir, "missing.json")}: no such file`);
  });

  it("a usage error: exit 2 with the message", async () => {
    const r = await gba(["conformance", "bsf", "http://x"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("gba conformance: missing --usim FILE or --pcsc [READER]");
  });

  it.each([
    [[], "missing suite: bsf or naf"],
    [["hss", "http://x"], 'unknown suite "hss": bsf or naf'],
    [["bsf", "--usim", "c.json"], "give exactly one URL: the BSF's Ub URL"],
    [["bsf", "ftp://x", "--usim", "c.json"], "URL: expected an http:// or https:// URL"],
    [["bsf", "http://x", "--usim", "c.json", "--pcsc"], "give either --usim or --pcsc, not both"],
    [["bsf", "http://x", "--usim", "c.json", "--stale-wait", "0"], '--stale-wait: "0" is not a number of seconds'],
    [["bsf", "http://x", "--usim", "c.json", "--only", "bsf.nope"], "--only: no bsf check is or starts with bsf.nope"],
    [["bsf", "http://x", "--usim", "c.json", "--bsf-fqdn", "not a name"], '--bsf-fqdn: "not a name" is not a DNS name'],
    [["bsf", "http://x", "--usim", "c.json", "--tls-psk", "https://x"], "Unknown option '--tls-psk'"],
    [["naf", "https://x/", "--usim", "c.json"], "URL: the NAF suite speaks HTTP Digest over http://"],
    [["naf", "http://x/", "--usim", "c.json", "--tls-psk", "http://x"], "--tls-psk: expected an https:// URL"],
  ])("usage error %j, before any card or network is touched", async (args, message) => {
    const err = await Promise.resolve(conformance.run(args)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(message);
  });

  it("--list prints every check with its clause", async () => {
    const r = await gba(["conformance", "--list"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^bsf\.challenge +\[TS 24\.109 A\.3; TS 33\.220 §4\.5\.2\]/m);
    expect(r.stdout).toMatch(/^naf\.tls-psk\.tls13 +\[TS 33\.222 §5\.4\.0\.2/m);
  });
});
