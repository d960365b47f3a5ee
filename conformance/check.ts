// A conformance check as data: what it checks (id, clause, title), whether the clause text was
// read or is our reading of it, and the function that drives the target and judges the answer.

export type Verdict = "PASS" | "FAIL" | "SKIP";

/** What one check found: the verdict and, in one or two sentences, why. */
export interface Outcome {
  verdict: Verdict;
  /** PASS: what was seen; FAIL: what is wrong; SKIP: why the check could not run */
  detail: string;
}

export interface Check<C> {
  /** stable identifier, "<suite>.<aspect>[.<detail>]", e.g. "bsf.challenge.realm" */
  id: string;
  /** the clauses the check holds the target to, e.g. "TS 24.109 A.3; RFC 3310 §3.2" */
  clause: string;
  /**
   * Set when the requirement is our reading rather than text we could read: what was read and
   * what was inferred. Printed with the result so nobody mistakes it for quoted spec text.
   */
  reading?: string;
  /** one line: what the target must do */
  title: string;
  run(ctx: C): Promise<Outcome>;
}

export function pass(detail: string): Outcome {
  return { verdict: "PASS", detail };
}

export function fail(detail: string): Outcome {
  return { verdict: "FAIL", detail };
}

export function skip(reason: string): Outcome {
  return { verdict: "SKIP", detail: reason };
}

/** The result of one check in a report. */
export interface CheckResult {
  id: string;
  clause: string;
  reading?: string;
  title: string;
  verdict: Verdict;
  detail: string;
  durationMs: number;
}
