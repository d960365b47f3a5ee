// The run's report as HTML: one fragment (charts as inline SVG, tables) that the dashboard's
// Scenario tab shows when the run ends, and the same fragment as a self-contained page for
// `--report FILE.html` (inline CSS, no scripts, nothing fetched; the JSON report rides along in
// a data block). Identifiers and figures only, as in the JSON report: no key material.
import { assertionMark, DEVICE_COLUMNS, deviceCells, type Report } from "./report.js";
import type { StepFigures } from "./stats.js";

const esc = (s: unknown) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (n: number, digits = 1) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

/** Flows completed per second (load phase) as a filled line. */
export function perSecondSvg(perSecond: number[], label: string): string {
  const W = 640;
  const H = 180;
  const pad = { l: 42, r: 12, t: 12, b: 28 };
  if (perSecond.length === 0) return "<p>no completions recorded</p>";
  const max = Math.max(1, ...perSecond);
  const x = (i: number) => pad.l + (perSecond.length === 1 ? 0 : (i / (perSecond.length - 1)) * (W - pad.l - pad.r));
  const y = (v: number) => H - pad.b - (v / max) * (H - pad.t - pad.b);
  const points = perSecond.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  const area = `${x(0).toFixed(1)},${H - pad.b} ${points.join(" ")} ${x(perSecond.length - 1).toFixed(1)},${H - pad.b}`;
  const yTicks = [0, max / 2, max]
    .map(
      (v) =>
        `<line x1="${pad.l}" y1="${y(v).toFixed(1)}" x2="${W - pad.r}" y2="${y(v).toFixed(1)}" stroke="#e3e6e8"/><text x="${pad.l - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end">${fmt(v)}</text>`,
    )
    .join("");
  const step = Math.max(1, Math.ceil(perSecond.length / 10));
  const xTicks = perSecond
    .map((_, i) => i)
    .filter((i) => i % step === 0)
    .map((i) => `<text x="${x(i).toFixed(1)}" y="${H - pad.b + 16}" font-size="11" text-anchor="middle">${i} s</text>`)
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart-per-second" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title>${yTicks}<polygon points="${area}" fill="#0b5cad" fill-opacity="0.15"/><polyline points="${points.join(" ")}" fill="none" stroke="#0b5cad" stroke-width="1.5"/>${xTicks}</svg>`;
}

/** p50 / p95 / p99 per step as grouped horizontal bars on one ms axis. */
export function stepLatencySvg(steps: Record<string, StepFigures>, label: string): string {
  const rows = Object.entries(steps).filter(([name, f]) => name !== "wait" && f.ok > 0);
  if (rows.length === 0) return "<p>no successful steps</p>";
  const W = 640;
  const bar = 10;
  const rowH = bar * 3 + 10;
  const pad = { l: 90, r: 70, t: 8 };
  const H = pad.t + rows.length * rowH + 22;
  const max = Math.max(1, ...rows.map(([, f]) => f.p99));
  const w = (v: number) => (v / max) * (W - pad.l - pad.r);
  const series: Array<[keyof StepFigures, string]> = [
    ["p50", "#0b5cad"],
    ["p95", "#6a9fd8"],
    ["p99", "#b8cfe8"],
  ];
  const bars = rows
    .map(([name, f], r) => {
      const y0 = pad.t + r * rowH;
      const label = `<text x="${pad.l - 6}" y="${y0 + bar * 2}" font-size="11" text-anchor="end">${esc(name)}</text>`;
      return (
        label +
        series
          .map(([k, color], i) => {
            const v = f[k] as number;
            const y = y0 + i * bar;
            return `<rect x="${pad.l}" y="${y}" width="${Math.max(1, w(v)).toFixed(1)}" height="${bar - 1}" fill="${color}"><title>${esc(name)} ${k} ${fmt(v)} ms</title></rect><text x="${(pad.l + Math.max(1, w(v)) + 4).toFixed(1)}" y="${y + bar - 1}" font-size="9">${k} ${fmt(v)}</text>`;
          })
          .join("")
      );
    })
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart-steps" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title>${bars}<text x="${W - pad.r}" y="${H - 4}" font-size="10" text-anchor="end" fill="#5b6166">ms, p50 / p95 / p99</text></svg>`;
}

