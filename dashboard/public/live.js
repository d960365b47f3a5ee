// Live: rates over the last five seconds, per-second charts of the last five minutes (uPlot), the
// latest events. Everything arrives over one Server-Sent Events stream at most 4 times a second;
// charts redraw only while the tab is visible.
import uPlot from "/vendor/uplot/uPlot.esm.js";
import { api, clockTime, el, rate } from "./util.js";

const WINDOW_S = 300;
const TABLE_ROWS = 50;
const RATE_S = 5;
const RATE_SERIES = [
  { label: "bootstraps/s", keys: ["ub.ok"], stroke: "#0b5cad" },
  { label: "Zn lookups/s", keys: ["zn.ok", "zn.refused"], stroke: "#1e7e34" },
  { label: "Ua requests/s", keys: ["ua.ok", "ua.refused", "ua.challenge"], stroke: "#8a5a00" },
];
const PALETTE = ["#b00020", "#6a1b9a", "#e65100", "#00695c", "#283593", "#827717", "#4e342e", "#ad1457"];
const OUTCOME_TEXT = { ok: "ok", refused: "refused", challenge: "401 challenge" };
const KIND_TEXT = {
  ub: "Ub",
  "zh-av": "Zh AV",
  "zh-guss": "Zh GUSS",
  zn: "Zn",
  ua: "Ua",
  "ua-psk": "Ua TLS-PSK",
  enrol: "enrol",
};

/** epoch second → { "ub.ok": n, ..., refusals: { cause: n } } */
const bySecond = new Map();
let lastSeq = 0;
let causes = [];
let rateChart;
let refusalChart;

function merge(series) {
  series.seconds.forEach((sec, i) => {
    const row = { refusals: {} };
    for (const [k, v] of Object.entries(series.counts)) row[k] = v[i];
    for (const [k, v] of Object.entries(series.refusals)) row.refusals[k] = v[i];
    bySecond.set(sec, row);
  });
  const newest = series.seconds.at(-1);
  for (const sec of bySecond.keys()) if (sec <= newest - WINDOW_S) bySecond.delete(sec);
}

function window(nowSec) {
  const xs = [];
  for (let s = nowSec - WINDOW_S + 1; s <= nowSec; s++) xs.push(s);
  return xs;
}

const sum = (row, keys) => (row ? keys.reduce((a, k) => a + (row[k] ?? 0), 0) : 0);

function chartSize(node) {
  return { width: Math.max(260, node.clientWidth), height: 200 };
}

function makeChart(node, labels, strokes) {
  node.replaceChildren();
  const opts = {
    ...chartSize(node),
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [{}, ...labels.map((label, i) => ({ label, stroke: strokes[i], width: 1.5, points: { show: false } }))],
    axes: [{ space: 90, values: (_u, ticks) => ticks.map((t) => clockTime(t * 1000).slice(0, 8)) }, { size: 50 }],
    legend: { live: false },
  };
  return new uPlot(opts, [[], ...labels.map(() => [])], node);
}

function redraw(live) {
  if (live.hidden) return;
  const now = Math.floor(Date.now() / 1000);
  const xs = window(now);
  const rows = xs.map((s) => bySecond.get(s));
  const rateNode = document.getElementById("chart-rates");
  rateChart ??= makeChart(
    rateNode,
    RATE_SERIES.map((s) => s.label),
    RATE_SERIES.map((s) => s.stroke),
  );
  rateChart.setData([xs, ...RATE_SERIES.map((s) => rows.map((r) => sum(r, s.keys)))]);
  const seen = new Set(causes);
  for (const r of rows) for (const c of Object.keys(r?.refusals ?? {})) seen.add(c);
  const refusalNode = document.getElementById("chart-refusals");
  if (!refusalChart || seen.size !== causes.length) {
    causes = [...seen].sort();
    refusalChart?.destroy();
    refusalChart = makeChart(
      refusalNode,
      causes.length ? causes : ["no refusals"],
      causes.map((_, i) => PALETTE[i % PALETTE.length]),
    );
  }
  refusalChart.setData([xs, ...(causes.length ? causes : ["none"]).map((c) => rows.map((r) => r?.refusals[c] ?? 0))]);
}

