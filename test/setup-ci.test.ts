// The README's two commands are what CI runs, the README's gba examples need no registry
// look-up, and no locked package asks for a newer Node than the README names (issue 15 items 1, 2).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const read = (f: string) => readFileSync(join(ROOT, f), "utf8");
const README = read("README.md");

/** The commands of the README's "Two commands" block, without their comments. */
function twoCommands(): string[] {
  const block = /## Two commands\s+```sh\n([\s\S]*?)```/.exec(README)?.[1];
  if (!block) throw new Error('README.md has no "## Two commands" sh block');
  return block
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter(Boolean);
}

describe("README set-up and test line", () => {
  it("has a demo line and a set-up + test line", () => {
    const [demo, test] = twoCommands();
    expect(demo).toMatch(/npm run demo$/);
    expect(test).toMatch(/^scripts\/setup && npm test$/);
  });

  it(".ci/run runs the README's test line exactly", () => {
    const test = twoCommands()[1];
    const lines = read(".ci/run")
      .split("\n")
      .map((l) => l.trim());
    expect(lines).toContain(test);
  });
});

describe("the gba command of a checkout", () => {
  it("the README never runs `npx gba` (npx asks the registry for a package named gba first)", () => {
    const offending = README.split("\n").filter((l) => /\bnpx\s+gba\s+\S/.test(l));
    expect(offending).toEqual([]);
  });

  it("bin/gba runs this checkout's CLI, also through a PATH entry", () => {
    const pkg = JSON.parse(read("package.json")) as { version: string };
    const env = { ...process.env, PATH: `${join(ROOT, "bin")}:${process.env.PATH}`, npm_config_registry: "http://127.0.0.1:9/" };
    expect(execFileSync("gba", ["--version"], { cwd: "/", env, encoding: "utf8" }).trim()).toBe(pkg.version);
  });
});

describe("Node version", () => {
  const min = /Node ≥ (\d+)\.(\d+)/.exec(README);

  it("the README and package.json engines name the same minimum", () => {
    expect(min, "README names no Node version").not.toBeNull();
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
    expect(engines).toBe(`>=${min![1]}.${min![2]}`);
  });

  it("no locked package asks for a newer Node than that (npm would warn EBADENGINE)", () => {
    const semver = createRequire(import.meta.url)("semver") as { satisfies(v: string, r: string): boolean };
    const version = `${min![1]}.${min![2]}.0`;
    const lock = JSON.parse(read("package-lock.json")) as { packages: Record<string, { engines?: unknown }> };
    const refusing = Object.entries(lock.packages)
      .filter(([path]) => path !== "")
      .flatMap(([path, p]) => {
        const node = (p.engines as { node?: string } | undefined)?.node;
        return typeof node === "string" && !semver.satisfies(version, node) ? [`${path} wants node ${node}`] : [];
      });
    expect(refusing).toEqual([]);
  });
});
