// The multi-host network (root: network namespaces): every host its own namespace, a Redis
// Cluster across six of them, HAProxy on the load-balancer host. Stand-in replicas answer with
// their host name; the UE host reaches them only through HAProxy, and the Redis Cluster only
// over the namespace links. The NFs themselves join in the multi-host topology.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { keySlot } from "../nf/common/store/redis-keys.js";
import { MULTI_HOST_PORTS, type MultiHostNet, multiHostHosts, startMultiHostNet } from "../scenarios/topology/multi-host-net.js";

const exec = promisify(execFile);
let net: MultiHostNet;
const dir = mkdtempSync(join(tmpdir(), "gba-mh-"));

// a stand-in NF: every HTTP request is answered with the host's name; the TLS-PSK port echoes it raw
const STAND_IN = `
const http = require("node:http"), net = require("node:net");
const [host, addr, ...ports] = process.argv.slice(2);
for (const p of ports.map(Number)) {
  if (p === ${MULTI_HOST_PORTS.uaTlsPsk}) net.createServer((s) => s.end(host)).listen(p, addr);
  else http.createServer((q, r) => r.end(host)).listen(p, addr);
}`;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("this suite needs root (network namespaces); CI runs as root");
  net = await startMultiHostNet({ replicas: 2, dir, redisNodeTimeoutMs: 1000, checkIntervalMs: 200 });
  const script = join(dir, "stand-in.cjs");
  writeFileSync(script, STAND_IN);
  const P = MULTI_HOST_PORTS;
  const start = (host: string, ports: number[]) => {
    const argv = net.star.exec(host, [process.execPath, script, host, net.address(host), ...ports.map(String)]);
    // spawns: ip (ip netns exec <host> node …)
    spawn(argv[0], argv.slice(1), { stdio: "ignore" });
  };
  for (const h of net.hosts.hss) start(h, [P.zh]);
  for (const h of net.hosts.bsf) start(h, [P.ub, P.zn]);
  for (const h of net.hosts.naf) start(h, [P.uaHttp, P.uaTlsPsk]);
  for (const h of [...net.hosts.hss, ...net.hosts.bsf, ...net.hosts.naf]) {
    for (const backend of ["zh", "ub", "zn", "ua_http", "ua_tls_psk"]) {
      const s = (await net.lb.servers()).find((x) => x.backend === backend && x.server === h);
      if (s) await net.lb.waitFor(backend, h, "UP");
    }
  }
}, 120_000);

afterAll(async () => {
  await net?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function fromUe(argv: string[]): Promise<string> {
  const cmd = net.star.exec(net.hosts.ue, argv);
  // spawns: ip, curl, redis-cli (ip netns exec <ue host> …)
  return (await exec(cmd[0], cmd.slice(1), { timeout: 10_000 })).stdout;
}

describe("multi-host network", () => {
  test("hosts: 2 HSS, N BSF, N NAF, the ECA, 6 Redis nodes, the load balancer and the UE, each its own namespace", () => {
    expect(net.hosts).toEqual(multiHostHosts({ replicas: 2 }));
    const addresses = new Set(net.star.leaves.map((l) => net.address(l)));
    expect(addresses.size).toBe(15);
    expect(new Set(net.star.leaves.map((l) => net.star.ns(l))).size).toBe(15);
  });

  test("the UE reaches every reference point through HAProxy, spread over the replicas", async () => {
    const P = MULTI_HOST_PORTS;
    const lb = net.address(net.hosts.lb);
    const answers = async (port: number) => {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(await fromUe(["curl", "-sS", `http://${lb}:${port}/`]));
      return seen;
    };
    expect(await answers(P.ub)).toEqual(new Set(["bsf1", "bsf2"]));
    expect(await answers(P.zn)).toEqual(new Set(["bsf1", "bsf2"]));
    expect(await answers(P.zh)).toEqual(new Set(["hss1", "hss2"]));
    expect(await answers(P.uaHttp)).toEqual(new Set(["naf1", "naf2"]));
    // TCP mode: the stream of one connection comes from one replica
    const raw = await fromUe(["curl", "-sS", "--max-time", "3", `telnet://${lb}:${P.uaTlsPsk}`]).catch(
      (e: { stdout?: string }) => e.stdout ?? "",
    );
    expect(["naf1", "naf2"]).toContain(raw.trim());
  });

  test("a replica's address is reachable over the namespace links, not from the host", async () => {
    const bsf1 = net.address(net.hosts.bsf[0]);
    expect(await fromUe(["curl", "-sS", `http://${bsf1}:${MULTI_HOST_PORTS.ub}/`])).toBe("bsf1");
    // from the host the address leads elsewhere (or nowhere), never to the replica
    const fromHost = await exec("curl", ["-sS", "--max-time", "1", `http://${bsf1}:${MULTI_HOST_PORTS.ub}/`]).then(
      (r) => r.stdout,
      () => "",
    );
    expect(fromHost).not.toBe("bsf1");
  });

  test("the Redis Cluster spans the Redis hosts and serves the UE host; a primary killed there is replaced", async () => {
    const cli = (...args: string[]) => fromUe(["redis-cli", "-c", "-h", seed, "-p", String(MULTI_HOST_PORTS.redis), ...args]);
    let seed = net.address(net.hosts.redis[0]);
    expect((await cli("SET", "{mh}k", "v")).trim()).toBe("OK");
    const primaries = await net.redis.primaries();
    expect(primaries.map((p) => p.spec.host).every((h) => net.hosts.redis.some((r) => net.address(r) === h))).toBe(true);
    const victim = await net.redis.primaryOfSlot(keySlot("{mh}k"));
    const { promoted } = await net.redis.killPrimary(victim);
    expect(promoted.address).not.toBe(victim.address);
    seed = promoted.spec.host;
    expect((await cli("GET", "{mh}k")).trim()).toBe("v");
  }, 60_000);
});
