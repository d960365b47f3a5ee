// Peak resident memory per process (issue 18: memory at fleet scale): the high-water mark the
// kernel keeps for each process (proc(5) VmHWM in /proc/<pid>/status), so a reading taken once
// at the end of a run still sees the peak of the whole run. Linux only; elsewhere a child reads
// as undefined and this process falls back to process.resourceUsage().maxRSS.
import { readFileSync } from "node:fs";
import type { CpuSource } from "./cpu.js";

/** VmHWM of the process in bytes; undefined when it is gone or /proc is absent. */
export function peakRssBytes(pid: number | "self"): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // gone, or no /proc
  }
  return pid === "self" ? process.resourceUsage().maxRSS * 1024 : undefined;
}

/** Process name → peak RSS in bytes, for the processes a deployment names. */
export function peakRssOf(sources: CpuSource[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of sources) {
    const bytes = peakRssBytes(s.pid);
    if (bytes !== undefined) out[s.name] = bytes;
  }
  return out;
}

/** "load generator 812 MiB, HSS 210 MiB" */
export function rssText(peak: Record<string, number>): string {
  return Object.entries(peak)
    .map(([name, bytes]) => `${name} ${Math.round(bytes / 1024 / 1024)} MiB`)
    .join(", ");
}
