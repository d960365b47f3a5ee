// Every external program the sources run must come from a Debian package that scripts/setup
// installs (issue: CI passed only because its machine had opensc by hand). The sources are
// scanned (test/helpers/spawned-programs.ts), the table is scripts/debian-packages, and dpkg
// on this machine confirms each program → package line.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { spawnedPrograms } from "./helpers/spawned-programs.js";

const ROOT = new URL("..", import.meta.url).pathname;
const SKIP_DIRS = new Set(["node_modules", "dist", ".git", ".gba-data", "out"]);

/** Programs the sources may run that scripts/setup deliberately does not install, and why. */
const NOT_INSTALLED: Record<string, string> = {
  gba: "bin/gba, this checkout's own command",
  docker: "container runtime of --backend container, optional: without one the run is skipped with one line",
  podman: "container runtime of --backend container, optional: without one the run is skipped with one line",
};

function sourceFiles(dir = ROOT, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) sourceFiles(join(dir, e.name), out);
    } else if (/\.(c|m)?[tj]s$/.test(e.name) && !e.name.endsWith(".d.ts")) {
      const path = join(dir, e.name);
      out.set(relative(ROOT, path), readFileSync(path, "utf8"));
    }
  }
  return out;
}

/** scripts/debian-packages: package → the programs it provides to the sources. */
function packageTable(): Map<string, string[]> {
  const table = new Map<string, string[]>();
  for (const raw of readFileSync(join(ROOT, "scripts/debian-packages"), "utf8").split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const [pkg, programs = "-"] = line.split(/\s+/);
    table.set(pkg, programs === "-" ? [] : programs.split(","));
  }
  return table;
}

/** Every file on PATH by that name (a pyenv or /usr/local copy may come before Debian's). */
function onPath(program: string): string[] {
  const dirs = (process.env.PATH ?? "").split(":").filter(Boolean);
  return [...new Set(dirs.map((d) => join(d, program)).filter((f) => existsSync(f)))];
}

/** Paths under which dpkg may know a file: as found, resolved, and without the /usr merge. */
function dpkgPaths(path: string): string[] {
  const real = realpathSync(path);
  return [...new Set([path, real, path.replace(/^\/usr/, ""), real.replace(/^\/usr/, "")])];
}

/** path → owning package, for every path dpkg knows (one dpkg-query call). */
function owners(paths: string[]): Map<string, string> {
  const r = spawnSync("dpkg-query", ["-S", ...paths], { encoding: "utf8" });
  const out = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const m = /^([^:,\s]+)(?::\w+)?: (.+)$/.exec(line);
    if (m) out.set(m[2], m[1]);
  }
  return out;
}

/** The packages among `pkgs` that dpkg says are installed (one dpkg-query call). */
function installed(pkgs: string[]): Set<string> {
  // dpkg-query's own format syntax, not a template
  const r = spawnSync("dpkg-query", ["-W", `-f=\${Package} \${db:Status-Status}\n`, ...pkgs], { encoding: "utf8" });
  return new Set(r.stdout.split("\n").flatMap((l) => (l.endsWith(" installed") ? [l.split(" ")[0]] : [])));
}

