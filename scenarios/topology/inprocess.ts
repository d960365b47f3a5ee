// `inprocess`: HSS, BSF, NAF and ECA in the runner's process on ephemeral loopback ports, started
// in dependency order through their start functions (HSS, then BSF with the HSS's Zh URL, then
// NAF and ECA with the BSF's Zn URL). With latencyMs each NF is reached through a delaying proxy.
// With a dashboard the NFs report their outcomes to its event bus.
import { type GbaConfig, withEphemeralPorts } from "../../nf/config.js";
import type { NfDeps } from "../../nf/common/deps.js";
import { closeAll, type RunningNf } from "../../nf/common/nf.js";
import { type Deployment, endpointsFrom, type TopologyContext } from "./types.js";
import { wiredConfig, NF_ORDER, type NfName, type ReadyUrls, frontWithDelay } from "./process.js";

type Start = (cfg: GbaConfig, deps?: Partial<NfDeps>) => Promise<RunningNf>;

const START: Record<NfName, () => Promise<Start>> = {
  hss: async () => (await import("../../nf/hss/index.js")).startHss,
  bsf: async () => (await import("../../nf/bsf/index.js")).startBsf,
  naf: async () => (await import("../../nf/naf/index.js")).startNaf,
  eca: async () => (await import("../../nf/eca/index.js")).startEca,
};

export async function startInprocess(ctx: TopologyContext): Promise<Deployment> {
  const cfg = withEphemeralPorts(ctx.cfg);
  const started: RunningNf[] = [];
  const seen: ReadyUrls = {};
  try {
    for (const nf of NF_ORDER) {
      const start = await START[nf]();
      const deps: Partial<NfDeps> = { ...(ctx.events && { events: ctx.events }), ...(ctx.capture && { capture: ctx.capture }) };
      const running = await start(wiredConfig(cfg, nf, seen), deps);
      started.push(running);
      const front = await frontWithDelay(running.urls, ctx.latencyMs);
      if (front.close) started.push({ name: `${nf} delay`, urls: {}, close: front.close });
      seen[nf] = front.urls;
    }
  } catch (err) {
    await closeAll(started).catch(() => undefined);
    throw err;
  }
  if (ctx.latencyMs > 0) ctx.info(`inprocess: ${ctx.latencyMs} ms one-way delay in front of every NF listener`);
  return {
    backend: "inprocess",
    endpoints: endpointsFrom(seen, cfg),
    cpu: () => ({
      sources: [{ name: "runner", pid: "self" }],
      note: "shared process: HSS, BSF, NAF, ECA and the load generator all run in the runner's process; the figure is their sum",
    }),
    stop: () => closeAll(started),
  };
}
