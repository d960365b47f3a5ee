// `netns` (Linux, root): each NF and the UE population in its own network namespace, joined to a
// "core" namespace by one veth pair each. Every link is a private /30 that exists only inside
// the namespaces created here (core .1, leaf .2; the leaf routes via the core, which forwards),
// so no address appears on the host and all traffic stays on this machine. NFs run as
// `ip netns exec <ns> node dist/cli/main.js <nf>`; with latencyMs a user-space TCP proxy in the
// core delays every reference point. Namespaces are removed on stop, on exit and after a
// failure; ones left by a killed run are swept at the next start.
import { execFile, execFileSync, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { GbaConfig } from "../../nf/config.js";
import type { EngineInput } from "../engine/engine.js";
import type { Emit, EngineEvent } from "../engine/events.js";
import { packageRoot } from "../load.js";
import { type Child, cpuName, spawnChild, stopAll } from "./children.js";
import { onPath } from "./container.js";
import { gbaMain, NF_ORDER, type NfName, wiredConfig } from "./process.js";
import { type Deployment, endpointsFrom, type TopologyContext, TopologyError } from "./types.js";

const exec = promisify(execFile);
const PREFIX = "gba-";
const LEAVES = [...NF_ORDER, "ue"] as const;
type Leaf = (typeof LEAVES)[number];

/** The /30 of link n (1-based): core side .1, leaf side .2. */
export function linkAddresses(n: number): { core: string; leaf: string } {
  return { core: `10.77.${n}.1`, leaf: `10.77.${n}.2` };
}

export function namespaceName(runId: number, role: Leaf | "core"): string {
  return `${PREFIX}${runId}-${role}`;
}

export async function checkNetnsBackend(): Promise<void> {
  if (process.platform !== "linux")
    throw new TopologyError("netns backend: Linux network namespaces are needed (this is " + process.platform + ")");
  if (process.getuid?.() !== 0) {
    throw new TopologyError(
      "netns backend: must run as root (creating network namespaces and veth pairs needs CAP_NET_ADMIN); use sudo, or --backend process",
    );
  }
  if (!onPath("ip")) throw new TopologyError("netns backend: the ip command (iproute2) is not on PATH");
}

async function ip(args: string[]): Promise<void> {
  try {
    await exec("ip", args, { timeout: 10_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new TopologyError(`netns backend: ip ${args.join(" ")}: ${(e.stderr ?? e.message).trim()}`);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Our namespaces whose run (pid) is gone: a killed runner could not remove them. */
async function sweepStale(info: (l: string) => void): Promise<void> {
  const { stdout } = await exec("ip", ["netns", "list"]);
  for (const line of stdout.split("\n")) {
    const name = line.split(" ")[0];
    const m = /^gba-(\d+)-(core|hss|bsf|naf|eca|ue)$/.exec(name);
    if (m && !pidAlive(Number(m[1]))) {
      // NFs orphaned by the killed runner still run inside it
      const pids = await exec("ip", ["netns", "pids", name]).then(
        (r) => r.stdout.split("\n").filter(Boolean).map(Number),
        () => [] as number[],
      );
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await ip(["netns", "del", name]).catch(() => undefined);
      info(`netns: removed stale namespace ${name}${pids.length ? ` and its ${pids.length} orphaned processes` : ""}`);
    }
  }
}

function deleteNamespacesSync(names: string[]): void {
  for (const n of names) {
    try {
      execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
}

const PORTS: Record<NfName, Record<string, number>> = {
  hss: { zh: 7001, zhDiameter: 3869 },
  bsf: { ub: 8080, zn: 8081, znDiameter: 3868 },
  naf: { http: 9080, tlsPsk: 9443 },
  eca: { http: 9090, tlsPsk: 9444 },
};

/** Listeners on the NF's leaf address (the HSS admin API stays on the namespace's loopback). */
function placedConfig(cfg: GbaConfig, leafOf: (nf: NfName) => string): GbaConfig {
  const c = structuredClone(cfg);
  c.hss.zh = { host: leafOf("hss"), port: PORTS.hss.zh };
  c.hss.admin = { host: "127.0.0.1", port: 7002 };
  c.hss.diameter.listen = { host: leafOf("hss"), port: PORTS.hss.zhDiameter };
  c.bsf.ub = { host: leafOf("bsf"), port: PORTS.bsf.ub };
  c.bsf.zn = { host: leafOf("bsf"), port: PORTS.bsf.zn };
  c.bsf.diameter.listen = { host: leafOf("bsf"), port: PORTS.bsf.znDiameter };
  c.naf.http = { host: leafOf("naf"), port: PORTS.naf.http };
  c.naf.tlsPsk = { host: leafOf("naf"), port: PORTS.naf.tlsPsk };
  c.eca.http = { host: leafOf("eca"), port: PORTS.eca.http };
  c.eca.tlsPsk = { host: leafOf("eca"), port: PORTS.eca.tlsPsk };
  return c;
}

/**
 * With a delay, clients reach each NF through the proxy on the core side of its link. A ready
 * line gives URLs, and Diameter listeners as "host:port" (keys ending in "Diameter").
 */
function viaProxy(url: string, nf: NfName, delayed: boolean): string {
  if (!delayed) return url;
  const n = LEAVES.indexOf(nf) + 1;
  if (!url.includes("://")) return `${linkAddresses(n).core}:${url.slice(url.lastIndexOf(":") + 1)}`;
  const u = new URL(url);
  u.hostname = linkAddresses(n).core;
  return u.toString().replace(/\/$/, "");
}

export async function startNetns(ctx: TopologyContext): Promise<Deployment> {
  await checkNetnsBackend();
  await sweepStale(ctx.info);
  const runId = process.pid;
  const core = namespaceName(runId, "core");
  const names = [core, ...LEAVES.map((l) => namespaceName(runId, l))];
  const created: string[] = [];
  const onExit = () => deleteNamespacesSync(created);
  process.on("exit", onExit);
  const children: Child[] = [];
  const logDir = join(ctx.workDir, "logs");
  const confDir = join(ctx.workDir, "config");
  await mkdir(logDir, { recursive: true });
  await mkdir(confDir, { recursive: true, mode: 0o700 });

  const cleanup = async () => {
    await stopAll(children);
    for (const n of [...created].reverse()) await ip(["netns", "del", n]).catch(() => undefined);
    created.length = 0;
    process.off("exit", onExit);
  };

  try {
    for (const n of names) {
      await ip(["netns", "add", n]);
      created.push(n);
      await ip(["-n", n, "link", "set", "lo", "up"]);
    }
    const tag = runId.toString(36);
    for (const [i, leaf] of LEAVES.entries()) {
      const n = i + 1;
      const a = linkAddresses(n);
      const coreIf = `g${tag}${n}c`;
      const leafIf = `g${tag}${n}l`;
      const leafNs = namespaceName(runId, leaf);
      await ip(["link", "add", coreIf, "type", "veth", "peer", "name", leafIf]);
      await ip(["link", "set", coreIf, "netns", core]);
      await ip(["link", "set", leafIf, "netns", leafNs]);
      await ip(["-n", core, "addr", "add", `${a.core}/30`, "dev", coreIf]);
      await ip(["-n", core, "link", "set", coreIf, "up"]);
      await ip(["-n", leafNs, "addr", "add", `${a.leaf}/30`, "dev", leafIf]);
      await ip(["-n", leafNs, "link", "set", leafIf, "up"]);
      await ip(["-n", leafNs, "route", "add", "default", "via", a.core]);
    }
    await exec("ip", ["netns", "exec", core, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    ctx.info(`netns: namespaces ${names.join(" ")}, links 10.77.1-${LEAVES.length}.0/30`);

    const delayed = ctx.latencyMs > 0;
    if (delayed) {
      const routes = NF_ORDER.flatMap((nf, i) => {
        const a = linkAddresses(i + 1);
        return Object.values(PORTS[nf]).map((p) => `${a.core}:${p}=${a.leaf}:${p}`);
      });
      children.push(
        await spawnChild({
          name: "delay proxy",
          command: "ip",
          args: [
            "netns",
            "exec",
            core,
            process.execPath,
            join(packageRoot(), "dist", "scenarios", "topology", "delay-proxy.js"),
            "--delay",
            String(ctx.latencyMs),
            ...routes,
          ],
          logFile: join(logDir, "delay-proxy.log"),
        }),
      );
      ctx.info(`netns: ${ctx.latencyMs} ms one-way delay on every reference point (user-space proxy in ${core})`);
    }

    const cfg = placedConfig(ctx.cfg, (nf) => linkAddresses(LEAVES.indexOf(nf) + 1).leaf);
    const ready: Record<string, Record<string, string>> = {};
    const seen: Record<string, Record<string, string>> = {};
    for (const nf of NF_ORDER) {
      const file = join(confDir, `${nf}.json`);
      await writeFile(file, `${JSON.stringify(wiredConfig(cfg, nf, seen), null, 2)}\n`, { mode: 0o600 });
      const ns = namespaceName(runId, nf);
      const child = await spawnChild({
        name: `gba ${nf} in ${ns}`,
        command: "ip",
        args: ["netns", "exec", ns, process.execPath, gbaMain(), nf, "--config", file],
        logFile: join(logDir, `${nf}.log`),
      });
      children.push(child);
      ready[nf] = child.ready[nf] as Record<string, string>;
      // what other NFs and the UE use: the NF's address, or the proxy in front of it
      seen[nf] = Object.fromEntries(
        Object.entries(ready[nf]).map(([k, v]) => [k, k === "admin" || k === "fqdn" ? v : viaProxy(v, nf, delayed)]),
      );
      ctx.info(`netns: gba ${nf} ready in ${ns} ${Object.values(ready[nf]).join(" ")}`);
    }
    const ueNs = namespaceName(runId, "ue");
    const ue: { pid?: number } = {};
    return {
      backend: "netns",
      endpoints: endpointsFrom(seen, cfg),
      logDir,
      runUe: (input, emit, signal) => runUeInNamespace(ueNs, input, emit, signal, ctx.workDir, logDir, ue),
      // `ip netns exec` execs node in place, so each child's pid is its node process
      cpu: () => ({
        sources: [
          ...children.map((c) => ({ name: cpuName(c.name), pid: c.proc.pid as number })),
          ...(ue.pid === undefined ? [] : [{ name: "load generator", pid: ue.pid }]),
        ],
        note: "load generator: the UE worker process in its namespace",
      }),
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The UE population as a worker process inside the UE namespace; its events come back as JSON lines. */
export async function runUeInNamespace(
  ns: string,
  input: EngineInput,
  emit: Emit,
  signal: AbortSignal,
  workDir: string,
  logDir: string,
  ue: { pid?: number },
): Promise<void> {
  const file = join(workDir, "ue-input.json");
  await writeFile(file, JSON.stringify(input), { mode: 0o600 });
  const worker = join(packageRoot(), "dist", "scenarios", "engine", "worker.js");
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, worker, file], { stdio: ["ignore", "pipe", "pipe"] });
  ue.pid = child.pid;
  const log = createWriteStream(join(logDir, "ue.log"), { mode: 0o600 });
  child.stderr.pipe(log);
  const onAbort = () => child.kill("SIGTERM");
  signal.addEventListener("abort", onAbort, { once: true });
  let buf = "";
  let sawError = false;
  child.stdout.on("data", (chunk: Buffer) => {
    buf += chunk.toString("utf8");
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as EngineEvent;
        if (e.t === "error") sawError = true;
        emit(e);
      } catch {
        log.write(`${line}\n`);
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  signal.removeEventListener("abort", onAbort);
  log.end();
  if (code !== 0 && !sawError)
    emit({ t: "error", message: `the UE worker in ${ns} exited with code ${code} (see ${join(logDir, "ue.log")})` });
}
