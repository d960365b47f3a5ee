// ECA: the enrolment certificates the ECA issued (newest first) and its vehicle binding registry
// (by OBU ID), one page of each from its GET /certificates and GET /bindings (loopback clients
// only), with a button for the next page.
import { api, el, problemLines } from "./util.js";

const time = (iso) => iso.replace("T", " ").slice(0, 19);

const LISTS = {
  certificates: {
    status: "eca-status",
    more: "certs-more",
    refresh: "certs-refresh",
    row: (c) =>
      el(
        "tr",
        { "data-serial": c.serial },
        el("td", { class: "time" }, time(c.issuedAt)),
        el("td", { class: "id" }, c.serial),
        el("td", {}, c.obuId),
        el("td", {}, c.vehicleId),
        el("td", {}, c.msisdn),
        el("td", { class: "id" }, c.impi),
        el("td", {}, c.method),
        el("td", { class: "time" }, c.notAfter.slice(0, 10)),
      ),
    summary: (n, more) => `${n} certificate(s)${more ? " so far" : ""}, newest first`,
  },
  bindings: {
    status: "bindings-status",
    more: "bindings-more",
    refresh: "bindings-refresh",
    row: (b) =>
      el(
        "tr",
        { "data-obu": b.obuId },
        el("td", {}, b.obuId),
        el("td", {}, b.vehicleId),
        el("td", {}, b.msisdn),
        el("td", { class: "time" }, time(b.createdAt)),
      ),
    summary: (n, more) => `${n} binding(s)${more ? " so far" : ""}, by OBU ID`,
  },
};

/** One paged table: Refresh starts again, the "more" button appends the next page. */
function pagedTable(name) {
  const l = LISTS[name];
  const body = document.querySelector(`#${name} tbody`);
  const status = document.getElementById(l.status);
  const more = document.getElementById(l.more);
  let next = null;
  async function load(append) {
    const r = await api(`/api/eca/${name}${append && next ? `?after=${encodeURIComponent(next)}` : ""}`);
    if (!r.ok) {
      status.textContent = problemLines(r.body).join(" ");
      return;
    }
    const rows = r.body[name].map(l.row);
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    next = r.body.next ?? null;
    more.hidden = next === null;
    status.textContent = l.summary(body.rows.length, next !== null);
  }
  document.getElementById(l.refresh).addEventListener("click", () => load(false));
  more.addEventListener("click", () => load(true));
  return () => load(false);
}

export function startEca(ctx) {
  if (!ctx.info.eca) {
    const note = document.getElementById("eca-unavailable");
    note.textContent = "No ECA: start the dashboard with `gba up --dashboard` or `gba dashboard --eca URL`.";
    note.hidden = false;
    return;
  }
  const loads = Object.keys(LISTS).map(pagedTable);
  ctx.whenShown("eca", () => Promise.all(loads.map((load) => load())));
}
