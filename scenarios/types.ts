// Types of a scenario file (scenarios/scenario.schema.json is the authority).
export type StepName = "bootstrap" | "keygen" | "csr" | "enrol" | "verify" | "tls-psk" | "fetch";
export type FlowStep = StepName | { wait: number } | { fetch: { path: string; method?: string; expectStatus?: number } };

export interface ScenarioSubscriber {
  id: string;
  imsi: string;
  msisdn: string;
  k?: string;
  opc?: string;
  op?: string;
  sqn?: string;
  uiccType?: "GBA" | "GBA_U";
  keyLifetime?: number;
}

export interface ScenarioBinding {
  vehicle: string;
  obu: string;
  msisdn: string;
}

export interface DeviceGroup {
  name: string;
  count?: number;
  subscriber?: string;
  uicc?: "GBA_ME" | "GBA_U";
  tunnel?: "digest" | "tls-psk";
  keyLifetime?: number;
  sqnAhead?: number;
  bindMsisdn?: string;
  /** the device clock runs this far behind the network's (it keeps a B-TID the BSF has expired) */
  clockLagSeconds?: number;
  flow?: FlowStep[];
  expect?: { outcome?: "success" | "denied"; status?: number; reason?: string; rebootstrap?: boolean; resync?: boolean };
}

export interface LoadPhase {
  /** who makes the arrivals: our scheduler over the UE middleware (default) or autocannon */
  driver?: "scheduler" | "autocannon";
  mode?: "rate" | "concurrency";
  rate?: number;
  concurrency?: number;
  poisson?: boolean;
  rampSeconds?: number;
  durationSeconds?: number;
  count?: number;
  devices?: number;
  tunnel?: "digest" | "tls-psk";
  uicc?: "GBA_ME" | "GBA_U";
  flow?: FlowStep[];
  /** rate mode: flows admitted at once; an arrival beyond it is shed (default: 1 s of arrivals, ≥ 32) */
  maxInFlight?: number;
  /** worker threads running the load flows (default: one per core; 0: the runner's thread) */
  workers?: number;
  /** a load flow still running after this long fails with cause FLOW_TIMEOUT (default 15) */
  flowTimeoutSeconds?: number;
}

export interface LatencyBound {
  step: string;
  /** samples of which phase; default: the load phase when it ran, else the functional one */
  phase?: "functional" | "load";
  percentile: 50 | 90 | 95 | 99;
  maxMs: number;
}

/** The multi-host topology's shape, checks and faults (scenarios/topology/multi-host.ts). */
export interface MultiHostTopology {
  /** BSF replicas and NAF replicas, each (default 2) */
  replicas?: number;
  /** HSS replicas (default 2) */
  hss?: number;
  /** Redis Cluster primaries, each with one replica (default 3) */
  redisPrimaries?: number;
  /** Redis cluster-node-timeout: how long a primary may be unreachable before its replica takes over (default 2000) */
  redisNodeTimeoutMs?: number;
  /** HAProxy health-check interval (default 500; a server is DOWN after 2 failed checks) */
  haproxyCheckMs?: number;
  /** the cross-replica checks (B-TID on every BSF, supersede, nonce-count replay; default true) */
  checks?: boolean;
  /** seconds of `gba bench zn` through HAProxy after the flows, for the Zn p99 (default 3; 0: none) */
  znBenchSeconds?: number;
  /** kill -9 of a replica (1-based) this many seconds into the load phase */
  faults?: Array<{ kill: "bsf" | "naf"; replica: number; afterSeconds: number }>;
}

export interface Scenario {
  name: string;
  description?: string;
  topology?: {
    backend?: "inprocess" | "process" | "netns" | "container" | "multi-host";
    latencyMs?: number;
    multiHost?: MultiHostTopology;
  };
  operator?: {
    bsfFqdn?: string;
    sessionLifetime?: number;
    algorithm?: "AKAv1-MD5" | "AKAv2-MD5";
    mcc?: string;
    mnc?: string;
    /** Zh and Zn over SBI (default) or TS 29.109 Diameter */
    binding?: "sbi" | "diameter";
  };
  subscribers?: { csv?: string; inline?: ScenarioSubscriber[] };
  bindings?: { csv?: string; inline?: ScenarioBinding[] };
  devices: DeviceGroup[];
  /** OBUs shared among the groups that set no count */
  deviceCount?: number;
  flow: FlowStep[];
  load?: LoadPhase;
  assertions?: {
    successRatio?: number;
    loadSuccessRatio?: number;
    latency?: LatencyBound[];
    minRate?: number;
    /** every failed load flow names a declared overload cause (verdict.ts OVERLOAD_CAUSES) */
    declaredCausesOnly?: boolean;
  };
}
