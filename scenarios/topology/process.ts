// `process`: each NF as its own `gba hss|bsf|naf|eca` child process on ephemeral loopback ports.
// Each gets a config file written to the run's directory, wired to the URLs the NFs before it
// printed in their ready lines (HSS first, then the BSF with hssUrl, then NAF and ECA with
// bsfUrl). Logs go to <workDir>/logs/<nf>.log.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { GbaConfig } from "../../nf/config.js";
import { peerAt } from "../../nf/common/diameter/config.js";
import { cpuProfFlags } from "../../bench/lib/child.js";
import { packageRoot } from "../load.js";
import { type Child, cpuName, spawnChild, stopAll } from "./children.js";
import { delayFront } from "./delay-proxy.js";
import { type Deployment, endpointsFrom, type TopologyContext, TopologyError } from "./types.js";

export const NF_ORDER = ["hss", "bsf", "naf", "eca"] as const;
export type NfName = (typeof NF_ORDER)[number];
/** NF → listener → URL, as the NFs started so far are reached */
export type ReadyUrls = Record<string, Record<string, string>>;

export function gbaMain(): string {
  return join(packageRoot(), "dist", "cli", "main.js");
}

/** The config of one NF, wired to the URLs of those started before it. */
export function wiredConfig(cfg: GbaConfig, nf: NfName, ready: ReadyUrls): GbaConfig {
  const c = structuredClone(cfg);
  const zh = ready.hss?.zh;
  const zn = ready.bsf?.zn;
  if (nf === "bsf") {
    if (!zh) throw new TopologyError("the BSF needs the HSS's Zh URL: start the HSS first");
    c.bsf.hssUrl = zh;
    c.bsf.diameter.hss = peerAt(c.bsf.diameter.hss, ready.hss?.zhDiameter);
  }
  if (nf === "naf" || nf === "eca") {
    if (!zn) throw new TopologyError(`the ${nf.toUpperCase()} needs the BSF's Zn URL: start the BSF first`);
    const app = nf === "naf" ? c.naf : c.eca;
    app.bsfUrl = zn;
    app.diameter.peer = peerAt(app.diameter.peer, ready.bsf?.znDiameter);
  }
  return c;
}

/**
 * The URLs of an NF's listeners as clients should use them: behind delaying proxies when there is
 * a latency (the provisioning API and non-URL facts such as the FQDN stay as they are).
 */
export async function frontWithDelay(
  urls: Record<string, string>,
  latencyMs: number,
): Promise<{ urls: Record<string, string>; close?: () => Promise<void> }> {
  if (latencyMs <= 0) return { urls };
  const delayed = Object.fromEntries(Object.entries(urls).filter(([k, v]) => k !== "admin" && /^https?:\/\//.test(v)));
  const front = await delayFront(delayed, latencyMs);
  return { urls: { ...urls, ...front.urls }, close: front.close };
}

export async function startProcesses(ctx: TopologyContext): Promise<Deployment> {
  const confDir = join(ctx.workDir, "config");
  const logDir = join(ctx.workDir, "logs");
  await mkdir(confDir, { recursive: true, mode: 0o700 });
  await mkdir(logDir, { recursive: true });
  const children: Child[] = [];
  const fronts: Array<() => Promise<void>> = [];
  const ready: ReadyUrls = {};
  const stop = async () => {
    await stopAll(children);
    for (const close of fronts) await close();
  };
  try {
    for (const nf of NF_ORDER) {
      const file = join(confDir, `${nf}.json`);
      await writeFile(file, `${JSON.stringify(wiredConfig(ctx.cfg, nf, ready), null, 2)}\n`, { mode: 0o600 });
      const child = await spawnChild({
        name: `gba ${nf}`,
        command: process.execPath,
        // GBA_SCENARIO_CPU_PROF=DIR: each NF under node --cpu-prof, its profiles in DIR/gba_<nf>
        args: [
          ...cpuProfFlags(process.env.GBA_SCENARIO_CPU_PROF, `gba ${nf}`),
          gbaMain(),
          nf,
          "--config",
          file,
          "--ephemeral-ports",
        ],
        logFile: join(logDir, `${nf}.log`),
      });
      children.push(child);
      const urls = child.ready[nf] as Record<string, string>;
      ctx.info(`process: gba ${nf} ready (pid ${child.proc.pid}) ${Object.values(urls).join(" ")}`);
      const front = await frontWithDelay(urls, ctx.latencyMs);
      if (front.close) fronts.push(front.close);
      ready[nf] = front.urls;
    }
  } catch (err) {
    await stop();
    throw err;
  }
  if (ctx.latencyMs > 0) ctx.info(`process: ${ctx.latencyMs} ms one-way delay in front of every NF listener`);
  return {
    backend: "process",
    endpoints: endpointsFrom(ready, ctx.cfg),
    logDir,
    cpu: () => ({
      sources: [
        ...children.map((c) => ({ name: cpuName(c.name), pid: c.proc.pid as number })),
        { name: "load generator", pid: "self" },
      ],
      note: `load generator: the runner's process (UE population and progress${ctx.latencyMs > 0 ? ", delaying proxies" : ""})`,
    }),
    stop,
  };
}
