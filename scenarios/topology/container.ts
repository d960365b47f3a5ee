// `container`: needs a container runtime. None is bundled (no testcontainers): a Docker socket
// that answers GET /_ping, or podman on PATH. Without one the run is skipped with one line; with
// one it is skipped too, because no gba-emu image is built yet (README "Container backend").
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { delimiter, join } from "node:path";
import { TopologyUnavailable } from "./types.js";

export interface Runtime {
  kind: "docker" | "podman";
  where: string;
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
    if (existsSync(s) && (await pingSocket(s))) return { kind: s.includes("podman") ? "podman" : "docker", where: s };
  }
  const podman = onPath("podman", env);
  if (podman && (await runs(podman, ["version"]))) return { kind: "podman", where: podman };
  const looked = [
    `no Docker/podman socket answering /_ping at ${[...sockets].join(", ")}`,
    podman ? `${podman} version failed` : "no podman on PATH",
  ];
  return { looked };
}

export async function checkContainerBackend(env: NodeJS.ProcessEnv = process.env): Promise<never> {
  const r = await detectContainerRuntime(env);
  if ("looked" in r)
    throw new TopologyUnavailable(`container backend: no container runtime found (${r.looked.join("; ")}), skipped`);
  throw new TopologyUnavailable(
    `container backend: ${r.kind} found at ${r.where}, but no gba-emu image is built yet (see README "Container backend"), skipped`,
  );
}