function updateFigures(totals) {
  const now = Math.floor(Date.now() / 1000);
  // the last RATE_S whole seconds
  const rows = [];
  for (let s = now - RATE_S; s < now; s++) rows.push(bySecond.get(s));
  const avg = (keys) => rows.reduce((a, r) => a + sum(r, keys), 0) / RATE_S;
  document.getElementById("rate-ub").textContent = rate(avg(["ub.ok"]));
  document.getElementById("rate-zn").textContent = rate(avg(["zn.ok", "zn.refused"]));
  document.getElementById("rate-ua").textContent = rate(avg(["ua.ok", "ua.refused", "ua.challenge"]));
  document.getElementById("rate-refused").textContent = rate(
    avg(["ub.refused", "zh-av.refused", "zh-guss.refused", "zn.refused", "ua.refused", "ua-psk.refused", "enrol.refused"]),
  );
  if (totals) document.getElementById("total-ub").textContent = String(totals["ub.ok"] ?? 0);
}

function eventRow(e, openLadder) {
  const btid = e.btid
    ? el("button", { type: "button", class: "link", title: `ladder of ${e.btid}`, onclick: () => openLadder(e.btid) }, e.btid)
    : "";
  return el(
    "tr",
    { "data-seq": e.seq, "data-kind": e.kind, "data-outcome": e.outcome },
    el("td", { class: "time" }, clockTime(e.time)),
    el("td", {}, e.nf.toUpperCase()),
    el("td", {}, KIND_TEXT[e.kind] ?? e.kind),
    el("td", { class: `outcome-${e.outcome}` }, e.status ? `${OUTCOME_TEXT[e.outcome]} (${e.status})` : OUTCOME_TEXT[e.outcome]),
    el("td", {}, e.cause ?? ""),
    el("td", { class: "id", title: e.impi ?? "" }, e.impi ?? ""),
    el("td", { class: "id" }, btid),
    el("td", { class: "n" }, e.latencyMs === undefined ? "" : e.latencyMs.toFixed(1)),
  );
}

function addEvents(events, openLadder) {
  const body = document.querySelector("#events tbody");
  const fresh = events.filter((e) => e.seq > lastSeq);
  if (fresh.length === 0) return;
  lastSeq = fresh.at(-1).seq;
  const rows = fresh
    .slice(-TABLE_ROWS)
    .reverse()
    .map((e) => eventRow(e, openLadder));
  body.prepend(...rows);
  while (body.rows.length > TABLE_ROWS) body.lastElementChild.remove();
  document.dispatchEvent(new CustomEvent("gba:events", { detail: fresh }));
}

export async function startLive(ctx) {
  const live = document.getElementById("live");
  const openLadder = (id) => {
    location.hash = `ladder?id=${encodeURIComponent(id)}`;
    ctx.showTab("ladder");
  };
  const status = document.getElementById("connection");
  if (!ctx.info.events) {
    const note = document.getElementById("live-unavailable");
    note.textContent =
      "This dashboard watches NFs in other processes, so it has no event bus: live counts, events and ladders need `gba up --dashboard`. Subscribers and the ECA's certificates work.";
    note.hidden = false;
    document.getElementById("live-body").hidden = true;
  } else {
    const [series, recent] = await Promise.all([api(`/api/series?seconds=${WINDOW_S}`), api(`/api/events?limit=${TABLE_ROWS}`)]);
    if (series.ok) merge(series.body.series);
    if (recent.ok) addEvents(recent.body.events, openLadder);
  }
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => {
    status.textContent = "live";
  });
  source.addEventListener("error", () => {
    status.textContent = "reconnecting…";
  });
  source.addEventListener("tick", (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.series) merge(msg.series);
    if (msg.events?.length) addEvents(msg.events, openLadder);
    if (msg.scenario) document.dispatchEvent(new CustomEvent("gba:scenario", { detail: msg.scenario }));
    if (ctx.info.events) {
      updateFigures(msg.totals);
      redraw(live);
    }
  });
  ctx.whenShown("live", () => ctx.info.events && redraw(live));
  new ResizeObserver(() => {
    for (const [chart, id] of [
      [rateChart, "chart-rates"],
      [refusalChart, "chart-refusals"],
    ])
      chart?.setSize(chartSize(document.getElementById(id)));
  }).observe(document.getElementById("chart-rates"));
}
