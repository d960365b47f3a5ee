// Child processes of a topology: started with their output going to a log file, awaited until
// they print their JSON ready line, stopped with SIGTERM (SIGKILL after a grace period), and
// killed in any case when the runner exits.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { TopologyError } from "./types.js";

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort: no child outlives the runner, whatever way it exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
}

export interface Child {
  name: string;
  proc: ChildProcess;
  logFile: string;
  /** the parsed ready line */
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  /** ms to wait for the ready line */
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** what makes a stdout line the ready line (default: JSON with ready: true) */
  isReady?: (line: Record<string, unknown>) => boolean;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function stopChild(proc: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      resolve();
      return;
    }
    const kill = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    proc.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

export function spawnChild(o: SpawnOptions): Promise<Child> {
  installExitHook();
  const log = createWriteStream(o.logFile, { flags: "a", mode: 0o600 });
  const proc = spawn(o.command, o.args, { stdio: ["ignore", "pipe", "pipe"], env: o.env ?? process.env });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  proc.stderr?.pipe(log, { end: false });
  const isReady = o.isReady ?? ((l) => l.ready === true);
  return new Promise((resolve, reject) => {
    let buf = "";
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void stopChild(proc, 1000).then(() =>
        reject(new TopologyError(`${o.name}: ${why}\n--- ${o.logFile}:\n${tail(o.logFile)}`)),
      );
    };
    const timer = setTimeout(
      () => fail(`no ready line within ${(o.readyTimeoutMs ?? 20_000) / 1000} s`),
      o.readyTimeoutMs ?? 20_000,
    );
    proc.once("error", (err) => fail(`cannot start: ${err.message}`));
    proc.once("exit", (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before it was ready`));
    proc.stdout?.on("data", (chunk: Buffer) => {
      if (done) {
        log.write(chunk);
        return;
      }
      buf += chunk.toString("utf8");
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        log.write(`${line}\n`);
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          continue;
        }
        if (parsed && typeof parsed === "object" && isReady(parsed as Record<string, unknown>) && !done) {
          done = true;
          clearTimeout(timer);
          resolve({
            name: o.name,
            proc,
            logFile: o.logFile,
            ready: parsed as Record<string, unknown>,
            stop: async () => {
              await stopChild(proc);
              log.end();
            },
          });
        }
      }
    });
  });
}

/** How a child's CPU time is reported: "gba bsf ..." → "BSF"; other children by their name. */
export function cpuName(childName: string): string {
  const m = /^gba (\S+)/.exec(childName);
  return m ? m[1].toUpperCase() : childName;
}

/** Stops children in reverse start order. */
export async function stopAll(children: Child[]): Promise<void> {
  for (const c of [...children].reverse()) await c.stop();
}
