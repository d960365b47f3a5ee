// The run's report as a Markdown document (`--report FILE.md`), built from the same JSON report:
// the load figures with the CPU cost per process, the step percentiles per phase, failures by
// cause and the assertions. Identifiers only: no key material. `--report FILE.html` is the
// dashboard's page (report-html.ts).
import { assertionMark, type Provisioned, type Report } from "./report.js";
import { reportHtmlPage } from "./report-html.js";
import type { StepFigures } from "./stats.js";

interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

const STEP_HEADER = ["step", "ok", "failed", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms"];

function stepTable(title: string, steps: Record<string, StepFigures>): Table {
  return {
    title,
    header: STEP_HEADER,
    rows: Object.entries(steps)
      .filter(([name]) => name !== "wait")
      .map(([name, f]) => [name, f.ok, f.failed, f.p50, f.p90, f.p95, f.p99, f.max].map(String)),
  };
}

const provisionedRow = (what: string, p: Provisioned) => [what, String(p.count), (p.ms / 1000).toFixed(1)];

function tables(r: Report): Table[] {
  const out: Table[] = [];
  const l = r.load;
  if (l) {
    const figures: Array<[string, string]> = [
      ["driver", l.driver],
      ["offered", l.mode === "rate" ? `${l.targetRate}/s${l.poisson ? " Poisson" : ""}` : `${l.concurrency} concurrent`],
      ["steady window", `${l.steadyWindowS} s`],
      ["arrivals / started / ok / failed", `${l.arrivals} / ${l.started} / ${l.ok} / ${l.failed}`],
      ["offered rate (steady window)", `${l.offeredRate}/s`],
      ["achieved rate (steady window)", `${l.achievedRate}/s`],
      ["shed rate (steady window)", `${l.shedRate}/s (${l.shed} arrivals over the phase)`],
      ["bound on flows in flight", l.inFlightBound === undefined ? "none" : String(l.inFlightBound)],
      ["enrolments/s, bootstraps/s", `${l.enrolmentsPerSecond}, ${l.bootstrapsPerSecond}`],
      ["not started, unfinished", `${l.notStarted}, ${l.unfinished}`],
      ["max in flight", String(l.maxInFlight)],
      ["steady", l.steady ? "yes" : "no"],
    ];
    out.push({ title: "Load phase", header: ["figure", "value"], rows: figures.map(([k, v]) => [k, v]) });
    if (l.cpu) {
      const rows = Object.entries(l.cpu.usPerOp).map(([name, us]) => [
        name,
        us === null ? "n/a" : String(Math.round(us)),
        String(l.cpu?.cores[name] ?? "n/a"),
      ]);
      out.push({
        title: `CPU per successful load flow, by process${l.cpu.note ? ` (${l.cpu.note})` : ""}`,
        header: ["process", "CPU µs per flow", "cores busy"],
        rows,
      });
    }
    out.push(stepTable("Load phase, per step", l.steps));
    const errors = Object.entries(l.errors);
    if (errors.length)
      out.push({
        title: "Load phase failures by cause",
        header: ["cause", "flows"],
        rows: errors.map(([k, v]) => [k, String(v)]),
      });
  }
  out.push(stepTable("Functional phase, per step", r.functional.steps));
  if (r.provisioning) {
    const p = r.provisioning;
    out.push({
      title: "Provisioning (before the NFs start)",
      header: ["what", "count", "seconds"],
      rows: [
        provisionedRow("USIM state files", p.usims),
        provisionedRow("HSS subscribers", p.subscribers),
        provisionedRow("ECA vehicle bindings", p.bindings),
      ],
    });
  }
  if (r.peakRss && Object.keys(r.peakRss).length)
    out.push({
      title: "Peak resident memory (VmHWM), by process",
      header: ["process", "MiB"],
      rows: Object.entries(r.peakRss).map(([name, bytes]) => [name, String(Math.round(bytes / 1024 / 1024))]),
    });
  const fErrors = Object.entries(r.functional.errors);
  if (fErrors.length)
    out.push({
      title: "Functional phase failures by cause",
      header: ["cause", "flows"],
      rows: fErrors.map(([k, v]) => [k, String(v)]),
    });
  if (r.topology)
    out.push({
      title: `Topology (${r.backend})`,
      header: ["figure", "value"],
      rows: Object.entries(r.topology).map(([k, v]) => [k, String(v)]),
    });
  out.push({
    title: "Assertions",
    header: ["", "assertion", "detail"],
    rows: r.assertions.map((a) => [assertionMark(a), a.name, a.detail]),
  });
  return out;
}

const headline = (r: Report) =>
  `${r.ok ? "PASS" : "FAIL"} — ${r.devices.filter((d) => d.asDesigned).length}/${r.devices.length} OBUs as designed, backend ${r.backend}, ${(r.wallMs / 1000).toFixed(1)} s, started ${r.startedAt}`;

const mdCell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function markdownScenarioReport(r: Report): string {
  const out = [`# Scenario ${r.scenario}`, "", headline(r), ""];
  for (const t of tables(r)) {
    out.push(`## ${t.title}`, "", `| ${t.header.join(" | ")} |`, `|${t.header.map(() => "---").join("|")}|`);
    for (const row of t.rows) out.push(`| ${row.map(mdCell).join(" | ")} |`);
    out.push("");
  }
  return out.join("\n");
}

/** The report in the format its file name asks for: .md, .html, anything else JSON. */
export function renderReportFile(file: string, r: Report): string {
  if (/\.md$/i.test(file)) return markdownScenarioReport(r);
  if (/\.html?$/i.test(file)) return reportHtmlPage(r);
  return `${JSON.stringify(r, null, 2)}\n`;
}
