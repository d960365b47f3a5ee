// The `container` topology backend: the container plan (commands, aliases, published ports, peer
// URLs by alias, data and config, no secret in any environment), the mapping of ready lines and
// published ports to the UE's endpoints, the start/stop orchestration against a fake container
// layer (logs, halfway failures), runtime detection against fake sockets, the image inputs, and
// one real run through the compiled CLI when a container runtime answers (build with
// `npx tsc -p .` first). Without a runtime that last test says so in one line and checks the skip.
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { defaultConfig, type GbaConfig, loadConfig } from "../nf/config.js";
import { checkContainerBackend, detectContainerRuntime, startContainers } from "../scenarios/topology/container.js";
import { type ContainerSession, IMAGE_INPUTS, imageTag, type RunningContainer } from "../scenarios/topology/container-engine.js";
import { type ContainerSpec, containerPlan, hostSideUrls, parseReadyLine } from "../scenarios/topology/container-plan.js";
import { type TopologyContext, TopologyError, TopologyUnavailable } from "../scenarios/topology/types.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = join(ROOT, "dist", "cli", "main.js");
const DEMO = join(ROOT, "scenarios", "iot04-obu-enrolment.yaml");
const dir = mkdtempSync(join(tmpdir(), "scenario-container-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MASTER_KEY = "5f".repeat(32);
const NFS = ["hss", "bsf", "naf", "eca"] as const;

function runCfg(): GbaConfig {
  const cfg = defaultConfig();
  cfg.data = "/tmp/gba-scenario-1-x/data";
  cfg.bsf.fqdn = "bsf.mnc042.mcc901.pub.3gppnetwork.org";
  cfg.bsf.sessionLifetime = 900;
  return cfg;
}

const byName = (specs: ContainerSpec[], name: string) => specs.find((s) => s.name === name) as ContainerSpec;

describe("container plan", () => {
  it("one container per NF, in start order, each with its command, alias and published listeners", () => {
    const specs = containerPlan(runCfg(), { latencyMs: 0, runId: 4242 });
    expect(specs.map((s) => s.name)).toEqual(["hss", "bsf", "naf", "eca"]);
    for (const nf of NFS) {
      const s = byName(specs, nf);
      expect(s.alias).toBe(nf);
      expect(s.entrypoint).toBeUndefined();
      expect(s.command).toEqual([nf, "--config", `/etc/gba-emu/${nf}.json`]);
      expect(s.data).toEqual({ source: `/tmp/gba-scenario-1-x/data/${nf}`, target: `/data/${nf}` });
      expect(s.labels).toEqual({ "gba-emu.scenario-runner": "4242", "gba-emu.role": nf });
    }
    // only what the UE population reaches: Ub, and the NAF and ECA over HTTP and TLS-PSK
    expect(byName(specs, "hss").published).toEqual({});
    expect(byName(specs, "bsf").published).toEqual({ ub: 8080 });
    expect(byName(specs, "naf").published).toEqual({ http: 9080, tlsPsk: 9443 });
    expect(byName(specs, "eca").published).toEqual({ url: 9090, tlsPsk: 9444 });
  });

  it("configs listen on every container interface, reach peers by alias, keep the run's settings", () => {
    const cfg = runCfg();
    const before = structuredClone(cfg);
    const c = byName(containerPlan(cfg, { latencyMs: 0, runId: 1 }), "bsf").config as GbaConfig;
    expect(cfg).toEqual(before);
    expect(c.data).toBe("/data");
    expect(c.hss.zh).toEqual({ host: "0.0.0.0", port: 7001 });
    expect(c.hss.admin).toEqual({ host: "127.0.0.1", port: 7002 });
    expect([c.bsf.ub, c.bsf.zn, c.naf.http, c.naf.tlsPsk, c.eca.http, c.eca.tlsPsk]).toEqual(
      [8080, 8081, 9080, 9443, 9090, 9444].map((port) => ({ host: "0.0.0.0", port })),
    );
    expect(c.bsf.hssUrl).toBe("http://hss:7001");
    expect(c.naf.bsfUrl).toBe("http://bsf:8081");
    expect(c.eca.bsfUrl).toBe("http://bsf:8081");
    expect(c.bsf.fqdn).toBe("bsf.mnc042.mcc901.pub.3gppnetwork.org");
    expect(c.bsf.sessionLifetime).toBe(900);
    expect(c.logLevel).toBe(cfg.logLevel);
  });

  it("every NF's config is one `gba <nf> --config` accepts as it is written", () => {
    for (const s of containerPlan(runCfg(), { latencyMs: 0, runId: 1 })) {
      const file = join(dir, `accepted-${s.name}.json`);
      writeFileSync(file, JSON.stringify(s.config));
      expect(loadConfig(file)).toEqual(s.config);
    }
  });

  it("with a latency, Zh and Zn go through a delay-proxy container and peers use it", () => {
    const specs = containerPlan(runCfg(), { latencyMs: 7, runId: 1 });
    expect(specs.map((s) => s.name)).toEqual(["delay", "hss", "bsf", "naf", "eca"]);
    const d = byName(specs, "delay");
    expect(d.alias).toBe("delay");
    expect(d.entrypoint).toEqual(["node", "/app/dist/scenarios/topology/delay-proxy.js"]);
    expect(d.command).toEqual(["--delay", "7", "0.0.0.0:7001=hss:7001", "0.0.0.0:8081=bsf:8081"]);
    expect(d.published).toEqual({});
    expect(d.config).toBeUndefined();
    const c = byName(specs, "naf").config as GbaConfig;
    expect([c.bsf.hssUrl, c.naf.bsfUrl, c.eca.bsfUrl]).toEqual(["http://delay:7001", "http://delay:8081", "http://delay:8081"]);
  });

  it("the runner's GBA_MASTER_KEY reaches the HSS as a 0600 file, never an environment variable", () => {
    const specs = containerPlan(runCfg(), { latencyMs: 5, masterKey: MASTER_KEY, runId: 1 });
    for (const s of specs) {
      expect(s.env).toEqual({});
      const { contents, ...rest } = s;
      expect(JSON.stringify(rest)).not.toContain(MASTER_KEY);
      if (s.name !== "hss") expect(contents).toEqual([]);
    }
    expect(byName(specs, "hss").contents).toEqual([{ content: `${MASTER_KEY}\n`, target: "/data/hss/master.key", mode: 0o600 }]);
    // without it in the environment the key file provisioning created is in the copied store
    expect(byName(containerPlan(runCfg(), { latencyMs: 0, runId: 1 }), "hss").contents).toEqual([]);
  });
});

describe("ready lines and published ports → endpoints", () => {
  const naf = byName(containerPlan(runCfg(), { latencyMs: 0, runId: 1 }), "naf");
  const nafReady = { ready: true, naf: { http: "http://0.0.0.0:9080", tlsPsk: "https://0.0.0.0:9443" } };

  it("keeps the scheme and puts the runtime's host and the mapped port", () => {
    const mapped = (p: number) => ({ 9080: 32768, 9443: 32769 })[p] as number;
    expect(hostSideUrls(naf, nafReady, "localhost", mapped)).toEqual({
      http: "http://localhost:32768",
      tlsPsk: "https://localhost:32769",
    });
    expect(hostSideUrls(naf, nafReady, "::1", mapped).http).toBe("http://[::1]:32768");
  });

  it("refuses a ready line without a published listener, or on another port", () => {
    expect(() => hostSideUrls(naf, { ready: true, naf: { http: "http://0.0.0.0:9080" } }, "localhost", (p) => p)).toThrow(
      /naf did not report its tlsPsk URL/,
    );
    const moved = { ready: true, naf: { ...nafReady.naf, http: "http://0.0.0.0:9081" } };
    expect(() => hostSideUrls(naf, moved, "localhost", (p) => p)).toThrow(TopologyError);
  });

  it("parses only the JSON ready line", () => {
    expect(parseReadyLine(JSON.stringify(nafReady))).toEqual(nafReady);
    expect(parseReadyLine('{"ready":true,"routes":2,"delayMs":5}')).toEqual({ ready: true, routes: 2, delayMs: 5 });
    expect(parseReadyLine('{"level":30,"msg":"HSS ready","ready":true}')).toBeUndefined();
    expect(parseReadyLine('{"ready":true,')).toBeUndefined();
    expect(parseReadyLine("gba: SIGTERM, stopping")).toBeUndefined();
  });
});

/** What `gba <nf>` in the container prints: its listeners on 0.0.0.0 at the container ports. */
function readyLineOf(spec: ContainerSpec): string {
  if (spec.name === "delay") return JSON.stringify({ ready: true, routes: 2, delayMs: 5 });
  const ports = { hss: { zh: 7001, admin: 7002 }, bsf: { ub: 8080, zn: 8081 }, naf: spec.published, eca: spec.published };
  const urls = Object.fromEntries(
    Object.entries(ports[spec.name]).map(([k, p]) => [k, `${k === "tlsPsk" ? "https" : "http"}://0.0.0.0:${p}`]),
  );
  return JSON.stringify({ ready: true, [spec.name]: urls });
}

interface Fake {
  session: ContainerSession;
  started: string[];
  stopped: string[];
  closed: number;
}

/** A container layer without a runtime: `fail` names a container whose start is refused. */
function fakeLayer(fail?: string): Fake {
  const f: Fake = { started: [], stopped: [], closed: 0, session: undefined as unknown as ContainerSession };
  f.session = {
    image: "gba-emu:test",
    async start(spec, onLog): Promise<RunningContainer> {
      const out = new PassThrough();
      onLog(out);
      out.write(`{"level":30,"msg":"starting ${spec.name}"}\n`);
      if (spec.name === fail) {
        out.end(`gba: ${spec.name}: the store in /data/${spec.name} cannot be opened\n`);
        await new Promise((r) => setTimeout(r, 20));
        throw new Error(`Log stream ended and message "/^\\{"ready":true/" was not received`);
      }
      out.write(`${readyLineOf(spec)}\n`);
      f.started.push(spec.name);
      return {
        host: "127.0.0.1",
        mappedPort: (p) => 40000 + p,
        stop: async () => {
          f.stopped.push(spec.name);
          out.end();
        },
      };
    },
    close: async () => {
      f.closed++;
    },
  };
  return f;
}

function context(latencyMs = 0): TopologyContext & { lines: string[] } {
  const workDir = mkdtempSync(join(dir, "run-"));
  const cfg = defaultConfig();
  cfg.data = join(workDir, "data");
  const lines: string[] = [];
  return { cfg, workDir, latencyMs, info: (l) => lines.push(l), lines };
}

const RUNTIME = { kind: "docker" as const, where: "/fake/docker.sock", socket: true };

describe("start and stop against a fake container layer", () => {
  it("maps the published ports to the endpoints, logs to files, writes 0600 configs, stops everything", async () => {
    const ctx = context();
    const fake = fakeLayer();
    const env = { GBA_MASTER_KEY: MASTER_KEY };
    const d = await startContainers(ctx, { env, runtime: RUNTIME, open: async () => fake.session });
    expect(d.backend).toBe("container");
    expect(d.endpoints).toEqual({
      bsfUb: "http://127.0.0.1:48080",
      bsfFqdn: ctx.cfg.bsf.fqdn,
      nafHttp: "http://127.0.0.1:49080",
      nafTlsPsk: "https://127.0.0.1:49443",
      nafFqdn: ctx.cfg.naf.fqdn,
      ecaHttp: "http://127.0.0.1:49090",
      ecaTlsPsk: "https://127.0.0.1:49444",
      ecaFqdn: ctx.cfg.eca.fqdn,
    });
    expect(d.logDir).toBe(join(ctx.workDir, "logs"));
    expect(ctx.lines).toContain("container: gba bsf ready (alias bsf) http://127.0.0.1:48080");
    for (const nf of NFS) {
      const conf = join(ctx.workDir, "config", `${nf}.json`);
      expect(statSync(conf).mode & 0o777).toBe(0o600);
      expect(readFileSync(conf, "utf8")).not.toContain(MASTER_KEY);
      expect(JSON.parse(readFileSync(conf, "utf8")).bsf.hssUrl).toBe("http://hss:7001");
    }
    await d.stop();
    expect(fake.stopped.sort()).toEqual([...NFS].sort());
    expect(fake.closed).toBe(1);
    expect(readFileSync(join(ctx.workDir, "logs", "naf.log"), "utf8")).toContain('{"ready":true,"naf":');
  });

  it("a container that fails halfway: the others are stopped, the network removed, the log tail shown", async () => {
    const ctx = context();
    const fake = fakeLayer("naf");
    const err = await startContainers(ctx, { env: {}, runtime: RUNTIME, open: async () => fake.session }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(TopologyError);
    expect((err as Error).message).toMatch(/^container backend: naf did not become ready: Log stream ended/);
    expect((err as Error).message).toContain("gba: naf: the store in /data/naf cannot be opened");
    expect(fake.started.sort()).toEqual(["bsf", "eca", "hss"]);
    expect(fake.stopped.sort()).toEqual(["bsf", "eca", "hss"]);
    expect(fake.closed).toBe(1);
  });

  it("an image that cannot be had: nothing is started and the error says so", async () => {
    const ctx = context();
    const open = async () => {
      throw new TopologyError("container backend: building gba-emu:0.1.0-x failed (Failed to build image)");
    };
    await expect(startContainers(ctx, { env: {}, runtime: RUNTIME, open })).rejects.toThrow(/building gba-emu:0\.1\.0-x failed/);
  });

  it("with a latency: a delay container on the network, local delaying fronts on the published ports", async () => {
    const ctx = context(5);
    const fake = fakeLayer();
    const d = await startContainers(ctx, { env: {}, runtime: RUNTIME, open: async () => fake.session });
    expect(fake.started).toContain("delay");
    expect(d.endpoints.bsfUb).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(d.endpoints.bsfUb).not.toBe("http://127.0.0.1:48080");
    expect(d.endpoints.nafTlsPsk).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(ctx.lines.at(-1)).toBe("container: 5 ms one-way delay on Zh and Zn (proxy container) and in front of Ub and Ua");
    await d.stop();
    expect(fake.stopped).toHaveLength(5);
  });
});

/** An HTTP server on a unix socket in `dir` answering /_ping with `status`. */
async function fakeEngine(path: string, status = 200): Promise<{ close: () => void }> {
  mkdirSync(join(path, ".."), { recursive: true });
  const server = createServer((req, res) => {
    res.writeHead(req.url === "/_ping" ? status : 404);
    res.end("OK");
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  return { close: () => server.close() };
}

describe("runtime detection", () => {
  it("a socket answering /_ping is the runtime; podman's socket is podman", async () => {
    const docker = join(dir, "d", "docker.sock");
    const e = await fakeEngine(docker);
    try {
      const env = { PATH: dir, DOCKER_HOST: `unix://${docker}` };
      expect(await detectContainerRuntime(env)).toEqual({ kind: "docker", where: docker, socket: true });
      expect(await checkContainerBackend(env)).toEqual({ kind: "docker", where: docker, socket: true });
    } finally {
      e.close();
    }
    const xdg = join(dir, "xdg");
    const podman = join(xdg, "podman", "podman.sock");
    const p = await fakeEngine(podman);
    try {
      expect(await detectContainerRuntime({ PATH: dir, XDG_RUNTIME_DIR: xdg })).toEqual({
        kind: "podman",
        where: podman,
        socket: true,
      });
    } finally {
      p.close();
    }
  });

  it("none: one skip line naming every socket looked at and podman, quickly", async () => {
    const broken = join(dir, "b", "docker.sock");
    const e = await fakeEngine(broken, 500);
    try {
      const env = { PATH: dir, DOCKER_HOST: `unix://${broken}`, XDG_RUNTIME_DIR: join(dir, "nothing") };
      const t0 = performance.now();
      const err = await checkContainerBackend(env).catch((x: Error) => x);
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(err).toBeInstanceOf(TopologyUnavailable);
      const msg = (err as Error).message;
      expect(msg).not.toContain("\n");
      expect(msg).toMatch(/^container backend: no container runtime found \(no Docker\/podman socket answering \/_ping at /);
      for (const s of [broken, "/var/run/docker.sock", join(dir, "nothing", "podman", "podman.sock")]) expect(msg).toContain(s);
      expect(msg).toMatch(/; no podman on PATH\), skipped$/);
    } finally {
      e.close();
    }
  });

  it("the podman command without its API socket: skipped, saying how to start the socket", async () => {
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "podman"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(bin, "podman"), 0o755);
    const env = { PATH: bin, DOCKER_HOST: `unix://${join(dir, "none.sock")}` };
    const msg = await checkContainerBackend(env).catch((e: Error) => e.message);
    expect(msg).toMatch(/^container backend: podman found at .*\/bin\/podman, but no podman API socket answers \/_ping \(/);
    expect(msg).toMatch(/, skipped$/);
    writeFileSync(join(bin, "podman"), "#!/bin/sh\nexit 3\n");
    expect(await checkContainerBackend(env).catch((e: Error) => e.message)).toContain(`${join(bin, "podman")} version failed`);
  });
});

describe("the image", () => {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");

  it("the Dockerfile copies exactly the image inputs the cache tag is computed from", () => {
    const buildStage = dockerfile.split(/^FROM /m)[1];
    const copied = [...buildStage.matchAll(/^COPY (?!--)(.+) \S+$/gm)].flatMap((m) => m[1].split(" "));
    expect(new Set(copied)).toEqual(new Set(IMAGE_INPUTS.filter((i) => i !== "Dockerfile")));
  });

  it(".dockerignore lets exactly the image inputs into the build context", () => {
    // the context is an allow-list: an input the Dockerfile copies but .dockerignore leaves out breaks `docker build`
    const allowed = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .filter((line) => line.startsWith("!"))
      .map((line) => line.slice(1).trim());
    expect(new Set(allowed)).toEqual(new Set(IMAGE_INPUTS));
  });

  it("has the layout the plan relies on: gba entrypoint, /data/<nf> for an unprivileged user, delay proxy", () => {
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "/app/dist/cli/main.js"]');
    expect(dockerfile).toContain("mkdir -p /data/hss /data/bsf /data/naf /data/eca && chown -R node:node /data");
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).not.toMatch(/^(ENV|ARG) .*(KEY|TOKEN|SECRET)/im);
    expect(statSync(join(ROOT, "dist", "scenarios", "topology", "delay-proxy.js")).isFile()).toBe(true);
  });

  it("the build context (.dockerignore, as testcontainers applies it) has the sources and no data, keys or host builds", () => {
    const req = createRequire(createRequire(import.meta.url).resolve("testcontainers"));
    const ignore = (req("@balena/dockerignore") as (o: object) => { add(s: string): { ignores(p: string): boolean } })({
      ignorecase: false,
    }).add(readFileSync(join(ROOT, ".dockerignore"), "utf8"));
    for (const p of ["package.json", "package-lock.json", "tsconfig.json", "nf/hss/store.ts", "cli/main.ts", "bench/all.ts"])
      expect(ignore.ignores(p), p).toBe(false);
    for (const p of [".gba-data/hss/master.key", "node_modules/fastify/package.json", "dist/cli/main.js", "test/x.test.ts"])
      expect(ignore.ignores(p), p).toBe(true);
    for (const p of [".git/config", "bench/out/soak.json", "nf/.gba-data/hss/master.key", "scenarios/x.log", "README.md"])
      expect(ignore.ignores(p), p).toBe(true);
  });

  it("the cache tag follows the inputs' contents and nothing else", () => {
    const root = mkdtempSync(join(dir, "ctx-"));
    writeFileSync(join(root, "package.json"), JSON.stringify({ version: "9.8.7" }));
    writeFileSync(join(root, "Dockerfile"), "FROM scratch\n");
    mkdirSync(join(root, "nf", "hss"), { recursive: true });
    writeFileSync(join(root, "nf", "hss", "a.ts"), "export const a = 1;\n");
    const first = imageTag(root);
    expect(first).toMatch(/^gba-emu:9\.8\.7-[0-9a-f]{12}$/);
    mkdirSync(join(root, "test"));
    writeFileSync(join(root, "test", "x.test.ts"), "x");
    mkdirSync(join(root, "nf", "node_modules"));
    writeFileSync(join(root, "nf", "node_modules", "y.js"), "y");
    expect(imageTag(root)).toBe(first);
    writeFileSync(join(root, "nf", "hss", "a.ts"), "export const a = 2;\n");
    const second = imageTag(root);
    expect(second).not.toBe(first);
    writeFileSync(join(root, "Dockerfile"), "FROM scratch\nUSER 1\n");
    expect(imageTag(root)).not.toBe(second);
  });
});

function gba(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Containers of any scenario run still present, through the runtime's API socket. */
function leftContainers(socket: string): Promise<unknown[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: ["gba-emu.scenario-runner"] }));
  return new Promise((resolve, reject) => {
    request({ socketPath: socket, path: `/containers/json?all=1&filters=${filters}` }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve(JSON.parse(body) as unknown[]));
    })
      .on("error", reject)
      .end();
  });
}

