// Settings every benchmark takes from `gba bench` (cli/bench.ts parses and checks them).
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RedisStoreConfig } from "../../nf/common/store/redis-config.js";

export interface BenchOptions {
  /** measured seconds per system (subject and baseline each), split over `rounds` */
  durationS: number;
  /** interleaved rounds per system */
  rounds: number;
  /** untimed warm-up seconds per system */
  warmupS: number;
  connections: number;
  /** offered load in operations per second over all connections; undefined: as fast as answered */
  rate?: number;
  /** an external BSF (ub: Ub URL, zn: Zn URL), NAF (ua: http URL, tls-psk: https URL) or ECA (enrol) */
  target?: string;
  /** ub, zn, hss: also run the built-in HSS (and BSF) on this Redis Cluster, against the LMDB run */
  store?: RedisStoreConfig;
  /** Ub URL of the BSF the UE bootstraps with, for external ua, tls-psk, enrol and zn */
  bsf?: string;
  /** simulated USIM state files (gba usim new) of provisioned subscribers */
  usims: string[];
  /** subscriber CSV (impi,k,opc or op; the HSS import format) for an external ub */
  subscribers?: string;
  /** Zn bearer token and NAF FQDN for an external zn */
  znToken?: string;
  nafFqdn?: string;
  /** OBU ID bound to the subscriber's MSISDN, for an external enrol */
  obu?: string;
  /** zn: the binding measured, SBI (TS 29.309) or Diameter (TS 29.109 BIR/BIA) */
  binding: "sbi" | "diameter";
  /** BSF or NAF worker processes for our own NFs (node:cluster) */
  workers: number;
  /** subscribers in the small and large HSS stores of the hss benchmark */
  smallStore: number;
  largeStore: number;
  /** where HSS stores are built once and reused */
  storeDir: string;
  /** bootstrap sessions created by the sessions benchmark */
  sessions: number;
  /** dashboard: follow the live page in chromium instead of reading its stream */
  browser?: boolean;
  /** progress lines (stderr) */
  log: (line: string) => void;
}

export function defaultOptions(): BenchOptions {
  return {
    durationS: 5,
    rounds: 3,
    warmupS: 1,
    connections: 32,
    usims: [],
    workers: 1,
    binding: "sbi",
    smallStore: 1000,
    largeStore: 1_000_000,
    storeDir: join(tmpdir(), "gba-bench-stores"),
    sessions: 100_000,
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

/** "1 worker", "2 workers" */
export const workersText = (n: number): string => `${n} worker${n > 1 ? "s" : ""}`;

/** The load settings a result records, with the benchmark's own. */
export function loadConfig(o: BenchOptions, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    durationS: o.durationS,
    rounds: o.rounds,
    connections: o.connections,
    rate: o.rate ?? null,
    workers: o.workers,
    ...extra,
  };
}

/** Seconds per round of each system. */
export function roundPlan(o: BenchOptions): { seconds: number; rounds: number; warmupSeconds: number } {
  return { seconds: o.durationS, rounds: o.rounds, warmupSeconds: o.warmupS };
}

/** A benchmark cannot run with the options given (a flag missing for --target): a usage error. */
export class BenchSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BenchSetupError";
  }
}
