// Issue 15 item 4, end to end through `gba up` and `gba ue bootstrap`: a MAC failure at the UE
// names both usual causes (K/OPc differ, or the IMPI is not provisioned and the BSF sent a decoy
// challenge) and the command that tells them apart; the BSF's log has one line per refused
// request with the reason and the IMPI, never a key; `gba provision show IMPI` tells the two
// apart as the message says.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GbaUp, requireBuiltCli, runGba, startGbaUp } from "./helpers/gba-cli.js";

const dir = mkdtempSync(join(tmpdir(), "ue-mac-failure-"));
const data = join(dir, "data");
const K = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC = "cd63cb71954a9f4e48a5994e37a02baf";
const OTHER_K = "0f0e0d0c0b0a09080706050403020100";
const impiOf = (imsi: string) => `${imsi}@ims.mnc001.mcc001.3gppnetwork.org`;

let up: GbaUp;
let ub: string;

interface LogLine {
  level: number;
  name: string;
  msg: string;
  reason?: string;
  impi?: string;
}

const refusals = () =>
  up
    .log()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.msg.startsWith("Ub request refused"));

beforeAll(async () => {
  requireBuiltCli();
  up = await startGbaUp(data);
  ub = (JSON.parse(up.readyLine) as { bsf: { ub: string } }).bsf.ub;
}, 60_000);

afterAll(async () => {
  await up?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function card(imsi: string, k: string): Promise<string> {
  const out = join(dir, `${imsi}-${k.slice(0, 4)}.json`);
  const r = await runGba(["usim", "new", "--imsi", imsi, "--k", k, "--opc", OPC, "--out", out]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

/** `gba ue bootstrap` with the card; the BSF's refusal lines it caused. */
async function bootstrap(usim: string): Promise<{ code: number; stderr: string; logged: LogLine[] }> {
  const before = refusals().length;
  const r = await runGba(["ue", "bootstrap", "--bsf", ub, "--usim", usim]);
  await new Promise((res) => setTimeout(res, 200));
  return { code: r.code, stderr: r.stderr, logged: refusals().slice(before) };
}

function expectBothCauses(stderr: string, impi: string): void {
  expect(stderr.split("\n")).toHaveLength(2);
  expect(stderr).toContain("gba ue bootstrap: the USIM rejected the BSF's AUTN (MAC failure)");
  expect(stderr).toContain("K/OPc differ from the HSS's");
  expect(stderr).toContain(`${impi} is not provisioned`);
  expect(stderr).toContain(`\`gba provision show ${impi}\` tells them apart`);
}

describe("a MAC failure at the UE", () => {
  it("an IMPI that is not provisioned: the UE names both causes; the BSF logs unknown-impi; provision show says so", async () => {
    const imsi = "001010000000077";
    const r = await bootstrap(await card(imsi, K));
    expect(r.code).toBe(1);
    expectBothCauses(r.stderr, impiOf(imsi));
    expect(r.logged).toHaveLength(1);
    expect(r.logged[0]).toMatchObject({ name: "bsf-ub", reason: "unknown-impi", impi: impiOf(imsi) });
    const show = await runGba(["provision", "show", impiOf(imsi), "--data", data]);
    expect(show.code).toBe(1);
    expect(show.stderr).toContain(`no subscriber ${impiOf(imsi)}`);
  });

  it("a provisioned IMPI with another K: the same message; the BSF logs wrong-response; provision show finds it", async () => {
    const imsi = "001010000000078";
    const added = await runGba([
      "provision",
      "add",
      "--data",
      data,
      "--impi",
      impiOf(imsi),
      "--imsi",
      imsi,
      "--k",
      K,
      "--opc",
      OPC,
    ]);
    expect(added.code, added.stderr).toBe(0);
    const r = await bootstrap(await card(imsi, OTHER_K));
    expect(r.code).toBe(1);
    expectBothCauses(r.stderr, impiOf(imsi));
    expect(r.logged).toHaveLength(1);
    expect(r.logged[0]).toMatchObject({ name: "bsf-ub", reason: "wrong-response", impi: impiOf(imsi) });
    const show = await runGba(["provision", "show", impiOf(imsi), "--data", data]);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ impi: impiOf(imsi) });
  });

  it("the BSF's log holds neither K nor OPc", () => {
    for (const secret of [K, OPC, OTHER_K]) expect(up.log().toLowerCase()).not.toContain(secret);
  });
});
