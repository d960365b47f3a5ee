// `gba usim new | show | serve` as a user runs them (node dist/cli/main.js; build first with
// `npx tsc -p .`). `serve` is driven by a fake vpcd (test/helpers/pcsc-fake-vpcd.ts).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAuthVector } from "../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { joinSqn, sqnToBytes } from "../milenage/sqn.js";
import { FakeVpcd } from "./helpers/pcsc-fake-vpcd.js";

const MAIN = new URL("../dist/cli/main.js", import.meta.url).pathname;
// TS 35.208 test set 1: OP → OPc
const K = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OP = "cdc202d5123e20f62b6d676ac72cb318";
const OPC = "cd63cb71954a9f4e48a5994e37a02baf";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function gba(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args]);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` before the CLI tests`);
  dir = await mkdtemp(join(tmpdir(), "usim-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("gba usim new / show", () => {
  it("creates a 0600 state file from OP and shows it without K or OPc", async () => {
    const out = join(dir, "a.json");
    const r = await gba([
      "usim",
      "new",
      "--k",
      K,
      "--op",
      OP,
      "--imsi",
      "310150123456789",
      "--mnc-length",
      "3",
      "--sqn",
      "0000000000e3",
      "--gba-u",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(out, "utf8"));
    expect(saved.opc).toBe(OPC);
    expect(saved.sqn.seq[3]).toBe(7); // 0xe3 = SEQ 7 ‖ IND 3

    const show = await gba(["usim", "show", "--usim", out]);
    expect(show.code).toBe(0);
    const v = JSON.parse(show.stdout);
    expect(v).toMatchObject({ imsi: "310150123456789", mncLength: 3, gbaU: true, autnStar: true, gbaUBootstrapped: false });
    expect(v.sqn).toEqual({ sqnMs: "0000000000e3", indBits: 5, seqByInd: { 3: 7 } });
    expect(v).not.toHaveProperty("k");
    expect(v).not.toHaveProperty("opc");
    expect(show.stdout).not.toContain(K);
    expect(show.stdout).not.toContain(OPC);
  });

  it("makes a GBA_ME card by default and honours --no-autn-star", async () => {
    const a = join(dir, "me.json");
    expect((await gba(["usim", "new", "--k", K, "--opc", OPC, "--imsi", "001010000000001", "--out", a])).code).toBe(0);
    const me = JSON.parse((await gba(["usim", "show", "--usim", a])).stdout);
    expect(me.gbaU).toBe(false);
    expect(me.ust).toBe("00".repeat(16));
    const b = join(dir, "plain.json");
    expect(
      (await gba(["usim", "new", "--k", K, "--opc", OPC, "--imsi", "001010000000001", "--gba-u", "--no-autn-star", "--out", b]))
        .code,
    ).toBe(0);
    expect(JSON.parse((await gba(["usim", "show", "--usim", b])).stdout).autnStar).toBe(false);
  });

  it("refuses to overwrite without --force", async () => {
    const out = join(dir, "twice.json");
    const args = ["usim", "new", "--k", K, "--opc", OPC, "--imsi", "001010000000001", "--out", out];
    expect((await gba(args)).code).toBe(0);
    const again = await gba(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("--out");
    expect((await gba([...args, "--force"])).code).toBe(0);
  });

  it.each([
    [["usim"], "missing subcommand"],
    [["usim", "new", "--opc", OPC, "--imsi", "001010000000001", "--out", "x.json"], "--k"],
    [["usim", "new", "--k", K, "--imsi", "001010000000001", "--out", "x.json"], "--op or --opc"],
    [["usim", "new", "--k", K, "--op", OP, "--opc", OPC, "--imsi", "001010000000001", "--out", "x.json"], "either --op or --opc"],
    [["usim", "new", "--k", "00", "--opc", OPC, "--imsi", "001010000000001", "--out", "x.json"], "--k"],
    [["usim", "new", "--k", K, "--opc", OPC, "--imsi", "00101abc", "--out", "x.json"], "--imsi"],
    [
      ["usim", "new", "--k", K, "--opc", OPC, "--imsi", "001010000000001", "--mnc-length", "4", "--out", "x.json"],
      "--mnc-length",
    ],
    [["usim", "new", "--k", K, "--opc", OPC, "--imsi", "001010000000001", "--sqn", "01", "--out", "x.json"], "--sqn"],
    [["usim", "new", "--k", K, "--opc", OPC, "--imsi", "001010000000001"], "--out"],
    [["usim", "show"], "--usim"],
    [["usim", "serve", "--usim", "x.json", "--vpcd", "localhost"], "--vpcd"],
    [["usim", "serve", "--usim", "x.json", "--log-level", "loud"], "--log-level"],
  ])("exits 2 naming the problem: %j", async (args, flag) => {
    const r = await gba(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(flag);
  });

  it("exits 1 with the reason for a malformed state file", async () => {
    const bad = join(dir, "bad.json");
    await import("node:fs/promises").then((fs) => fs.writeFile(bad, '{"version":1}'));
    const r = await gba(["usim", "show", "--usim", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/USIM state file .*bad\.json: field "imsi" must be a string/);
  });
});

function serve(
  file: string,
  port: number,
  extra: string[] = [],
): { child: ChildProcess; out: Run; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, "usim", "serve", "--usim", file, "--vpcd", `127.0.0.1:${port}`, ...extra]);
  const out: Run = { code: null, stdout: "", stderr: "" };
  child.stdout!.on("data", (d) => (out.stdout += d));
  child.stderr!.on("data", (d) => (out.stderr += d));
  const exited = new Promise<number | null>((r) =>
    child.on("close", (code) => {
      out.code = code;
      r(code);
    }),
  );
  return { child, out, exited };
}

describe("gba usim serve behind a fake vpcd", () => {
  it("answers ATR requests and APDUs, logs without key material, exits 0 on SIGTERM", async () => {
    const file = join(dir, "serve.json");
    expect((await gba(["usim", "new", "--k", K, "--opc", OPC, "--imsi", "001010123456789", "--out", file])).code).toBe(0);
    const vpcd = await FakeVpcd.listen();
    const s = serve(file, vpcd.port, ["--log-level", "debug"]);
    try {
      await vpcd.connected;
      expect(await vpcd.exchange("04")).toBe("3b9f96801fc78031c073d02100634742418300900096");
      vpcd.send("01"); // power on: no answer
      expect(await vpcd.exchange("00a4040c07a0000000871002")).toBe("9000");
      const m = new Milenage(hexToBytes(K), hexToBytes(OPC));
      const av = generateAuthVector(m, hexToBytes("5a".repeat(16)), sqnToBytes(joinSqn(3, 1)), hexToBytes("8000"));
      const r = await vpcd.exchange(`008800812210${bytesToHex(av.rand)}10${bytesToHex(av.autn)}00`);
      expect(r).toBe(`db08${bytesToHex(av.xres)}10${bytesToHex(av.ck)}10${bytesToHex(av.ik)}9000`);
      vpcd.send("00"); // power off
      expect(await vpcd.exchange("04")).toBe("3b9f96801fc78031c073d02100634742418300900096");
      expect(JSON.parse(s.out.stdout)).toEqual({ serving: true, vpcd: `127.0.0.1:${vpcd.port}`, usim: file });
      s.child.kill("SIGTERM");
      expect(await s.exited).toBe(0);
      expect(s.out.stderr).toMatch(/debug apdu 00880081 Lc=34 Le=0 -> 44 bytes, 9000/);
      for (const secret of [K, OPC, av.xres, av.ck, av.ik].map((v) => (typeof v === "string" ? v : bytesToHex(v)))) {
        expect(s.out.stderr).not.toContain(secret);
      }
      expect(JSON.parse(await readFile(file, "utf8")).sqn.seq[1]).toBe(3); // the accepted SQN was saved
    } finally {
      s.child.kill("SIGKILL");
      await vpcd.close();
    }
  });

  it("goes out of service (no ATR, exit 1) when a state change cannot be saved", async () => {
    const sub = join(dir, "vanishing");
    await mkdir(sub);
    const file = join(sub, "card.json");
    expect((await gba(["usim", "new", "--k", K, "--opc", OPC, "--imsi", "001010123456789", "--out", file])).code).toBe(0);
    const vpcd = await FakeVpcd.listen();
    const s = serve(file, vpcd.port);
    try {
      await vpcd.connected;
      expect(await vpcd.exchange("00a4040c07a0000000871002")).toBe("9000");
      await rm(sub, { recursive: true }); // nowhere to write the new SQN
      const m = new Milenage(hexToBytes(K), hexToBytes(OPC));
      const av = generateAuthVector(m, hexToBytes("6b".repeat(16)), sqnToBytes(joinSqn(1, 0)), hexToBytes("8000"));
      expect(await vpcd.exchange(`008800812210${bytesToHex(av.rand)}10${bytesToHex(av.autn)}00`)).toBe("6f00");
      expect(await s.exited).toBe(1);
      expect(s.out.stderr).toMatch(/card out of service: state not saved/);
    } finally {
      s.child.kill("SIGKILL");
      await vpcd.close();
    }
  });

  it("retries until vpcd listens", async () => {
    const file = join(dir, "retry.json");
    expect((await gba(["usim", "new", "--k", K, "--opc", OPC, "--imsi", "001010123456789", "--out", file])).code).toBe(0);
    const probe = await FakeVpcd.listen();
    const port = probe.port;
    await probe.close();
    const s = serve(file, port);
    try {
      const refused = `127.0.0.1:${port} not reachable (ECONNREFUSED); retrying`;
      for (let i = 0; i < 100 && !s.out.stderr.includes(refused); i++) await new Promise((r) => setTimeout(r, 100));
      expect(s.out.stderr).toContain(refused);
      await new Promise((r) => setTimeout(r, 300)); // a few more refused attempts (backoff)
      const vpcd = await FakeVpcd.listen(port);
      await vpcd.connected;
      expect(await vpcd.exchange("04")).toBe("3b9f96801fc78031c073d02100634742418300900096");
      s.child.kill("SIGINT");
      expect(await s.exited).toBe(0);
      await vpcd.close();
    } finally {
      s.child.kill("SIGKILL");
    }
  });
});
