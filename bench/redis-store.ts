// Per-operation cost of the Redis Cluster store, client side and server side, as the NF
// backends will pay it: one command, one single-slot Lua script, the HSS's SEQ_HE step, and a
// write that waits for its replica (WAIT 1: the durable SEQ steps). Baseline: PING, one round
// trip with no work (the floor every store operation pays). Each operation runs one at a time
// (latency, client CPU µs per op) and with many in flight (ops/s, client and Redis CPU µs per op).
//
//   node dist/bench/redis-store.js [--store redis://HOST:PORT,…] [--netns] [--seconds S] [--concurrency N] [--json FILE]
//
// Without --store it starts a 3 + 3 cluster of Debian redis-server on loopback; --netns starts it
// across six network namespaces and runs the client in a seventh (every operation crosses two
// veth pairs and the forwarding core, like a client on another host). Figures from a shared
// machine are indicative only.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { RedisStore } from "../nf/common/store/redis.js";
import { parseStoreOption, type RedisStoreConfig } from "../nf/common/store/redis-config.js";
import { advanceSeqOnRedis } from "../nf/hss/store-redis-sqn.js";
import { percentile } from "../scenarios/stats.js";
import { createStar } from "../scenarios/topology/netns-star.js";
import { RedisCluster } from "../scenarios/topology/redis-cluster.js";

const exec = promisify(execFile);
const KEYS = 2000;

export interface OpResult {
  op: string;
  seqOps: number;
  p50Us: number;
  p99Us: number;
  clientCpuUsSeq: number;
  concOps: number;
  opsPerSec: number;
  clientCpuUsConc: number;
  serverCpuUsConc: number;
}

type Op = (store: RedisStore, i: number) => Promise<unknown>;

function key(store: RedisStore, i: number, kind: string): string {
  return store.keys.key(`bench-${i % KEYS}@x`, "hss", kind);
}

const OPS: Record<string, Op> = {
  // the floor: one round trip, no work
  ping: (s) => s.client.ping(),
  get: (s, i) => s.get(key(s, i, "v")),
  "set (PXAT)": (s, i) => s.set(key(s, i, "v"), "0123456789abcdef0123456789abcdef", Date.now() + 600_000),
  // a single-slot script (the NAF's nonce-count check)
  "lua raise-to": (s, i) => s.raiseTo(key(s, i, "nc"), i, Date.now() + 600_000),
  "lua SEQ_HE step (HSS)": (s, i) => advanceSeqOnRedis(s, key(s, i, "seq"), { ind: 1, initialSqn: 0 }),
  "set + WAIT 1 (durable step)": async (s, i) => {
    const k = key(s, i, "w");
    await s.client.hset(k, "seq", String(i));
    await s.awaitReplica(k, 1000, () => true, "seq");
  },
};

async function serverCpuUs(store: RedisStore): Promise<number> {
  let total = 0;
  for (const node of store.client.nodes("master")) {
    const info = await node.info("cpu");
    const v = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
    total += (v("used_cpu_sys") + v("used_cpu_user")) * 1e6;
  }
  return total;
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function measureOp(store: RedisStore, name: string, op: Op, seconds: number, concurrency: number): Promise<OpResult> {
  // warm: scripts loaded, connections open, every key written once (a SEQ_HE key's first step
  // is its durable anchoring; the steady state is the clock rule)
  for (let w = 0; w < KEYS; w += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => op(store, w + j)));
  // one at a time
  const lat: number[] = [];
  let cpu0 = cpuUs();
  let until = performance.now() + seconds * 1000;
  let i = 0;
  while (performance.now() < until) {
    const t = performance.now();
    await op(store, i++);
    lat.push((performance.now() - t) * 1000);
  }
  const clientCpuUsSeq = (cpuUs() - cpu0) / lat.length;
  lat.sort((a, b) => a - b);
  // many in flight
  let done = 0;
  const server0 = await serverCpuUs(store);
  cpu0 = cpuUs();
  const started = performance.now();
  until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await op(store, i++);
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const clientCpuUsConc = (cpuUs() - cpu0) / done;
  const serverCpuUsConc = ((await serverCpuUs(store)) - server0) / done;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    op: name,
    seqOps: lat.length,
    p50Us: r1(percentile(lat, 50)),
    p99Us: r1(percentile(lat, 99)),
    clientCpuUsSeq: r1(clientCpuUsSeq),
    concOps: done,
    opsPerSec: Math.round(done / elapsed),
    clientCpuUsConc: r1(clientCpuUsConc),
    serverCpuUsConc: r1(serverCpuUsConc),
  };
}

