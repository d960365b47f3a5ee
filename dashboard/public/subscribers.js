// Subscribers: list, search, add, remove and CSV import through the HSS provisioning API (the
// dashboard forwards to it). The HSS validates, so the messages are those `gba provision`
// prints; K, OP and OPc go to the HSS once and are cleared from the form whatever the answer.
import { api, el, problemLines, showResult } from "./util.js";

const PAGE = 50;
/** parameter names of the HSS's messages → form fields */
const FIELD_OF = {
  impi: "add-impi",
  k: "add-k",
  op: "add-opvalue",
  opc: "add-opvalue",
  "op, opc": "add-opvalue",
  imsi: "add-imsi",
  msisdn: "add-msisdn",
  impus: "add-impu",
  amf: "add-amf",
  sqn: "add-sqn",
  uiccType: "add-uicc",
  lifeTime: "add-lifetime",
};

function formBody(form) {
  const f = new FormData(form);
  const text = (name) => String(f.get(name) ?? "").trim();
  const body = { impi: text("impi"), k: text("k"), uiccType: text("uiccType") || "GBA" };
  body[text("opKind") === "op" ? "op" : "opc"] = text("opValue");
  for (const name of ["imsi", "msisdn", "amf", "sqn"]) if (text(name)) body[name] = text(name);
  const impus = text("impu")
    .split(";")
    .map((u) => u.trim())
    .filter(Boolean);
  if (impus.length) body.impus = impus;
  const life = text("lifeTime");
  if (life) body.lifeTime = /^[0-9]+$/.test(life) ? Number(life) : life;
  return body;
}

/** The largest string below `q` in IMPI order, so a page "after" it starts at `q`'s first match. */
function justBefore(q) {
  const last = q.charCodeAt(q.length - 1);
  return last > 0x21 ? `${q.slice(0, -1)}${String.fromCharCode(last - 1)}\u{10ffff}` : undefined;
}

export function startSubscribers(ctx) {
  const table = document.querySelector("#subscriber-table tbody");
  const status = document.getElementById("subscribers-status");
  const more = document.getElementById("more");
  let next = null;
  let loaded = false;

  if (!ctx.info.hssAdmin) {
    const note = document.getElementById("subscribers-unavailable");
    note.textContent =
      "No HSS provisioning API: start the dashboard with `gba up --dashboard` or `gba dashboard --hss-admin URL`.";
    note.hidden = false;
  }

  const row = (s) =>
    el(
      "tr",
      { "data-impi": s.impi },
      el("td", { class: "id" }, s.impi),
      el("td", {}, s.imsi ?? ""),
      el("td", {}, s.msisdn ?? ""),
      el("td", {}, s.uiccType),
      el("td", {}, s.keyInput),
      el("td", { class: "n" }, String(s.sqn?.seqHe ?? "")),
      el("td", { class: "time" }, (s.createdAt ?? "").replace("T", " ").slice(0, 19)),
      el("td", {}, el("button", { type: "button", "aria-label": `Remove ${s.impi}`, onclick: () => remove(s.impi) }, "Remove")),
    );

  async function list(after, append = false, filter) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (after) q.set("after", after);
    const r = await api(`/api/subscribers?${q}`);
    if (!r.ok) {
      status.textContent = problemLines(r.body).join(" ");
      return;
    }
    let items = r.body.subscribers;
    if (filter) items = items.filter((s) => s.impi.startsWith(filter));
    if (!append) table.replaceChildren();
    table.append(...items.map(row));
    next = filter && items.length < r.body.subscribers.length ? null : r.body.next;
    more.hidden = !next;
    status.textContent = `${table.rows.length} subscriber(s) shown${next ? "; more on the next page" : ""}`;
  }

  async function search(q) {
    if (!q) return list();
    const exact = await api(`/api/subscribers/${encodeURIComponent(q)}`);
    if (exact.ok) {
      table.replaceChildren(row(exact.body));
      more.hidden = true;
      status.textContent = `subscriber ${q}`;
      return;
    }
    await list(justBefore(q), false, q);
    if (table.rows.length === 0) status.textContent = `no subscriber whose IMPI begins with ${q}`;
  }

  async function remove(impi) {
    if (!confirm(`Remove subscriber ${impi}, its SQN state and its indexes?`)) return;
    const r = await api(`/api/subscribers/${encodeURIComponent(impi)}`, { method: "DELETE" });
    status.textContent = r.ok ? `removed ${impi}` : problemLines(r.body).join(" ");
    if (r.ok) table.querySelector(`tr[data-impi="${CSS.escape(impi)}"]`)?.remove();
  }

  document.getElementById("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    search(document.getElementById("search").value.trim());
  });
  document.getElementById("list-all").addEventListener("click", () => list());
  more.addEventListener("click", () => next && list(next, true));

  const addForm = document.getElementById("add-form");
  addForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const result = document.getElementById("add-result");
    for (const input of addForm.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
    const body = formBody(addForm);
    // keys never stay in the page
    for (const id of ["add-k", "add-opvalue"]) document.getElementById(id).value = "";
    const r = await api("/api/subscribers", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (r.ok) {
      showResult(result, [`added ${r.body.impi} (${r.body.uiccType}, IMPUs ${r.body.impus.join(", ")})`], true);
      addForm.reset();
      list();
      return;
    }
    showResult(result, problemLines(r.body), false);
    for (const p of r.body?.invalidParams ?? []) {
      const id = FIELD_OF[p.param] ?? FIELD_OF[p.param.split(".")[0]];
      const input = id && document.getElementById(id);
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", "add-result");
      }
    }
    addForm.querySelector('[aria-invalid="true"]')?.focus();
  });

  document.getElementById("import-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const result = document.getElementById("import-result");
    const file = document.getElementById("import-file").files[0];
    if (!file) return showResult(result, ["choose a CSV file"], false);
    const skip = document.getElementById("import-skip").checked;
    const r = await api(`/api/subscribers/import${skip ? "?skipInvalid=true" : ""}`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: await file.text(),
    });
    if (r.ok) {
      const skipped = r.body.skipped ?? [];
      showResult(result, [`imported ${r.body.imported}, skipped ${skipped.length}`], true);
      if (skipped.length)
        result.append(
          el(
            "ul",
            { class: "errors" },
            skipped.map((s) => el("li", {}, `${s.param}: ${s.reason}`)),
          ),
        );
      list();
    } else showResult(result, problemLines(r.body), false);
  });

  ctx.whenShown("subscribers", () => {
    if (!loaded && ctx.info.hssAdmin) {
      loaded = true;
      list();
    }
  });
}
