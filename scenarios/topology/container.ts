// `container`: HSS, BSF, NAF and ECA each in its own container of the gba-emu image (built from
// the repository's Dockerfile, or GBA_EMU_IMAGE), on a user-defined network where peers reach
// each other by alias (hss, bsf, naf, eca). The provisioned store of each NF is copied in; Ub and
// the NAF and ECA listeners are published on random host ports, which the UE population (in the
// runner's process) uses. Needs a container runtime: a Docker socket that answers GET /_ping, or
// podman; without one the run is skipped with one line. Logs go to <workDir>/logs/<name>.log.
import { execFile } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { delimiter, join } from "node:path";
import type { Readable } from "node:stream";
import { type ContainerSession, type OpenSession, type RunningContainer, testcontainersSession } from "./container-engine.js";
import { type ContainerSpec, containerPlan, hostSideUrls, parseReadyLine } from "./container-plan.js";
import { MASTER_KEY_ENV } from "../../nf/hss/master-key.js";
import { frontWithDelay, type ReadyUrls } from "./process.js";
import { type Deployment, endpointsFrom, type TopologyContext, TopologyError, TopologyUnavailable } from "./types.js";

export interface Runtime {
  kind: "docker" | "podman";
  where: string;
  /** where is an API socket (testcontainers can use it), not only the podman command */
  socket: boolean;
}

function pingSocket(socketPath: string, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", method: "GET", timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function runs(cmd: string, args: string[], timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err) => resolve(err === null));
  });
}

/** Docker sockets that answer /_ping, then podman; with what was looked at when none. */
export async function detectContainerRuntime(env: NodeJS.ProcessEnv = process.env): Promise<Runtime | { looked: string[] }> {
  const sockets = new Set<string>();
  const host = env.DOCKER_HOST;
  if (host?.startsWith("unix://")) sockets.add(host.slice("unix://".length));
  sockets.add("/var/run/docker.sock");
  sockets.add("/run/docker.sock");
  if (env.XDG_RUNTIME_DIR) {
    sockets.add(join(env.XDG_RUNTIME_DIR, "docker.sock"));
    sockets.add(join(env.XDG_RUNTIME_DIR, "podman", "podman.sock"));
  }
  sockets.add("/run/podman/podman.sock");
  for (const s of sockets) {
    if (existsSync(s) && (await pingSocket(s)))
      return { kind: s.includes("podman") ? "podman" : "docker", where: s, socket: true };
  }
  const podman = onPath("podman", env);
  if (podman && (await runs(podman, ["version"]))) return { kind: "podman", where: podman, socket: false };
  const looked = [
    `no Docker/podman socket answering /_ping at ${[...sockets].join(", ")}`,
    podman ? `${podman} version failed` : "no podman on PATH",
  ];
  return { looked };
}

/** The runtime to use; TopologyUnavailable (the run is skipped with its one line) when there is none. */
export async function checkContainerBackend(env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  const r = await detectContainerRuntime(env);
  if ("looked" in r)
    throw new TopologyUnavailable(`container backend: no container runtime found (${r.looked.join("; ")}), skipped`);
  if (!r.socket) {
    throw new TopologyUnavailable(
      `container backend: podman found at ${r.where}, but no podman API socket answers /_ping (systemctl --user start podman.socket, then DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock), skipped`,
    );
  }
  return r;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

interface Launched {
  spec: ContainerSpec;
  box: RunningContainer;
  ready: Record<string, unknown>;
}

/**
 * Starts one container: its output goes to <logDir>/<name>.log, and its ready line (the wait
 * strategy already saw it) is taken from that same stream.
 */
async function launch(
  session: ContainerSession,
  spec: ContainerSpec,
  logDir: string,
  logs: Array<() => Promise<void>>,
): Promise<Launched> {
  const logFile = join(logDir, `${spec.name}.log`);
  const log = createWriteStream(logFile, { flags: "a", mode: 0o600 });
  logs.push(() => new Promise<void>((r) => log.end(r)));
  let logEnded: () => void = () => undefined;
  const ended = new Promise<void>((r) => {
    logEnded = r;
  });
  let seen: (line: Record<string, unknown>) => void = () => undefined;
  const readyLine = new Promise<Record<string, unknown>>((r) => {
    seen = r;
  });
  const onLog = (stream: Readable) => {
    let buf = "";
    stream.on("data", (chunk: string | Buffer) => {
      const text = chunk.toString();
      if (!log.writableEnded) log.write(text);
      buf += text;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const parsed = parseReadyLine(buf.slice(0, nl).trim());
        buf = buf.slice(nl + 1);
        if (parsed) seen(parsed);
      }
    });
    stream.once("end", () => logEnded());
    stream.once("error", () => logEnded());
  };
  const within = <T>(p: Promise<T>, ms: number, fallback: T) =>
    Promise.race([p, new Promise<T>((r) => setTimeout(() => r(fallback), ms).unref())]);
  let box: RunningContainer;
  try {
    box = await session.start(spec, onLog);
  } catch (err) {
    await within(ended, 2000, undefined);
    throw new TopologyError(
      `container backend: ${spec.name} did not become ready: ${(err as Error).message}\n--- ${logFile}:\n${tail(logFile)}`,
    );
  }
  const ready = await within(readyLine, 5000, undefined);
  if (!ready) {
    await box.stop().catch(() => undefined);
    throw new TopologyError(`container backend: ${spec.name} is up but its ready line did not reach ${logFile}`);
  }
  return { spec, box, ready };
}