describe("external programs and the Debian packages scripts/setup installs", () => {
  const files = sourceFiles();
  // this file runs scripts/setup and probes the table's programs by name (dpkg-query and sh are
  // in the table for it); everything else must be followable
  files.delete("test/tool-inventory.test.ts");
  const { programs, unresolved } = spawnedPrograms(files);
  const table = packageTable();
  const byProgram = new Map([...table].flatMap(([pkg, progs]) => progs.map((p) => [p, pkg] as const)));

  it("finds the programs the suite is known to run", () => {
    const names = new Set(programs.map((p) => p.program));
    for (const known of ["osmo-auc-gen", "openssl", "curl", "opensc-tool", "scriptor", "pcscd", "ip", "sysctl", "mount"])
      expect(names, `the scan no longer sees ${known}`).toContain(known);
  });

  it("can follow every program argument to a name", () => {
    expect(unresolved, "make the program a literal, a constant or a parameter of a wrapper the scan follows").toEqual([]);
  });

  it("every program the sources run is in scripts/debian-packages (or deliberately not installed)", () => {
    const unlisted = programs.filter((p) => !byProgram.has(p.program) && NOT_INSTALLED[p.program] === undefined);
    expect(
      unlisted.map((p) => `${p.program} (${p.at})`),
      "add the Debian package that provides it to scripts/debian-packages",
    ).toEqual([]);
  });

  it("scripts/setup installs exactly the packages of scripts/debian-packages", () => {
    const listed = execFileSync(join(ROOT, "scripts/setup"), ["--list"], { encoding: "utf8" }).trim().split("\n");
    expect(listed).toEqual([...table.keys()]);
  });

  it("dpkg confirms every line of the table, and every package is installed here", () => {
    const wrong: string[] = [];
    const present = installed([...table.keys()]);
    const found = new Map<string, { pkg: string; paths: string[] }>();
    for (const [pkg, progs] of table) {
      if (!present.has(pkg)) wrong.push(`package ${pkg} is not installed: run scripts/setup as root`);
      for (const program of progs) {
        const paths = onPath(program);
        if (paths.length > 0) found.set(program, { pkg, paths });
        else wrong.push(`${program} is not on PATH: install the Debian package ${pkg} (scripts/setup does)`);
      }
    }
    const owner = owners([...found.values()].flatMap((f) => f.paths.flatMap(dpkgPaths)));
    for (const [program, { pkg, paths }] of found) {
      const by = paths.flatMap(dpkgPaths).map((p) => owner.get(p));
      if (!by.includes(pkg))
        wrong.push(`${program} (${paths.join(", ")}) comes from ${by.find(Boolean) ?? "no package"}, not ${pkg}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("the scan itself", () => {
  const scan = (text: string, more: Record<string, string> = {}) =>
    spawnedPrograms(new Map([["x/a.ts", text], ...Object.entries(more)]));

  it("follows constants, defaults, wrappers in other files, option objects, sh -c and ip netns exec", () => {
    const wrapper = `import { spawn } from "node:child_process";
      export function runTool(cmd: string, args: string[]) { return spawn(cmd, args); }
      export function start(o: { command: string; args: string[] }) { return spawn(o.command, o.args); }`;
    const r = scan(
      `import { execFile, spawnSync } from "node:child_process";
       import { promisify } from "node:util";
       import { runTool, start } from "../y/b.js";
       const exec = promisify(execFile);
       const TOOL = process.env.TOOL ?? "frobnicate";
       execFile(TOOL, []);
       runTool("grommet", []);
       start({ command: "ip", args: ["netns", "exec", "ns1", "widget", "-q"] });
       spawnSync("sh", ["-c", "command -v gizmo"]);
       await exec(process.execPath, ["x.js"]);
       const browser = { executablePath: "/usr/bin/sprocket" };`,
      { "y/b.ts": wrapper },
    );
    expect(r.unresolved).toEqual([]);
    expect(r.programs.map((p) => p.program).sort()).toEqual(["frobnicate", "gizmo", "grommet", "ip", "sh", "sprocket", "widget"]);
    expect(r.programs.find((p) => p.program === "grommet")?.at).toBe("x/a.ts:7");
  });

  it("follows array elements, path joins, wrappers that return what they ran, and declared programs", () => {
    const r = scan(
      `import { execFileSync, spawn } from "node:child_process";
       import { join } from "node:path";
       function need(bin: string) { execFileSync(join("/usr/bin", bin), ["--version"]); return join("/usr/bin", bin); }
       const dumper = need("text2pcap");
       execFileSync(dumper, []);
       function run(argv: string[]) { return spawn(argv[0], argv.slice(1)); }
       run(["redis-cli", "ping"]);
       const cli = ["haproxy", "-c"];
       spawn(cli[0], cli.slice(1));
       const found = locate();
       // spawns: tshark
       spawn(found, []);
       const script = \`command -v dumpcap && echo \${found}\`;
       spawn("sh", ["-c", script]);`,
    );
    expect(r.unresolved).toEqual([]);
    expect([...new Set(r.programs.map((p) => p.program))].sort()).toEqual([
      "dumpcap",
      "haproxy",
      "redis-cli",
      "sh",
      "text2pcap",
      "tshark",
    ]);
    expect(r.programs.find((p) => p.program === "tshark")?.at).toBe("x/a.ts:12");
  });

  it("reports a program argument it cannot follow", () => {
    const r = scan(`import { spawn } from "node:child_process";\nconst name = pick();\nspawn(\`\${name}-tool\`, []);`);
    expect(r.unresolved.map((u) => u.at)).toEqual(["x/a.ts:3"]);
  });
});
