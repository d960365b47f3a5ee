// Debian's chromium (/usr/bin/chromium) driven by playwright-core: no browser download. Shared by
// the dashboard benchmark and the browser tests. A missing chromium is an error naming the
// package to install, never a silent skip.
import { existsSync } from "node:fs";

export const CHROMIUM = "/usr/bin/chromium";
/** flags that work as root in a container without a GPU; playwright adds --headless and a fresh profile */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Throws, naming the Debian package, when chromium is not installed. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install the Debian package "chromium" (apt-get install chromium)`);
  }
}
