// `gba bench ... --target`: the benchmarks against NFs they did not start, here a `gba up`
// started separately, with a subscriber provisioned by `gba provision add` and its USIM made by
// `gba usim new`: the UE bootstraps with the BSF, then loads the NAF / BSF / ECA.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./hss-fixtures.js";
import type { BenchResult } from "../bench/lib/result.js";

const MAIN = join(process.cwd(), "dist/cli/main.js");
const K = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC = "cd63cb71954a9f4e48a5994e37a02baf";
const IMSI = "001010000004242";
const IMPI = `${IMSI}@ims.mnc001.mcc001.3gppnetwork.org`;
const MSISDN = "15550004242";
const QUICK = ["--duration", "1", "--rounds", "1", "--warmup", "0", "--connections", "2"];

const dir = mkdtempSync(join(tmpdir(), "gba-bench-target-"));
const data = join(dir, "data");
const usim = join(dir, "ue.json");
let up: ChildProcess;
let ready: Record<string, Record<string, string>>;

const gba = (args: string[]) => runCli(args);

async function ok(args: string[]): Promise<string> {
  const r = await gba(args);
  if (r.code !== 0) throw new Error(`gba ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  up = spawn(process.execPath, [MAIN, "up", "--ephemeral-ports", "--data", data, "--log-level", "warn"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  ready = await new Promise((resolve, reject) => {
    let buf = "";
    up.once("exit", (code) => reject(new Error(`gba up exited with ${code}`)));
    up.stdout?.on("data", (c) => {
      buf += c;
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
  });
  await ok(["provision", "add", "--data", data, "--impi", IMPI, "--imsi", IMSI, "--msisdn", MSISDN, "--k", K, "--opc", OPC]);
  await ok([
    "provision",
    "vehicle",
    "add",
    "--data",
    data,
    "--vehicle",
    "VIN-TARGET-1",
    "--obu",
    "OBU-TARGET-1",
    "--msisdn",
    MSISDN,
  ]);
  await ok(["usim", "new", "--k", K, "--opc", OPC, "--imsi", IMSI, "--out", usim]);
});

afterAll(async () => {
  if (up?.exitCode === null) {
    const exited = new Promise((r) => up.once("exit", r));
    up.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function bench(name: string, args: string[]): Promise<BenchResult> {
  const out = join(dir, `${name}.json`);
  const r = await gba(["bench", name, ...QUICK, "--out", out, ...args]);
  expect(r.stderr).not.toMatch(/failed|Error/);
  expect(r.code).toBe(0);
  const result = JSON.parse(readFileSync(out, "utf8")) as BenchResult;
  expect(result.bench).toBe(name);
  for (const c of result.comparisons) {
    expect(c.subject.ok).toBeGreaterThan(0);
    expect(c.subject.errors).toEqual({});
    expect(c.baseline.ok).toBeGreaterThan(0);
    expect(Number.isFinite(c.ratio)).toBe(true);
  }
  return result;
}

describe("gba bench --target against a separately started gba up", { timeout: 60_000 }, () => {
  it("ua: bootstraps with --bsf, then Digest requests with nc incrementing to the NAF", async () => {
    const target = ready.naf.http;
    const r = await bench("ua", ["--target", target, "--bsf", ready.bsf.ub, "--usim", usim]);
    expect(r.target).toBe(target);
    expect(r.config.path).toBe("/whoami");
  });

  it("ub: bootstraps the USIM's subscriber back to back, its SQN array written back", async () => {
    const before = JSON.parse(readFileSync(usim, "utf8")).sqn.seq as number[];
    const r = await bench("ub", ["--target", ready.bsf.ub, "--usim", usim]);
    expect(r.config).toMatchObject({ connections: 1, subscribers: 1 });
    const after = JSON.parse(readFileSync(usim, "utf8")).sqn.seq as number[];
    expect(Math.max(...after)).toBeGreaterThanOrEqual(Math.max(...before) + r.comparisons[0].subject.ok);
  });

  it("zn: the B-TID of a bootstrap looked up on the BSF's Zn", async () => {
    const r = await bench("zn", [
      ...["--target", ready.bsf.zn, "--bsf", ready.bsf.ub, "--usim", usim],
      ...["--zn-token", "naf-zn-token", "--naf-fqdn", ready.naf.fqdn],
    ]);
    expect(r.config.sessions).toBe(1);
  });

  it("tls-psk: handshakes with the key of NAF_Id = --naf-fqdn ‖ Ua id", async () => {
    const r = await bench("tls-psk", [
      "--target",
      ready.naf.tlsPsk,
      "--bsf",
      ready.bsf.ub,
      "--usim",
      usim,
      "--naf-fqdn",
      ready.naf.fqdn,
    ]);
    expect(r.comparisons).toHaveLength(2);
  });

  it("enrol: enrols the OBU bound to the subscriber's MSISDN", async () => {
    await bench("enrol", ["--target", ready.eca.url, "--bsf", ready.bsf.ub, "--usim", usim, "--obu", "OBU-TARGET-1"]);
  });

  it("refuses --target without what the UE needs, naming the flag (exit 2)", async () => {
    const r = await gba(["bench", "ua", "--target", ready.naf.http, ...QUICK]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--bsf/);
    const m = await gba(["bench", "milenage", "--target", ready.naf.http]);
    expect(m.code).toBe(2);
    expect((await gba(["bench", "nope"])).code).toBe(2);
  });
});
