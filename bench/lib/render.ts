// Benchmark results as text (terminal), Markdown (bench/out/bench.md, the README table) and a
// self-contained HTML page (bench/out/bench.html: inline CSS and SVG, no scripts, no external
// assets) with a latency histogram per measurement.
import { cpuText } from "./cpu.js";
import type { Histogram } from "./latency.js";
import type { MachineInfo } from "./machine.js";
import { formatTable, type Row } from "./report.js";
import { type BenchResult, type Comparison, type Measurement, totalErrors } from "./result.js";

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
/** A fact: integers as such, other numbers with two decimals. */
const fact = (v: number | string) => (typeof v === "string" ? v : fmt(v, Number.isInteger(v) ? 0 : 2));
const ms = (m: Measurement, k: "p50" | "p95" | "p99" | "max") => (m.latencyMs ? fmt(m.latencyMs[k], 2) : "-");

export function errorsText(m: Measurement): string {
  const e = Object.entries(m.errors).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? "0" : e.map(([k, v]) => `${k}: ${v}`).join(", ");
}

export function goalText(c: Comparison): string {
  if (!c.goal) return "(no target)";
  return `${c.goal.kind === "min" ? "≥" : "≤"} ${c.goal.value}: ${c.goal.met ? "met" : "NOT met"}`;
}