export async function benchRedisStore(cfg: RedisStoreConfig, seconds: number, concurrency: number): Promise<OpResult[]> {
  const store = await RedisStore.open(cfg);
  try {
    const out: OpResult[] = [];
    for (const [name, op] of Object.entries(OPS)) out.push(await measureOp(store, name, op, seconds, concurrency));
    return out;
  } finally {
    await store.close();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

export function renderTable(title: string, rows: OpResult[]): string {
  const ping = rows.find((r) => r.op === "ping")?.p50Us ?? 1;
  const lines = [
    `${title}`,
    "| operation | p50 µs | p99 µs | × PING p50 | client CPU µs/op (1 at a time) | ops/s (in flight) | client CPU µs/op | Redis CPU µs/op |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.op} | ${r.p50Us} | ${r.p99Us} | ${(r.p50Us / ping).toFixed(2)} | ${r.clientCpuUsSeq} | ${r.opsPerSec} | ${r.clientCpuUsConc} | ${r.serverCpuUsConc} |`,
    ),
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: "string" },
      netns: { type: "boolean" },
      seconds: { type: "string", default: "2" },
      concurrency: { type: "string", default: "64" },
      json: { type: "string" },
      child: { type: "boolean" },
    },
  });
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  if (!(seconds > 0) || !Number.isInteger(concurrency) || concurrency < 1)
    throw new Error("--seconds > 0 and --concurrency ≥ 1 please");
  if (values.store) {
    const cfg = parseStoreOption(values.store);
    if (cfg.backend !== "redis") throw new Error("--store must be a redis:// URL");
    const rows = await benchRedisStore(cfg, seconds, concurrency);
    if (values.child) process.stdout.write(`${JSON.stringify(rows)}\n`);
    else report(`Redis Cluster at ${values.store}, ${seconds} s per phase, ${concurrency} in flight`, rows, values.json);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "gba-bench-redis-"));
  try {
    if (!values.netns) {
      const nodes = [];
      for (let i = 0; i < 6; i++) nodes.push({ host: "127.0.0.1", port: await freePort(), busPort: await freePort() });
      const cluster = await RedisCluster.start({ dir, nodes, nodeTimeoutMs: 5000 });
      try {
        const cfg = parseStoreOption(`redis://${cluster.seeds.map((s) => `${s.host}:${s.port}`).join(",")}`);
        if (cfg.backend !== "redis") throw new Error("unreachable");
        report(
          `Redis Cluster 3+3 on loopback, ${seconds} s per phase, ${concurrency} in flight`,
          await benchRedisStore(cfg, seconds, concurrency),
          values.json,
        );
      } finally {
        await cluster.stop();
      }
      return;
    }
    const hosts = ["redis1", "redis2", "redis3", "redis4", "redis5", "redis6", "client"];
    const star = await createStar({ name: "rb", leaves: hosts });
    try {
      const cluster = await RedisCluster.start({
        dir,
        nodes: hosts.slice(0, 6).map((h) => ({ host: star.address(h), port: 6379, busPort: 16379, wrap: star.exec(h, []) })),
        cliWrap: star.exec("core", []),
        nodeTimeoutMs: 5000,
      });
      try {
        const url = `redis://${hosts
          .slice(0, 6)
          .map((h) => `${star.address(h)}:6379`)
          .join(",")}`;
        const argv = star.exec("client", [
          process.execPath,
          fileURLToPath(import.meta.url),
          "--store",
          url,
          "--seconds",
          String(seconds),
          "--concurrency",
          String(concurrency),
          "--child",
        ]);
        const { stdout } = await exec(argv[0], argv.slice(1), { timeout: (seconds * 2 * Object.keys(OPS).length + 60) * 1000 });
        const rows = JSON.parse(stdout.trim().split("\n").pop() ?? "[]") as OpResult[];
        report(
          `Redis Cluster 3+3, each node and the client in its own network namespace (veth pairs through a forwarding core), ${seconds} s per phase, ${concurrency} in flight`,
          rows,
          values.json,
        );
      } finally {
        await cluster.stop();
      }
    } finally {
      await star.remove();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(title: string, rows: OpResult[], json?: string): void {
  process.stdout.write(`${renderTable(title, rows)}\n`);
  if (json) writeFileSync(json, `${JSON.stringify({ title, rows }, null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench redis-store: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
