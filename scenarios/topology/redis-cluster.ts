// A real Redis Cluster of Debian's `redis-server` (≥ 7) for tests and the multi-host topology:
// 2N nodes (each its own directory, config, log), joined by `redis-cli --cluster create
// --cluster-replicas 1` into N primaries with one replica each, ready once every node reports
// cluster_state:ok and every replica's link to its primary is up. A node may run elsewhere
// (`wrap`, e.g. `ip netns exec NS`). Faults: kill -9 a primary and wait until its replica is
// promoted; stall a replica so the primary's next writes are acknowledged but never replicated
// (what async replication loses in a failover); restart a killed node (it rejoins as a replica).
//
// Persistence is off (`appendonly no`, `save ""`): what the cluster keeps across a failover
// comes from replication only, which is the path under test; an AOF would add fsync traffic on
// a shared machine and change nothing a failover test can observe. (The Kubernetes manifests
// turn AOF on: there a whole-cluster restart must not lose subscribers.)
//
// No orphans: the nodes run under a watchdog (./watchdog.ts) that kills them if the owning
// process dies first, also by SIGKILL.
import { type ChildProcess, execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { onPath } from "./container.js";
import { startWatchdog, type Watchdog } from "./watchdog.js";

const exec = promisify(execFile);

export interface RedisNodeSpec {
  /** address the node binds and announces (an IP) */
  host: string;
  port: number;
  /** cluster bus port (Redis's default would be port + 10000) */
  busPort: number;
  /** command prefix that runs the node elsewhere, e.g. ["ip", "netns", "exec", "gba-1-redis3"] */
  wrap?: string[];
}

export interface RedisClusterOptions {
  /** root directory; each node keeps its files in <dir>/node-<host>-<port>/ */
  dir: string;
  /** 2N nodes: N primaries with one replica each */
  nodes: RedisNodeSpec[];
  /** cluster-node-timeout: how long a primary may be unreachable before its replica takes over */
  nodeTimeoutMs?: number;
  /** extra redis.conf lines for every node */
  extraConfig?: string[];
  readyTimeoutMs?: number;
  redisServer?: string;
  redisCli?: string;
  /** a command prefix for redis-cli (it must reach the nodes), e.g. the core namespace */
  cliWrap?: string[];
  info?: (line: string) => void;
}

export class RedisClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisClusterError";
  }
}

export interface RedisClusterNode {
  readonly spec: RedisNodeSpec;
  readonly dir: string;
  /** the cluster node id (40 hex), known once the cluster is created */
  id: string;
  proc?: ChildProcess;
  /** "host:port" */
  readonly address: string;
}

interface NodeView {
  id: string;
  address: string;
  role: "master" | "slave";
  failed: boolean;
  masterId?: string;
  slots: Array<[number, number]>;
}

/** The Debian packages that ship the binaries, for the error when one is missing. */
export function findRedisBinaries(o: { redisServer?: string; redisCli?: string } = {}): { server: string; cli: string } {
  const server = o.redisServer ?? onPath("redis-server");
  if (!server)
    throw new RedisClusterError(
      "redis-server is not installed: apt-get install redis-server (Debian package redis-server, Redis ≥ 7)",
    );
  const cli = o.redisCli ?? onPath("redis-cli");
  if (!cli) throw new RedisClusterError("redis-cli is not installed: apt-get install redis-tools (Debian package redis-tools)");
  return { server, cli };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function parseClusterNodes(text: string): NodeView[] {
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const f = line.split(" ");
      const flags = f[2].split(",");
      const slots: Array<[number, number]> = [];
      for (const s of f.slice(8)) {
        if (s.startsWith("[")) continue; // slot being migrated or imported
        const [a, b] = s.split("-").map(Number);
        slots.push([a, b ?? a]);
      }
      return {
        id: f[0],
        address: f[1].split("@")[0],
        role: flags.includes("master") ? "master" : "slave",
        failed: flags.includes("fail") || flags.includes("fail?"),
        masterId: f[3] === "-" ? undefined : f[3],
        slots,
      } satisfies NodeView;
    });
}

