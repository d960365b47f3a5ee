// Scenario run: the progress of `gba scenario run --dashboard` while it runs, then its report
// (the same HTML, charts included, as `--report FILE.html`).
import uPlot from "/vendor/uplot/uPlot.esm.js";
import { api, el } from "./util.js";

let chart;

function figures(s) {
  const f = s.functional;
  const items = [
    ["OBUs done", `${f.done}/${f.devices}`],
    ["enrolled", f.ok],
    ["refused", f.refused],
    ["failed", f.failed],
  ];
  if (s.load) items.push(["load flows", s.load.flows], ["load ok", s.load.ok], ["load failed", s.load.failed]);
  return items.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, String(v))));
}

function progressText(s) {
  if (s.state === "done") return `${s.name}: finished, ${s.ok ? "PASS" : "FAIL"}`;
  if (s.state === "load" && s.load) return `${s.name}: load phase, ${s.load.elapsedS.toFixed(1)} of ${s.load.plannedS ?? "?"} s`;
  return `${s.name}: ${s.state === "functional" ? "functional phase" : s.state}`;
}

function draw(s) {
  const node = document.getElementById("chart-scenario");
  const per = s.load?.perSecond ?? [];
  const xs = per.map((_, i) => i);
  if (!chart) {
    chart = new uPlot(
      {
        width: Math.max(260, node.clientWidth),
        height: 180,
        scales: { x: { time: false } },
        series: [{ label: "s" }, { label: "flows ok/s", stroke: "#0b5cad", width: 1.5 }],
        legend: { live: false },
      },
      [xs, per],
      node,
    );
  } else chart.setData([xs, per]);
}

export async function startScenario(ctx) {
  const body = document.getElementById("scenario-body");
  if (!ctx.info.scenario) {
    const note = document.getElementById("scenario-unavailable");
    note.textContent = "No scenario run here: `gba scenario run FILE --dashboard` shows its progress and its report on this tab.";
    note.hidden = false;
    return;
  }
  body.hidden = false;
  let reportShown = false;
  const show = async (s) => {
    document.getElementById("scenario-name").textContent = `${s.name} (${s.backend})`;
    document.getElementById("scenario-progress").textContent = progressText(s);
    document.getElementById("scenario-bar").value = s.fraction ?? 0;
    document.getElementById("scenario-figures").replaceChildren(...figures(s));
    if (!document.getElementById("scenario").hidden) draw(s);
    if (s.state === "done" && !reportShown) {
      const r = await api("/api/scenario");
      if (r.ok && r.body.reportHtml) {
        reportShown = true;
        // rendered by the dashboard's own server from the run's report, every value escaped
        document.getElementById("scenario-report").innerHTML = r.body.reportHtml;
      }
    }
  };
  let last;
  document.addEventListener("gba:scenario", (ev) => {
    last = ev.detail;
    show(last);
  });
  ctx.whenShown("scenario", () => last && draw(last));
  const r = await api("/api/scenario");
  if (r.ok) {
    last = r.body.snapshot;
    show(last);
  }
}
