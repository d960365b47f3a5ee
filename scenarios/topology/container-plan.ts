// The `container` topology as data: per container the command, network alias, the NF config it
// gets, what is copied into it and which listeners are published to the host; and the mapping of
// an NF's ready line to the host-side URLs the UE population uses. No container runtime here.
import { join } from "node:path";
import { DEFAULT_PORTS, type GbaConfig } from "../../nf/config.js";
import { NF_ORDER, type NfName } from "./process.js";
import { TopologyError } from "./types.js";

/** Layout of the image built from the repository's Dockerfile (GBA_EMU_IMAGE must keep it). */
export const IMAGE_LAYOUT = {
  /** data root; the Dockerfile creates /data/<nf> owned by the image's user */
  data: "/data",
  configDir: "/etc/gba-emu",
  delayProxy: "/app/dist/scenarios/topology/delay-proxy.js",
} as const;

/** Label on every container of a run: the runner's pid (what a leftover belongs to). */
export const RUN_LABEL = "gba-emu.scenario-runner";

const P = DEFAULT_PORTS;
const ANY = "0.0.0.0";

export interface ContentCopy {
  content: string;
  target: string;
  mode: number;
}

export interface ContainerSpec {
  /** hss|bsf|naf|eca, or delay (the latency proxy on Zh and Zn) */
  name: NfName | "delay";
  /** the name peers use on the run's network */
  alias: string;
  /** replaces the image's entrypoint (`node dist/cli/main.js`) when set */
  entrypoint?: string[];
  command: string[];
  /** listener in the ready line → container port published on a random host port */
  published: Record<string, number>;
  /** the NF's configuration, copied in as <configDir>/<nf>.json */
  config?: GbaConfig;
  /** host directory copied to the same place under the image's data root, when it exists */
  data?: { source: string; target: string };
  /** extra files (the master key when it came from the runner's environment) */
  contents: ContentCopy[];
  labels: Record<string, string>;
  /** the container's environment: never a secret (docker inspect shows it) */
  env: Record<string, string>;
}

export interface PlanOptions {
  latencyMs: number;
  /** GBA_MASTER_KEY of the runner: provisioning sealed K and OPc under it, the HSS needs it */
  masterKey?: string;
  runId: number;
}

/** Every listener on all container interfaces at its default port; peers by alias. */
function placedConfig(cfg: GbaConfig, peers: { zh: string; zn: string }): GbaConfig {
  const c = structuredClone(cfg);
  c.data = IMAGE_LAYOUT.data;
  c.hss.zh = { host: ANY, port: P.hssZh };
  // the provisioning API stays inside the container: the runner provisions the stores directly
  c.hss.admin = { ...c.hss.admin, host: "127.0.0.1", port: P.hssAdmin };
  c.bsf.ub = { host: ANY, port: P.bsfUb };
  c.bsf.zn = { host: ANY, port: P.bsfZn };
  c.naf.http = { host: ANY, port: P.nafHttp };
  c.naf.tlsPsk = { host: ANY, port: P.nafTlsPsk };
  c.eca.http = { host: ANY, port: P.ecaHttp };
  c.eca.tlsPsk = { host: ANY, port: P.ecaTlsPsk };
  c.bsf.hssUrl = peers.zh;
  c.naf.bsfUrl = peers.zn;
  c.eca.bsfUrl = peers.zn;
  return c;
}

const PUBLISHED: Record<NfName, Record<string, number>> = {
  hss: {},
  bsf: { ub: P.bsfUb },
  naf: { http: P.nafHttp, tlsPsk: P.nafTlsPsk },
  eca: { url: P.ecaHttp, tlsPsk: P.ecaTlsPsk },
};

/**
 * The containers of a run, in start order. With a latency, Zh and Zn go through a delaying proxy
 * container (alias delay); Ub and Ua are delayed by the runner in front of the published ports.
 */
export function containerPlan(cfg: GbaConfig, o: PlanOptions): ContainerSpec[] {
  const delayed = o.latencyMs > 0;
  const via = delayed ? "delay" : undefined;
  const peers = { zh: `http://${via ?? "hss"}:${P.hssZh}`, zn: `http://${via ?? "bsf"}:${P.bsfZn}` };
  const config = placedConfig(cfg, peers);
  const labels = (name: string) => ({ [RUN_LABEL]: String(o.runId), "gba-emu.role": name });
  const specs: ContainerSpec[] = [];
  if (delayed) {
    specs.push({
      name: "delay",
      alias: "delay",
      entrypoint: ["node", IMAGE_LAYOUT.delayProxy],
      command: ["--delay", String(o.latencyMs), `${ANY}:${P.hssZh}=hss:${P.hssZh}`, `${ANY}:${P.bsfZn}=bsf:${P.bsfZn}`],
      published: {},
      contents: [],
      labels: labels("delay"),
      env: {},
    });
  }
  for (const nf of NF_ORDER) {
    const contents: ContentCopy[] = [];
    if (nf === "hss" && o.masterKey) {
      // a file in the HSS container only, not its environment: `docker inspect` shows env
      contents.push({ content: `${o.masterKey.trim()}\n`, target: `${IMAGE_LAYOUT.data}/hss/master.key`, mode: 0o600 });
    }
    specs.push({
      name: nf,
      alias: nf,
      command: [nf, "--config", `${IMAGE_LAYOUT.configDir}/${nf}.json`],
      published: PUBLISHED[nf],
      config,
      data: { source: join(cfg.data, nf), target: `${IMAGE_LAYOUT.data}/${nf}` },
      contents,
      labels: labels(nf),
      env: {},
    });
  }
  return specs;
}

/** The JSON ready line (`{"ready":true,...}`) of `gba <nf>` or the delay proxy, else undefined. */
export function parseReadyLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{"ready":true')) return undefined;
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === "object" && (v as { ready?: unknown }).ready === true ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The URLs of a container's published listeners as the runner reaches them: the ready line's
 * scheme, the runtime's host and the host port mapped to the listener's container port.
 */
export function hostSideUrls(
  spec: ContainerSpec,
  ready: Record<string, unknown>,
  host: string,
  mappedPort: (containerPort: number) => number,
): Record<string, string> {
  const urls = (ready[spec.name] ?? {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  for (const [key, port] of Object.entries(spec.published)) {
    const reported = urls[key];
    if (typeof reported !== "string") throw new TopologyError(`container ${spec.name} did not report its ${key} URL`);
    const u = new URL(reported);
    if (Number(u.port) !== port) {
      throw new TopologyError(`container ${spec.name} reported ${key} ${reported}, but port ${port} is the one published`);
    }
    out[key] = `${u.protocol}//${hostPart}:${mappedPort(port)}`;
  }
  return out;
}
