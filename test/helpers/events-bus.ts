// Every NF of `gba up` in this process reporting to one event bus (the dashboard's), for the tests
// of what the NFs report: started in order, stopped with their UEs, and the events since a point.
import { expect } from "vitest";
import { type Starter, UP_STARTERS, urlOf } from "../../cli/up.js";
import { EventBus, type GbaEvent } from "../../nf/common/events.js";
import { closeAll, type RunningNf } from "../../nf/common/nf.js";
import { defaultConfig, type GbaConfig, withEphemeralPorts } from "../../nf/config.js";
import type { TestUe } from "./dashboard-ues.js";
import { removeTempDirs, tempDir } from "./fault-procs.js";

export interface NfsWithBus {
  cfg: GbaConfig;
  bus: EventBus;
  /** the UEs a test opened: closed by stop() */
  ues: TestUe[];
  url(nf: string, listener: string): string;
  /** The events after `seq`, without seq and time, each one's latency checked and dropped. */
  since(seq: number): Array<Omit<GbaEvent, "seq" | "time" | "latencyMs">>;
  stop(): Promise<void>;
}

/** Starts the NFs of `gba up` on ephemeral ports with a recording bus; `tweak` changes the config first. */
export async function startNfsWithBus(prefix: string, tweak: (cfg: GbaConfig) => void = () => {}): Promise<NfsWithBus> {
  const cfg = withEphemeralPorts(defaultConfig());
  cfg.data = tempDir(prefix);
  cfg.logLevel = "silent";
  tweak(cfg);
  const bus = new EventBus();
  bus.record();
  const nfs: RunningNf[] = [];
  const ues: TestUe[] = [];
  const starters: Starter[] = await Promise.all(UP_STARTERS.map((load) => load()));
  for (const start of starters) nfs.push(await start(cfg, nfs, { events: bus }));
  return {
    cfg,
    bus,
    ues,
    url: (nf, listener) => urlOf(nfs, nf, listener) as string,
    since: (seq) =>
      bus.query({ afterSeq: seq, limit: 1000 }).map(({ seq: _s, time: _t, latencyMs, ...e }) => {
        expect(latencyMs, `${e.nf} ${e.kind} ${e.outcome} has its latency`).toBeGreaterThanOrEqual(0);
        return e;
      }),
    async stop() {
      for (const ue of ues) await ue.close();
      await closeAll(nfs).catch(() => {});
      removeTempDirs();
    },
  };
}