export interface ContainerDeps {
  env?: NodeJS.ProcessEnv;
  /** the runtime detected before (default: detect again) */
  runtime?: Runtime;
  /** the container layer (default: testcontainers against the runtime's socket) */
  open?: OpenSession;
}

export async function startContainers(ctx: TopologyContext, deps: ContainerDeps = {}): Promise<Deployment> {
  const env = deps.env ?? process.env;
  const runtime = deps.runtime ?? (await checkContainerBackend(env));
  const open = deps.open ?? testcontainersSession(runtime.where, env);
  const specs = containerPlan(ctx.cfg, { latencyMs: ctx.latencyMs, masterKey: env[MASTER_KEY_ENV], runId: process.pid });
  const confDir = join(ctx.workDir, "config");
  const logDir = join(ctx.workDir, "logs");
  await mkdir(confDir, { recursive: true, mode: 0o700 });
  await mkdir(logDir, { recursive: true });
  for (const s of specs) {
    if (s.config) await writeFile(join(confDir, `${s.name}.json`), `${JSON.stringify(s.config, null, 2)}\n`, { mode: 0o600 });
  }

  const running: RunningContainer[] = [];
  const logs: Array<() => Promise<void>> = [];
  const fronts: Array<() => Promise<void>> = [];
  let session: ContainerSession | undefined;
  const stop = async () => {
    const results = await Promise.allSettled(running.map((c) => c.stop()));
    running.length = 0;
    if (session) results.push(...(await Promise.allSettled([session.close()])));
    session = undefined;
    for (const close of fronts.splice(0)) results.push(...(await Promise.allSettled([close()])));
    await Promise.all(logs.splice(0).map((end) => end()));
    const failed = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as Error);
    if (failed.length) throw new TopologyError(`container backend: ${failed.map((e) => e.message).join("; ")}`);
  };

  try {
    session = await open(ctx.info);
    ctx.info(`container: ${runtime.kind} at ${runtime.where}, image ${session.image}, ${specs.length} containers`);
    const opened = session;
    const launched = await Promise.allSettled(specs.map((s) => launch(opened, s, logDir, logs)));
    for (const l of launched) if (l.status === "fulfilled") running.push(l.value.box);
    const failed = launched.find((l) => l.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;

    const ready: ReadyUrls = {};
    for (const l of launched) {
      const { spec, box, ready: line } = (l as PromiseFulfilledResult<Launched>).value;
      if (spec.name === "delay") continue;
      const urls = hostSideUrls(spec, line, box.host, (p) => box.mappedPort(p));
      ctx.info(`container: gba ${spec.name} ready (alias ${spec.alias}) ${Object.values(urls).join(" ")}`.trimEnd());
      const front = await frontWithDelay(urls, ctx.latencyMs);
      if (front.close) fronts.push(front.close);
      ready[spec.name] = front.urls;
    }
    if (ctx.latencyMs > 0)
      ctx.info(`container: ${ctx.latencyMs} ms one-way delay on Zh and Zn (proxy container) and in front of Ub and Ua`);
    return { backend: "container", endpoints: endpointsFrom(ready, ctx.cfg), logDir, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
