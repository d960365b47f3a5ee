#!/usr/bin/env node
// The `gba` command: one entry, subcommands in cli/commands.ts (docs/architecture.md "The gba command").
import { commands } from "./commands.js";
import { helpFor, UsageError } from "./usage.js";

async function topHelp(): Promise<string> {
  const lines = ["usage: gba <command> [options]", "", "commands:"];
  for (const [name, load] of Object.entries(commands)) {
    const cmd = await load();
    lines.push(`  ${name.padEnd(12)} ${cmd.summary}`);
  }
  lines.push("", "Run `gba <command> --help` for the options of one command.");
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${await topHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    const { createRequire } = await import("node:module");
    const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`gba: unknown command "${name}"\n${await topHelp()}\n`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${helpFor(cmd, rest)}\n`);
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      const sub = rest[0] !== undefined && cmd.subcommands && Object.hasOwn(cmd.subcommands, rest[0]) ? ` ${rest[0]}` : "";
      process.stderr.write(`gba ${name}${sub}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gba: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
