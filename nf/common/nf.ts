// What every NF's start function returns, so `gba up`, the per-NF commands and the scenario
// runner can compose NFs without importing one NF from another.
import { resolve } from "node:path";
import type { FastifyBaseLogger } from "fastify";

export interface RunningNf {
  name: string;
  /**
   * URLs of the listeners, e.g. { zh: "http://127.0.0.1:7001", admin: ... }; a Diameter listener
   * as "host:port" under a key ending in "Diameter" (zhDiameter, znDiameter)
   */
  urls: Record<string, string>;
  /** extra facts for the ready line, e.g. { fqdn } */
  info?: Record<string, string>;
  /** the NF's Diameter identity, when it speaks Diameter (the ready line's "diameter" object) */
  diameter?: { originHost: string; originRealm: string };
  close(): Promise<void>;
}

/** Closes NFs in reverse start order; errors are collected, not thrown half-way. */
export async function closeAll(nfs: RunningNf[]): Promise<void> {
  const errors: unknown[] = [];
  for (const nf of [...nfs].reverse()) {
    try {
      await nf.close();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw new AggregateError(errors, "some NFs failed to close");
}

/**
 * The line every NF logs once it listens: its data root as an absolute path (a relative --data
 * or the default .gba-data depends on the working directory, so the operator sees which store
 * is served), its URLs and what else an operator checks first.
 */
export function logReady(log: FastifyBaseLogger, nf: string, dataRoot: string, facts: Record<string, unknown>): void {
  log.info({ dataRoot: resolve(dataRoot), ...facts }, `${nf} ready`);
}
