// Where a benchmark ran, stored next to its figures so results from different machines are
// never compared blindly.
import { arch, availableParallelism, cpus, loadavg, platform, totalmem } from "node:os";

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  arch: string;
  totalMemBytes: number;
  /** 1, 5 and 15 minute load averages when the run started: other work skews the figures */
  loadAverage: number[];
  timestamp: string;
}

export function machineInfo(now: () => Date = () => new Date()): MachineInfo {
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    node: process.version,
    platform: platform(),
    arch: arch(),
    totalMemBytes: totalmem(),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    timestamp: now().toISOString(),
  };
}
