// Debian's chromium (/usr/bin/chromium) driven by playwright-core: no browser download. A
// missing chromium fails the test and names the package to install; it is never skipped.
import { type Browser, chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "../../bench/lib/chromium.js";

export async function launchChromium(): Promise<Browser> {
  requireChromium();
  // spawns: chromium
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
