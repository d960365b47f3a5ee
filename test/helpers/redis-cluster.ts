// A real Redis Cluster for a test file: 3 primaries + 3 replicas of Debian's redis-server on
// free loopback ports, in a temporary directory, with a short node timeout so a killed primary
// is replaced within seconds. Without redis-server / redis-cli the start fails naming the
// Debian package (no silent skip). Stop it in afterAll; a killed test process leaves nothing
// behind either (the cluster's watchdog).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisCluster, type RedisClusterOptions } from "../../scenarios/topology/redis-cluster.js";
import { freePort, LOOPBACK } from "./fault-procs.js";

export interface TestClusterOptions {
  primaries?: number;
  /** cluster-node-timeout; 1000 ms makes a failover take about 2–3 s */
  nodeTimeoutMs?: number;
  extraConfig?: string[];
}

export async function startTestRedisCluster(o: TestClusterOptions = {}): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "gba-redis-"));
  const nodes: RedisClusterOptions["nodes"] = [];
  for (let i = 0; i < 2 * (o.primaries ?? 3); i++)
    nodes.push({ host: LOOPBACK, port: await freePort(), busPort: await freePort() });
  return RedisCluster.start({ dir, nodes, nodeTimeoutMs: o.nodeTimeoutMs ?? 1000, extraConfig: o.extraConfig });
}

/** Stops the cluster and removes its directory. */
export async function stopTestRedisCluster(c: RedisCluster | undefined): Promise<void> {
  await c?.stop({ removeDir: true });
}
