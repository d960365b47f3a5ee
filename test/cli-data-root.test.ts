// Commands that read a store refuse a data root without one, naming the path and --data, and
// create nothing (issue 15 item 3: `gba provision list --data /tmp/typo` printed an empty list
// and created a store with a new master key). Only add/import and the NFs create a store.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuiltCli, runGba, startGbaUp } from "./helpers/gba-cli.js";

const dir = mkdtempSync(join(tmpdir(), "cli-data-root-"));
const K = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC = "cd63cb71954a9f4e48a5994e37a02baf";

const gba = (args: string[], cwd = dir) => runGba(args, { cwd });

beforeAll(requireBuiltCli);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const READERS: Array<[string[], string]> = [
  [["provision", "list"], "HSS"],
  [["provision", "show", "a@ims.example"], "HSS"],
  [["provision", "remove", "a@ims.example"], "HSS"],
  [["provision", "vehicle", "list"], "ECA"],
  [["provision", "vehicle", "certificates"], "ECA"],
];

describe("a data root without a store", () => {
  it.each(READERS)("gba %j refuses it, naming the path and --data, and creates nothing", async (args, nf) => {
    const typo = join(dir, "typo");
    const r = await gba([...args, "--data", typo]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`no ${nf} store in ${typo}`);
    expect(r.stderr).toContain("--data DIR");
    expect(existsSync(typo)).toBe(false);
  });

  it("the default .gba-data of another working directory: refused with its absolute path", async () => {
    const elsewhere = mkdtempSync(join(dir, "elsewhere-"));
    const r = await gba(["provision", "list"], elsewhere);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no HSS store in ${join(elsewhere, ".gba-data")}`);
    expect(existsSync(join(elsewhere, ".gba-data"))).toBe(false);
  });

  it("add creates the store, and then the readers read it", async () => {
    const data = join(dir, "fresh");
    const impi = "001010123456789@ims.mnc001.mcc001.3gppnetwork.org";
    const added = await gba(["provision", "add", "--data", data, "--impi", impi, "--k", K, "--opc", OPC]);
    expect(added.code, added.stderr).toBe(0);
    const list = await gba(["provision", "list", "--data", data]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(impi);
    const binding = ["--vehicle", "V1", "--obu", "O1", "--msisdn", "4917012345"];
    const vehicles = await gba(["provision", "vehicle", "add", "--data", data, ...binding]);
    expect(vehicles.code, vehicles.stderr).toBe(0);
    expect(JSON.parse((await gba(["provision", "vehicle", "certificates", "--data", data])).stdout)).toEqual([]);
  });
});

describe("every NF logs its absolute data root at start", () => {
  it("gba up with a relative --data: four ready lines, each with the absolute root", async () => {
    const cwd = mkdtempSync(join(dir, "up-"));
    const up = await startGbaUp("rel/root", { cwd });
    await up.stop();
    const log = up.log();
    const ready = log
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; dataRoot?: string; subscribers?: number })
      .filter((l) => / ready$/.test(l.msg));
    expect(ready.map((l) => l.msg)).toEqual(["HSS ready", "BSF ready", "NAF ready", "ECA ready"]);
    for (const l of ready) expect(l.dataRoot).toBe(join(cwd, "rel/root"));
    // a new, empty store says so: the operator sees there is no subscriber here
    expect(ready[0].subscribers).toBe(0);
  }, 60_000);
});
