// The compiled `gba` command for CLI tests (build with `npx tsc -p .` first).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

export const MAIN = new URL("../../dist/cli/main.js", import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Throws (in a beforeAll) when dist/ has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` first`);
}

/** Runs `gba ...args` to its end: exit code, stdout, stderr. */
export function runGba(
  args: string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { cwd: o.cwd, env: o.env, timeout: o.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}
