// Shared plumbing of the BSF benchmarks: a target process (bare Fastify route or HSS+BSF)
// started as a child so the load generator and the server do not share one event loop,
// and an autocannon run summarised in the figures the benchmarks report.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

export interface Target {
  /** what the child printed as its ready line */
  info: Record<string, string>;
  stop(): Promise<void>;
}

const TARGETS = fileURLToPath(new URL("./bsf-targets.js", import.meta.url));

/** Starts `bsf-targets.js <kind> [args]` and waits for its one JSON ready line. */
export function startTarget(kind: string, args: string[] = []): Promise<Target> {
  const child: ChildProcess = spawn(process.execPath, [TARGETS, kind, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      child.stdout?.off("data", onData);
      resolve({
        info: JSON.parse(buf.slice(0, nl)) as Record<string, string>,
        stop: () =>
          new Promise<void>((r) => {
            child.once("exit", () => r());
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`bench target ${kind} exited with ${code} before it was ready`)));
  });
}

export interface LoadFigures {
  /** responses per second with the status counted as success */
  okPerSec: number;
  /** all responses per second */
  reqPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  ok: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
}

export async function runAutocannon(opts: autocannon.Options, okStatus = 200): Promise<LoadFigures> {
  const counts = new Map<number, number>();
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    instance.on("response", (_client, statusCode) => counts.set(statusCode, (counts.get(statusCode) ?? 0) + 1));
  });
  const durationS = r.duration;
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const ok = counts.get(okStatus) ?? 0;
  return {
    okPerSec: ok / durationS,
    reqPerSec: total / durationS,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    ok,
    total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    durationS,
  };
}

export interface BenchArgs {
  /** seconds of load per measurement */
  durationS: number;
  connections: number;
  /** the baseline and the BSF are measured alternately this many times; medians are reported */
  rounds: number;
  out: string;
}

export function parseBenchArgs(name: string, argv: string[]): BenchArgs {
  const a: BenchArgs = { durationS: 10, connections: 64, rounds: 3, out: `bench/out/${name}.json` };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, v] = [argv[i], argv[i + 1]];
    if (flag === "--duration") a.durationS = Number(v);
    else if (flag === "--connections") a.connections = Number(v);
    else if (flag === "--rounds") a.rounds = Number(v);
    else if (flag === "--out" && v !== undefined) a.out = v;
    else throw new Error(`unknown flag ${flag}; use --duration S, --connections N, --rounds N, --out FILE`);
  }
  if (!Number.isFinite(a.durationS) || a.durationS <= 0) throw new Error("--duration must be a positive number of seconds");
  if (!Number.isInteger(a.connections) || a.connections < 1) throw new Error("--connections must be a positive integer");
  if (!Number.isInteger(a.rounds) || a.rounds < 1) throw new Error("--rounds must be a positive integer");
  return a;
}

/**
 * Runs baseline and subject alternately `rounds` times (so a noisy neighbour hits both alike)
 * and returns every run plus the run with the median success rate of each.
 */
export async function alternate(
  rounds: number,
  baseline: () => Promise<LoadFigures>,
  subject: () => Promise<LoadFigures>,
): Promise<{ baseline: LoadFigures; subject: LoadFigures; runs: { baseline: LoadFigures[]; subject: LoadFigures[] } }> {
  const runs = { baseline: [] as LoadFigures[], subject: [] as LoadFigures[] };
  for (let r = 0; r < rounds; r++) {
    runs.baseline.push(await baseline());
    runs.subject.push(await subject());
  }
  const median = (xs: LoadFigures[]) => [...xs].sort((a, b) => a.okPerSec - b.okPerSec)[Math.floor(xs.length / 2)];
  return { baseline: median(runs.baseline), subject: median(runs.subject), runs };
}
