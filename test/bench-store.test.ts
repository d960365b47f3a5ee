// `gba bench ub|zn|hss --store redis://…` as a user runs it, against a real 3 + 3 Redis Cluster:
// the built-in HSS (and BSF) run once on LMDB and once on the cluster in the same run; the result
// has the Redis ÷ LMDB comparison, CPU µs per operation of the HSS and the BSF of each stack and
// of the Redis primaries, and the Redis commands per operation. Well-formed output only, never a
// timed assertion. Also the refusals.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BenchResult, type Measurement, totalErrors } from "../bench/lib/result.js";
import type { RedisCluster } from "../scenarios/topology/redis-cluster.js";
import { startTestRedisCluster, stopTestRedisCluster } from "./helpers/redis-cluster.js";
import { runCli } from "./hss-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "gba-bench-store-"));
let cluster: RedisCluster;
let url: string;
const QUICK = ["--duration", "1", "--rounds", "1", "--warmup", "0", "--connections", "4"];

beforeAll(async () => {
  cluster = await startTestRedisCluster();
  url = `redis://${cluster.seeds.map((n) => `${n.host}:${n.port}`).join(",")}`;
}, 120_000);
afterAll(async () => {
  await stopTestRedisCluster(cluster);
  rmSync(dir, { recursive: true, force: true });
});

describe("gba bench --store", () => {
  for (const [bench, unit] of [
    ["ub", "bootstrap"],
    ["zn", "lookup"],
  ] as const) {
    it(`${bench}: the Redis run against the LMDB run of the same run, CPU µs per ${unit} per process`, async () => {
      const out = join(dir, `${bench}.json`);
      const r = await runCli(["bench", bench, ...QUICK, "--store", url, "--out", out]);
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(readFileSync(out, "utf8")) as BenchResult;
      const vs = result.comparisons.find((c) => c.name.startsWith(`${bench} on the Redis Cluster vs LMDB`));
      expect(vs, JSON.stringify(result.comparisons.map((c) => c.name))).toBeDefined();
      expect(vs?.subject.ok).toBeGreaterThan(0);
      expect(vs?.baseline.ok).toBeGreaterThan(0);
      expect(vs?.ratio).toBeGreaterThan(0);
      // every measurement carries CPU per process: the Redis stack's under its own names
      expect(JSON.stringify(vs?.subject)).toContain("BSF (Redis)");
      expect(JSON.stringify(vs?.subject)).toContain("HSS (Redis)");
      expect(JSON.stringify(vs?.baseline)).not.toContain("(Redis)");
      expect(result.facts?.[`Redis Cluster primaries CPU µs/${unit}`]).toBeGreaterThan(0);
      expect(result.facts?.[`Redis commands/${unit} (scripts' own calls included)`]).toMatch(/^(\w+ \d+\.\d\d(, |$))+/);
      expect(r.stdout).toMatch(/Redis .* ÷ LMDB/);
      process.stderr.write(
        `bench ${bench} --store (1 s, 4 connections): Redis ÷ LMDB ${vs?.ratio.toFixed(2)}; ${JSON.stringify(result.facts)}\n`,
      );
    }, 120_000);
  }

  it("hss: the Redis HSS's AVs (SEQ_HE advanced by its script) and GUSS reads against the LMDB HSS's of the same run", async () => {
    const out = join(dir, "hss.json");
    const stores = ["--small-store", "50", "--large-store", "100", "--store-dir", join(dir, "stores")];
    const r = await runCli(["bench", "hss", ...QUICK, ...stores, "--store", url, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, "utf8")) as BenchResult;
    for (const [name, unit] of [
      ["hss Zh AV on the Redis Cluster vs LMDB", "AV"],
      ["hss Zh GUSS on the Redis Cluster vs LMDB", "GUSS read"],
    ]) {
      const vs = result.comparisons.find((c) => c.name === name);
      expect(vs, JSON.stringify(result.comparisons.map((c) => c.name))).toBeDefined();
      expect(vs?.subject.ok).toBeGreaterThan(0);
      expect(vs?.baseline.ok).toBeGreaterThan(0);
      expect(totalErrors(vs?.subject as Measurement), JSON.stringify(vs?.subject.errors)).toBe(0);
      expect(vs?.subject.unit).toBe(unit);
      expect(JSON.stringify(vs?.subject.cpu)).toContain("HSS (Redis)");
      expect(JSON.stringify(vs?.baseline.cpu)).not.toContain("(Redis)");
      expect(result.facts?.[`Redis Cluster primaries CPU µs/${unit}`]).toBeGreaterThan(0);
    }
    // an AV advances SEQ_HE in one script; a GUSS read writes nothing
    expect(result.facts?.["Redis commands/AV (scripts' own calls included)"]).toMatch(/evalsha (0\.9\d|1\.0\d)/);
    expect(result.facts?.["Redis commands/GUSS read (scripts' own calls included)"]).not.toMatch(/evalsha|set|del/);
    process.stderr.write(`bench hss --store (1 s, 4 connections): ${JSON.stringify(result.facts)}\n`);
  }, 180_000);

  it("refuses --store with another benchmark, with --target, and a store that is not a Redis Cluster (exit 2)", async () => {
    for (const [args, message] of [
      [["bench", "ua", "--store", "redis://127.0.0.1:1"], /--store goes with bench ub, zn, hss, not ua/],
      [["bench", "all", "--store", "redis://127.0.0.1:1"], /--store goes with bench ub, zn, hss, not all/],
      [["bench", "ub", "--store", "redis://127.0.0.1:1", "--target", "http://127.0.0.1:1"], /does not go with --target/],
      [["bench", "ub", "--store", "lmdb"], /--store: name a Redis Cluster/],
      [["bench", "zn", "--store", "redis://127.0.0.1:1", "--binding", "diameter"], /not --binding diameter/],
      [["bench", "ub", "--store", "redis://a:99999"], /port 99999/],
    ] as const) {
      const r = await runCli([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