export function machineLine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${(m.totalMemBytes / 2 ** 30).toFixed(0)} GiB, Node ${m.node}, ${m.platform}/${m.arch}, load ${m.loadAverage.join(" ")}`;
}

/** "BSF 312 µs, HSS 170 µs, load generator 130 µs (total 612)", or "-" when not measured. */
export const cpuCell = (m: Measurement): string => (m.cpu ? cpuText(m.cpu) : "-");

function measurementRow(m: Measurement): Row {
  const l = (k: "p50" | "p95" | "p99" | "max") => m.latencyMs?.[k] ?? "-";
  return {
    measurement: m.label,
    "ok/s": Math.round(m.perSec),
    unit: m.unit,
    "p50 ms": l("p50"),
    "p95 ms": l("p95"),
    "p99 ms": l("p99"),
    "max ms": l("max"),
    errors: errorsText(m),
    "CPU µs per op, by process": cpuCell(m),
  };
}

/** The terminal report of one benchmark. */
export function textReport(r: BenchResult): string {
  const lines = [`${r.title}`, `target ${r.target}; ${machineLine(r.machine)}`];
  const rows = r.comparisons.flatMap((c) => [measurementRow(c.subject), measurementRow(c.baseline)]);
  if (rows.length) lines.push("", formatTable(rows), "");
  for (const c of r.comparisons) lines.push(`${c.name}: ${c.ratioOf} = ${c.ratio.toFixed(3)} (target ${goalText(c)})`);
  if (r.facts) lines.push("", formatTable(Object.entries(r.facts).map(([name, value]) => ({ fact: name, value: fact(value) }))));
  for (const n of r.notes ?? []) lines.push(`note: ${n}`);
  return `${lines.join("\n")}\n`;
}

const mdEscape = (s: string) => s.replace(/\|/g, "\\|");

/** One Markdown table over every comparison of every benchmark, then the facts. */
export function markdownReport(results: BenchResult[], machine: MachineInfo, extra: string[] = []): string {
  const out = [
    "# gba-emu benchmarks",
    "",
    `Machine: ${machineLine(machine)}. Run ${machine.timestamp}.`,
    "",
    "| benchmark | subject | ok/s | p50 ms | p95 ms | p99 ms | max ms | errors | baseline | baseline ok/s | ratio | target |",
    "|---|---|--:|--:|--:|--:|--:|---|---|--:|---|---|",
  ];
  for (const r of results) {
    for (const c of r.comparisons) {
      const s = c.subject;
      out.push(
        `| ${[
          c.name,
          s.label,
          fmt(s.perSec),
          ms(s, "p50"),
          ms(s, "p95"),
          ms(s, "p99"),
          ms(s, "max"),
          errorsText(s),
          c.baseline.label,
          fmt(c.baseline.perSec),
          `${c.ratio.toFixed(3)} (${c.ratioOf})`,
          goalText(c),
        ]
          .map((v) => mdEscape(String(v)))
          .join(" | ")} |`,
      );
    }
  }
  const metered = results.flatMap((r) =>
    r.comparisons.flatMap((c) => [c.subject, c.baseline].filter((m) => m.cpu).map((m) => ({ c, m }))),
  );
  if (metered.length) {
    out.push(
      "",
      "CPU per operation, by process (measured: /proc for child processes, process.cpuUsage for the load generator):",
      "",
    );
    out.push("| benchmark | measurement | unit | CPU µs per op, by process | cores busy |", "|---|---|---|---|---|");
    const seen = new Set<Measurement>();
    for (const { c, m } of metered) {
      if (seen.has(m)) continue;
      seen.add(m);
      const cores = Object.entries(m.cpu?.cores ?? {})
        .map(([n, v]) => `${n} ${v ?? "n/a"}`)
        .join(", ");
      out.push(`| ${[c.name, m.label, m.unit, cpuCell(m), cores].map((v) => mdEscape(String(v))).join(" | ")} |`);
    }
  }
  const facts = results.filter((r) => r.facts);
  if (facts.length) {
    out.push("", "| benchmark | figure | value |", "|---|---|--:|");
    for (const r of facts)
      for (const [k, v] of Object.entries(r.facts ?? {}))
        out.push(`| ${r.bench} | ${mdEscape(k.trim())} | ${mdEscape(fact(v))} |`);
  }
  const notes = [...new Set(results.flatMap((r) => (r.notes ?? []).map((n) => `${r.bench}: ${n}`))), ...extra];
  if (notes.length) out.push("", ...notes.map((n) => `- ${n}`));
  return `${out.join("\n")}\n`;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Bars of two histograms (subject over baseline) on one log-scaled latency axis. */
export function histogramSvg(series: Array<{ name: string; h: Histogram; color: string }>): string {
  const W = 560;
  const H = 160;
  const pad = { l: 40, r: 10, t: 10, b: 30 };
  const all = series.flatMap((s) => s.h.upperMs);
  if (all.length === 0) return "<p>no latency samples</p>";
  const lo = Math.log10(Math.min(...all) / 10 ** 0.1);
  const hi = Math.log10(Math.max(...all));
  const x = (msv: number) => pad.l + ((Math.log10(msv) - lo) / (hi - lo || 1)) * (W - pad.l - pad.r);
  const share = (s: { h: Histogram }) => {
    const total = s.h.counts.reduce((a, b) => a + b, 0) || 1;
    return s.h.counts.map((c) => c / total);
  };
  const maxShare = Math.max(...series.flatMap(share), 0.01);
  const y = (f: number) => H - pad.b - (f / maxShare) * (H - pad.t - pad.b);
  const bars = series.flatMap((s, si) =>
    share(s).map((f, i) => {
      const x1 = x(s.h.upperMs[i]);
      const x0 = x(s.h.upperMs[i] / 10 ** 0.1);
      const w = Math.max(1, (x1 - x0) / series.length - 0.5);
      return `<rect x="${(x0 + si * w).toFixed(1)}" y="${y(f).toFixed(1)}" width="${w.toFixed(1)}" height="${(H - pad.b - y(f)).toFixed(1)}" fill="${s.color}"><title>${esc(s.name)} ≤ ${s.h.upperMs[i]} ms: ${(f * 100).toFixed(1)}%</title></rect>`;
    }),
  );
  const ticks: string[] = [];
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
    const v = 10 ** d;
    ticks.push(
      `<line x1="${x(v).toFixed(1)}" y1="${H - pad.b}" x2="${x(v).toFixed(1)}" y2="${H - pad.b + 4}" stroke="#333"/><text x="${x(v).toFixed(1)}" y="${H - pad.b + 16}" font-size="10" text-anchor="middle">${v >= 1 ? v : v.toPrecision(1)} ms</text>`,
    );
  }
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${pad.l + 10 + i * 260}" y="${H - 10}" width="10" height="8" fill="${s.color}"/><text x="${pad.l + 24 + i * 260}" y="${H - 2}" font-size="10">${esc(s.name.slice(0, 44))}</text>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 10}" viewBox="0 0 ${W} ${H + 10}" role="img"><text x="${W - pad.r}" y="${pad.t + 8}" font-size="9" text-anchor="end" fill="#555">share of operations per latency bucket (log scale)</text><line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#333"/>${bars.join("")}${ticks.join("")}${legend}</svg>`;
}

