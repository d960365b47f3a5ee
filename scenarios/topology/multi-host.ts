// `multi-host` (Linux, root; Debian redis-server and haproxy): the deployment of issue 20 on one
// machine, with network namespaces as hosts (./multi-host-net.ts): N BSF and N NAF replicas and
// H HSS replicas as real `gba` processes, each in its own namespace, every store on a P-primary +
// P-replica Redis Cluster, HAProxy in front of Zh, Ub, Zn and Ua, one ECA, and the UE population
// in a namespace of its own reaching Ub and Ua through HAProxy.
//
// The runner provisions the cluster from the UE host (./provision-worker.ts), starts the NFs,
// and around the scenario's own flows checks what only several replicas can show, with clients
// that are not the scenario's UE engine (./multi-host-probe.ts): a B-TID bootstrapped through one
// BSF replica is served on Zn by every other; a new bootstrap of the IMPI makes every replica
// answer 404 for the old one; an Ua Digest answer accepted by one NAF replica is refused by every
// other as a nonce-count replay. Faults (`faults`) kill -9 a BSF or NAF replica during the load
// phase: HAProxy must route around it, every failed flow must carry a declared cause, and the
// sessions bootstrapped before the kill must still be served (lost sessions 0). A short
// `gba bench zn` through HAProxy gives the deployment's Zn p99.
//
// Everything goes with stop(), also after a failed start: the NF processes, HAProxy and the
// Redis nodes (under their watchdog), then the namespaces with whatever still runs in them; the
// namespaces also go at exit and at the next start after a killed run.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseStoreOption } from "../../nf/common/store/redis-config.js";
import type { GbaConfig } from "../../nf/config.js";
import type { EngineEvent } from "../engine/events.js";
import { packageRoot } from "../load.js";
import type { MultiHostTopology } from "../types.js";
import type { AssertionResult } from "../verdict.js";
import { type Child, spawnChild, stopAll } from "./children.js";
import { findHaproxy } from "./haproxy.js";
import { type Bootstrapped, MultiHostProbe } from "./multi-host-probe.js";
import { MULTI_HOST_PORTS as P, type MultiHostNet, startMultiHostNet } from "./multi-host-net.js";
import { checkNetnsBackend, runUeInNamespace } from "./netns.js";
import { gbaMain } from "./process.js";
import type { ProvisionJob } from "./provision-worker.js";
import { findRedisBinaries, RedisClusterError } from "./redis-cluster.js";
import { type Deployment, type TopologyContext, TopologyError, type TopologyFindings } from "./types.js";

const exec = promisify(execFile);
type Nf = "hss" | "bsf" | "naf" | "eca";
/** the probe's own subscriber and the Zn bench's, outside the scenario's IMSI ranges */
const PROBE_IMSI = "001019990000000";
const BENCH_IMSI_PREFIX = "00101998";
const BENCH_SUBSCRIBERS = 32;
const BENCH_CONNECTIONS = 16;
/**
 * Causes a failed flow may declare at any time: the documented 503s of an NF that is overloaded
 * (NF_CONGESTION, TS 29.500 §5.2.7.2) or whose peer or store does not answer (the BSF's Zh,
 * the NAF's Zn: *_UNAVAILABLE), and the runner's own flow timeout.
 */
const OVERLOAD_CAUSES = new Set([
  "NF_CONGESTION",
  "HSS_UNAVAILABLE",
  "BSF_UNAVAILABLE",
  "FST_GBA_BSF_UNAVAILABLE",
  "STORE_UNAVAILABLE",
  "FLOW_TIMEOUT",
]);
/**
 * Causes of a request that was in flight on a replica when it was killed: HAProxy's 502 (it
 * retries only a failed connection, not a request already sent) and a connection closed under
 * the client. Declared only between a kill and KILL_WINDOW_MS after HAProxy marked it down.
 */
const KILL_CAUSES = new Set(["HTTP_502", "UND_ERR_SOCKET", "ECONNRESET"]);
const KILL_WINDOW_MS = 2000;

