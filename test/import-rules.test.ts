// The import rules of docs/architecture.md, checked on the import and export statements (and
// dynamic imports) of every .ts file of the project:
// - milenage/ and wire/ import nothing of ours outside themselves; wire/ also no Fastify, LMDB,
//   undici or node:net (it is the pure wire contract both sides share);
// - gba/ imports only milenage/ and wire/;
// - ue/ never imports nf/;
// - conformance/ imports of ours only ue/, gba/ and wire/ (it tests someone else's BSF or NAF);
// - an NF (nf/<nf>/) never imports another NF — the ECA's mount of the NAF plugin excepted — nor
//   nf/config.ts (it reads only its own configuration section);
// - nf/common/ imports no NF and not nf/config.ts.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SKIP = new Set(["node_modules", "dist", ".git", "bench/out", ".gba-data"]);

interface Source {
  /** repository-relative path with / separators, e.g. "nf/bsf/start.ts" */
  file: string;
  text: string;
}

function sources(): Source[] {
  const out: Source[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const rel = dir === "" ? name : `${dir}/${name}`;
      if (SKIP.has(rel) || name.startsWith(".")) continue;
      if (statSync(join(ROOT, rel)).isDirectory()) walk(rel);
      else if (rel.endsWith(".ts") && !rel.endsWith(".d.ts"))
        out.push({ file: rel, text: readFileSync(join(ROOT, rel), "utf8") });
    }
  };
  walk("");
  return out;
}

/** Module specifiers of static imports/exports (type-only included) and dynamic import()s. */
function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const out: string[] = [];
  for (const m of code.matchAll(/\b(?:import|export)\s+(?:type\s+)?(?:[\w*${}\s,]+?\s+from\s+)?["']([^"']+)["']/g))
    out.push(m[1]);
  for (const m of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) out.push(m[1]);
  return out;
}

/** The repository path an import resolves to ("nf/hss/store.ts"), or the package name ("fastify", "node:net"). */
function target(from: string, spec: string): string {
  if (!spec.startsWith(".")) return spec;
  return normalize(join(dirname(from), spec))
    .split("\\")
    .join("/")
    .replace(/\.js$/, ".ts");
}

const top = (path: string) => path.split("/")[0];
/** "nf/hss/start.ts" → "hss"; "nf/common/x.ts" → "common"; "nf/config.ts" → undefined */
const nfOf = (path: string) => (path.startsWith("nf/") && path.split("/").length > 2 ? path.split("/")[1] : undefined);
const ours = (t: string) => t.includes("/") && !t.startsWith("node:") && !t.startsWith("@") && t.endsWith(".ts");

const WIRE_FORBIDDEN_PACKAGES = /^(fastify|@fastify\/|fastify-plugin|lmdb|undici|node:net|net)(\/|$)/;

/** The rule a file's import breaks, or undefined. */
function violation(from: string, spec: string): string | undefined {
  const t = target(from, spec);
  const area = top(from);
  if (area === "milenage" || area === "wire") {
    if (ours(t) && top(t) !== area) return `${area}/ imports nothing of ours outside itself`;
    if (area === "wire" && WIRE_FORBIDDEN_PACKAGES.test(t)) return "wire/ imports no Fastify, LMDB, undici or node:net";
    return undefined;
  }
  if (area === "gba") {
    if (ours(t) && !["gba", "milenage", "wire"].includes(top(t))) return "gba/ imports only milenage/ and wire/";
    return undefined;
  }
  if (area === "ue") {
    if (ours(t) && top(t) === "nf") return "ue/ never imports nf/";
    return undefined;
  }
  if (area === "conformance") {
    if (ours(t) && !["conformance", "ue", "gba", "wire"].includes(top(t))) return "conformance/ imports only ue/, gba/ and wire/";
    return undefined;
  }
  const nf = nfOf(from);
  if (nf === undefined || !ours(t)) return undefined;
  if (t === "nf/config.ts") return `nf/${nf}/ does not import nf/config.ts (an NF reads only its own section)`;
  const other = nfOf(t);
  if (other === undefined || other === nf || other === "common") return undefined;
  if (nf === "common") return "nf/common/ imports no NF";
  // the Enrolment CA is a NAF application: it mounts the NAF plugin (docs/architecture.md)
  if (nf === "eca" && other === "naf") return undefined;
  return `NFs never import each other (nf/${nf} → nf/${other})`;
}

