// The multi-host topology (root: network namespaces) as `gba scenario run` runs it
// (scenarios/topology/multi-host.ts): 2 HSS, 2 BSF and 2 NAF replicas and the ECA as real `gba`
// processes, each in its own namespace, every store on a 3 + 3 Redis Cluster, HAProxy in front
// of Zh, Ub, Zn and Ua, the UEs in a namespace of their own. The scenario is the shipped
// scenarios/multi-host.yaml made shorter; the topology's own checks (a B-TID served on Zn by
// every BSF replica, supersede → 404 everywhere, nonce-count replay refused by the other NAF
// replica, kill -9 of a NAF replica under load routed around with every failure declared, no
// session lost) are assertions of the run. Then nothing may be left: no namespace, no process,
// no temporary directory — after a run, after a start that fails, and after Ctrl-C.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { Report } from "../scenarios/report.js";
import { runScenario } from "../scenarios/run.js";
import { TopologyError } from "../scenarios/topology/types.js";
import type { Scenario } from "../scenarios/types.js";

const exec = promisify(execFile);
const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const SHIPPED = fileURLToPath(new URL("../scenarios/multi-host.yaml", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "gba-multi-host-test-"));

/** The shipped scenario, shorter: fewer OBUs, a 6 s load phase with the NAF replica killed at 2 s. */
function shortScenario(change: (s: Scenario) => void = () => {}): string {
  const s = parseYaml(readFileSync(SHIPPED, "utf8")) as Scenario;
  s.deviceCount = 3;
  s.load = { ...s.load, mode: "rate", rate: 5, durationSeconds: 6, devices: 12 };
  // ~30 load flows: each one in flight on the killed replica is 3 % (every failure must still
  // have a declared cause, which the topology's own check asserts)
  s.assertions = { ...s.assertions, loadSuccessRatio: 0.8 };
  s.topology = {
    ...s.topology,
    multiHost: { ...s.topology?.multiHost, znBenchSeconds: 1, faults: [{ kill: "naf", replica: 1, afterSeconds: 2 }] },
  };
  change(s);
  const file = join(dir, `scenario-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringifyYaml(s));
  return file;
}

/** What a run of process `pid` could leave: its namespaces, processes naming its directories, the directories. */
async function leftovers(pid: number): Promise<string[]> {
  const left: string[] = [];
  const ns = (await exec("ip", ["netns", "list"])).stdout;
  for (const line of ns.split("\n")) if (line.startsWith(`gba-${pid}-`)) left.push(`namespace ${line.split(" ")[0]}`);
  const procs = await exec("pgrep", ["-af", `gba-scenario-${pid}-`]).then(
    (r) => r.stdout.trim(),
    () => "",
  );
  if (procs) left.push(`processes: ${procs}`);
  for (const d of readdirSync(tmpdir())) if (d.startsWith(`gba-scenario-${pid}-`)) left.push(`directory ${d}`);
  return left;
}

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("this suite needs root (network namespaces); CI runs as root");
  if (!existsSync(MAIN)) throw new Error(`build first (npm run build): no ${MAIN}`);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("multi-host topology: gba scenario run", () => {
  test("replica checks, kill -9 of a NAF replica under load, figures; nothing left behind", async () => {
    const file = shortScenario();
    const reportFile = join(dir, "report.json");
    const err: string[] = [];
    const code = await runScenario(file, {
      report: reportFile,
      quiet: true,
      // a shared CI machine: speed is not judged here
      timingAdvisory: true,
      out: () => {},
      err: (s) => err.push(s),
      tty: false,
    });
    const r = JSON.parse(readFileSync(reportFile, "utf8")) as Report;
    const failed = r.assertions.filter((a) => !a.ok).map((a) => `${a.name}: ${a.detail}`);
    expect(code, `${failed.join("\n")}\n${err.join("")}`).toBe(0);
    expect(r.backend).toBe("multi-host");
    const checks = r.assertions.filter((a) => a.name.startsWith("multi-host: ")).map((a) => [a.name, a.ok]);
    expect(checks).toEqual([
      ["multi-host: a B-TID bootstrapped through one BSF replica is served on Zn by the others", true],
      ["multi-host: a new bootstrap supersedes the B-TID on every BSF replica", true],
      ["multi-host: an Ua Digest answer accepted by one NAF replica is refused as a nonce-count replay by every replica", true],
      ["multi-host: kill -9 of NAF replica naf1 under load", true],
      ["multi-host: every failed load flow has a declared cause", true],
      ["multi-host: no session lost", true],
    ]);
    expect(r.topology?.lostSessions).toBe(0);
    expect(r.topology?.resyncs).toBe(0);
    expect(r.topology?.fault1).toMatch(/^kill -9 naf1, DOWN after \d+ ms$/);
    expect(r.topology?.znP99Ms).toBeGreaterThan(0);
    // the ECA enrolled through HAProxy's Zn, its registry on the cluster
    expect(r.devices.filter((d) => d.outcome === "enrolled")).toHaveLength(2);
    expect(r.load?.ok).toBeGreaterThan(0);
    process.stderr.write(
      `multi-host scenario (shared machine, indicative): ${r.load?.bootstrapsPerSecond} bootstraps/s, ` +
        `Zn p99 ${r.topology?.znP99Ms} ms, resyncs ${r.topology?.resyncs}, lost sessions ${r.topology?.lostSessions}, ` +
        `${r.topology?.fault1}; load failures ${JSON.stringify(r.load?.errors)}\n`,
    );
    expect(await leftovers(process.pid)).toEqual([]);
  }, 300_000);

  test("a start that fails once the cluster runs (provisioning refused) removes namespaces, processes and files", async () => {
    // a subscriber with the IMSI the topology keeps for its probe: the cluster refuses the batch
    const file = shortScenario((s) => {
      s.subscribers = { inline: [{ id: "clash", imsi: "001019990000000", msisdn: "491510000999" }] };
      s.devices = [{ name: "clash", count: 1, subscriber: "clash", uicc: "GBA_ME", tunnel: "digest" }];
      delete s.load;
    });
    const run = runScenario(file, { quiet: true, out: () => {}, err: () => {}, tty: false });
    await expect(run).rejects.toThrow(TopologyError);
    await expect(run).rejects.toThrow(/provisioning the Redis Cluster failed: HSS refused subscribers/);
    expect(await leftovers(process.pid)).toEqual([]);
  }, 180_000);

  test("Ctrl-C during the run stops it and removes namespaces, processes and files", async () => {
    const file = shortScenario((s) => {
      s.load = { ...s.load, durationSeconds: 60 };
    });
    // a runner of its own (dist/cli/main.js scenario run on this Node), interrupted like a user would
    const child = spawn(process.execPath, [MAIN, "scenario", "run", file], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no load phase within 150 s:\n${stderr}`)), 150_000);
      child.stderr.on("data", (c) => {
        stderr += c;
        if (/multi-host: (PASS|FAIL) an Ua Digest/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill("SIGINT");
    const code = await exited;
    expect(stderr).toMatch(/interrupted, stopping/);
    expect(code).toBe(1);
    expect(await leftovers(child.pid as number)).toEqual([]);
  }, 240_000);
});
