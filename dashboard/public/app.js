// The dashboard page: tabs (arrow keys, Home, End; the address's #hash names the tab), the
// connection line, and the views, each in its own module.
import { startEca } from "./eca.js";
import { startLadder } from "./ladder.js";
import { startLive } from "./live.js";
import { startScenario } from "./scenario.js";
import { startSubscribers } from "./subscribers.js";
import { api } from "./util.js";

const tabs = [...document.querySelectorAll('[role="tab"]')];
const shown = new Set();
const onShow = new Map();

export function showTab(name, focus = false) {
  for (const tab of tabs) {
    const selected = tab.getAttribute("aria-controls") === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
    if (selected && focus) tab.focus();
  }
  if (location.hash.slice(1).split("?")[0] !== name) history.replaceState(null, "", `#${name}`);
  shown.add(name);
  onShow.get(name)?.();
}

document.getElementById("tabs").addEventListener("keydown", (ev) => {
  const i = tabs.indexOf(document.activeElement);
  if (i < 0) return;
  const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
  if (to === undefined) return;
  ev.preventDefault();
  showTab(tabs[(to + tabs.length) % tabs.length].getAttribute("aria-controls"), true);
});
for (const tab of tabs) tab.addEventListener("click", () => showTab(tab.getAttribute("aria-controls")));

const info = (await api("/api/info")).body ?? {};
document.getElementById("title").textContent = info.title ?? "";
const ctx = { info, showTab, whenShown: (name, fn) => onShow.set(name, fn) };
startLive(ctx);
startLadder(ctx);
startSubscribers(ctx);
startEca(ctx);
startScenario(ctx);
const first = location.hash.slice(1).split("?")[0];
showTab(tabs.some((t) => t.getAttribute("aria-controls") === first) ? first : "live");
document.body.dataset.ready = "true";