describe("a real run", () => {
  it("the demo scenario in containers when a runtime answers; otherwise says why not and checks the skip", async () => {
    const runtime = await detectContainerRuntime();
    const usable = !("looked" in runtime) && runtime.socket;
    if (!usable) {
      const why = await checkContainerBackend().catch((e: Error) => e.message);
      console.log(`container backend NOT run against a real runtime on this machine: ${why}`);
      const r = await gba(["scenario", "run", DEMO, "--backend", "container"], 30_000);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`${why}\n`);
      return;
    }
    const report = join(dir, "container-report.json");
    // the first run builds the image (npm ci twice): minutes
    const r = await gba(
      ["scenario", "run", DEMO, "--backend", "container", "--devices", "4", "--no-load", "--report", report],
      840_000,
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toMatch(/container: gba bsf ready \(alias bsf\) http:\/\/\S+:\d+/);
    expect(r.stderr).toMatch(/container: gba eca ready \(alias eca\) http:\/\/\S+:\d+ https:\/\/\S+:\d+/);
    expect(r.stdout).toContain("PASS devices as designed:");
    const rep = JSON.parse(readFileSync(report, "utf8")) as { backend: string; ok: boolean };
    expect(rep).toMatchObject({ backend: "container", ok: true });
    expect(await leftContainers(runtime.where)).toEqual([]);
  }, 900_000);
});
