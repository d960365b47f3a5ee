// Broken scenario files fail before anything starts, naming the line and the field: through the
// compiled CLI (`gba scenario run|validate`, exit 2; build with `npx tsc -p .` first) and
// through the loader for the fields this issue added (load.flow, latency steps, CSV files).
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseScenario, ScenarioError } from "../scenarios/load.js";

const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const DEMO = fileURLToPath(new URL("../scenarios/iot04-obu-enrolment.yaml", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "scenario-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gba(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 30_000, env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const GOOD = `name: small
subscribers:
  inline:
    - { id: alice, imsi: "001010000000099", msisdn: "+491510000099", k: 465b5ce8b199b49faa5f0a2ee238a6bc, opc: cd63cb71954a9f4e48a5994e37a02baf }
devices:
  - name: obus
    count: 2
  - name: alice
    subscriber: alice
flow: [bootstrap, keygen, csr, enrol, verify]
load: { rate: 2, durationSeconds: 1 }
`;

/** Runs `gba scenario run` with TMPDIR pointing at an empty directory: nothing may be created there. */
async function runRefused(path: string) {
  const tmp = mkdtempSync(join(dir, "tmp-"));
  const r = await gba(["scenario", "run", path], { ...process.env, TMPDIR: tmp });
  return { ...r, created: readdirSync(tmp) };
}

describe("gba scenario: broken files fail before anything starts (exit 2, line and field)", () => {
  it("accepts the demo scenario and a small valid one", async () => {
    const demo = await gba(["scenario", "validate", DEMO]);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('valid scenario "iot04-obu-enrolment"');
    const good = await gba(["scenario", "validate", file("good.yaml", GOOD)]);
    expect(good.code, good.stderr).toBe(0);
  });

  it("accepts every scenario shipped in scenarios/", async () => {
    const shipped = readdirSync(dirname(DEMO)).filter((f) => f.endsWith(".yaml"));
    expect(shipped).toContain("iot04-1k.yaml");
    for (const f of shipped) {
      const r = await gba(["scenario", "validate", join(dirname(DEMO), f)]);
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
    }
  });

  it("an unknown step names its line, the field and the known steps", async () => {
    const path = file(
      "unknown-step.yaml",
      GOOD.replace("flow: [bootstrap, keygen, csr, enrol, verify]", "flow:\n  - bootstrap\n  - enroll\n"),
    );
    for (const sub of ["run", "validate"]) {
      const r = sub === "run" ? await runRefused(path) : await gba(["scenario", sub, path]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('line 12, column 5: flow[1]: unknown step "enroll"');
      expect(r.stderr).toContain("known: bootstrap, keygen, csr, enrol, verify, tls-psk, fetch, wait");
      expect(r.stdout).toBe("");
      if ("created" in r) expect(r.created).toEqual([]);
    }
  });

  it("a wrong type names its line and field", async () => {
    const path = file("wrong-type.yaml", GOOD.replace("count: 2", 'count: "two"'));
    const r = await runRefused(path);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("line 7, column 12: devices[0].count: must be integer");
    expect(r.created).toEqual([]);
  });

  it("a missing subscriber names its line and field", async () => {
    const path = file("missing-subscriber.yaml", GOOD.replace("subscriber: alice", "subscriber: bob"));
    const r = await runRefused(path);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line 9, column 17: devices[1].subscriber: unknown subscriber "bob"');
    expect(r.created).toEqual([]);
  });

  it("every problem is listed, with the file name", async () => {
    const path = file(
      "several.yaml",
      GOOD.replace("count: 2", "count: 0").replace("rate: 2", "rate: -1").replace("name: small", "name: small\ncolour: red"),
    );
    const r = await gba(["scenario", "validate", path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}: invalid scenario`);
    expect(r.stderr).toContain("line 2, column 1: colour: unknown field");
    expect(r.stderr).toContain("line 8, column 12: devices[0].count: must be >= 1");
    expect(r.stderr).toContain("line 12, column 15: load.rate: must be > 0");
  });

  it("bad flags and a missing file are usage errors", async () => {
    const flag = await gba(["scenario", "run", DEMO, "--backend", "vm"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--backend: "vm" is not one of inprocess, process, netns, container');
    const devices = await gba(["scenario", "run", DEMO, "--devices", "0"]);
    expect(devices.code).toBe(2);
    expect(devices.stderr).toContain("--devices: expected a whole number");
    const missing = await gba(["scenario", "validate", join(dir, "nope.yaml")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read: ENOENT");
  });
});

describe("scenario loader: fields of the scenario runner", () => {
  const problems = (text: string, name = join(dir, "x.yaml")): string[] => {
    try {
      parseScenario(text, name);
    } catch (err) {
      if (err instanceof ScenarioError) return err.problems;
      throw err;
    }
    return [];
  };

  it("checks the steps of load.flow and of latency bounds", () => {
    const flow = problems(
      GOOD.replace("load: { rate: 2, durationSeconds: 1 }", "load:\n  rate: 2\n  durationSeconds: 1\n  flow: [bootstrap, sign]"),
    );
    expect(flow).toEqual([
      'line 14, column 21: load.flow[1]: unknown step "sign" (known: bootstrap, keygen, csr, enrol, verify, tls-psk, fetch, wait)',
    ]);
    const latency = problems(`${GOOD}assertions:\n  latency:\n    - { step: enroll, percentile: 95, maxMs: 100 }\n`);
    expect(latency).toEqual([
      'line 14, column 15: assertions.latency[0].step: unknown step "enroll" (known: bootstrap, keygen, csr, enrol, verify, tls-psk, fetch)',
    ]);
  });

  it("a latency bound on the load phase needs a load phase", () => {
    const p = problems(
      `${GOOD.replace("load: { rate: 2, durationSeconds: 1 }\n", "")}assertions:\n  latency:\n    - { step: enrol, phase: load, percentile: 95, maxMs: 100 }\n`,
    );
    expect(p).toEqual(["line 13, column 29: assertions.latency[0].phase: the scenario has no load phase"]);
  });

  it("reads subscribers and bindings from CSV files next to the scenario, naming file, line and column", () => {
    writeFileSync(
      join(dir, "subs.csv"),
      "id,imsi,msisdn,k,opc\nbob,001010000000077,+491510000077,465b5ce8b199b49faa5f0a2ee238a6bc,cd63cb71954a9f4e48a5994e37a02baf\ncarol,0010x,+4915,00,\n",
    );
    writeFileSync(join(dir, "bind.csv"), "vehicle,obu,msisdn\nVIN-9,OBU-9,+491510000077\n");
    const text = GOOD.replace("subscriber: alice", "subscriber: bob")
      .replace("devices:", "bindings:\n  csv: bind.csv\ndevices:")
      .replace("subscribers:\n", "subscribers:\n  csv: subs.csv\n");
    const p = problems(text);
    const csv = join(dir, "subs.csv");
    expect(p).toContain(`line 3, column 8: subscribers.csv: ${csv} line 3, column 2: imsi: must be 6 to 15 digits`);
    expect(p).toContain(
      `line 3, column 8: subscribers.csv: ${csv} line 3, column 3: msisdn: must be 5 to 15 digits, optionally with a leading +`,
    );
    expect(p).toContain(`line 3, column 8: subscribers.csv: ${csv} line 3, column 4: k: must be 32 hex digits`);
    expect(p).toHaveLength(3);

    writeFileSync(
      join(dir, "subs.csv"),
      "id,imsi,msisdn,k,opc\nbob,001010000000077,+491510000077,465b5ce8b199b49faa5f0a2ee238a6bc,cd63cb71954a9f4e48a5994e37a02baf\n",
    );
    const s = parseScenario(text, join(dir, "x.yaml"));
    expect(s.csvSubscribers.map((x) => x.id)).toEqual(["bob"]);
    expect(s.csvBindings).toEqual([{ vehicle: "VIN-9", obu: "OBU-9", msisdn: "+491510000077" }]);
  });

  it("refuses a subscriber with K but neither OP nor OPc", () => {
    const p = problems(GOOD.replace(", opc: cd63cb71954a9f4e48a5994e37a02baf", ""));
    expect(p).toEqual(["line 4, column 73: subscribers.inline[0].k: a subscriber with k needs op or opc"]);
  });
});