export class RedisCluster {
  readonly nodes: RedisClusterNode[];
  private readonly bin: { server: string; cli: string };
  private watchdog?: Watchdog;
  private readonly conns = new Map<string, Redis>();
  private stopped = false;

  private constructor(private readonly o: RedisClusterOptions) {
    // spawns: redis-server, redis-cli (found on PATH or given)
    this.bin = findRedisBinaries(o);
    if (o.nodes.length < 6 || o.nodes.length % 2 !== 0) {
      throw new RedisClusterError(`a cluster needs 2N nodes with N ≥ 3 primaries (got ${o.nodes.length} nodes)`);
    }
    this.nodes = o.nodes.map((spec) => ({
      spec,
      dir: join(o.dir, `node-${spec.host.replace(/[^A-Za-z0-9.]/g, "_")}-${spec.port}`),
      id: "",
      address: `${spec.host}:${spec.port}`,
    }));
  }

  /** Starts every node, creates the cluster and waits until it serves every slot with replicas in sync. */
  static async start(o: RedisClusterOptions): Promise<RedisCluster> {
    const c = new RedisCluster(o);
    try {
      await c.boot();
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** Seed addresses for a client. */
  get seeds(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: n.spec.host, port: n.spec.port }));
  }

  private info(line: string): void {
    this.o.info?.(line);
  }

  private async boot(): Promise<void> {
    this.watchdog = startWatchdog(this.o.dir);
    for (const n of this.nodes) {
      mkdirSync(n.dir, { recursive: true, mode: 0o700 });
      writeFileSync(join(n.dir, "redis.conf"), this.configOf(n), { mode: 0o600 });
      this.spawnNode(n);
    }
    for (const n of this.nodes) await this.waitAnswers(n);
    const cli = [...(this.o.cliWrap ?? []), this.bin.cli];
    const args = ["--cluster", "create", ...this.nodes.map((n) => n.address), "--cluster-replicas", "1", "--cluster-yes"];
    try {
      await exec(cli[0], [...cli.slice(1), ...args], { timeout: 30_000 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new RedisClusterError(`redis-cli --cluster create failed: ${(e.stderr || e.stdout || e.message).trim().slice(-800)}`);
    }
    await this.waitHealthy(this.nodes, this.o.readyTimeoutMs ?? 30_000);
    this.info(
      `redis cluster: ${this.nodes.length / 2} primaries + ${this.nodes.length / 2} replicas on ${this.nodes.map((n) => n.address).join(" ")}`,
    );
  }

  private configOf(n: RedisClusterNode): string {
    const lines = [
      `port ${n.spec.port}`,
      `bind ${n.spec.host}`,
      // the nodes bind test addresses only (loopback or private namespace links) and have no password
      "protected-mode no",
      "cluster-enabled yes",
      `cluster-port ${n.spec.busPort}`,
      `cluster-announce-ip ${n.spec.host}`,
      "cluster-config-file nodes.conf",
      `cluster-node-timeout ${this.o.nodeTimeoutMs ?? 15_000}`,
      `dir ${n.dir}`,
      `logfile ${join(n.dir, "redis.log")}`,
      "daemonize no",
      "appendonly no",
      'save ""',
      // a replica syncs at once instead of waiting 5 s for more replicas to join a diskless transfer
      "repl-diskless-sync-delay 0",
      ...(this.o.extraConfig ?? []),
    ];
    return `${lines.join("\n")}\n`;
  }

  private spawnNode(n: RedisClusterNode): void {
    if (!this.watchdog) throw new RedisClusterError("the cluster is not started");
    n.proc = this.watchdog.spawn(basename(n.dir), [...(n.spec.wrap ?? []), this.bin.server, join(n.dir, "redis.conf")]);
  }

  private conn(n: RedisClusterNode): Redis {
    let c = this.conns.get(n.address);
    if (!c) {
      c = new Redis({
        host: n.spec.host,
        port: n.spec.port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        connectTimeout: 1000,
      });
      c.on("error", () => {}); // polled: a refused connection is an answer here
      this.conns.set(n.address, c);
    }
    return c;
  }

  private dropConn(n: RedisClusterNode): void {
    this.conns.get(n.address)?.disconnect();
    this.conns.delete(n.address);
  }

  /**
   * Sends one command to one node; undefined when the node does not answer. With `cliWrap` the
   * nodes live where this process cannot connect (other namespaces): redis-cli goes there.
   */
  async command(n: RedisClusterNode, ...args: string[]): Promise<string | undefined> {
    if (this.o.cliWrap) {
      const cli = [...this.o.cliWrap, this.bin.cli, "--raw", "-h", n.spec.host, "-p", String(n.spec.port), ...args];
      try {
        return (await exec(cli[0], cli.slice(1), { timeout: 3000 })).stdout.replace(/\n$/, "");
      } catch {
        return undefined;
      }
    }
    const c = this.conn(n);
    try {
      if (c.status === "wait" || c.status === "end" || c.status === "close") {
        if (c.status !== "wait") {
          this.dropConn(n);
          return this.command(n, ...args);
        }
        await c.connect();
      }
      const r = await c.call(args[0], ...args.slice(1));
      return r === null ? "" : String(r);
    } catch {
      this.dropConn(n);
      return undefined;
    }
  }

  private async waitAnswers(n: RedisClusterNode, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (n.proc && n.proc.exitCode !== null) break;
      if ((await this.command(n, "PING")) === "PONG") return;
      await sleep(50);
    }
    throw new RedisClusterError(`redis node ${n.address} did not start (see ${join(n.dir, "redis.log")}):\n${this.logTail(n)}`);
  }

  logTail(n: RedisClusterNode, lines = 12): string {
    try {
      return readFileSync(join(n.dir, "redis.log"), "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** The cluster as `node` sees it (CLUSTER NODES), or undefined when it does not answer. */
  async view(n: RedisClusterNode): Promise<NodeView[] | undefined> {
    const text = await this.command(n, "CLUSTER", "NODES");
    return text === undefined ? undefined : parseClusterNodes(text);
  }

  private alive(): RedisClusterNode[] {
    return this.nodes.filter((n) => n.proc && n.proc.exitCode === null && n.proc.signalCode === null);
  }

  /** Every live node: cluster_state:ok, all slots served; every live replica: link to its primary up. */
  private async waitHealthy(nodes: RedisClusterNode[], timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let why = "";
    while (Date.now() < until) {
      why = await this.unhealthy(nodes);
      if (why === "") {
        await this.learnIds();
        return;
      }
      await sleep(100);
    }
    throw new RedisClusterError(`redis cluster not ready within ${timeoutMs / 1000} s: ${why}`);
  }

  private async unhealthy(nodes: RedisClusterNode[]): Promise<string> {
    for (const n of nodes) {
      const info = await this.command(n, "CLUSTER", "INFO");
      if (info === undefined) return `${n.address} does not answer`;
      if (!/cluster_state:ok/.test(info)) return `${n.address}: ${/cluster_state:\w+/.exec(info)?.[0] ?? "no state"}`;
      if (!/cluster_slots_assigned:16384/.test(info)) return `${n.address}: not every slot is assigned`;
      const repl = await this.command(n, "INFO", "replication");
      if (repl?.includes("role:slave") && !repl.includes("master_link_status:up")) {
        return `replica ${n.address}: link to its primary is down`;
      }
    }
    return "";
  }

  private async learnIds(): Promise<void> {
    for (const n of this.alive()) {
      const v = await this.view(n);
      const me = v?.find((x) => x.address === n.address);
      if (me) n.id = me.id;
    }
  }

  /** The current topology as the first answering node sees it. */
  async topology(): Promise<NodeView[]> {
    for (const n of this.alive()) {
      const v = await this.view(n);
      if (v) return v;
    }
    throw new RedisClusterError("no redis node answers");
  }

  nodeAt(address: string): RedisClusterNode {
    const n = this.nodes.find((x) => x.address === address);
    if (!n) throw new RedisClusterError(`no node ${address} in this cluster`);
    return n;
  }

  /** The primary that serves `slot` now. */
  async primaryOfSlot(slot: number): Promise<RedisClusterNode> {
    const v = await this.topology();
    const p = v.find((x) => x.role === "master" && !x.failed && x.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!p) throw new RedisClusterError(`no live primary serves slot ${slot}`);
    return this.nodeAt(p.address);
  }

  async primaries(): Promise<RedisClusterNode[]> {
    const v = await this.topology();
    return v.filter((x) => x.role === "master" && !x.failed && x.slots.length > 0).map((x) => this.nodeAt(x.address));
  }

  async replicaOf(primary: RedisClusterNode): Promise<RedisClusterNode> {
    const v = await this.topology();
    const r = v.find((x) => x.masterId === primary.id && !x.failed);
    if (!r) throw new RedisClusterError(`primary ${primary.address} has no live replica`);
    return this.nodeAt(r.address);
  }

  /**
   * Makes the primary's next writes unreplicated: its replica is stopped (SIGSTOP) and its
   * replication link cut, so they are acknowledged to clients and exist on the primary only.
   * Keep the stall shorter than the node timeout. Returns the stalled replica; `resume` it.
   */
  async stallReplication(primary: RedisClusterNode): Promise<RedisClusterNode> {
    const replica = await this.replicaOf(primary);
    replica.proc?.kill("SIGSTOP");
    await this.command(primary, "CLIENT", "KILL", "TYPE", "replica");
    return replica;
  }

  resume(node: RedisClusterNode): void {
    node.proc?.kill("SIGCONT");
  }

  /**
   * kill -9 of a primary; resolves once its replica serves the primary's slots and every live
   * node reports cluster_state:ok again. `resumeFirst` continues a stalled replica right after the kill.
   */
  async killPrimary(
    primary: RedisClusterNode,
    o: { resumeFirst?: RedisClusterNode; timeoutMs?: number } = {},
  ): Promise<{ promoted: RedisClusterNode; failoverMs: number }> {
    const replica = o.resumeFirst ?? (await this.replicaOf(primary));
    const started = Date.now();
    await this.kill(primary);
    if (o.resumeFirst) this.resume(o.resumeFirst);
    const timeoutMs = o.timeoutMs ?? Math.max(20_000, (this.o.nodeTimeoutMs ?? 15_000) * 4);
    const until = started + timeoutMs;
    while (Date.now() < until) {
      const v = await this.view(replica);
      if (v?.find((x) => x.address === replica.address && x.role === "master" && x.slots.length > 0)) {
        await this.waitHealthy(this.alive(), Math.max(1000, until - Date.now()));
        return { promoted: replica, failoverMs: Date.now() - started };
      }
      await sleep(50);
    }
    throw new RedisClusterError(
      `replica ${replica.address} was not promoted within ${timeoutMs / 1000} s after ${primary.address} died`,
    );
  }

  /** SIGKILL a node and wait until it is gone. */
  async kill(n: RedisClusterNode): Promise<void> {
    const p = n.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await gone;
    this.dropConn(n);
  }

  /** Starts a killed node again (it rejoins as a replica) and waits until its link is up. */
  async restart(n: RedisClusterNode, timeoutMs = 30_000): Promise<void> {
    this.spawnNode(n);
    await this.waitAnswers(n);
    await this.waitHealthy([n], timeoutMs);
  }

  /** Stops every node (SIGKILL: nothing to persist), the watchdog, and removes the directory when asked. */
  async stop(o: { removeDir?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.conns.values()) c.disconnect();
    this.conns.clear();
    for (const n of this.nodes) {
      n.proc?.kill("SIGCONT");
      await this.kill(n);
    }
    this.watchdog?.stop();
    if (o.removeDir) rmSync(this.o.dir, { recursive: true, force: true });
  }
}
