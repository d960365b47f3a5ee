// Runs a suite's checks in order, one at a time (they share the target and the USIM), and turns
// each into a result. A check that throws has not shown the target conformant: it is a FAIL
// naming what broke, never a silent skip.
import type { Check, CheckResult, Outcome } from "./check.js";

export interface SuiteSummary {
  pass: number;
  fail: number;
  skip: number;
}

export interface SuiteReport {
  suite: "bsf" | "naf";
  /** what was tested: URLs and the names the checks compare against */
  target: Record<string, string>;
  /** the UE that drove it (never keys) */
  ue: Record<string, string>;
  tool: string;
  startedAt: string;
  finishedAt: string;
  summary: SuiteSummary;
  results: CheckResult[];
}

export interface RunOptions {
  /** only checks whose id equals or starts with one of these (a "." or the end follows the prefix) */
  only?: readonly string[];
  /** called after each check, in order (progress on the console) */
  onResult?: (r: CheckResult) => void;
  clock?: () => number;
}

export function selected(id: string, only: readonly string[] | undefined): boolean {
  if (only === undefined || only.length === 0) return true;
  return only.some((p) => id === p || id.startsWith(p.endsWith(".") ? p : `${p}.`));
}

/** Ids that `only` names but that no check has: a typo is a usage error, not an empty run. */
export function unknownSelections(checks: readonly { id: string }[], only: readonly string[] | undefined): string[] {
  return (only ?? []).filter((p) => !checks.some((c) => selected(c.id, [p])));
}

export async function runChecks<C>(checks: readonly Check<C>[], ctx: C, o: RunOptions = {}): Promise<CheckResult[]> {
  const clock = o.clock ?? Date.now;
  const results: CheckResult[] = [];
  for (const check of checks) {
    if (!selected(check.id, o.only)) continue;
    const started = clock();
    let outcome: Outcome;
    try {
      outcome = await check.run(ctx);
    } catch (err) {
      outcome = { verdict: "FAIL", detail: `the check could not complete: ${(err as Error).message ?? String(err)}` };
    }
    const r: CheckResult = {
      id: check.id,
      clause: check.clause,
      ...(check.reading ? { reading: check.reading } : {}),
      title: check.title,
      verdict: outcome.verdict,
      detail: outcome.detail,
      durationMs: clock() - started,
    };
    results.push(r);
    o.onResult?.(r);
  }
  return results;
}

export function summarise(results: readonly CheckResult[]): SuiteSummary {
  const s: SuiteSummary = { pass: 0, fail: 0, skip: 0 };
  for (const r of results) {
    if (r.verdict === "PASS") s.pass++;
    else if (r.verdict === "FAIL") s.fail++;
    else s.skip++;
  }
  return s;
}