/** `topology.multiHost` with its defaults filled in */
type MultiHostSettings = Required<Omit<MultiHostTopology, "faults">> & Pick<MultiHostTopology, "faults">;

export const MULTI_HOST_DEFAULTS: Required<Omit<MultiHostTopology, "faults">> = {
  replicas: 2,
  hss: 2,
  redisPrimaries: 3,
  redisNodeTimeoutMs: 2000,
  haproxyCheckMs: 500,
  checks: true,
  znBenchSeconds: 3,
};

/** What the schema cannot say about `topology.multiHost`: faults name existing replicas and leave one of each. */
export function checkMultiHostShape(t: MultiHostTopology | undefined): void {
  const replicas = t?.replicas ?? MULTI_HOST_DEFAULTS.replicas;
  const killed = { bsf: new Set<number>(), naf: new Set<number>() };
  for (const [i, f] of (t?.faults ?? []).entries()) {
    if (f.replica > replicas)
      throw new RangeError(
        `topology.multiHost.faults[${i}]: replica ${f.replica} of ${replicas} ${f.kill.toUpperCase()} replicas`,
      );
    killed[f.kill].add(f.replica);
  }
  for (const nf of ["bsf", "naf"] as const)
    if (killed[nf].size >= replicas)
      throw new RangeError(`topology.multiHost.faults kill every ${nf.toUpperCase()} replica: leave one for HAProxy to route to`);
}

export interface MultiHostHostDeps {
  uid: number | undefined;
  /** throw naming the Debian package when a binary is missing */
  findRedis: () => unknown;
  findHaproxy: () => unknown;
}

/** Root, iproute2, redis-server/redis-cli and haproxy, before anything is provisioned. */
export async function checkMultiHost(deps: Partial<MultiHostHostDeps> = {}): Promise<void> {
  const d: MultiHostHostDeps = { uid: process.getuid?.(), findRedis: findRedisBinaries, findHaproxy, ...deps };
  if (process.platform !== "linux")
    throw new TopologyError(`multi-host topology: Linux network namespaces are needed (this is ${process.platform})`);
  if (d.uid !== 0)
    throw new TopologyError(
      "multi-host topology: must run as root (network namespaces and veth pairs need CAP_NET_ADMIN); use sudo",
    );
  await checkNetnsBackend();
  for (const find of [d.findRedis, d.findHaproxy]) {
    try {
      find();
    } catch (err) {
      if (err instanceof RedisClusterError || err instanceof TopologyError)
        throw new TopologyError(`multi-host topology: ${err.message}`);
      throw err;
    }
  }
}

/** One NF's configuration on its host: listeners on the host's address, peers through HAProxy, the cluster as store. */
export function hostConfig(base: GbaConfig, net: MultiHostNet, host: string, dataRoot: string): GbaConfig {
  const c = structuredClone(base);
  const a = net.address(host);
  const lb = net.address(net.hosts.lb);
  c.data = join(dataRoot, host);
  c.store = parseStoreOption(net.storeUrl, "multi-host store");
  c.hss.zh = { host: a, port: P.zh };
  c.hss.admin = { host: "127.0.0.1", port: 7002 };
  c.bsf.ub = { host: a, port: P.ub };
  c.bsf.zn = { host: a, port: P.zn };
  c.bsf.hssUrl = `http://${lb}:${P.zh}`;
  c.naf.http = { host: a, port: P.uaHttp };
  c.naf.tlsPsk = { host: a, port: P.uaTlsPsk };
  c.naf.bsfUrl = `http://${lb}:${P.zn}`;
  c.eca.http = { host: a, port: P.ecaHttp };
  c.eca.tlsPsk = { host: a, port: P.ecaTlsPsk };
  c.eca.bsfUrl = `http://${lb}:${P.zn}`;
  return c;
}

