// conformance/ tests someone else's BSF or NAF, so it may not lean on ours: it imports ue/, gba/
// and wire/ (the UE and the shared wire contract), its own files, node: and undici, never nf/.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const DIR = fileURLToPath(new URL("../conformance", import.meta.url));
const ALLOWED = [/^\.\/[\w-]+\.js$/, /^\.\.\/(ue|gba|wire)\//, /^node:/, /^undici$/];

/** Every module specifier a source file imports or re-exports (static, side-effect or dynamic). */
function specifiers(text: string): string[] {
  const forms = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|(?:^|\n)\s*import\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g;
  return [...text.matchAll(forms)].map((m) => m[1] ?? m[2] ?? m[3]);
}

describe("conformance/ imports", () => {
  it("reads the specifiers it checks (a planted nf/ import is seen)", () => {
    const planted =
      'import { startBsf } from "../nf/bsf/index.js";\nexport { x } from "./y.js";\nimport "../nf/naf/index.js";\nawait import("../nf/hss/index.js");';
    expect(specifiers(planted)).toEqual(["../nf/bsf/index.js", "./y.js", "../nf/naf/index.js", "../nf/hss/index.js"]);
    expect(ALLOWED.some((r) => r.test("../nf/bsf/index.js"))).toBe(false);
  });

  it("imports ue/, gba/, wire/, its own files, node: and undici only", () => {
    const bad: string[] = [];
    const files = readdirSync(DIR).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      for (const s of specifiers(readFileSync(join(DIR, f), "utf8"))) {
        if (!ALLOWED.some((r) => r.test(s))) bad.push(`${f}: ${s}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
