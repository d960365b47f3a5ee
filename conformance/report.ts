// The three forms of a conformance report: one console line per check, JSON for machines and
// Markdown for people (a table that reads well in an issue or a pull request).
import type { CheckResult } from "./check.js";
import type { SuiteReport } from "./runner.js";

/** `PASS  bsf.challenge.realm  [TS 24.109 A.3]  realm "…" is the BSF FQDN` */
export function resultLine(r: CheckResult): string {
  const reading = r.reading ? " (our reading)" : "";
  return `${r.verdict.padEnd(4)}  ${r.id}  [${r.clause}${reading}]  ${r.detail}`;
}

export function summaryLine(report: SuiteReport): string {
  const { pass, fail, skip } = report.summary;
  return `${report.suite.toUpperCase()} conformance: ${pass} passed, ${fail} failed, ${skip} skipped`;
}

export function toJson(report: SuiteReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** A Markdown cell: no line breaks, pipes escaped. */
function cell(s: string): string {
  return s.replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
}

export function toMarkdown(report: SuiteReport): string {
  const lines: string[] = [];
  lines.push(`# ${report.suite.toUpperCase()} conformance report`, "");
  lines.push(`${summaryLine(report)}.`, "");
  lines.push("| target | |", "|---|---|");
  for (const [k, v] of Object.entries(report.target)) lines.push(`| ${cell(k)} | \`${cell(v)}\` |`);
  for (const [k, v] of Object.entries(report.ue)) lines.push(`| UE ${cell(k)} | \`${cell(v)}\` |`);
  lines.push(`| run | ${report.startedAt} – ${report.finishedAt}, ${cell(report.tool)} |`, "");
  lines.push("| result | check | clause | detail |", "|---|---|---|---|");
  for (const r of report.results) {
    const clause = r.reading ? `${r.clause} (our reading)` : r.clause;
    lines.push(`| ${r.verdict} | \`${r.id}\` ${cell(r.title)} | ${cell(clause)} | ${cell(r.detail)} |`);
  }
  const readings = report.results.filter((r) => r.reading);
  if (readings.length > 0) {
    lines.push("", "Our readings (the clause text could not be read in a public copy):", "");
    for (const r of readings) lines.push(`- \`${r.id}\`: ${cell(r.reading ?? "")}`);
  }
  return `${lines.join("\n")}\n`;
}
