// `gba bench all`: every benchmark in one run on one machine (ub and ua also with 2 workers, for
// the scaling figures), each result as JSON, and the whole run as bench.json, a Markdown table
// (bench.md) and a self-contained HTML report (bench.html).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BENCHES } from "./index.js";
import { machineInfo } from "./lib/machine.js";
import type { BenchOptions } from "./lib/options.js";
import { htmlReport, markdownReport, textReport } from "./lib/render.js";
import { writeJson } from "./lib/report.js";
import type { BenchResult } from "./lib/result.js";

/** What `bench all` runs, in order: [bench, workers]. */
export const ALL_PLAN: Array<[string, number]> = [
  ["milenage", 1],
  ["x509", 1],
  ["zn", 1],
  ["ub", 1],
  ["ub", 2],
  ["ua", 1],
  ["ua", 2],
  ["tls-psk", 1],
  ["enrol", 1],
  ["flow", 1],
  ["hss", 1],
  ["sessions", 1],
  ["dashboard", 1],
];

/** "ub: 1 → 2 workers: 1,234 → 2,000 bootstrap/s (×1.62)" for every bench run with 1 and 2 workers. */
export function scalingLines(results: BenchResult[]): string[] {
  const lines: string[] = [];
  for (const bench of new Set(results.map((r) => r.bench))) {
    const runs = results.filter((r) => r.bench === bench && r.comparisons.length > 0);
    const one = runs.find((r) => r.config.workers === 1)?.comparisons[0].subject;
    const two = runs.find((r) => r.config.workers === 2)?.comparisons[0].subject;
    if (!one || !two) continue;
    const f = (n: number) => Math.round(n).toLocaleString("en-US");
    lines.push(
      `scaling ${bench}: 1 → 2 workers: ${f(one.perSec)} → ${f(two.perSec)} ${one.unit}/s (×${(two.perSec / one.perSec).toFixed(2)})`,
    );
  }
  return lines;
}

export async function benchAll(
  o: BenchOptions,
  outDir: string,
  plan: Array<[string, number]> = ALL_PLAN,
): Promise<{ results: BenchResult[]; failures: string[] }> {
  const machine = machineInfo();
  const results: BenchResult[] = [];
  const failures: string[] = [];
  const started = performance.now();
  for (const [name, workers] of plan) {
    const label = workers > 1 ? `${name}-${workers}w` : name;
    o.log(`== ${label}`);
    try {
      const r = await BENCHES[name].run({ ...o, workers });
      results.push(r);
      process.stdout.write(`${textReport(r)}\n`);
      await writeJson(join(outDir, `${label}.json`), r);
    } catch (err) {
      failures.push(`${label}: ${(err as Error).message}`);
      o.log(`bench ${label} failed: ${(err as Error).message}`);
    }
  }
  const extra = [
    ...scalingLines(results),
    `whole run: ${((performance.now() - started) / 1000).toFixed(0)} s`,
    ...failures.map((f) => `FAILED ${f}`),
  ];
  await writeJson(join(outDir, "bench.json"), { machine, results, notes: extra });
  await writeFile(join(outDir, "bench.md"), markdownReport(results, machine, extra));
  await writeFile(join(outDir, "bench.html"), htmlReport(results, machine, extra));
  for (const line of extra) process.stdout.write(`${line}\n`);
  process.stdout.write(`wrote ${join(outDir, "bench.md")} and ${join(outDir, "bench.html")}\n`);
  return { results, failures };
}
