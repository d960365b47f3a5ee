// ECA: the enrolment certificates the ECA issued (its GET /certificates, loopback clients only).
import { api, el, problemLines } from "./util.js";

export function startEca(ctx) {
  const body = document.querySelector("#certificates tbody");
  const status = document.getElementById("eca-status");
  if (!ctx.info.eca) {
    const note = document.getElementById("eca-unavailable");
    note.textContent = "No ECA: start the dashboard with `gba up --dashboard` or `gba dashboard --eca URL`.";
    note.hidden = false;
  }
  async function load() {
    if (!ctx.info.eca) return;
    const r = await api("/api/eca/certificates");
    if (!r.ok) {
      status.textContent = problemLines(r.body).join(" ");
      return;
    }
    const certs = [...r.body.certificates].reverse();
    body.replaceChildren(
      ...certs.map((c) =>
        el(
          "tr",
          { "data-serial": c.serial },
          el("td", { class: "time" }, c.issuedAt.replace("T", " ").slice(0, 19)),
          el("td", { class: "id" }, c.serial),
          el("td", {}, c.obuId),
          el("td", {}, c.vehicleId),
          el("td", {}, c.msisdn),
          el("td", { class: "id" }, c.impi),
          el("td", {}, c.method),
          el("td", { class: "time" }, c.notAfter.slice(0, 10)),
        ),
      ),
    );
    status.textContent = `${certs.length} certificate(s), newest first`;
  }
  document.getElementById("certs-refresh").addEventListener("click", load);
  ctx.whenShown("eca", load);
}
