// The thin layer over testcontainers for the `container` topology: the image (GBA_EMU_IMAGE, or
// built from the repository's Dockerfile under a tag derived from its inputs and reused while
// they do not change), one user-defined network per run, and containers started from the plan.
// testcontainers is imported only here and only once a runtime answered, so a run without one
// never loads it.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { packageRoot } from "../load.js";
import { type ContainerSpec, IMAGE_LAYOUT } from "./container-plan.js";
import { TopologyError } from "./types.js";

export const IMAGE_ENV = "GBA_EMU_IMAGE";
export const IMAGE_REPOSITORY = "gba-emu";
/** What the Dockerfile copies into the image: a change to any of them means a new tag. */
export const IMAGE_INPUTS = [
  "Dockerfile",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "milenage",
  "wire",
  "gba",
  "nf",
  "ue",
  "conformance",
  "scenarios",
  "bench",
  "cli",
  "dashboard",
] as const;
/** never part of the image (see .dockerignore): leaving them out only avoids needless rebuilds */
const SKIPPED_DIRS = new Set(["node_modules", ".gba-data"]);
const SKIPPED_UNDER = "bench/out/";
const READY_LINE = /^\{"ready":true/;
const STARTUP_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

function filesUnder(root: string, rel: string): string[] {
  const abs = join(root, rel);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [rel];
  return readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join("/"))
    .filter((f) => !f.startsWith(SKIPPED_UNDER) && !f.split("/").some((s) => SKIPPED_DIRS.has(s)));
}

/** `gba-emu:<version>-<12 hex>`: sha-256 over the names and contents of the image's inputs. */
export function imageTag(root: string = packageRoot()): string {
  const hash = createHash("sha256");
  const files = IMAGE_INPUTS.flatMap((p) => filesUnder(root, p)).sort();
  for (const f of files) {
    hash.update(`${f}\0`);
    hash.update(readFileSync(join(root, f)));
    hash.update("\0");
  }
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  return `${IMAGE_REPOSITORY}:${version}-${hash.digest("hex").slice(0, 12)}`;
}

export interface RunningContainer {
  /** where the runtime publishes ports (e.g. localhost) */
  host: string;
  mappedPort(containerPort: number): number;
  stop(): Promise<void>;
}

/** A run's image and network; containers are started on it and it is closed after them. */
export interface ContainerSession {
  image: string;
  start(spec: ContainerSpec, onLog: (stream: Readable) => void): Promise<RunningContainer>;
  close(): Promise<void>;
}

export type OpenSession = (info: (line: string) => void) => Promise<ContainerSession>;

type Testcontainers = typeof import("testcontainers");

async function resolveImage(tc: Testcontainers, info: (line: string) => void, env: NodeJS.ProcessEnv): Promise<string> {
  const named = env[IMAGE_ENV];
  if (named) {
    info(`container: image ${named} (${IMAGE_ENV})`);
    return named;
  }
  const root = packageRoot();
  if (!existsSync(join(root, "Dockerfile")))
    throw new TopologyError(`container backend: no Dockerfile in ${root} to build the image from: set ${IMAGE_ENV}`);
  const tag = imageTag(root);
  const client = await tc.getContainerRuntimeClient();
  if (await client.image.exists(tc.ImageName.fromString(tag))) {
    info(`container: image ${tag} (already built)`);
    return tag;
  }
  info(`container: building image ${tag} from ${root} (the first build runs npm ci: minutes)`);
  const t0 = performance.now();
  try {
    await tc.GenericContainer.fromDockerfile(root).build(tag, { deleteOnExit: false });
  } catch (err) {
    throw new TopologyError(
      `container backend: building ${tag} failed (${(err as Error).message}); run \`docker build -t ${IMAGE_REPOSITORY} ${root}\` to see why, then set ${IMAGE_ENV}=${IMAGE_REPOSITORY}`,
    );
  }
  info(`container: image ${tag} built in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return tag;
}

/** testcontainers against the runtime found at `socket` (made DOCKER_HOST when none is set). */
export function testcontainersSession(socket: string | undefined, env: NodeJS.ProcessEnv = process.env): OpenSession {
  return async (info) => {
    // testcontainers reads DOCKER_HOST when it first connects; podman's socket is not among its defaults
    if (socket && !env.DOCKER_HOST) process.env.DOCKER_HOST = `unix://${socket}`;
    const tc = await import("testcontainers");
    const image = await resolveImage(tc, info, env);
    const network = await new tc.Network().start();
    return {
      image,
      async start(spec, onLog) {
        let c = new tc.GenericContainer(image)
          .withNetwork(network)
          .withNetworkAliases(spec.alias)
          .withCommand(spec.command)
          .withEnvironment(spec.env)
          .withLabels(spec.labels)
          .withExposedPorts(...Object.values(spec.published))
          .withLogConsumer(onLog)
          .withWaitStrategy(tc.Wait.forLogMessage(READY_LINE))
          .withStartupTimeout(STARTUP_TIMEOUT_MS)
          // copied files belong to the image's user (node), not root: the NFs write to /data/<nf>
          .withCopyToContainerOptions({ copyUIDGID: true });
        if (spec.entrypoint) c = c.withEntrypoint(spec.entrypoint);
        if (spec.data && existsSync(spec.data.source)) c = c.withCopyDirectoriesToContainer([spec.data]);
        const contents = [...spec.contents];
        if (spec.config) {
          const target = `${IMAGE_LAYOUT.configDir}/${spec.name}.json`;
          contents.push({ content: `${JSON.stringify(spec.config, null, 2)}\n`, target, mode: 0o600 });
        }
        if (contents.length) c = c.withCopyContentToContainer(contents);
        const started = await c.start();
        return {
          host: started.getHost(),
          mappedPort: (port) => started.getMappedPort(port),
          stop: async () => void (await started.stop({ timeout: STOP_GRACE_MS })),
        };
      },
      close: async () => void (await network.stop()),
    };
  };
}
