// The multi-host topology's refusals, before anything starts (no root needed for most): not
// root, redis-server or haproxy missing (naming the Debian package), faults that name a replica
// that does not exist or kill every replica, topology.multiHost on another backend, and schema
// errors in topology.multiHost. The run itself: test/multi-host.test.ts.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadScenario, ScenarioError } from "../scenarios/load.js";
import { runScenario } from "../scenarios/run.js";
import { onPath } from "../scenarios/topology/container.js";
import { findHaproxy } from "../scenarios/topology/haproxy.js";
import { checkMultiHost, checkMultiHostShape } from "../scenarios/topology/multi-host.js";
import { findRedisBinaries } from "../scenarios/topology/redis-cluster.js";

const dir = mkdtempSync(join(tmpdir(), "gba-multi-host-unit-"));
/** a PATH with iproute2's ip and nothing else */
const onlyIp = mkdtempSync(join(dir, "path-"));
const ip = onPath("ip");
if (ip) symlinkSync(ip, join(onlyIp, "ip"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCENARIO = `name: mh
topology:
  backend: multi-host
  multiHost: { replicas: 2, faults: [{ kill: naf, replica: 1, afterSeconds: 1 }] }
deviceCount: 1
devices: [{ name: d, uicc: GBA_ME, tunnel: digest }]
flow: [bootstrap, fetch]
`;

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe("multi-host topology: refusals before anything starts", () => {
  test("not root: refused, saying why", async () => {
    await expect(checkMultiHost({ uid: 1000 })).rejects.toThrow(/must run as root .*CAP_NET_ADMIN.*sudo/);
  });

  test("redis-server or haproxy missing: refused naming the Debian package", async () => {
    if (process.getuid?.() !== 0) return expect.fail("the root checks come first: run as root (CI does)");
    const saved = process.env.PATH;
    process.env.PATH = onlyIp;
    try {
      // spawns: redis-server, redis-cli (looked up on PATH, not run)
      await expect(checkMultiHost({ findRedis: () => findRedisBinaries() })).rejects.toThrow(
        /multi-host topology: redis-server is not installed: apt-get install redis-server \(Debian package redis-server/,
      );
    } finally {
      process.env.PATH = saved;
    }
    await expect(
      checkMultiHost({ findRedis: () => undefined, findHaproxy: () => findHaproxy({ PATH: onlyIp }, join(onlyIp, "haproxy")) }),
    ).rejects.toThrow(/multi-host topology: haproxy is not installed: apt-get install haproxy \(Debian package haproxy/);
  });

  test("faults must name an existing replica and leave one of each NF", () => {
    expect(() => checkMultiHostShape({ replicas: 2, faults: [{ kill: "naf", replica: 3, afterSeconds: 1 }] })).toThrow(
      "topology.multiHost.faults[0]: replica 3 of 2 NAF replicas",
    );
    expect(() =>
      checkMultiHostShape({
        replicas: 2,
        faults: [
          { kill: "bsf", replica: 1, afterSeconds: 1 },
          { kill: "bsf", replica: 2, afterSeconds: 2 },
        ],
      }),
    ).toThrow("kill every BSF replica: leave one");
    expect(() => checkMultiHostShape({ faults: [{ kill: "bsf", replica: 2, afterSeconds: 1 }] })).not.toThrow();
    expect(() => checkMultiHostShape(undefined)).not.toThrow();
  });

  test("topology.multiHost on another backend, or with latencyMs, is refused before anything starts", async () => {
    const io = { quiet: true, out: () => {}, err: () => {}, tty: false };
    await expect(runScenario(file("other.yaml", SCENARIO), { ...io, backend: "process" })).rejects.toThrow(
      "topology.multiHost configures the multi-host backend, not process",
    );
    await expect(
      runScenario(file("latency.yaml", SCENARIO.replace("backend: multi-host", "backend: multi-host\n  latencyMs: 5")), io),
    ).rejects.toThrow(/latencyMs is not available on the multi-host backend/);
    await expect(runScenario(file("all.yaml", SCENARIO.replace("replica: 1,", "replica: 3,")), io)).rejects.toThrow(
      "replica 3 of 2 NAF replicas",
    );
  });

  test("the schema documents topology.multiHost and refuses unknown or out-of-range fields", () => {
    expect(loadScenario(file("ok.yaml", SCENARIO)).topology?.multiHost?.replicas).toBe(2);
    for (const [bad, what] of [
      ["multiHost: { replicas: 2, redisNodes: 6 }", "redisNodes"],
      ["multiHost: { replicas: 0 }", "replicas"],
      ["multiHost: { redisPrimaries: 2 }", "redisPrimaries"],
      ["multiHost: { faults: [{ kill: hss, replica: 1, afterSeconds: 1 }] }", "kill"],
    ]) {
      const text = SCENARIO.replace(/multiHost: .*\n/, `${bad}\n`);
      expect(() => loadScenario(file("bad.yaml", text)), bad).toThrow(ScenarioError);
      try {
        loadScenario(file("bad.yaml", text));
      } catch (err) {
        expect((err as Error).message, bad).toContain(what);
      }
    }
  });
});