function table(header: string[], rows: string[][], numeric: number[] = []): string {
  const th = header.map((h, i) => `<th scope="col"${numeric.includes(i) ? ' class="n"' : ""}>${esc(h)}</th>`).join("");
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ""}>${esc(c)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function stepTable(steps: Record<string, StepFigures>): string {
  return table(
    ["step", "ok", "failed", "p50 ms", "p95 ms", "p99 ms", "max ms"],
    Object.entries(steps)
      .filter(([name]) => name !== "wait")
      .map(([name, f]) => [name, String(f.ok), String(f.failed), fmt(f.p50), fmt(f.p95), fmt(f.p99), fmt(f.max)]),
    [1, 2, 3, 4, 5, 6],
  );
}

/** The report's charts and tables, for the dashboard and the HTML page alike. */
export function reportHtmlFragment(r: Report): string {
  const out: string[] = [];
  const verdict = r.ok ? "PASS" : "FAIL";
  out.push(
    `<div class="report"><p class="verdict ${r.ok ? "pass" : "fail"}"><strong>${verdict}</strong> ${esc(r.scenario)} — backend ${esc(r.backend)}, ${fmt(r.wallMs / 1000)} s, started ${esc(r.startedAt)}</p>`,
  );
  out.push("<h3>Assertions</h3>");
  out.push(
    table(
      ["", "assertion", "detail"],
      r.assertions.map((a) => [assertionMark(a), a.name, a.detail]),
    ),
  );
  out.push("<h3>Functional phase</h3>");
  out.push(stepLatencySvg(r.functional.steps, "functional phase: latency per step"));
  out.push(stepTable(r.functional.steps));
  const l = r.load;
  if (l) {
    out.push("<h3>Load phase</h3>");
    out.push(
      `<p>${esc(l.driver)}, ${l.mode === "rate" ? `${fmt(l.targetRate ?? 0)}/s${l.poisson ? " Poisson" : ""}` : `${l.concurrency} concurrent`}, ${fmt(l.durationS)} s: ${l.arrivals} arrivals, ${l.ok} ok, ${l.failed} failed; ${fmt(l.enrolmentsPerSecond)} enrolments/s, ${fmt(l.bootstrapsPerSecond)} bootstraps/s (offered ${fmt(l.offeredRate)}/s, achieved ${fmt(l.achievedRate)}/s, shed ${fmt(l.shedRate)}/s: ${l.shed} arrivals at the bound of ${l.inFlightBound ?? "none"} in flight; steady ${l.steady ? "yes" : "no"}), max ${l.maxInFlight} in flight</p>`,
    );
    const cpu = l.cpu;
    if (cpu) {
      out.push(`<h4>CPU per successful load flow, by process${cpu.note ? ` (${esc(cpu.note)})` : ""}</h4>`);
      out.push(
        table(
          ["process", "CPU µs per flow", "cores busy"],
          Object.entries(cpu.usPerOp).map(([name, us]) => [
            name,
            us === null ? "n/a" : String(Math.round(us)),
            String(cpu.cores[name] ?? "n/a"),
          ]),
          [1, 2],
        ),
      );
    }
    out.push(perSecondSvg(l.perSecond, "load phase: flows completed per second"));
    out.push(stepLatencySvg(l.steps, "load phase: latency per step"));
    out.push(stepTable(l.steps));
  }
  out.push("<h3>OBUs</h3>");
  out.push(
    table(
      DEVICE_COLUMNS,
      r.devices.map((d) => deviceCells(d, d.steps.length)),
      [7],
    ),
  );
  if (r.failures.length > 0) {
    out.push("<h3>Failures</h3>");
    out.push(
      table(
        ["phase", "OBU", "step", "status", "cause", "message", "expected"],
        r.failures.map((f) => [
          f.phase,
          f.obu,
          f.step,
          f.status === undefined ? "" : String(f.status),
          f.cause,
          f.message,
          f.expected ? "yes" : "no",
        ]),
      ),
    );
  }
  out.push("</div>");
  return out.join("\n");
}

const PAGE_CSS = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#1d1f21}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d4d8;padding:.2em .5em;font-size:.9em;text-align:left}
th{background:#f5f6f7}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict.pass strong{color:#1e7e34}.verdict.fail strong{color:#b00020}svg{max-width:100%;height:auto;display:block;margin:.5em 0}`;

/** `--report FILE.html`: the fragment as a page that needs nothing else; the JSON report is embedded. */
export function reportHtmlPage(r: Report): string {
  const json = JSON.stringify(r).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.scenario)}: ${r.ok ? "PASS" : "FAIL"}</title>
<style>${PAGE_CSS}</style></head><body>
<h1>Scenario ${esc(r.scenario)}</h1>
${reportHtmlFragment(r)}
<script type="application/json" id="gba-report">${json}</script>
</body></html>
`;
}
