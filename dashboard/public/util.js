// Small helpers shared by the dashboard's modules. Text always goes in as text (never as HTML):
// IMPIs, causes and messages come from the network.

/** Fetches JSON from the dashboard; resolves { ok, status, body } (body: parsed JSON or null). */
export async function api(path, init = {}) {
  const res = await fetch(path, { credentials: "same-origin", ...init });
  let body = null;
  if (res.status !== 204) {
    const text = await res.text();
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = { detail: text.slice(0, 200) };
    }
  }
  return { ok: res.ok, status: res.status, body };
}

/** el("td", { class: "n" }, "12") — attributes, then children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
}

export const pad2 = (n) => String(n).padStart(2, "0");

/** hh:mm:ss.mmm local time */
export function clockTime(ms) {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/** A fixed-width rate: "12.3" */
export const rate = (x) => (Number.isFinite(x) ? x.toFixed(1) : "0.0");

/**
 * A refused request as the lines a person reads: the detail, then one line per invalid
 * parameter ("line 3: k: expected 16 bytes ..." as `gba provision import` prints them).
 */
export function problemLines(p) {
  if (!p) return ["no answer"];
  const detail = p.detail ?? p.title ?? `HTTP ${p.status}`;
  const params = (Array.isArray(p.invalidParams) ? p.invalidParams : []).map((ip) => `${ip.param}: ${ip.reason ?? "invalid"}`);
  // a single subscriber's errors come as "a; b" in detail and again one by one: show them once
  if (params.length > 0 && params.join("; ") === detail) return params;
  return [detail, ...params.filter((l) => !detail.includes(l))];
}

/** Shows lines in a live region: a list for several, one paragraph for one. */
export function showResult(region, lines, ok) {
  region.replaceChildren();
  if (ok) region.append(el("p", { class: "done" }, lines[0]));
  else
    region.append(
      el(
        "ul",
        { class: "errors" },
        lines.map((l) => el("li", {}, l)),
      ),
    );
}
