// What a topology backend gives the runner: where the UE reaches the NFs, optionally its own
// way of running the UE population (netns: inside the UE namespace), and a stop that always
// cleans up.
import type { EventBus } from "../../nf/common/events.js";
import type { Capture } from "../../nf/common/capture/index.js";
import type { CpuSource } from "../../bench/lib/cpu.js";
import type { GbaConfig } from "../../nf/config.js";
import type { EngineInput } from "../engine/engine.js";
import type { HssRow } from "../provision.js";
import type { MultiHostTopology, ScenarioBinding } from "../types.js";
import type { AssertionResult } from "../verdict.js";
import type { Emit, Endpoints } from "../engine/events.js";

export type Backend = "inprocess" | "process" | "netns" | "container" | "multi-host";
export const BACKENDS: readonly Backend[] = ["inprocess", "process", "netns", "container", "multi-host"];

export interface TopologyContext {
  /** provisioned data root, operator settings applied */
  cfg: GbaConfig;
  /** the run's temporary directory: config files and logs go here */
  workDir: string;
  /** added one-way latency on every reference point (netns: user-space proxies) */
  latencyMs: number;
  /** one informative line (goes to the progress stream) */
  info: (line: string) => void;
  /** the dashboard's event bus: the inprocess NFs report their outcomes to it */
  events?: EventBus;
  /** `--pcap`: the NFs' capture (inprocess only) */
  capture?: Capture;
  /** the scenario's `topology.multiHost` */
  multiHost?: MultiHostTopology;
  /**
   * What a backend whose stores the runner cannot reach provisions itself (multi-host: the
   * Redis Cluster inside its namespaces); the others find cfg.data provisioned.
   */
  provision?: { rows: HssRow[]; bindings: ScenarioBinding[] };
}

/** What a topology checked and measured beyond the scenario's flows (multi-host: the replica checks). */
export interface TopologyFindings {
  checks: AssertionResult[];
  figures: Record<string, number | string>;
}

export interface Deployment {
  backend: Backend;
  endpoints: Endpoints;
  /** where the NF logs are, when they are files */
  logDir?: string;
  /** runs the UE population somewhere else than in the runner's process */
  runUe?: (input: EngineInput, emit: Emit, signal: AbortSignal) => Promise<void>;
  /**
   * The processes whose CPU time the load report accounts for (bench/lib/cpu.ts), asked when the
   * load phase starts; absent when they cannot be measured from here (containers).
   */
  cpu?: () => { sources: CpuSource[]; note?: string };
  /** set when the backend provisioned the stores itself (TopologyContext.provision) */
  provisioned?: { subscribers: number; bindings: number };
  /** its own checks (assertions of the run) and figures (the report's `topology`), after the flows */
  findings?: () => TopologyFindings;
  stop(): Promise<void>;
}

/** The backend cannot run here; the run is skipped with this one line. */
export class TopologyUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TopologyUnavailable";
  }
}

/** The backend could not start (not root, an NF exited, ...). */
export class TopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TopologyError";
  }
}

export function endpointsFrom(ready: Record<string, Record<string, string>>, cfg: GbaConfig): Endpoints {
  const need = (nf: string, key: string): string => {
    const v = ready[nf]?.[key];
    if (typeof v !== "string") throw new TopologyError(`${nf} did not report its ${key} URL`);
    return v;
  };
  return {
    bsfUb: need("bsf", "ub"),
    bsfFqdn: cfg.bsf.fqdn,
    nafHttp: need("naf", "http"),
    nafTlsPsk: need("naf", "tlsPsk"),
    nafFqdn: cfg.naf.fqdn,
    ecaHttp: need("eca", "url"),
    ecaTlsPsk: need("eca", "tlsPsk"),
    ecaFqdn: cfg.eca.fqdn,
  };
}
