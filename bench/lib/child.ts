// Servers under test run in child processes, so the load generator and the server never share
// an event loop. A child prints one JSON line once it listens and stops on SIGTERM: the bench
// targets (bench/lib/targets.js) and the `gba` commands alike.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const GBA_MAIN = fileURLToPath(new URL("../../cli/main.js", import.meta.url));
const TARGETS = fileURLToPath(new URL("./targets.js", import.meta.url));

export interface Child {
  /** the ready line */
  info: Record<string, unknown>;
  pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 120_000;

/**
 * `node --cpu-prof` flags writing a child's profiles to a directory under `dir` named after
 * `what` (its command line); none when dir is unset. Cluster workers and worker threads inherit
 * them: one file per pid and thread. node refuses --cpu-prof in NODE_OPTIONS, hence flags.
 */
export function cpuProfFlags(dir: string | undefined, what: string): string[] {
  if (!dir) return [];
  return ["--cpu-prof", "--cpu-prof-dir", join(dir, what.replace(/[^A-Za-z0-9.-]+/g, "_").slice(0, 80))];
}

/** GBA_BENCH_CPU_PROF=DIR: every child of a benchmark runs under `node --cpu-prof`. */
const profileFlags = (what: string) => cpuProfFlags(process.env.GBA_BENCH_CPU_PROF, what);

/** Starts `node <args>` and resolves with its first stdout line parsed as JSON; stderr is kept for errors. */
export function startChild(args: string[], o: { env?: NodeJS.ProcessEnv } = {}): Promise<Child> {
  const what = args.map((a) => a.replace(/^.*\/dist\//, "")).join(" ");
  const child: ChildProcess = spawn(process.execPath, [...profileFlags(what), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: o.env ?? process.env,
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what}: no ready line within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready: ${stderr.trim().split("\n").slice(-3).join(" | ")}`));
    };
    const onData = (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stdout?.resume();
      child.off("exit", onExit);
      let info: Record<string, unknown>;
      try {
        info = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      } catch {
        child.kill("SIGKILL");
        reject(new Error(`${what}: the first stdout line is not JSON: ${buf.slice(0, nl).slice(0, 200)}`));
        return;
      }
      resolve({
        info,
        pid: child.pid as number,
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r();
            child.once("exit", () => r());
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** A bench target: `node dist/bench/lib/targets.js <kind> [args]`. */
export function startTarget(kind: string, args: string[] = []): Promise<Child> {
  return startChild([TARGETS, kind, ...args]);
}

/** A `gba` command, e.g. startGba(["naf", "--ephemeral-ports", ...]). */
export function startGba(args: string[], env?: NodeJS.ProcessEnv): Promise<Child> {
  return startChild([GBA_MAIN, ...args], { env });
}

/** Stops children in reverse start order, ignoring ones already gone. */
export async function stopAll(children: Array<Child | undefined>): Promise<void> {
  for (const c of [...children].reverse()) if (c) await c.stop();
}

/** A string field of a ready line, e.g. str(naf.info, "naf", "http"). */
export function str(info: Record<string, unknown>, ...path: string[]): string {
  let v: unknown = info;
  for (const p of path) v = (v as Record<string, unknown> | undefined)?.[p];
  if (typeof v !== "string") throw new Error(`ready line has no ${path.join(".")}: ${JSON.stringify(info).slice(0, 200)}`);
  return v;
}