function violations(files: Source[]): string[] {
  return files.flatMap(({ file, text }) =>
    specifiers(text).flatMap((spec) => {
      const why = violation(file, spec);
      return why === undefined ? [] : [`${file}: "${spec}": ${why}`];
    }),
  );
}

describe("import rules", () => {
  it("find the imports of every statement form", () => {
    const text = [
      'import { a } from "../wire/bytes.js";',
      'import type { B } from "./b.js";',
      'import * as c from "c";',
      'import d, { e } from "./d.js";',
      'export { f } from "./f.js";',
      'export * from "./g.js";',
      'import "./side-effect.js";',
      'const h = await import("../nf/hss/index.js");',
      "import {\n  x,\n  type Y,\n} from './multi.js';",
      '// import { no } from "./commented.js";',
    ].join("\n");
    expect(specifiers(text)).toEqual([
      "../wire/bytes.js",
      "./b.js",
      "c",
      "./d.js",
      "./f.js",
      "./g.js",
      "./side-effect.js",
      "./multi.js",
      "../nf/hss/index.js",
    ]);
  });

  it("catch each kind of forbidden import", () => {
    const planted: Source[] = [
      { file: "milenage/aka.ts", text: 'import { bytesToHex } from "../wire/bytes.js";' },
      { file: "wire/zh.ts", text: 'import { Pool } from "undici";' },
      { file: "wire/zn.ts", text: 'import type { FastifyInstance } from "fastify";' },
      { file: "gba/keys.ts", text: 'import { ProblemError } from "../nf/common/problem.js";' },
      { file: "ue/ub/client.ts", text: 'import type { BsfSession } from "../../nf/bsf/store.js";' },
      { file: "nf/bsf/start.ts", text: 'import { startHss } from "../hss/index.js";' },
      { file: "nf/naf/start.ts", text: 'const { EcaConfig } = await import("../eca/config.js");' },
      { file: "nf/hss/start.ts", text: 'import type { GbaConfig } from "../config.js";' },
      { file: "nf/common/server.ts", text: 'import { hssProblem } from "../hss/causes.js";' },
      { file: "conformance/http.ts", text: 'import "../nf/bsf/index.js";' },
      { file: "conformance/ue.ts", text: 'import { highestSqn } from "../milenage/sqn.js";' },
    ];
    expect(violations(planted)).toHaveLength(planted.length);
    const allowed: Source[] = [
      { file: "milenage/aka.ts", text: 'import { concatOctets } from "./octets.js";' },
      { file: "wire/zn.ts", text: 'import { USS_ITEM_SERIALIZER_SCHEMA } from "./zh.js";' },
      {
        file: "gba/keys.ts",
        text: 'import { concatBytes } from "../wire/bytes.js";\nimport { Milenage } from "../milenage/milenage.js";',
      },
      { file: "ue/ub/client.ts", text: 'import { parseBtid } from "../../gba/btid.js";' },
      { file: "nf/eca/start.ts", text: 'import { gbaNaf } from "../naf/index.js";' },
      {
        file: "conformance/ue.ts",
        text: 'import { openUe } from "../ue/open-ue.js";\nimport { Agent } from "undici";\nimport { fail } from "./check.js";',
      },
      { file: "nf/bsf/start.ts", text: 'import { createNfServer } from "../common/server.js";' },
      {
        file: "cli/up.ts",
        text: 'import { startHss } from "../nf/hss/index.js";\nimport { defaultConfig } from "../nf/config.js";',
      },
    ];
    expect(violations(allowed)).toEqual([]);
  });

  it("hold in the tree", () => {
    const all = sources();
    expect(all.length).toBeGreaterThan(200);
    for (const area of ["milenage/", "wire/", "gba/", "ue/", "nf/common/", "nf/hss/", "nf/bsf/", "conformance/", "test/"]) {
      expect(
        all.some((s) => s.file.startsWith(area)),
        area,
      ).toBe(true);
    }
    expect(violations(all)).toEqual([]);
  });
});
