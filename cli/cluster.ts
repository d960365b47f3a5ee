// `--workers N` for `gba bsf` and `gba naf` (node:cluster). The primary forks N workers, each
// running the same command line as a single-process NF; they share the listening ports (the
// primary accepts and hands connections out round-robin) and the NF's LMDB environment. The
// primary prints the ready line once every worker listens, replaces a worker that dies, and
// stops them all on SIGINT/SIGTERM. Values every worker must share (a nonce secret) are handed
// out by the primary over the IPC channel, never through argv or the environment.
import cluster, { type Worker } from "node:cluster";
import { createInterface } from "node:readline";
import { UsageError } from "./usage.js";

const ASK = "gba-cluster-shared?";
const SHARED = "gba-cluster-shared";
/** a worker that dies more often than this within RESTART_WINDOW_MS is not replaced again */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 10_000;

export function workersFlag(v: unknown): number {
  if (v === undefined) return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--workers: expected an integer 1..64, got "${String(v)}"`);
  return n;
}

export const WORKERS_HELP = `  --workers N           N worker processes (node:cluster) sharing the listening ports and the LMDB
                        environment; the primary prints the ready line once all listen, replaces a
                        worker that dies and stops them all on SIGINT/SIGTERM (default 1: no cluster)`;

/** True in a worker forked by runPrimary. */
export const isClusterWorker = (): boolean => cluster.isWorker;

/** In a worker: what the primary hands every worker (asked for once the worker's code is ready to listen). */
export function sharedFromPrimary(): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      const msg = m as { type?: string; shared?: Record<string, string> };
      if (msg?.type !== SHARED) return;
      process.off("message", onMessage);
      resolve(msg.shared ?? {});
    };
    process.on("message", onMessage);
    process.send?.({ type: ASK });
  });
}

/**
 * In a worker: runs the NF until it stops, then leaves the cluster (a worker's IPC channel keeps
 * its event loop alive, so without this a stopped worker would never exit).
 */
export async function asWorker(run: Promise<number>): Promise<number> {
  const code = await run;
  cluster.worker?.disconnect();
  return code;
}

/** The first stdout line of a worker: its ready line (runNfs), JSON. */
function readyLineOf(w: Worker): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: w.process.stdout as NodeJS.ReadableStream });
    const onExit = (code: number | null, signal: string | null) =>
      reject(new Error(`worker ${w.process.pid} exited (${signal ?? `code ${code}`}) before it was ready`));
    w.once("exit", onExit);
    lines.once("line", (line) => {
      w.off("exit", onExit);
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`worker ${w.process.pid} printed a ready line that is not JSON`));
      }
    });
  });
}

/**
 * The primary of `gba <nf> --workers N`: resolves with the exit status once stopped. Workers
 * re-run this same command line (cluster.fork), see isClusterWorker() and start the NF.
 */
export async function runPrimary(name: string, workers: number, shared: Record<string, string> = {}): Promise<number> {
  cluster.setupPrimary({ silent: true });
  let stopping = false;
  let restarts: number[] = [];
  const live = new Set<Worker>();

  const fork = (): { worker: Worker; ready: Promise<Record<string, unknown>> } => {
    const worker = cluster.fork();
    live.add(worker);
    worker.process.stderr?.pipe(process.stderr, { end: false });
    worker.on("message", (m: { type?: string }) => {
      if (m?.type === ASK) worker.send({ type: SHARED, shared });
    });
    const ready = readyLineOf(worker);
    ready.catch(() => undefined);
    return { worker, ready };
  };

  const stopAll = (): Promise<void> =>
    new Promise((resolve) => {
      if (live.size === 0) return resolve();
      for (const w of live) {
        w.once("exit", () => {
          live.delete(w);
          if (live.size === 0) resolve();
        });
        w.process.kill("SIGTERM");
      }
    });

  const started = Array.from({ length: workers }, fork);
  let lines: Record<string, unknown>[];
  try {
    lines = await Promise.all(started.map((s) => s.ready));
  } catch (err) {
    stopping = true;
    await stopAll();
    process.stderr.write(`gba ${name}: ${(err as Error).message}\n`);
    return 1;
  }
  const urls = (l: Record<string, unknown>) => JSON.stringify(l[name]);
  if (lines.some((l) => urls(l) !== urls(lines[0]))) {
    stopping = true;
    await stopAll();
    process.stderr.write(`gba ${name}: the workers did not bind the same listeners\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify({ ...lines[0], workers })}\n`);

  let status = 0;
  cluster.on("exit", (w, code, signal) => {
    live.delete(w);
    if (stopping) return;
    const now = Date.now();
    restarts = [...restarts.filter((t) => now - t < RESTART_WINDOW_MS), now];
    if (restarts.length > MAX_RESTARTS) {
      process.stderr.write(`gba ${name}: workers keep dying (${restarts.length} in ${RESTART_WINDOW_MS / 1000} s); stopping\n`);
      status = 1;
      process.kill(process.pid, "SIGTERM");
      return;
    }
    process.stderr.write(`gba ${name}: worker ${w.process.pid} died (${signal ?? `code ${code}`}); starting another\n`);
    fork().ready.catch((err: Error) => process.stderr.write(`gba ${name}: replacement worker failed: ${err.message}\n`));
  });

  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`gba ${name}: ${signal}, stopping ${live.size} workers\n`);
      stopAll().then(() => resolve(status));
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
