// Security checks that read the code or the configuration rather than the wire:
// - every MAC / digest / token comparison runs in constant time: the sources of milenage/,
//   wire/, gba/, nf/, ue/, conformance/ and dashboard/ hold no ===, !==, ==, !=, .equals() or Buffer.compare() between two
//   non-literal values one of which names a MAC, digest, response, RES, AUTS, token or key,
//   and each known comparison site calls constantTimeEqual / digestEquals / timingSafeEqual;
// - the HSS provisioning API bound to a non-loopback address refuses to start without a
//   bearer token, and with one answers 401 to every request that lacks it.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../nf/config.js";
import type { RunningNf } from "../nf/common/nf.js";
import { startHss } from "../nf/hss/index.js";
import { removeTempDirs, tempDir } from "./helpers/fault-procs.js";
import { jsonRequest, newSub, testConfig } from "./hss-fixtures.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOURCE_DIRS = ["milenage", "wire", "gba", "nf", "ue", "conformance", "dashboard"];

afterAll(removeTempDirs);

function sources(): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const rel = join(dir, name);
      if (statSync(join(ROOT, rel)).isDirectory()) walk(rel);
      else if (rel.endsWith(".ts")) out.push({ file: rel, text: readFileSync(join(ROOT, rel), "utf8") });
    }
  };
  for (const d of SOURCE_DIRS) walk(d);
  return out;
}

// an operand: an identifier chain with property access, indexing and calls, or a literal
const OPERAND = String.raw`(?:typeof\s+)?[A-Za-z_$][\w$]*(?:\??\.[A-Za-z_$][\w$]*|\[[^\]]*\]|\((?:[^()]|\([^()]*\))*\))*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\x60[^\x60]*\x60|\d[\w.]*`;
const LEFT = new RegExp(`(${OPERAND})$`);
const RIGHT = new RegExp(`^(${OPERAND})`);
/** names of values that must only be compared in constant time */
const SECRET =
  /^(x?mac[as]?|xmac|macs?|digest|expected|response|rspauth|x?res|auts|hmac|token|password|ha1|ks|ck|ik|psk|secret|sres|kc)$/i;
