// Ladder: the exchanges of one B-TID (with the Ub and Zh that created it) or of one IMPI as a
// sequence diagram in SVG. Each event is one exchange: its request is drawn at the time the NF
// started on it (time − latency), its answer at the time it answered, so a Zh vector nests inside
// the Ub exchange that asked for it. Labels name messages and parameters, never their values.
import { api, clockTime, el } from "./util.js";

const SVG = "http://www.w3.org/2000/svg";
const COL = 290;
const ROW = 34;
const LEFT = 190;
const TOP = 56;
const RECENT = 40;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

const answer = (e, okText) => (e.outcome === "refused" ? `${e.status ?? ""} ${e.cause ?? "refused"}`.trim() : okText);

/** request and answer of one event: [from, to, label] each */
function exchange(e, nafOf) {
  const naf = nafOf(e);
  switch (e.kind) {
    case "ub":
      return e.outcome === "challenge"
        ? [
            ["UE", "BSF", "GET / Authorization: Digest username=IMPI"],
            ["BSF", "UE", "401 WWW-Authenticate: Digest AKA (RAND, AUTN)"],
          ]
        : [
            [
              "UE",
              "BSF",
              e.resync ? "GET / Digest with auts (resynchronisation)" : "GET / Digest AKA response (RES as password)",
            ],
            ["BSF", "UE", answer(e, "200 BootstrappingInfo (B-TID, key lifetime)")],
          ];
    case "zh-av":
      return [
        ["BSF", "HSS", e.resync ? "Zh generate-auth-data with resynchronizationInfo" : "Zh generate-auth-data"],
        ["HSS", "BSF", answer(e, "AV (RAND, AUTN, XRES, CK, IK)")],
      ];
    case "zh-guss":
      return [
        ["BSF", "HSS", "Zh subscriber-data"],
        ["HSS", "BSF", answer(e, "GUSS")],
      ];
    case "zn":
      return [
        [naf, "BSF", "Zn bootstrapping-info-retrieval (B-TID, NAF_Id)"],
        ["BSF", naf, answer(e, "Ks_NAF, key lifetime, USS")],
      ];
    case "ua":
      return e.outcome === "challenge"
        ? [
            ["UE", naf, "request"],
            [naf, "UE", "401 WWW-Authenticate: Digest realm=3GPP-bootstrapping@NAF"],
          ]
        : [
            [
              "UE",
              naf,
              e.auth === "tls-psk" ? "request over the TLS-PSK tunnel" : "request, Authorization: Digest username=B-TID",
            ],
            [naf, "UE", answer(e, `${e.status ?? 200} OK`)],
          ];
    case "ua-psk":
      // TS 33.222 §5.4: the UE names the B-TID as psk_identity, the NAF answers with Ks_NAF as the PSK
      return [
        ["UE", naf, "TLS ClientHello, psk_identity=3GPP-bootstrapping.B-TID"],
        [naf, "UE", e.outcome === "refused" ? `alert (${e.cause ?? "refused"})` : "TLS handshake done (PSK: Ks_NAF)"],
      ];
    case "enrol":
      return [
        ["UE", naf, "POST /enrol (PKCS#10 CSR)"],
        [naf, "UE", answer(e, "200 enrolment certificate")],
      ];
    default:
      return [];
  }
}

