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
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { RedisStore } from "../nf/common/store/redis.js";
import { parseStoreOption, type RedisStoreConfig } from "../nf/common/store/redis-config.js";
import { RedisHssStore } from "../nf/hss/store-redis.js";
import { percentile } from "../scenarios/stats.js";
import { createStar } from "../scenarios/topology/netns-star.js";
import { RedisCluster } from "../scenarios/topology/redis-cluster.js";
import { redisPrimariesCpuUs } from "./lib/store-compare.js";

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

interface Ctx {
  store: RedisStore;
  /** the HSS backend over its own connection, KEYS subscribers provisioned */
  hss: RedisHssStore;
}
type Op = (c: Ctx, i: number) => Promise<unknown>;

const impiOf = (i: number) => `bench-${i % KEYS}@x`;

function key(store: RedisStore, i: number, kind: string): string {
  return store.keys.key(impiOf(i), "hss", kind);
}

const OPS: Record<string, Op> = {
  // the floor: one round trip, no work
  ping: ({ store }) => store.client.ping(),
  get: ({ store }, i) => store.get(key(store, i, "v")),
  "set (PXAT)": ({ store }, i) => store.set(key(store, i, "v"), "0123456789abcdef0123456789abcdef", Date.now() + 600_000),
  // a single-slot script (the NAF's nonce-count check)
  "lua raise-to": ({ store }, i) => store.raiseTo(key(store, i, "nc"), i, Date.now() + 600_000),
  // the AuC's step: record, SEQ_HE rule, write (nf/hss/store-redis.ts)
  "lua SEQ_HE step (HSS)": ({ hss }, i) => hss.advanceSqn(impiOf(i), { ind: 1 }),
  "set + WAIT 1 (durable step)": async ({ store }, i) => {
    const k = key(store, i, "w");
    await store.client.hset(k, "seq", String(i));
    await store.awaitReplica(k, 1000, () => true, "seq");
  },
};

/** The HSS backend with KEYS bench subscribers (random keys, a random master key). */
async function benchHss(cfg: RedisStoreConfig, dir: string): Promise<RedisHssStore> {
  const hss = await RedisHssStore.open(await RedisStore.open(cfg), dir, {
    env: { GBA_MASTER_KEY: randomBytes(32).toString("hex") },
  });
  for (let i = 0; i < KEYS; i++) await hss.remove(impiOf(i));
  const records = Array.from({ length: KEYS }, (_, i) =>
    hss.secrets.seal({
      impi: impiOf(i),
      impus: [`sip:${impiOf(i)}`],
      k: randomBytes(16),
      opc: randomBytes(16),
      keyInput: "OPc",
      amf: "8000",
      uiccType: "GBA",
    }),
  );
  await hss.create(records, []);
  return hss;
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function measureOp(ctx: Ctx, name: string, op: Op, seconds: number, concurrency: number): Promise<OpResult> {
  const { store } = ctx;
  // warm: scripts loaded, connections open, every key written once (a SEQ_HE key's first step
  // is its durable anchoring; the steady state is the clock rule)
  for (let w = 0; w < KEYS; w += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => op(ctx, w + j)));
  // one at a time
  const lat: number[] = [];
  let cpu0 = cpuUs();
  let until = performance.now() + seconds * 1000;
  let i = 0;
  while (performance.now() < until) {
    const t = performance.now();
    await op(ctx, i++);
    lat.push((performance.now() - t) * 1000);
  }
  const clientCpuUsSeq = (cpuUs() - cpu0) / lat.length;
  lat.sort((a, b) => a - b);
  // many in flight
  let done = 0;
  const server0 = await redisPrimariesCpuUs(store);
  cpu0 = cpuUs();
  const started = performance.now();
  until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await op(ctx, i++);
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const clientCpuUsConc = (cpuUs() - cpu0) / done;
  const serverCpuUsConc = ((await redisPrimariesCpuUs(store)) - server0) / done;
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
  const bench = { ...cfg, prefix: "gba-bench" };
  const dir = mkdtempSync(join(tmpdir(), "gba-bench-redis-hss-"));
  const store = await RedisStore.open(bench);
  let hss: RedisHssStore | undefined;
  try {
    hss = await benchHss(bench, dir);
    const out: OpResult[] = [];
    for (const [name, op] of Object.entries(OPS)) out.push(await measureOp({ store, hss }, name, op, seconds, concurrency));
    return out;
  } finally {
    await hss?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
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
        // spawns: ip (ip netns exec <client host> node …)
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