/** property names that are public even on a secret-named object (creds.response is secret, creds.realm is not) */
const PUBLIC_TAIL = new Set([
  "length",
  "size",
  "kind",
  "code",
  "status",
  "statusCode",
  "state",
  "name",
  "type",
  "algorithm",
  "qop",
  "realm",
  "uri",
  "nc",
  "cnonce",
  "opaque",
  "username",
  "impi",
  "btid",
  "method",
  "outcome",
  "ok",
  "byteLength",
  "scheme",
]);
// a template literal with an interpolation is a value like any other
const isLiteral = (o: string) =>
  (/^(["'`\d]|typeof\b)/.test(o) && !(o.startsWith("`") && o.includes("${"))) ||
  /^(undefined|null|true|false|NaN)$/.test(o) ||
  /^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)*$/.test(o);
const words = (o: string) => o.split(/[^A-Za-z0-9_$]+/).filter(Boolean);
const tailOf = (o: string) => /([A-Za-z_$][\w$]*)(?:\([^)]*\))?$/.exec(o)?.[1] ?? o;

/** Comparisons of secret-named values that are not constant-time, as "file:line: code". */
function variableTimeComparisons(files: Array<{ file: string; text: string }>): string[] {
  const found: string[] = [];
  for (const { file, text } of files) {
    text.split("\n").forEach((line, i) => {
      if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
      for (const m of line.matchAll(/===|!==|==(?!=)|!=(?!=)/g)) {
        const l = LEFT.exec(line.slice(0, m.index).trimEnd())?.[1];
        const r = RIGHT.exec(line.slice((m.index ?? 0) + m[0].length).trimStart())?.[1];
        if (!l || !r || isLiteral(l) || isLiteral(r)) continue;
        if (PUBLIC_TAIL.has(tailOf(l)) || PUBLIC_TAIL.has(tailOf(r))) continue;
        if ([...words(l), ...words(r)].some((w) => SECRET.test(w))) found.push(`${file}:${i + 1}: ${l} ${m[0]} ${r}`);
      }
      const bytewise = /\.equals\(|Buffer\.compare\(|\.every\(\s*\(\s*\w+\s*,\s*\w+\s*\)\s*=>\s*\w+\s*===/.test(line);
      if (bytewise && words(line).some((w) => SECRET.test(w))) found.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

describe("constant-time comparison of MACs, digests and tokens", () => {
  it("the audit finds variable-time comparisons when there are some", () => {
    const planted = [
      "if (mac === xmac) return;",
      "const ok = expected !== creds.response;",
      "return bytesToHex(res) == bytesToHex(xres);",
      "if (Buffer.from(a).equals(macS)) x();",
      "ok = token.every((b, i) => b === want[i]);",
      "if (req.headers.authorization === `Bearer $" + "{token}`) go();",
    ];
    const found = variableTimeComparisons([{ file: "planted.ts", text: planted.join("\n") }]);
    expect(found).toHaveLength(planted.length);
    const fine = [
      'if (creds.response === "") x();',
      "if (auts.length !== AUTS_LENGTH) y();",
      "if (opts.token !== undefined) z();",
    ];
    expect(variableTimeComparisons([{ file: "fine.ts", text: fine.join("\n") }])).toEqual([]);
  });

  it("finds none in milenage/, wire/, gba/, nf/, ue/, conformance/ and dashboard/", () => {
    const all = sources();
    expect(all.length).toBeGreaterThan(50);
    expect(variableTimeComparisons(all)).toEqual([]);
  });

  it("every MAC, digest and token check calls a constant-time compare", () => {
    const text = new Map(sources().map((s) => [s.file, s.text]));
    const CT = /\b(constantTimeEqual|digestEquals|timingSafeEqual)\(/g;
    const sites: Array<[string, number, string]> = [
      ["milenage/aka.ts", 2, "MAC-A of AUTN (TS 33.102 §6.3.3) and MAC-S of AUTS (§6.3.5)"],
      ["gba/digest/compute.ts", 2, "Digest response (RFC 7616 §3.4.1)"],
      ["nf/bsf/procedures/ub.ts", 1, "Ub Digest AKA response"],
      ["gba/digest/server.ts", 1, "Ua Digest response (the NAF's Digest server)"],
      ["gba/digest/nonce.ts", 1, "Ua nonce HMAC"],
      ["nf/bsf/naf-registry.ts", 1, "Zn bearer token"],
      ["nf/hss/routes/admin.ts", 1, "provisioning API bearer token"],
      ["dashboard/auth.ts", 1, "dashboard token (bearer, ?token=, cookie)"],
      ["ue/ub/run.ts", 1, "Ub rspauth (server authentication)"],
      ["ue/ua/naf-digest.ts", 1, "Ua rspauth (server authentication; gbaFetch and the autocannon load driver)"],
    ];
    for (const [file, n, what] of sites) {
      const src = text.get(file);
      expect(src, file).toBeDefined();
      expect((src!.match(CT) ?? []).length, `${file}: ${what}`).toBeGreaterThanOrEqual(n);
    }
    // and the primitives themselves (the shared one and milenage/'s private one) do not stop at the first difference
    for (const file of ["wire/bytes.ts", "milenage/octets.ts"]) {
      const body = /export function constantTimeEqual[\s\S]*?\n}/.exec(text.get(file) ?? "")?.[0] ?? "";
      expect(body, file).toMatch(/diff \|= a\[i\] \^ b\[i\]/);
      const loop = /for \(.*$/m.exec(body)?.[0] ?? "";
      expect(loop, file).toMatch(/diff \|=/);
      expect(loop, file).not.toMatch(/return|break/);
    }
  });
});

describe("HSS provisioning API off loopback", () => {
  const nfs: RunningNf[] = [];
  afterAll(async () => {
    for (const nf of nfs) await nf.close();
  });

  it("refuses to start on 0.0.0.0 without a token, naming the setting", async () => {
    const cfg = testConfig(tempDir("gba-admin-"), (c) => {
      c.hss.admin.host = "0.0.0.0";
    });
    await expect(startHss(cfg)).rejects.toThrow(ConfigError);
    await expect(startHss(cfg)).rejects.toThrow(/hss\.admin\.token/);
  });

  it("on 0.0.0.0 with a token: 401 without it or with a wrong one, served with it", async () => {
    const token = "admin-token-0123456789abcdef";
    const cfg = testConfig(tempDir("gba-admin-"), (c) => {
      c.hss.admin.host = "0.0.0.0";
      c.hss.admin.token = token;
    });
    const hss = await startHss(cfg);
    nfs.push(hss);
    // bound to every interface; reached here over loopback, which must not matter
    const port = new URL(hss.urls.admin.replace("0.0.0.0", "127.0.0.1")).port;
    const base = `http://127.0.0.1:${port}`;
    const sub = newSub();
    const attempts: Array<[string, string, unknown, Record<string, string>]> = [
      ["GET", "/status", undefined, {}],
      ["GET", "/subscribers", undefined, {}],
      ["POST", "/subscribers", sub, {}],
      ["POST", "/subscribers", sub, { authorization: "Bearer wrong-token-0123456789" }],
      ["POST", "/subscribers", sub, { authorization: `Bearer ${token}x` }],
      ["POST", "/subscribers", sub, { authorization: `Basic ${Buffer.from(`x:${token}`).toString("base64")}` }],
      ["POST", "/subscribers", sub, { authorization: token }],
      ["DELETE", `/subscribers/${encodeURIComponent(sub.impi)}`, undefined, {}],
      ["POST", "/subscribers/import", [sub], {}],
    ];
    for (const [method, path, body, headers] of attempts) {
      const r = await jsonRequest(method, `${base}${path}`, body, headers);
      expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
      expect(r.headers.get("www-authenticate")).toMatch(/^Bearer /);
    }
    expect(
      (
        await jsonRequest("GET", `${base}/subscribers/${encodeURIComponent(sub.impi)}`, undefined, {
          authorization: `Bearer ${token}`,
        })
      ).status,
    ).toBe(404);
    const ok = await jsonRequest("POST", `${base}/subscribers`, sub, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(201);
    expect(ok.text).not.toContain(sub.k);
  });
});
