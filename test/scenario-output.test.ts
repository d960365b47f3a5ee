// Issue 15 item 9, scenario output: `--report -` is stdout (the summary goes to stderr), output
// paths are checked before anything starts, `--diagram FILE.md` is a ```mermaid block, a YAML
// syntax error is shown once with its line and column, an unknown field gets "did you mean".
// Through the compiled CLI (build with `npx tsc -p .` first).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, requireBuiltCli, runGba } from "./helpers/gba-cli.js";

const dir = mkdtempSync(join(tmpdir(), "scenario-output-"));
beforeAll(requireBuiltCli);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI with TMPDIR of its own, so what a run creates there can be seen. */
async function gba(args: string[]): Promise<CliResult & { created: string[] }> {
  const tmp = mkdtempSync(join(dir, "tmp-"));
  const r = await runGba(args, { cwd: dir, env: { ...process.env, TMPDIR: tmp }, timeoutMs: 90_000 });
  return { ...r, created: readdirSync(tmp) };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** One OBU, bootstrap and enrolment, no load phase: a few seconds in one process. */
const SMALL = file(
  "small.yaml",
  `name: small
devices:
  - name: obus
    count: 1
flow: [bootstrap, keygen, csr, enrol, verify]
`,
);

describe("gba scenario run: outputs", () => {
  it("--report - writes the JSON report alone to stdout, the summary to stderr", async () => {
    const r = await gba(["scenario", "run", SMALL, "--report", "-", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; scenario: string };
    expect(report).toMatchObject({ ok: true, scenario: "small" });
    expect(r.stderr).toMatch(/^PASS small \(inprocess/m);
    expect(readdirSync(dir)).not.toContain("-");
  }, 90_000);

  it("an output path that cannot be written stops the run before anything starts", async () => {
    for (const [flag, path, why] of [
      ["--report", join(dir, "no-such-dir", "r.json"), "does not exist"],
      ["--diagram", join(dir, "no-such-dir", "d.md"), "does not exist"],
      ["--report", dir, "it is a directory"],
    ]) {
      const r = await gba(["scenario", "run", SMALL, flag, path]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${flag}: cannot write ${path}: `);
      expect(r.stderr).toContain(why);
      expect(r.stdout).toBe("");
      // no temporary directory, so no data root, no NF
      expect(r.created).toEqual([]);
    }
  });

  it("--diagram FILE.md is a ```mermaid block; another name is bare Mermaid", async () => {
    const md = join(dir, "flow.md");
    const mmd = join(dir, "flow.mmd");
    const r1 = await gba(["scenario", "run", SMALL, "--quiet", "--diagram", md]);
    expect(r1.code, r1.stderr).toBe(0);
    const fenced = readFileSync(md, "utf8");
    expect(fenced).toMatch(/^```mermaid\nsequenceDiagram\n[\s\S]*\n```\n$/);
    const r2 = await gba(["scenario", "run", SMALL, "--quiet", "--diagram", mmd]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(readFileSync(mmd, "utf8")).toMatch(/^sequenceDiagram\n/);
  }, 120_000);
});

describe("gba scenario validate: the first YAML error and did-you-mean", () => {
  it("a YAML syntax error is one line with its line and column, not the parser's cascade", async () => {
    const bad = file("syntax.yaml", "name: x\ndevices:\n  - name: a\n    count: 2\n   uicc: GBA_ME\nflow: [bootstrap\n");
    const r = await gba(["scenario", "validate", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `gba scenario: ${bad}: invalid scenario\n  line 5, column 1: YAML: Sequence item without - indicator\n`,
    );
  });

  it("an unknown field names the closest known one, at the field's own line and column", async () => {
    const typo = file("typo.yaml", "name: x\ndevices:\n  - name: a\n    cuont: 2\nflow: [bootstrap]\n");
    const r = await gba(["scenario", "validate", typo]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line 4, column 5: devices[0].cuont: unknown field (did you mean "count"?)');
  });

  it("a field like none of them lists the known ones", async () => {
    const odd = file("odd.yaml", "name: x\ndevices:\n  - name: a\nflow: [bootstrap]\nweather: sunny\n");
    const r = await gba(["scenario", "validate", odd]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /line 5, column 1: weather: unknown field \(known here: name, description, .*flow, load, assertions\)/,
    );
  });
});
