// HAProxy (Debian `haproxy`, 2.6) as the load balancer in front of NF replicas: one frontend and
// backend per reference point. Ub, Zn and Ua over HTTP Digest run in HTTP mode, so every request
// is balanced on its own (a Ub answer may reach another BSF replica than the one that sent the
// challenge: the shared store must make that work). Ua over TLS-PSK runs in TCP mode: HAProxy
// cannot terminate a TLS-PSK handshake keyed by Ks_NAF, so the byte stream goes through untouched
// and one connection stays on one replica. Health checks take a replica out after `fall` failed
// probes and back after `rise` good ones; `option redispatch` with retries sends a request whose
// connection attempt failed to another replica, so a killed replica costs no request once it is
// marked down, and at most the requests in flight on it before.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { onPath } from "./container.js";
import { TopologyError } from "./types.js";
import { startWatchdog, type Watchdog } from "./watchdog.js";

const exec = promisify(execFile);
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,31}$/;

export interface LbServer {
  name: string;
  host: string;
  port: number;
}

export interface LbService {
  /** frontend and backend name, e.g. "ub", "zn", "ua_http", "ua_tls_psk" */
  name: string;
  mode: "http" | "tcp";
  bind: { host: string; port: number };
  servers: LbServer[];
  /** HTTP mode: GET `path`, healthy when the status matches `status` (a regex, default ^2); TCP mode: a connect */
  check?: { path: string; status?: string };
}

export interface HaproxyOptions {
  /** unix socket for `show stat` and server state changes */
  statsSocket: string;
  /** health check interval, failures to mark a server down, successes to mark it up */
  checkIntervalMs?: number;
  fall?: number;
  rise?: number;
  /** worker threads (default 1: the replicas, not the balancer, are under test) */
  threads?: number;
  maxconn?: number;
}

function checkService(s: LbService): void {
  if (!NAME.test(s.name)) throw new TopologyError(`load balancer service name "${s.name}" is not a HAProxy name`);
  if (s.servers.length === 0) throw new TopologyError(`load balancer service ${s.name} has no servers`);
  for (const srv of s.servers) {
    if (!NAME.test(srv.name)) throw new TopologyError(`server name "${srv.name}" of ${s.name} is not a HAProxy name`);
    if (!Number.isInteger(srv.port) || srv.port < 1 || srv.port > 65535)
      throw new TopologyError(`server ${srv.name} of ${s.name}: port ${srv.port}`);
  }
  if (s.check && !s.check.path.startsWith("/")) throw new TopologyError(`health check path of ${s.name} must start with "/"`);
  if (s.check && /\s/.test(s.check.path + (s.check.status ?? "")))
    throw new TopologyError(`health check of ${s.name} must not contain spaces`);
}

/** haproxy.cfg for the services. */
export function haproxyConfig(services: LbService[], o: HaproxyOptions): string {
  const names = new Set<string>();
  for (const s of services) {
    checkService(s);
    if (names.has(s.name)) throw new TopologyError(`load balancer service ${s.name} appears twice`);
    names.add(s.name);
  }
  const out = [
    "global",
    // without maxconn HAProxy derives it from the file-descriptor limit
    ...(o.maxconn === undefined ? [] : [`    maxconn ${o.maxconn}`]),
    `    nbthread ${o.threads ?? 1}`,
    `    stats socket ${o.statsSocket} mode 600 level admin`,
    "",
    "defaults",
    "    timeout connect 2s",
    "    timeout client 60s",
    "    timeout server 60s",
    "    timeout http-request 10s",
    "    timeout http-keep-alive 10s",
    // a failed connection attempt is retried, on another server
    "    retries 2",
    "    option redispatch",
    `    default-server inter ${o.checkIntervalMs ?? 500} fall ${o.fall ?? 2} rise ${o.rise ?? 2}`,
  ];
  for (const s of services) {
    out.push(
      "",
      `frontend ${s.name}`,
      `    mode ${s.mode}`,
      `    bind ${s.bind.host}:${s.bind.port}`,
      `    default_backend ${s.name}`,
      "",
      `backend ${s.name}`,
      `    mode ${s.mode}`,
      // TLS-PSK connections are long-lived: the least loaded replica takes the next one
      `    balance ${s.mode === "tcp" ? "leastconn" : "roundrobin"}`,
    );
    if (s.mode === "http" && s.check) {
      out.push(
        "    option httpchk",
        `    http-check send meth GET uri ${s.check.path}`,
        `    http-check expect rstatus ${s.check.status ?? "^2"}`,
      );
    }
    for (const srv of s.servers) out.push(`    server ${srv.name} ${srv.host}:${srv.port} check`);
  }
  return `${out.join("\n")}\n`;
}

