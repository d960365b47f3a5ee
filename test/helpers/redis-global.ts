// globalSetup of the vitest project "redis": one Redis Cluster (3 primaries + 3 replicas of
// Debian's redis-server on free loopback ports, in a temporary directory) for the whole run,
// stopped at the end. Test files share it, each data root under its own key prefix
// (./store-backend.ts). Without redis-server the run fails naming the Debian package.
import type { TestProject } from "vitest/node";
import { startTestRedisCluster, stopTestRedisCluster } from "./redis-cluster.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startTestRedisCluster();
  project.provide("redisStoreUrl", `redis://${cluster.seeds.map((s) => `${s.host}:${s.port}`).join(",")}`);
  return () => stopTestRedisCluster(cluster);
}
