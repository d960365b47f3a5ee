// No orphans: child processes that must not outlive their owner (Redis nodes, HAProxy) write
// their pid into a directory; one watchdog shell per directory waits for the owner to go and
// then SIGKILLs every pid still listed, also when the owner was killed with SIGKILL (where no
// exit hook of ours runs). A child that exits removes its pid file, so a reused pid is spared.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const live = new Set<ChildProcess>();
let exitHook = false;

export interface Watchdog {
  readonly dir: string;
  /**
   * Spawns a child that the watchdog kills if the owner goes first; its pid file goes when it
   * exits. Its stdout and stderr go to `logFile` when given.
   */
  spawn(name: string, command: string[], logFile?: string): ChildProcess;
  /** Stops the watchdog itself (the children are the caller's to stop). */
  stop(): void;
}

export function startWatchdog(dir: string): Watchdog {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const p of live) p.kill("SIGKILL");
    });
  }
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; for f in "$0"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done`;
  const dog = spawn("sh", ["-c", script, dir], { stdio: "ignore", detached: true });
  dog.unref();
  return {
    dir,
    spawn(name, command, logFile) {
      const out = logFile === undefined ? "ignore" : openSync(logFile, "a", 0o600);
      const proc = spawn(command[0], command.slice(1), { stdio: ["ignore", out, out] });
      if (typeof out === "number") closeSync(out);
      const pidFile = join(dir, `${name}.pid`);
      live.add(proc);
      proc.once("exit", () => {
        live.delete(proc);
        rmSync(pidFile, { force: true });
      });
      if (proc.pid !== undefined) writeFileSync(pidFile, String(proc.pid));
      return proc;
    },
    stop() {
      if (dog.pid === undefined) return;
      try {
        process.kill(dog.pid, "SIGKILL");
      } catch {
        // already gone
      }
    },
  };
}