function htmlMeasurement(m: Measurement): string {
  return `<tr><td>${esc(m.label)}</td><td class="n">${fmt(m.perSec)}</td><td>${esc(m.unit)}/s</td><td class="n">${ms(m, "p50")}</td><td class="n">${ms(m, "p95")}</td><td class="n">${ms(m, "p99")}</td><td class="n">${ms(m, "max")}</td><td>${esc(errorsText(m))}</td><td class="n">${fmt(totalErrors(m))}</td><td>${esc(cpuCell(m))}</td></tr>`;
}

export function htmlReport(results: BenchResult[], machine: MachineInfo, extra: string[] = []): string {
  const sections = results.map((r) => {
    const comps = r.comparisons
      .map((c) => {
        const hist = histogramSvg(
          [
            c.subject.histogram && { name: c.subject.label, h: c.subject.histogram, color: "#c0392b" },
            c.baseline.histogram && { name: c.baseline.label, h: c.baseline.histogram, color: "#2980b9" },
          ].filter((s): s is { name: string; h: Histogram; color: string } => Boolean(s)),
        );
        const cls = c.goal ? (c.goal.met ? "met" : "missed") : "";
        return `<h3>${esc(c.name)}</h3>
<table><tr><th>measurement</th><th>ok/s</th><th>unit</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>errors by cause</th><th>errors</th><th>CPU µs per op, by process</th></tr>
${htmlMeasurement(c.subject)}
${htmlMeasurement(c.baseline)}</table>
<p class="${cls}">${esc(c.ratioOf)} = <b>${c.ratio.toFixed(3)}</b> (target ${esc(goalText(c))})</p>
${c.subject.histogram || c.baseline.histogram ? hist : ""}`;
      })
      .join("\n");
    const facts = r.facts
      ? `<table><tr><th>figure</th><th>value</th></tr>${Object.entries(r.facts)
          .map(([k, v]) => `<tr><td>${esc(k)}</td><td class="n">${esc(fact(v))}</td></tr>`)
          .join("")}</table>`
      : "";
    const notes = (r.notes ?? []).map((n) => `<li>${esc(n)}</li>`).join("");
    return `<section><h2>${esc(r.bench)}: ${esc(r.title)}</h2><p>target: ${esc(r.target)}; config: <code>${esc(JSON.stringify(r.config))}</code></p>
${comps}${facts}${notes ? `<ul>${notes}</ul>` : ""}</section>`;
  });
  const extras = extra.length
    ? `<section><h2>Notes</h2><ul>${extra.map((n) => `<li>${esc(n)}</li>`).join("")}</ul></section>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gba-emu benchmarks</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;font-size:.9em}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
.met{color:#1e7e34}.missed{color:#b00020}section{margin-bottom:2em}code{font-size:.8em}
</style></head><body>
<h1>gba-emu benchmarks</h1>
<p>Machine: ${esc(machineLine(machine))}. Run ${esc(machine.timestamp)}.</p>
${sections.join("\n")}
${extras}
</body></html>
`;
}
