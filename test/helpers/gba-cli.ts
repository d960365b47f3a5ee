// The compiled `gba` command for CLI tests (build with `npx tsc -p .` first).
import { execFile, spawn } from "node:child_process";
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

export interface GbaUp {
  /** the ready line as printed */
  readyLine: string;
  /** everything gba up wrote to stderr (its logs) so far */
  log(): string;
  /** SIGTERM, and wait for the exit */
  stop(): Promise<void>;
}

/** `gba up --ephemeral-ports --data DATA --log-level LEVEL [args]`, once its ready line is out. */
export async function startGbaUp(data: string, o: { cwd?: string; logLevel?: string; args?: string[] } = {}): Promise<GbaUp> {
  const args = [MAIN, "up", "--ephemeral-ports", "--data", data, "--log-level", o.logLevel ?? "info", ...(o.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: o.cwd });
  let log = "";
  child.stderr.on("data", (d) => {
    log += d;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const readyLine = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        if (out.includes("\n")) resolve(out.split("\n")[0]);
      });
      child.once("exit", (code) => reject(new Error(`gba up exited ${code} before its ready line: ${log}`)));
    });
    return { readyLine, log: () => log, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
