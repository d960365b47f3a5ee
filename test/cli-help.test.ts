// Issue 15 item 7: each subcommand's --help is its own; `gba up --help` gives the whole ready
// line, the default ports, /whoami and the config sections; and the README and the help agree:
// every flag the README shows for a command is in that command's help, and every flag a help
// documents is shown in the README for that command.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commands } from "../cli/commands.js";
import type { Command } from "../cli/usage.js";
import { defaultConfig } from "../nf/config.js";
import { requireBuiltCli, runGba, startGbaUp } from "./helpers/gba-cli.js";

const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const dir = mkdtempSync(join(tmpdir(), "cli-help-"));

const gba = (args: string[]) => runGba(args);

const loaded = new Map<string, Command>();
beforeAll(async () => {
  requireBuiltCli();
  for (const [name, load] of Object.entries(commands)) loaded.set(name, await load());
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** "provision add", "up", ...: every command, and every subcommand of those that have their own help. */
function keys(): string[] {
  return [...loaded].flatMap(([name, cmd]) =>
    cmd.subcommands ? Object.keys(cmd.subcommands).map((s) => `${name} ${s}`) : [name],
  );
}

function helpOf(key: string): string {
  const [name, sub] = key.split(" ");
  const cmd = loaded.get(name)!;
  return sub ? cmd.subcommands![sub] : cmd.help;
}

const FLAG = /(?<![\w-])(--[a-z][a-z0-9-]*|-[A-Za-z])(?![\w-])/g;

/**
 * The flags a help documents: those of its usage lines (up to the first blank line) and of its
 * option lines (a line that starts with the flag, after indentation). Prose mentioning other
 * commands' flags does not count.
 */
function helpFlags(help: string): Set<string> {
  const [usage, ...rest] = help.split("\n\n");
  const optionLines = rest
    .join("\n")
    .split("\n")
    .filter((l) => /^\s+(-[A-Za-z], )?--?[a-zA-Z]/.test(l))
    .map((l) => l.trim().split(/\s{2,}/)[0]);
  return new Set([...usage.matchAll(FLAG), ...optionLines.flatMap((l) => [...l.matchAll(FLAG)])].map((m) => m[1]));
}

/** Code in the README: fenced blocks as logical lines (continuations joined), and inline code spans. */
function readmeCode(): string[] {
  const out: string[] = [];
  const text = README.replace(/```[a-z]*\n([\s\S]*?)```/g, (_, block: string) => {
    const logical: string[] = [];
    for (const line of block.split("\n")) {
      const code = line.replace(/(^|\s)#(?!!).*$/, "");
      const prev = logical.length - 1;
      if (prev >= 0 && (/\\\s*$/.test(logical[prev]) || (/^\s+\S/.test(line) && /\bgba\s/.test(logical[prev]))))
        logical[prev] = `${logical[prev].replace(/\\\s*$/, "")} ${code.trim()}`;
      else logical.push(code);
    }
    out.push(...logical);
    return "";
  });
  // inline code spans, also those wrapped over two lines (``` ``x`` ``` style runs too)
  for (const m of text.matchAll(/(`+)([\s\S]*?[^`])\1(?!`)/g)) out.push(m[2].replace(/\s*\n\s*/g, " "));
  return out;
}

/** command key → flags the README shows for it, from every `gba <command> [<sub>] ...` in code. */
function readmeFlags(): Map<string, Set<string>> {
  const byKey = new Map<string, Set<string>>();
  const add = (key: string, flags: string[]) => {
    const set = byKey.get(key) ?? new Set<string>();
    for (const f of flags) set.add(f);
    byKey.set(key, set);
  };
  for (const line of readmeCode()) {
    for (const m of line.matchAll(/(?:^|[\s($`])gba ([a-z|-]+)((?:[^;&#]|&(?!&))*)/g)) {
      for (const name of m[1].split("|")) {
        const cmd = loaded.get(name);
        if (!cmd) continue;
        const words = m[2].trim().split(/\s+/);
        const isSub = (w: string) =>
          cmd.subcommands !== undefined && w.split("|").every((p) => Object.hasOwn(cmd.subcommands!, p));
        // "show|remove IMPI" names two subcommands
        let subs = words[0] && isSub(words[0]) ? words[0].split("|") : [undefined];
        let flags: string[] = [];
        const flush = () => {
          for (const sub of subs) add(sub ? `${name} ${sub}` : name, flags);
        };
        for (let i = subs[0] ? 1 : 0; i < words.length; i++) {
          const w = words[i];
          if (w === "|") {
            const next = words[i + 1] ?? "";
            if (isSub(next)) {
              flush();
              subs = next.split("|");
              flags = [];
              i++;
              continue;
            }
            // a shell pipe ends the command; an alternative of flags or values does not
            if (!/^[-[(A-Z]/.test(next)) break;
          }
          flags.push(...[...w.matchAll(FLAG)].map((f) => f[1]));
        }
        flush();
      }
    }
  }
  return byKey;
}

describe("gba <command> <sub> --help is the subcommand's own", () => {
  it("for every subcommand: its own usage, not the command's", async () => {
    const subs = keys().filter((k) => k.includes(" "));
    // the subcommands the CLI has today; a new one joins through Command.subcommands
    for (const known of [
      "provision add",
      "provision import",
      "provision list",
      "provision show",
      "provision remove",
      "provision vehicle",
      "ue bootstrap",
      "ue fetch",
      "usim new",
      "usim show",
      "usim serve",
      "calc milenage",
      "calc auts",
      "calc ks-naf",
      "calc digest",
      "scenario run",
      "scenario validate",
    ])
      expect(subs).toContain(known);
    const wrong: string[] = [];
    for (const key of subs) {
      const [name] = key.split(" ");
      const r = await gba([...key.split(" "), "--help"]);
      if (r.code !== 0 || !r.stdout.startsWith(`usage: gba ${key}`) || r.stdout === `${loaded.get(name)!.help}\n`)
        wrong.push(`${key}: ${r.stdout.split("\n")[0]}`);
    }
    expect(wrong).toEqual([]);
  });

  it("gba provision vehicle --help is the vehicle help, and without a command it is a usage error", async () => {
    const help = await gba(["provision", "vehicle", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: gba provision vehicle add/);
    const bare = await gba(["provision", "vehicle"]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe("");
    expect(bare.stderr).toMatch(/missing vehicle command/);
  });
});

describe("gba up --help", () => {
  it("shows the ready line gba up prints, whole", async () => {
    const up = await startGbaUp(join(dir, "up"), { logLevel: "warn" });
    await up.stop();
    const line = up.readyLine;
    // URLs become URL and names NAME, as the help writes them
    const shape = JSON.stringify(JSON.parse(line), (_k, v) => (typeof v === "string" ? (v.includes("://") ? "URL" : "NAME") : v))
      .replaceAll('"URL"', "URL")
      .replaceAll('"NAME"', "NAME");
    const help = (await gba(["up", "--help"])).stdout;
    expect(help).toContain(shape);
    expect(help).not.toMatch(/\.\.\.}/);
  });

  it("names every default port, /whoami and every config section", async () => {
    const help = (await gba(["up", "--help"])).stdout;
    const cfg = defaultConfig() as unknown as Record<string, Record<string, unknown>>;
    for (const [nf, section] of Object.entries(cfg)) {
      expect(help, `config section ${nf}`).toMatch(new RegExp(`^\\s+${nf}\\b`, "m"));
      if (typeof section !== "object") continue;
      for (const [listener, v] of Object.entries(section)) {
        const port = (v as { port?: number } | null)?.port;
        if (typeof port === "number") expect(help, `${nf}.${listener}`).toMatch(new RegExp(`${nf}\\.${listener}\\s+${port}\\b`));
      }
    }
    expect(help).toContain("GET /whoami");
  });
});

describe("README and help agree on flags", () => {
  it("every flag the README shows for a command is in that command's help", () => {
    const unknown: string[] = [];
    for (const [key, flags] of readmeFlags()) {
      const documented = helpFlags(helpOf(key));
      for (const f of flags) if (!documented.has(f) && f !== "-h" && f !== "--help") unknown.push(`gba ${key} ${f}`);
    }
    expect(unknown).toEqual([]);
  });

  it("every flag a help documents is shown in the README for that command (short forms aside)", () => {
    const shown = readmeFlags();
    const missing: string[] = [];
    for (const key of keys()) {
      const inReadme = shown.get(key) ?? new Set<string>();
      for (const f of helpFlags(helpOf(key))) if (f.startsWith("--") && !inReadme.has(f)) missing.push(`gba ${key} ${f}`);
    }
    expect(missing).toEqual([]);
  });

  it("the extraction sees what it should (a check of the test itself)", () => {
    const shown = readmeFlags();
    expect(shown.get("ue fetch")).toContain("--tls-psk");
    expect(helpFlags(helpOf("ue fetch"))).toContain("-d");
    expect(helpFlags("usage: gba x --a\n\ntext mentions --b\n  --c N   option")).toEqual(new Set(["--a", "--c"]));
  });
});