export function renderLadder(events) {
  const nafs = new Map();
  for (const e of events)
    if ((e.kind === "ua" || e.kind === "ua-psk" || e.kind === "enrol") && e.nafFqdn) nafs.set(e.nafFqdn, e.nf.toUpperCase());
  const nafOf = (e) => {
    const fqdn = e.nafFqdn ?? "";
    const role = nafs.get(fqdn) ?? (e.kind === "zn" ? "NAF" : e.nf.toUpperCase());
    return fqdn ? `${role} ${fqdn}` : role;
  };
  const arrows = [];
  for (const e of events) {
    const [req, res] = exchange(e, nafOf);
    if (!req) continue;
    const end = e.time;
    const start = end - (e.latencyMs ?? 0);
    arrows.push({ t: start, seq: e.seq, part: 0, from: req[0], to: req[1], label: req[2], e });
    arrows.push({ t: end, seq: e.seq, part: 1, from: res[0], to: res[1], label: res[2], e, reply: true });
  }
  arrows.sort((a, b) => a.t - b.t || a.seq - b.seq || a.part - b.part);
  const names = ["UE", "BSF", "HSS"];
  for (const a of arrows) for (const p of [a.from, a.to]) if (!names.includes(p)) names.push(p);
  const x = (p) => LEFT + names.indexOf(p) * COL;
  const width = LEFT + (names.length - 1) * COL + 140;
  const height = TOP + arrows.length * ROW + 30;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "ladder-title" });
  root.append(svg("title", { id: "ladder-title" }, `Sequence of ${events.length} exchanges`));
  const defs = svg("defs");
  const marker = svg("marker", {
    id: "arrow",
    viewBox: "0 0 10 10",
    refX: 10,
    refY: 5,
    markerWidth: 8,
    markerHeight: 8,
    orient: "auto-start-reverse",
  });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#1d1f21" }));
  defs.append(marker);
  root.append(defs);
  for (const p of names) {
    const w = Math.min(COL - 20, 24 + p.length * 7);
    root.append(svg("rect", { x: x(p) - w / 2, y: 8, width: w, height: 26, rx: 4, fill: "#eef3f8", stroke: "#0b5cad" }));
    root.append(svg("text", { x: x(p), y: 26, "text-anchor": "middle", "font-weight": 600 }, p));
    root.append(svg("line", { x1: x(p), y1: 34, x2: x(p), y2: height - 10, stroke: "#9aa0a6", "stroke-dasharray": "2 4" }));
  }
  arrows.forEach((a, i) => {
    const y = TOP + i * ROW + 14;
    const x1 = x(a.from);
    const x2 = x(a.to);
    const refused = a.reply && a.e.outcome === "refused";
    const g = svg("g", {
      class: "message",
      "data-kind": a.e.kind,
      "data-outcome": a.e.outcome,
      "data-part": a.reply ? "answer" : "request",
    });
    g.append(
      svg("text", { x: 4, y: y + 4, fill: "#5b6166", "font-variant-numeric": "tabular-nums" }, clockTime(a.t).slice(0, 12)),
    );
    g.append(
      svg("line", {
        x1,
        y1: y,
        x2,
        y2: y,
        stroke: refused ? "#b00020" : "#1d1f21",
        "stroke-width": 1.4,
        "stroke-dasharray": a.reply ? "6 4" : "none",
        "marker-end": "url(#arrow)",
      }),
    );
    g.append(
      svg("text", { x: (x1 + x2) / 2, y: y - 5, "text-anchor": "middle", fill: refused ? "#b00020" : "#1d1f21" }, a.label),
    );
    root.append(g);
  });
  return root;
}

/** The same sequence as an ordered list, for screen readers and for copying. */
function transcript(events) {
  return el(
    "ol",
    { class: "visually-hidden", "aria-label": "Exchanges in order" },
    events.map((e) =>
      el("li", {}, `${clockTime(e.time)} ${e.nf.toUpperCase()} ${e.kind} ${e.outcome}${e.cause ? ` ${e.cause}` : ""}`),
    ),
  );
}

export function startLadder(ctx) {
  const form = document.getElementById("ladder-form");
  const input = document.getElementById("ladder-id");
  const status = document.getElementById("ladder-status");
  const diagram = document.getElementById("ladder-diagram");
  const recent = document.getElementById("ladder-recent");
  const known = [];
  document.addEventListener("gba:events", (ev) => {
    for (const e of ev.detail) {
      for (const id of [e.btid, e.impi]) {
        if (!id || known.includes(id)) continue;
        known.unshift(id);
        if (known.length > RECENT) known.pop();
      }
    }
    recent.replaceChildren(...known.map((id) => el("option", { value: id })));
  });

  async function show(id) {
    diagram.replaceChildren();
    if (!ctx.info.events) {
      status.textContent = "No event bus here: ladders need `gba up --dashboard`.";
      return;
    }
    const isBtid = id.includes("@") && /^[A-Za-z0-9+/]{16,}={0,2}@/.test(id);
    const r = await api(`/api/events?${isBtid ? "btid" : "impi"}=${encodeURIComponent(id)}&limit=400`);
    if (!r.ok) {
      status.textContent = r.body?.detail ?? `HTTP ${r.status}`;
      return;
    }
    const events = r.body.events;
    if (events.length === 0) {
      status.textContent = `No exchanges of ${isBtid ? "B-TID" : "IMPI"} ${id} among the recent events.`;
      return;
    }
    status.textContent = `${events.length} exchanges of ${isBtid ? "B-TID" : "IMPI"} ${id}`;
    diagram.append(renderLadder(events), transcript(events));
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = input.value.trim();
    if (id) {
      history.replaceState(null, "", `#ladder?id=${encodeURIComponent(id)}`);
      show(id);
    }
  });
  ctx.whenShown("ladder", () => {
    const id = new URLSearchParams(location.hash.split("?")[1] ?? "").get("id");
    if (id && id !== input.value) {
      input.value = id;
      show(id);
    }
  });
}
