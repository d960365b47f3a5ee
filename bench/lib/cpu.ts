// CPU time per process, measured, so every benchmark and every scenario load report can say where
// the microseconds of one operation went (issue 18 goal 1).
//
// - A child process (an NF, a baseline target, a UE worker process): user + system time of the
//   whole thread group from /proc/<pid>/stat (every thread: the event loop, libuv's pool, LMDB's
//   writer, V8's GC helpers), plus the same for each of its descendants (node:cluster workers).
//   Linux only; elsewhere a child reads as "not measured".
// - This process (the load generator, or everything when the NFs run in-process):
//   process.cpuUsage(), which also counts every thread of the process (worker threads included).
//   When NFs share this process the figure is their sum with the load generator: reports name it
//   "shared process" and do not split it.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Something whose CPU time can be read: a process tree by pid, or this process. */
export interface CpuSource {
  /** report name: "BSF", "HSS", "load generator", "stub BSF", ... */
  name: string;
  /** pid of the tree's root; "self" for this process */
  pid: number | "self";
}

/** CPU µs per pid (this process: key 0) at one instant. */
export type CpuSnapshot = Map<string, Map<number, number>>;

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of one process (all its threads) in µs; undefined when it is gone or /proc is absent. */
export function procCpuMicros(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // proc(5): the command name may hold spaces and parentheses; the fields after the last ')' are
  // state (3), ppid (4), ..., utime (14), stime (15), counted from 1
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]);
  return Number.isFinite(ticks) ? (ticks * 1e6) / clockTicks() : undefined;
}

/** pid and all its descendants (proc(5) task/<tid>/children). */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop() as number;
    out.push(p);
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${tid}/children`, "utf8").trim().split(/\s+/))
          if (c !== "") stack.push(Number(c));
      } catch {
        // the thread or the process ended meanwhile
      }
    }
  }
  return out;
}

const selfMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

export function cpuSnapshot(sources: readonly CpuSource[]): CpuSnapshot {
  const snap: CpuSnapshot = new Map();
  for (const s of sources) {
    const perPid = new Map<number, number>();
    if (s.pid === "self") perPid.set(0, selfMicros());
    else
      for (const pid of processTree(s.pid)) {
        const us = procCpuMicros(pid);
        if (us !== undefined) perPid.set(pid, us);
      }
    snap.set(s.name, perPid);
  }
  return snap;
}

/**
 * CPU µs each source spent between two snapshots. A process that appeared in between counts
 * whole (it started within the interval); one that ended in between is lost (its last figure is
 * unknown), which only happens when a cluster worker dies. undefined: not measurable here.
 */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const [name, a] of after) {
    const b = before.get(name) ?? new Map<number, number>();
    if (a.size === 0) {
      out[name] = undefined;
      continue;
    }
    let us = 0;
    for (const [pid, v] of a) us += v - (b.get(pid) ?? 0);
    out[name] = Math.max(0, us);
  }
  return out;
}

/** CPU of a stretch of work: µs per source, and the wall time it took. */
export interface CpuSpan {
  us: Record<string, number | undefined>;
  wallS: number;
}

/** Starts measuring `sources`; the returned function ends the span. */
export function cpuSpan(sources: readonly CpuSource[]): () => CpuSpan {
  const t0 = performance.now();
  const before = cpuSnapshot(sources);
  return () => ({ us: cpuDelta(before, cpuSnapshot(sources)), wallS: (performance.now() - t0) / 1000 });
}

/** What a report shows: CPU µs per operation and cores kept busy, per process. */
export interface CpuFigures {
  /** process name → CPU µs per successful operation (null: not measurable on this platform) */
  usPerOp: Record<string, number | null>;
  /** process name → CPU seconds per wall second (1 = one core fully busy) */
  cores: Record<string, number | null>;
  /** how the figures were taken, e.g. "shared process: HSS, BSF, NAF, ECA and the load generator" */
  note?: string;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Sums spans (interleaved rounds of one system) and divides by the operations they carried. */
export function cpuFigures(spans: readonly CpuSpan[], operations: number, note?: string): CpuFigures | undefined {
  if (spans.length === 0) return undefined;
  const total: Record<string, number | null> = {};
  let wall = 0;
  for (const s of spans) {
    wall += s.wallS;
    for (const [name, us] of Object.entries(s.us)) {
      const prev = total[name];
      total[name] = us === undefined || prev === null ? null : (prev ?? 0) + us;
    }
  }
  const usPerOp: Record<string, number | null> = {};
  const cores: Record<string, number | null> = {};
  for (const [name, us] of Object.entries(total)) {
    usPerOp[name] = us === null || operations === 0 ? null : round(us / operations, us / operations < 10 ? 2 : 1);
    cores[name] = us === null || wall === 0 ? null : round(us / 1e6 / wall, 2);
  }
  return { usPerOp, cores, ...(note ? { note } : {}) };
}

/** "BSF 312 µs, HSS 170 µs, load generator 130 µs (total 612)" */
export function cpuText(c: CpuFigures): string {
  const parts = Object.entries(c.usPerOp).map(([n, v]) => `${n} ${v === null ? "n/a" : `${Math.round(v)} µs`}`);
  if (parts.length === 0) return c.note ?? "not measured";
  const known = Object.values(c.usPerOp).filter((v): v is number => v !== null);
  const total = known.length > 1 ? ` (total ${Math.round(known.reduce((a, b) => a + b, 0))})` : "";
  return `${parts.join(", ")}${total}${c.note ? `; ${c.note}` : ""}`;
}
