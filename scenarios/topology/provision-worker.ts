// Provisioning from inside a topology's network (multi-host: the Redis Cluster is reachable only
// from its namespaces): started as `ip netns exec <ue host> node provision-worker.js FILE`, with
// FILE the JSON of { cfg, rows, bindings }. Writes the subscribers and bindings through the
// configured stores (../provision.ts) and prints {"subscribers": N, "bindings": M}. The master
// key comes from GBA_MASTER_KEY, as for the HSS replicas.
import { readFileSync } from "node:fs";
import type { GbaConfig } from "../../nf/config.js";
import { type HssRow, provisionEca, provisionHssRows } from "../provision.js";
import type { ScenarioBinding } from "../types.js";

export interface ProvisionJob {
  cfg: GbaConfig;
  rows: HssRow[];
  bindings: ScenarioBinding[];
}

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write("usage: provision-worker.js JOB.json\n");
  process.exit(2);
}
const job = JSON.parse(readFileSync(file, "utf8")) as ProvisionJob;
try {
  const subscribers = await provisionHssRows(job.cfg, job.rows);
  const bindings = await provisionEca(job.cfg, job.bindings);
  process.stdout.write(`${JSON.stringify({ subscribers, bindings })}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
