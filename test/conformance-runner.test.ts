// The conformance plumbing on its own: the runner (selection, a check that throws is a FAIL,
// never lost), the reporters, and the reading of how a challenge's parameters were written.
import { describe, expect, it } from "vitest";
import { type Check, fail, pass, skip } from "../conformance/check.js";
import { paramForms, quotingProblems } from "../conformance/challenge.js";
import { resultLine, toJson, toMarkdown } from "../conformance/report.js";
import { runChecks, selected, type SuiteReport, summarise, unknownSelections } from "../conformance/runner.js";

type Ctx = { calls: string[] };
/** A check body that records its id, then answers `o`. */
const recording = (id: string, o: ReturnType<typeof pass>) => async (c: Ctx) => {
  c.calls.push(id);
  return o;
};

const CHECKS: Check<Ctx>[] = [
  { id: "x.a", clause: "RFC 1 §1", title: "a", run: recording("x.a", pass("fine")) },
  {
    id: "x.a.b",
    clause: "RFC 1 §2",
    reading: "text not public",
    title: "b",
    run: recording("x.a.b", fail("broken | piped")),
  },
  { id: "x.ab", clause: "RFC 1 §3", title: "c", run: recording("x.ab", skip("needs --flag")) },
  {
    id: "x.throws",
    clause: "RFC 1 §4",
    title: "d",
    run: async () => {
      throw new Error("socket hang up");
    },
  },
];

describe("runner", () => {
  it("runs every check in order; a check that throws is a FAIL naming what broke", async () => {
    const ctx = { calls: [] as string[] };
    let t = 0;
    const seen: string[] = [];
    const results = await runChecks(CHECKS, ctx, { clock: () => (t += 5), onResult: (r) => seen.push(r.id) });
    expect(ctx.calls).toEqual(["x.a", "x.a.b", "x.ab"]);
    expect(seen).toEqual(["x.a", "x.a.b", "x.ab", "x.throws"]);
    expect(results.map((r) => r.verdict)).toEqual(["PASS", "FAIL", "SKIP", "FAIL"]);
    expect(results[3].detail).toBe("the check could not complete: socket hang up");
    expect(results[0].durationMs).toBe(5);
    expect(summarise(results)).toEqual({ pass: 1, fail: 2, skip: 1 });
  });

  it("selects by id or by a prefix that ends at a dot, and names selections that match nothing", async () => {
    expect(selected("x.a.b", ["x.a"])).toBe(true);
    expect(selected("x.ab", ["x.a"])).toBe(false);
    expect(selected("x.ab", undefined)).toBe(true);
    const ctx = { calls: [] as string[] };
    await runChecks(CHECKS, ctx, { only: ["x.a"] });
    expect(ctx.calls).toEqual(["x.a", "x.a.b"]);
    expect(unknownSelections(CHECKS, ["x.a", "x.zz", "x"])).toEqual(["x.zz"]);
  });

  it("reports: console line, JSON, Markdown with readings and escaped cells", async () => {
    const results = await runChecks(CHECKS, { calls: [] });
    expect(resultLine(results[1])).toBe("FAIL  x.a.b  [RFC 1 §2 (our reading)]  broken | piped");
    const report: SuiteReport = {
      suite: "bsf",
      target: { "Ub URL": "http://bsf" },
      ue: { impi: "i@x" },
      tool: "gba-emu 0",
      startedAt: "2030-01-01T00:00:00.000Z",
      finishedAt: "2030-01-01T00:00:01.000Z",
      summary: summarise(results),
      results,
    };
    expect(JSON.parse(toJson(report))).toEqual(report);
    const md = toMarkdown(report);
    expect(md).toContain("BSF conformance: 1 passed, 2 failed, 1 skipped.");
    expect(md).toContain("| FAIL | `x.a.b` b | RFC 1 §2 (our reading) | broken \\| piped |");
    expect(md).toContain("- `x.a.b`: text not public");
  });
});

describe("how a challenge's parameters were written (RFC 7616 §3.3)", () => {
  it("reads quoted and token forms, commas and escaped quotes inside strings, base64 padding", () => {
    const h = 'Digest realm="a, \\"b\\"", nonce=YWJj==, qop="auth-int", algorithm=AKAv1-MD5, opaque="x", Basic realm="r"';
    expect(paramForms(h)).toEqual([
      { name: "realm", quoted: true },
      { name: "nonce", quoted: false },
      { name: "qop", quoted: true },
      { name: "algorithm", quoted: false },
      { name: "opaque", quoted: true },
      { name: "realm", quoted: true },
    ]);
    expect(quotingProblems(h)).toEqual(["nonce is not a quoted string"]);
    expect(quotingProblems('Digest realm="r", nonce="n", algorithm="MD5", stale="true"')).toEqual([
      "algorithm is quoted",
      "stale is quoted",
    ]);
  });
});