export interface ServerState {
  backend: string;
  server: string;
  /** UP, DOWN, MAINT, "UP 1/2" (going down), ... */
  status: string;
}

export function findHaproxy(env: NodeJS.ProcessEnv = process.env, sbin = "/usr/sbin/haproxy"): string {
  // Debian installs it in /usr/sbin, which a non-root PATH may lack
  const bin = onPath("haproxy", env) ?? (existsSync(sbin) ? sbin : undefined);
  if (!bin) throw new TopologyError("haproxy is not installed: apt-get install haproxy (Debian package haproxy, 2.6)");
  return bin;
}

function statsCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let buf = "";
    c.setEncoding("utf8");
    c.on("data", (d) => {
      buf += d;
    });
    c.on("end", () => resolve(buf));
    c.on("error", reject);
    c.write(`${command}\n`);
  });
}

export class Haproxy {
  private constructor(
    private readonly proc: ReturnType<Watchdog["spawn"]>,
    private readonly watchdog: Watchdog,
    readonly socket: string,
    readonly configFile: string,
  ) {}

  /**
   * Writes <dir>/haproxy.cfg, checks it with `haproxy -c` (refused with HAProxy's own words),
   * starts HAProxy in the foreground (`wrap` runs it elsewhere, e.g. in a namespace) and waits
   * until its stats socket answers.
   */
  static async start(
    services: LbService[],
    o: Omit<HaproxyOptions, "statsSocket"> & { dir: string; wrap?: string[] },
  ): Promise<Haproxy> {
    const bin = findHaproxy();
    const socket = join(o.dir, "haproxy.sock");
    const configFile = join(o.dir, "haproxy.cfg");
    const watchdog = startWatchdog(o.dir);
    writeFileSync(configFile, haproxyConfig(services, { ...o, statsSocket: socket }), { mode: 0o600 });
    try {
      // spawns: haproxy (the binary found on PATH or given)
      await exec(bin, ["-c", "-q", "-f", configFile], { timeout: 10_000 });
    } catch (err) {
      watchdog.stop();
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new TopologyError(`haproxy refuses ${configFile}: ${(e.stderr || e.stdout || e.message).trim()}`);
    }
    const logFile = join(o.dir, "haproxy.log");
    const proc = watchdog.spawn("haproxy", [...(o.wrap ?? []), bin, "-db", "-f", configFile], logFile);
    const h = new Haproxy(proc, watchdog, socket, configFile);
    const until = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        watchdog.stop();
        const log = readFileSync(logFile, "utf8").trim().split("\n").slice(-5).join("\n");
        throw new TopologyError(
          `haproxy exited (${proc.signalCode ?? `code ${proc.exitCode}`}) at start (config ${configFile}):\n${log}`,
        );
      }
      if (
        await statsCommand(socket, "show info").then(
          () => true,
          () => false,
        )
      )
        return h;
      if (Date.now() > until) {
        await h.stop();
        throw new TopologyError("haproxy did not open its stats socket within 10 s");
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Every server's state from `show stat`. */
  async servers(): Promise<ServerState[]> {
    const csv = await statsCommand(this.socket, "show stat");
    const [head, ...rows] = csv.replace(/^# /, "").trim().split("\n");
    const cols = head.split(",");
    const at = (name: string) => cols.indexOf(name);
    return rows
      .map((r) => r.split(","))
      .filter((f) => f[at("svname")] !== "FRONTEND" && f[at("svname")] !== "BACKEND")
      .map((f) => ({ backend: f[at("pxname")], server: f[at("svname")], status: f[at("status")] }));
  }

  /** Resolves once `server` of `backend` reports `status` (e.g. "DOWN" after a replica was killed). */
  async waitFor(backend: string, server: string, status: string, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < until) {
      last = (await this.servers()).find((s) => s.backend === backend && s.server === server)?.status ?? "absent";
      if (last === status) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new TopologyError(`haproxy: ${backend}/${server} is ${last}, not ${status}, after ${timeoutMs / 1000} s`);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const gone = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 3000);
      await gone;
      clearTimeout(timer);
    }
    this.watchdog.stop();
  }
}
