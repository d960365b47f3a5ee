// `gba bench` as a user runs it: each benchmark for about a second against our own NFs, checked
// for well-formed output only (JSON result, terminal report, bench all's Markdown and HTML).
// Never a timed assertion: figures on a shared test machine mean nothing.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./hss-fixtures.js";
import type { BenchResult, Measurement } from "../bench/lib/result.js";

const dir = mkdtempSync(join(tmpdir(), "gba-bench-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gba = (args: string[]) => runCli(args);

/** One second per system, one round, no warm-up, few connections. */
const QUICK = ["--duration", "1", "--rounds", "1", "--warmup", "0", "--connections", "4"];

function checkMeasurement(m: Measurement): void {
  expect(m.label).toEqual(expect.any(String));
  expect(m.ok).toBeGreaterThan(0);
  expect(m.perSec).toBeGreaterThan(0);
  expect(m.seconds).toBeGreaterThan(0);
  for (const v of Object.values(m.errors)) expect(v).toBeGreaterThan(0);
  // CPU per operation, measured for every process the measurement names (the load generator at least)
  expect(Object.keys(m.cpu?.usPerOp ?? {}).length).toBeGreaterThan(0);
  // a child's CPU comes from /proc in clock ticks (10 ms): one that idled through a short window
  // reads 0, so only the load generator (process.cpuUsage, µs) must show work
  for (const [name, us] of Object.entries(m.cpu?.usPerOp ?? {})) {
    expect(us, name).toBeGreaterThanOrEqual(0);
    expect(m.cpu?.cores[name], name).toBeGreaterThanOrEqual(0);
  }
  expect(m.cpu?.usPerOp["load generator"] ?? 1).toBeGreaterThan(0);
  if (m.latencyMs) {
    const l = m.latencyMs;
    expect(l.count).toBeGreaterThan(0);
    expect(l.p50).toBeLessThanOrEqual(l.p95);
    expect(l.p95).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.max);
    const h = m.histogram;
    expect(h).toBeDefined();
    expect(h?.counts.length).toBe(h?.upperMs.length);
    expect(h?.counts.reduce((a, b) => a + b, 0)).toBe(l.count);
    expect(h?.upperMs[h.upperMs.length - 1]).toBeGreaterThanOrEqual(l.max);
  }
}

function checkResult(r: BenchResult, bench: string): void {
  expect(r.bench).toBe(bench);
  expect(r.machine.cores).toBeGreaterThan(0);
  expect(r.machine.node).toBe(process.version);
  expect(r.machine.cpuModel).toEqual(expect.any(String));
  for (const c of r.comparisons) {
    checkMeasurement(c.subject);
    checkMeasurement(c.baseline);
    expect(Number.isFinite(c.ratio)).toBe(true);
    expect(c.ratio).toBeGreaterThan(0);
    if (c.goal) expect(c.goal.met).toBe(c.goal.kind === "min" ? c.ratio >= c.goal.value : c.ratio <= c.goal.value);
  }
}

async function runBench(bench: string, extra: string[] = []): Promise<{ result: BenchResult; stdout: string }> {
  const out = join(dir, `${bench}.json`);
  const r = await gba(["bench", bench, ...QUICK, "--out", out, ...extra]);
  expect(r.stderr.split("\n").filter((l) => /failed|Error/.test(l))).toEqual([]);
  expect(r.code).toBe(0);
  const result = JSON.parse(readFileSync(out, "utf8")) as BenchResult;
  checkResult(result, bench);
  return { result, stdout: r.stdout };
}

// on a busy 2-core machine eight benchmarks at once are slow to start: generous timeouts, no timed assertion
describe.concurrent("gba bench <benchmark> against our own NFs", { timeout: 120_000 }, () => {
  it("milenage: AV/s against the AES floor", async () => {
    const { result, stdout } = await runBench("milenage", ["--duration", "0.3"]);
    expect(result.comparisons.map((c) => c.subject.unit)).toEqual(["AV", "AV"]);
    expect(result.comparisons[0].goal?.value).toBe(0.5);
    expect(stdout).toMatch(/AV\/s ÷ \(blocks\/s ÷ 5\) = \d+\.\d{3}/);
  });

  it("ub: bootstraps against the stub-chain floors with 1 and 2 Zh exchanges, CPU per bootstrap per process", async () => {
    const { result, stdout } = await runBench("ub");
    // our BSF makes one Zh exchange per bootstrap (GUSS timestamp option): the 1-Zh floor is the target's
    const [one, two] = result.comparisons;
    for (const c of [two, one]) {
      expect(c.subject.unit).toBe("bootstrap");
      expect(c.baseline.unit).toBe("bootstrap");
      expect(c.ratio).toBeCloseTo(c.subject.perSec / c.baseline.perSec, 6);
    }
    expect(two.baseline.label).toMatch(/^stub chain, 2 Ub \+ 2 Zh/);
    expect(one.baseline.label).toMatch(/^stub chain, 2 Ub \+ 1 Zh/);
    expect(one.goal?.value).toBe(0.8);
    expect(two.goal).toBeUndefined();
    expect(Object.keys(one.subject.cpu?.usPerOp ?? {})).toEqual(["BSF", "HSS", "load generator"]);
    expect(Object.keys(two.baseline.cpu?.usPerOp ?? {})).toEqual(["stub BSF (2 Zh)", "stub HSS", "load generator"]);
    expect(Object.keys(one.baseline.cpu?.usPerOp ?? {})).toEqual(["stub BSF (1 Zh)", "stub HSS", "load generator"]);
    expect(stdout).toMatch(/BSF \d+ µs, HSS \d+ µs, load generator \d+ µs \(total \d+\)/);
    expect(stdout).not.toMatch(/÷ 3|bare/);
  });

  it("zn: lookups against a bare JSON route", async () => {
    const { result } = await runBench("zn");
    expect(result.comparisons[0].subject.unit).toBe("lookup");
    expect(result.config.sessions).toBe(256);
  });

  it("ua: Digest through the NAF proxy against a bare proxy, with 2 workers", async () => {
    const { result } = await runBench("ua", ["--workers", "2"]);
    expect(result.config.workers).toBe(2);
    expect(result.comparisons[0].subject.errors).toEqual({});
  });

  it("tls-psk: TLS 1.2 and 1.3 handshakes against node:tls", async () => {
    const { result } = await runBench("tls-psk");
    expect(result.comparisons.map((c) => c.name)).toEqual(["tls-psk TLS 1.2", "tls-psk TLS 1.3"]);
  });

  it("enrol: enrolments against the ECA routes behind a stub authentication", async () => {
    const { result } = await runBench("enrol");
    expect(result.comparisons[0].subject.unit).toBe("enrolment");
    expect(result.comparisons[0].goal).toBeUndefined();
  });

  it("flow: IoT.04 flows on HSS+BSF+ECA against the stub-chain floor, same load generator, CPU per flow per process", async () => {
    const { result } = await runBench("flow");
    const c = result.comparisons[0];
    expect(c.subject.unit).toBe("enrolment");
    expect(Object.keys(c.subject.cpu?.usPerOp ?? {})).toEqual(["HSS", "BSF", "NAF", "ECA", "load generator"]);
    expect(Object.keys(c.baseline.cpu?.usPerOp ?? {})).toEqual(["stub HSS", "stub BSF", "stub ECA", "load generator"]);
    // every flow of both systems ended well: the floor makes the same exchanges and they succeed
    expect(c.subject.errors).toEqual({});
    expect(c.baseline.errors).toEqual({});
  });

  it("hss: AV/s and the p99 of a large against a small store", async () => {
    const { result } = await runBench("hss", ["--small-store", "50", "--large-store", "500", "--store-dir", join(dir, "stores")]);
    const p99 = result.comparisons.find((c) => c.name === "hss AV p99 large vs small");
    expect(p99?.ratio).toBeCloseTo((p99?.subject.latencyMs?.p99 ?? 0) / (p99?.baseline.latencyMs?.p99 ?? 1), 6);
    expect(p99?.goal).toMatchObject({ kind: "max", value: 1.2 });
  });

  it("dashboard: gba up with the dashboard's live stream read against gba up without it", async () => {
    const { result } = await runBench("dashboard");
    const c = result.comparisons[0];
    expect(c.subject.label).toBe("gba up --dashboard, page live");
    expect(c.baseline.label).toBe("gba up, no dashboard");
    expect(c.goal).toMatchObject({ kind: "min", value: 0.95 });
    // CPU µs per bootstrap of each process: gba up in both, the page (its own process) with the dashboard only
    expect(c.subject.cpu?.usPerOp["gba up"]).toBeGreaterThan(0);
    expect(c.baseline.cpu?.usPerOp["gba up"]).toBeGreaterThan(0);
    expect(c.subject.cpu?.usPerOp).toHaveProperty(["page (stream reader)"]);
    expect(c.baseline.cpu?.usPerOp).not.toHaveProperty(["page (stream reader)"]);
    expect(result.config).toMatchObject({ page: "page (stream reader)", order: "A B B A per round, one gba up alive at a time" });
    expect(result.facts?.["live messages read"]).toBeGreaterThan(0);
  });

  it("sessions: RSS and LMDB size per 100,000 sessions", async () => {
    const { result } = await runBench("sessions", ["--sessions", "3000"]);
    expect(result.comparisons).toEqual([]);
    expect(result.facts?.sessions).toBe(3000);
    expect(result.facts?.["LMDB bytes per session"]).toBeGreaterThan(100);
    expect(result.facts?.["Zn lookups failed"]).toBe(0);
  });
});

describe("gba bench all", { timeout: 120_000 }, () => {
  it("writes one JSON per run, bench.json, a Markdown table and a self-contained HTML report", async () => {
    const out = join(dir, "all");
    const r = await gba([
      "bench",
      "all",
      "--only",
      "milenage,ua",
      "--duration",
      "0.3",
      "--warmup",
      "0",
      "--connections",
      "4",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    const all = JSON.parse(readFileSync(join(out, "bench.json"), "utf8")) as { results: BenchResult[]; notes: string[] };
    expect(all.results.map((x) => `${x.bench}/${x.config.workers ?? "-"}`)).toEqual(["milenage/-", "ua/1", "ua/2"]);
    for (const x of all.results) checkResult(x, x.bench);
    expect(all.notes.some((n) => /^scaling ua: 1 → 2 workers: /.test(n))).toBe(true);
    for (const f of ["milenage.json", "ua.json", "ua-2w.json"]) expect(() => readFileSync(join(out, f))).not.toThrow();

    const md = readFileSync(join(out, "bench.md"), "utf8");
    const tables = md.split("\n\n").map((t) => t.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| benchmark")));
    const rows = tables.find((t) => t.length > 0) ?? [];
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row.split(" | ")).toHaveLength(12);
    // the CPU table: one row per metered measurement (milenage's 4, ua's 2 per worker count)
    const cpuRows = md.slice(md.indexOf("CPU per operation")).split("\n\n")[1].split("\n").slice(2);
    expect(cpuRows).toHaveLength(8);
    for (const row of cpuRows) expect(row).toMatch(/load generator \d|bench process \d/);

    const html = readFileSync(join(out, "bench.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg /g)?.length).toBe(2);
    expect(html).not.toMatch(/<script|<link|src=|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});
