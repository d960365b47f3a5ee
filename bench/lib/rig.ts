// Everything a benchmark starts (child processes, temporary data roots), stopped and removed
// together however the benchmark ends; and our own NFs as users run them: `gba naf`, `gba eca`,
// `gba hss`, `gba bsf`, each in its own process.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RedisStoreConfig, storeUrl } from "../../nf/common/store/redis-config.js";
import { defaultConfig } from "../../nf/config.js";
import { type Child, startChild, startGba, startTarget, stopAll, str } from "./child.js";
import type { CpuSource } from "./cpu.js";
import { hssChildEnv, provisionBenchSubscribers } from "./hss-store.js";

/** The load generator: autocannon or the closed loops, in the bench process. */
export const LOAD_GENERATOR: CpuSource = { name: "load generator", pid: "self" };

export class Rig {
  private readonly children: Child[] = [];
  private readonly dirs: string[] = [];
  private readonly named = new Map<string, number>();

  /** A bench target (targets.ts); `name` (default: its kind) is how its CPU is reported. */
  async target(kind: string, args: string[] = [], name = kind): Promise<string> {
    const c = await startTarget(kind, args);
    this.children.push(c);
    this.named.set(name, c.pid);
    return str(c.info, "url");
  }

  /** A bench target whose ready line says more than its URL (stub-eca: HTTP and TLS-PSK). */
  async targetChild(kind: string, args: string[], name: string): Promise<Child> {
    const c = await startTarget(kind, args);
    this.children.push(c);
    this.named.set(name, c.pid);
    return c;
  }

  /** `node <script> [args]`: a baseline that is not one of targets.js's kinds; `name` reports its CPU */
  async script(args: string[], name?: string): Promise<Child> {
    const c = await startChild(args);
    this.children.push(c);
    if (name !== undefined) this.named.set(name, c.pid);
    return c;
  }

  /** A `gba` command; `name` (default: the NF in capitals, e.g. "BSF") is how its CPU is reported. */
  async gba(args: string[], env?: NodeJS.ProcessEnv, name = args[0].toUpperCase()): Promise<Child> {
    const c = await startGba(args, env);
    this.children.push(c);
    this.named.set(name, c.pid);
    return c;
  }

  /**
   * The processes named (each with its descendants: cluster workers) and the load generator, for
   * metered(): whose CPU time a measurement reports.
   */
  cpu(...names: string[]): CpuSource[] {
    return [
      ...names.map((name) => {
        const pid = this.named.get(name);
        if (pid === undefined) throw new Error(`bench rig: no process named ${name}`);
        return { name, pid };
      }),
      LOAD_GENERATOR,
    ];
  }

  tmp(prefix: string): string {
    const d = mkdtempSync(join(tmpdir(), `gba-bench-${prefix}-`));
    this.dirs.push(d);
    return d;
  }

  async close(): Promise<void> {
    await stopAll(this.children.splice(0));
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

const QUIET = ["--ephemeral-ports", "--log-level", "warn"];
const workerFlags = (workers: number) => (workers > 1 ? ["--workers", String(workers)] : []);

/** `gba naf` with a stub BSF (the bench subscriber); proxy to `upstream` or serve /whoami. */
export async function ownNaf(
  rig: Rig,
  o: { workers: number; upstream?: string },
): Promise<{ http: string; tlsPsk: string; fqdn: string; child: Child }> {
  const zn = await rig.target("zn-stub");
  const child = await rig.gba([
    "naf",
    ...QUIET,
    "--data",
    rig.tmp("naf"),
    "--bsf",
    zn,
    ...(o.upstream ? ["--upstream", o.upstream] : []),
    ...workerFlags(o.workers),
  ]);
  return {
    http: str(child.info, "naf", "http"),
    tlsPsk: str(child.info, "naf", "tlsPsk"),
    fqdn: str(child.info, "naf", "fqdn"),
    child,
  };
}

/** `gba eca` with a stub BSF, its data root prepared by `prepare` (bindings) before it starts. */
export async function ownEca(rig: Rig, prepare: (dataRoot: string) => Promise<void>): Promise<{ url: string; child: Child }> {
  const zn = await rig.target("zn-stub");
  const data = rig.tmp("eca");
  await prepare(data);
  const config = join(data, "bench-config.json");
  writeFileSync(config, JSON.stringify({ eca: { bsfUrl: zn } }));
  const child = await rig.gba(["eca", ...QUIET, "--data", data, "--config", config]);
  return { url: str(child.info, "eca", "url"), child };
}

export interface OwnStack {
  ub: string;
  zn: string;
  /** Ub realm (BSF FQDN) */
  fqdn: string;
  /** a NAF the BSF knows: its Zn token and FQDN (default configuration) */
  znToken: string;
  nafFqdn: string;
  /** the data root: <data>/hss/ and <data>/bsf/ */
  data: string;
  bsf: Child;
  hss: Child;
}

/**
 * `gba hss` with bench subscribers 0..n-1 and `gba bsf` (N workers) on one fresh data root;
 * `bsf` is a config section over the BSF's defaults (more NAFs); with `store` both keep their
 * state on that Redis Cluster instead of LMDB.
 */
export async function ownStack(
  rig: Rig,
  o: { subscribers: number; workers: number; bsf?: Record<string, unknown>; store?: RedisStoreConfig },
): Promise<OwnStack> {
  const data = rig.tmp("stack");
  await provisionBenchSubscribers(data, o.subscribers, undefined, o.store);
  const config = join(data, "bench-config.json");
  writeFileSync(config, JSON.stringify({ bsf: o.bsf ?? {} }));
  const store = o.store ? ["--store", storeUrl(o.store)] : [];
  // CPU report names: "HSS", "BSF"; "HSS (Redis)", "BSF (Redis)" for a stack on a Redis Cluster
  const named = (nf: string) => (o.store ? `${nf} (Redis)` : nf);
  const hss = await rig.gba(["hss", ...QUIET, "--data", data, ...store], hssChildEnv(), named("HSS"));
  const bsf = await rig.gba(
    [
      "bsf",
      ...QUIET,
      "--data",
      data,
      "--config",
      config,
      ...store,
      "--hss",
      str(hss.info, "hss", "zh"),
      ...workerFlags(o.workers),
    ],
    undefined,
    named("BSF"),
  );
  const naf = defaultConfig().bsf.nafs[0];
  return {
    ub: str(bsf.info, "bsf", "ub"),
    zn: str(bsf.info, "bsf", "zn"),
    fqdn: str(bsf.info, "bsf", "fqdn"),
    znToken: naf.token,
    nafFqdn: naf.fqdns[0],
    data,
    bsf,
    hss,
  };
}