/** `url` with its host replaced (the load balancer listens on every NF port). */
function atHost(url: string, host: string): string {
  const u = new URL(url);
  u.hostname = host;
  return u.toString().replace(/\/$/, "");
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

/** A fault of the load phase that happened: which replica, when, and when HAProxy marked it down. */
interface FaultRecord {
  kill: "bsf" | "naf";
  host: string;
  /** ms from the kill until HAProxy's health check marked it DOWN in every service it serves */
  downAfterMs?: number;
  /** ms into the load phase: the kill */
  loadMs: number;
  error?: string;
}

export async function startMultiHost(ctx: TopologyContext): Promise<Deployment> {
  await checkMultiHost();
  const mh: MultiHostSettings = {
    ...MULTI_HOST_DEFAULTS,
    ...ctx.multiHost,
  };
  if (!ctx.provision) throw new TopologyError("multi-host topology: no provisioning job (the runner gives one)");
  const logDir = join(ctx.workDir, "logs");
  const confDir = join(ctx.workDir, "config");
  const dataRoot = join(ctx.workDir, "hosts");
  await mkdir(logDir, { recursive: true });
  await mkdir(confDir, { recursive: true, mode: 0o700 });
  const net = await startMultiHostNet({
    replicas: mh.replicas,
    hss: mh.hss,
    redisPrimaries: mh.redisPrimaries,
    dir: join(ctx.workDir, "net"),
    redisNodeTimeoutMs: mh.redisNodeTimeoutMs,
    checkIntervalMs: mh.haproxyCheckMs,
    info: ctx.info,
  });
  const children: Child[] = [];
  const byHost = new Map<string, Child>();
  const stop = async () => {
    await stopAll(children);
    await net.stop();
  };
  try {
    // one master key for the run, to every HSS replica and the provisioning (never written out)
    const env = { ...process.env, GBA_MASTER_KEY: randomHex(32) };
    const node = process.execPath;
    const main = gbaMain();
    const ue = net.hosts.ue;

    // the probe's USIM and the bench's subscribers, provisioned with the scenario's
    const usimFile = join(ctx.workDir, "probe-usim.json");
    const probeK = randomHex(16);
    const probeOpc = randomHex(16);
    const made = await exec(node, [
      main,
      "usim",
      "new",
      "--k",
      probeK,
      "--opc",
      probeOpc,
      "--imsi",
      PROBE_IMSI,
      "--out",
      usimFile,
    ]);
    const probeImpi = (JSON.parse(made.stdout) as { impi: string }).impi;
    const bench = Array.from({ length: BENCH_SUBSCRIBERS }, (_, i) => ({
      impi: `${BENCH_IMSI_PREFIX}${String(i).padStart(7, "0")}@ims.mnc001.mcc001.3gppnetwork.org`,
      k: randomHex(16),
      opc: randomHex(16),
    }));
    const benchCsv = join(ctx.workDir, "zn-bench-subscribers.csv");
    await writeFile(benchCsv, `impi,k,opc\n${bench.map((b) => `${b.impi},${b.k},${b.opc}`).join("\n")}\n`, { mode: 0o600 });
    const extra = [
      { impi: probeImpi, imsi: PROBE_IMSI, k: probeK, opc: probeOpc },
      ...bench.map((b) => ({ ...b, imsi: b.impi.split("@")[0] })),
    ].map((s, i) => ({
      label: s.impi,
      input: {
        impi: s.impi,
        imsi: s.imsi,
        msisdn: `88299${String(i).padStart(7, "0")}`,
        k: s.k,
        opc: s.opc,
        sqn: "000000000000",
      },
    }));
    const job: ProvisionJob = {
      cfg: hostConfig(ctx.cfg, net, ue, dataRoot),
      rows: [...ctx.provision.rows, ...extra],
      bindings: ctx.provision.bindings,
    };
    const jobFile = join(confDir, "provision.json");
    await writeFile(jobFile, JSON.stringify(job), { mode: 0o600 });
    const worker = join(packageRoot(), "dist", "scenarios", "topology", "provision-worker.js");
    const provisioned = await exec("ip", net.star.exec(ue, [node, worker, jobFile]).slice(1), { env, timeout: 120_000 }).then(
      (r) => JSON.parse(r.stdout) as { subscribers: number; bindings: number },
      (err: { stderr?: string; message: string }) => {
        throw new TopologyError(`multi-host: provisioning the Redis Cluster failed: ${(err.stderr || err.message).trim()}`);
      },
    );
    ctx.info(
      `multi-host: ${provisioned.subscribers} subscribers (${ctx.provision.rows.length} of the scenario, ` +
        `1 probe, ${BENCH_SUBSCRIBERS} Zn bench) and ${provisioned.bindings} bindings on the Redis Cluster`,
    );

    // every NF at once: the cluster already holds the key check
    const placed: Array<{ nf: Nf; host: string }> = [
      ...net.hosts.hss.map((host) => ({ nf: "hss" as const, host })),
      ...net.hosts.bsf.map((host) => ({ nf: "bsf" as const, host })),
      ...net.hosts.naf.map((host) => ({ nf: "naf" as const, host })),
      { nf: "eca", host: net.hosts.eca },
    ];
    const started = await Promise.allSettled(
      placed.map(async ({ nf, host }) => {
        const file = join(confDir, `${host}.json`);
        // the config file names the store as `--store` does: seed nodes as "HOST:PORT"
        const store = { backend: "redis", nodes: net.hosts.redis.map((r) => `${net.address(r)}:${P.redis}`) };
        const cfg = { ...hostConfig(ctx.cfg, net, host, dataRoot), store };
        await writeFile(file, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
        const child = await spawnChild({
          name: `gba ${nf} on ${host}`,
          command: "ip",
          args: net.star.exec(host, [node, main, nf, "--config", file]).slice(1),
          logFile: join(logDir, `${host}.log`),
          env,
          readyTimeoutMs: 60_000,
        });
        children.push(child);
        byHost.set(host, child);
        return child;
      }),
    );
    const failed = started.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const [service, hosts] of [
      ["zh", net.hosts.hss],
      ["ub", net.hosts.bsf],
      ["zn", net.hosts.bsf],
      ["ua_http", net.hosts.naf],
      ["ua_tls_psk", net.hosts.naf],
    ] as const)
      for (const h of hosts) await net.lb.waitFor(service, h, "UP", 30_000);
    ctx.info(
      `multi-host: ${net.hosts.hss.length} HSS, ${net.hosts.bsf.length} BSF, ${net.hosts.naf.length} NAF replicas and the ECA ready, ` +
        `each in its own namespace; HAProxy on ${net.address(net.hosts.lb)} in front of Zh, Ub, Zn and Ua`,
    );

    const lb = net.address(net.hosts.lb);
    const eca = byHost.get(net.hosts.eca)!.ready.eca as Record<string, string>;
    const naf = byHost.get(net.hosts.naf[0])!.ready.naf as Record<string, string>;
    const probe = new MultiHostProbe({
      star: net.star,
      ueHost: ue,
      node,
      gbaMain: main,
      usimFile,
      bsfFqdn: ctx.cfg.bsf.fqdn,
      nafFqdn: ctx.cfg.naf.fqdn,
      znToken: ctx.cfg.naf.znToken,
      ports: P,
    });
    const session = new MultiHostSession(net, probe, mh, byHost, ctx.info);
    const ueProc: { pid?: number } = {};
    return {
      backend: "multi-host",
      endpoints: {
        bsfUb: `http://${lb}:${P.ub}`,
        bsfFqdn: ctx.cfg.bsf.fqdn,
        nafHttp: `http://${lb}:${P.uaHttp}`,
        nafTlsPsk: atHost(naf.tlsPsk, lb),
        nafFqdn: ctx.cfg.naf.fqdn,
        ecaHttp: eca.url,
        ecaTlsPsk: eca.tlsPsk,
        ecaFqdn: ctx.cfg.eca.fqdn,
      },
      logDir,
      provisioned,
      runUe: async (input, emit, signal) => {
        if (mh.checks) await session.before(signal);
        await runUeInNamespace(
          net.star.ns(ue),
          input,
          (e) => {
            session.observe(e, signal);
            emit(e);
          },
          signal,
          ctx.workDir,
          logDir,
          ueProc,
        );
        await session.after(signal, benchCsv, mh.checks);
      },
      cpu: () => ({
        sources: [
          ...placed.map(({ host }) => ({ name: host, pid: byHost.get(host)?.proc.pid as number })),
          ...(ueProc.pid === undefined ? [] : [{ name: "load generator", pid: ueProc.pid }]),
        ],
        note: "per replica (hss1, bsf1, …); load generator: the UE worker process in its namespace; Redis and HAProxy not counted",
      }),
      findings: () => session.findings(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The checks, faults and figures of one multi-host run. */
class MultiHostSession {
  private readonly checks: AssertionResult[] = [];
  private readonly faults: FaultRecord[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly pending: Array<Promise<void>> = [];
  private resyncs = 0;
  private rebootstraps = 0;
  private readonly loadFailures: Array<{ cause: string; endedAt: number }> = [];
  /** performance.now() when the load phase started */
  private loadT0 = 0;
  /** the probe's current session, bootstrapped before the load phase */
  private kept: Bootstrapped | undefined;
  private lostSessions = 0;
  private zn: { perSec: number; p99: number } | undefined;

  constructor(
    private readonly net: MultiHostNet,
    private readonly probe: MultiHostProbe,
    private readonly mh: MultiHostSettings,
    private readonly byHost: Map<string, Child>,
    private readonly info: (line: string) => void,
  ) {}

  private check(name: string, ok: boolean, detail: string): void {
    this.checks.push({ name: `multi-host: ${name}`, ok, detail });
    this.info(`multi-host: ${ok ? "PASS" : "FAIL"} ${name}: ${detail}`);
  }

  private address(host: string): string {
    return this.net.address(host);
  }

  private live(hosts: string[]): string[] {
    return hosts.filter((h) => !this.faults.some((f) => f.host === h));
  }

  /** Zn on every given BSF replica directly: host → status. */
  private async znEverywhere(btid: string, hosts: string[]): Promise<Array<[string, number]>> {
    const out: Array<[string, number]> = [];
    for (const h of hosts) out.push([h, await this.probe.zn(this.address(h), btid)]);
    return out;
  }

  /** The replica checks, before the scenario's flows (each needs two replicas). */
  async before(signal: AbortSignal): Promise<void> {
    const { bsf, naf } = this.net.hosts;
    if (bsf.length < 2) {
      this.info("multi-host: one replica of each NF: the cross-replica checks need two, skipped");
      return;
    }
    const show = (r: Array<[string, number]>) => r.map(([h, s]) => `${h} ${s}`).join(", ");
    try {
      // TS 33.220 §4.5.2: the B-TID names the session in the BSF's (shared) store
      const first = await this.probe.bootstrap(this.address(bsf[0]));
      const served = await this.znEverywhere(first.btid, bsf.slice(1));
      this.check(
        "a B-TID bootstrapped through one BSF replica is served on Zn by the others",
        served.every(([, s]) => s === 200),
        `bootstrapped on ${bsf[0]}; Zn: ${show(served)}`,
      );
      if (signal.aborted) return;
      // TS 33.220 §4.5.2: a new bootstrap of the IMPI replaces its previous session
      const second = await this.probe.bootstrap(this.address(bsf[1]));
      const old = await this.znEverywhere(first.btid, bsf);
      const current = await this.znEverywhere(second.btid, bsf);
      this.check(
        "a new bootstrap supersedes the B-TID on every BSF replica",
        old.every(([, s]) => s === 404) && current.every(([, s]) => s === 200),
        `re-bootstrapped on ${bsf[1]}; old B-TID: ${show(old)}; new: ${show(current)}`,
      );
      this.kept = second;
      if (signal.aborted || naf.length < 2) return;
      // RFC 7616 §3.4 / TS 33.222 §5.3: the nonce count a NAF replica accepted is used up for all
      const ua = await this.probe.uaDigest(this.address(naf[0]), second);
      const replays: string[] = [];
      let refused = ua.status === 200 && ua.authorization !== undefined;
      if (ua.authorization)
        for (const h of [...naf.slice(1), naf[0]]) {
          const r = await this.probe.uaReplay(this.address(h), ua.authorization);
          const ok = r.status === 401 && /nonce-count \S+ was already used/.test(r.body);
          refused &&= ok;
          replays.push(`${h} ${r.status}${ok ? " (nonce-count already used)" : ""}`);
        }
      this.check(
        "an Ua Digest answer accepted by one NAF replica is refused as a nonce-count replay by every replica",
        refused,
        `curl --digest on ${naf[0]}: ${ua.status}; the same Authorization again: ${replays.join(", ") || "none captured"}`,
      );
    } catch (err) {
      this.check("replica checks", false, (err as Error).message.split("\n")[0]);
    }
  }

  /** Counts resyncs and failures; at the load phase's start, schedules the faults. */
  observe(e: EngineEvent, signal: AbortSignal): void {
    if (e.t === "flow") {
      this.resyncs += e.result.resyncs;
      this.rebootstraps += e.result.rebootstraps;
      const cause = e.result.failure?.cause;
      if (e.result.phase === "load" && cause !== undefined) this.loadFailures.push({ cause, endedAt: e.result.endedAt });
    }
    if (e.t === "phase" && e.phase === "load" && e.state === "start") {
      this.loadT0 = performance.now();
      for (const f of this.mh.faults ?? []) {
        const t = setTimeout(() => {
          if (!signal.aborted) this.pending.push(this.kill(f.kill, f.replica, performance.now()));
        }, f.afterSeconds * 1000);
        this.timers.push(t);
      }
    }
  }

  /** kill -9 a replica; waits until HAProxy marks it DOWN in each of its services. */
  private async kill(nf: "bsf" | "naf", replica: number, t0: number): Promise<void> {
    const host = this.net.hosts[nf][replica - 1];
    const child = this.byHost.get(host);
    const rec: FaultRecord = { kill: nf, host, loadMs: t0 - this.loadT0 };
    this.faults.push(rec);
    if (!child) {
      rec.error = `no replica ${host}`;
      return;
    }
    const gone = new Promise((r) => child.proc.once("exit", r));
    child.proc.kill("SIGKILL");
    await gone;
    this.info(`multi-host: fault: kill -9 ${host} (pid ${child.proc.pid})`);
    try {
      for (const service of nf === "bsf" ? ["ub", "zn"] : ["ua_http", "ua_tls_psk"])
        await this.net.lb.waitFor(service, host, "DOWN", 15_000);
      rec.downAfterMs = Math.round(performance.now() - t0);
      this.info(`multi-host: HAProxy marked ${host} DOWN ${rec.downAfterMs} ms after the kill`);
    } catch (err) {
      rec.error = (err as Error).message;
    }
  }

  /** After the flows: the faults' outcome, the kept session, the Zn bench. */
  async after(signal: AbortSignal, benchCsv: string, checks: boolean): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(this.pending);
    if (signal.aborted) return;
    for (const f of this.faults)
      this.check(
        `kill -9 of ${f.kill.toUpperCase()} replica ${f.host} under load`,
        f.error === undefined && f.downAfterMs !== undefined,
        f.error ?? `HAProxy routed around it (DOWN after ${f.downAfterMs} ms)`,
      );
    if ((this.mh.faults ?? []).length > this.faults.length)
      this.check(
        "faults",
        false,
        `${this.mh.faults!.length - this.faults.length} fault(s) did not happen (no load phase, or it ended first)`,
      );
    const declared = (f: { cause: string; endedAt: number }) =>
      OVERLOAD_CAUSES.has(f.cause) ||
      (KILL_CAUSES.has(f.cause) &&
        this.faults.some(
          (k) => f.endedAt >= k.loadMs - KILL_WINDOW_MS && f.endedAt <= k.loadMs + (k.downAfterMs ?? 0) + KILL_WINDOW_MS,
        ));
    const count = (fs: Array<{ cause: string }>) => {
      const by = new Map<string, number>();
      for (const f of fs) by.set(f.cause, (by.get(f.cause) ?? 0) + 1);
      return [...by.entries()].map(([c, n]) => `${c} ${n}`).join(", ");
    };
    const undeclared = this.loadFailures.filter((f) => !declared(f));
    this.check(
      "every failed load flow has a declared cause",
      undeclared.length === 0,
      this.loadFailures.length === 0
        ? "no load flow failed"
        : `failures by cause: ${count(this.loadFailures)}${undeclared.length ? `; undeclared: ${count(undeclared)}` : ""}`,
    );
    try {
      if (checks && this.kept) {
        // the session made before the faults, on every live BSF replica and on Ua through HAProxy
        const bsfs = this.live(this.net.hosts.bsf);
        const zn = await this.znEverywhere(this.kept.btid, bsfs);
        const ua = await this.probe.uaDigest(this.address(this.net.hosts.lb), this.kept);
        const lost = zn.filter(([, s]) => s !== 200).length + (ua.status === 200 ? 0 : 1);
        this.lostSessions += lost > 0 ? 1 : 0;
      }
      this.lostSessions += this.rebootstraps;
      this.check(
        "no session lost",
        this.lostSessions === 0,
        `${this.lostSessions} lost (the probe's session from before the faults on Zn of every live BSF and on Ua through HAProxy; ` +
          `${this.rebootstraps} B-TIDs refused by a NAF during the flows)`,
      );
      if (this.mh.znBenchSeconds > 0) this.zn = await this.znBench(benchCsv);
    } catch (err) {
      this.check("checks after the flows", false, (err as Error).message.split("\n")[0]);
    }
  }

  /** `gba bench zn` from the UE host through HAProxy: Zn lookups/s and p99 of the whole deployment. */
  private async znBench(csv: string): Promise<{ perSec: number; p99: number }> {
    const lb = this.address(this.net.hosts.lb);
    const out = `${csv}.zn.json`;
    const s = String(this.mh.znBenchSeconds);
    const argv = [
      process.execPath,
      gbaMain(),
      "bench",
      "zn",
      "--target",
      `http://${lb}:${P.zn}`,
      "--bsf",
      `http://${lb}:${P.ub}`,
      "--zn-token",
      this.probe.o.znToken,
      "--naf-fqdn",
      this.probe.o.nafFqdn,
      "--subscribers",
      csv,
      "--duration",
      s,
      "--rounds",
      "1",
      "--warmup",
      "1",
      "--connections",
      String(BENCH_CONNECTIONS),
      "--out",
      out,
    ];
    const cmd = this.net.star.exec(this.net.hosts.ue, argv);
    // spawns: ip (ip netns exec <ue host> node … bench zn)
    await exec(cmd[0], cmd.slice(1), { timeout: 120_000 });
    const r = JSON.parse(await readFile(out, "utf8")) as {
      comparisons: Array<{ subject: { perSec: number; latencyMs?: { p99: number } } }>;
    };
    const subject = r.comparisons[0].subject;
    this.info(`multi-host: Zn through HAProxy: ${subject.perSec.toFixed(0)} lookups/s, p99 ${subject.latencyMs?.p99} ms`);
    return { perSec: subject.perSec, p99: subject.latencyMs?.p99 ?? Number.NaN };
  }

  findings(): TopologyFindings {
    const { hosts } = this.net;
    const figures: Record<string, number | string> = {
      hosts: `${hosts.hss.length} HSS, ${hosts.bsf.length} BSF, ${hosts.naf.length} NAF, 1 ECA, Redis ${hosts.redis.length / 2}+${hosts.redis.length / 2}, HAProxy, UE: one namespace each`,
      resyncs: this.resyncs,
      lostSessions: this.lostSessions,
    };
    if (this.zn) {
      figures.znLookupsPerSecond = Math.round(this.zn.perSec);
      figures.znP99Ms = this.zn.p99;
      figures.znBench = `${this.mh.znBenchSeconds} s, ${BENCH_CONNECTIONS} connections, ${BENCH_SUBSCRIBERS} subscribers, through HAProxy`;
    }
    for (const [i, f] of this.faults.entries())
      figures[`fault${i + 1}`] = `kill -9 ${f.host}${f.downAfterMs !== undefined ? `, DOWN after ${f.downAfterMs} ms` : ""}`;
    return { checks: this.checks, figures };
  }
}
