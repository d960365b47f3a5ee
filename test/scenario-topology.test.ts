// Pieces of the topology backends that can be checked alone: the delaying TCP proxy, container
// runtime detection (against a fake Docker socket; the container backend itself is in
// scenario-container.test.ts), and the wiring of NF configs in start order.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultConfig } from "../nf/config.js";
import { checkContainerBackend, detectContainerRuntime } from "../scenarios/topology/container.js";
import { delayFront, startDelayProxy } from "../scenarios/topology/delay-proxy.js";
import { linkAddresses, namespaceName } from "../scenarios/topology/netns.js";
import { wiredConfig } from "../scenarios/topology/process.js";
import { TopologyError, TopologyUnavailable } from "../scenarios/topology/types.js";
import { makeWorkDir, markKept, sweepStaleWorkDirs } from "../scenarios/workdir.js";

const dir = mkdtempSync(join(tmpdir(), "scenario-topology-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An echo server on 127.0.0.1:0. */
async function echo(): Promise<{ port: number; close: () => void }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

function roundTrip(port: number, payload: string): Promise<{ ms: number; got: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = connect(port, "127.0.0.1", () => s.write(payload));
    let got = "";
    s.on("data", (c) => {
      got += c.toString();
      if (got.length >= payload.length) {
        s.end();
        resolve({ ms: performance.now() - t0, got });
      }
    });
    s.on("error", reject);
  });
}

describe("delaying TCP proxy", () => {
  it("adds the delay in each direction and keeps the bytes in order", async () => {
    const e = await echo();
    const p = await startDelayProxy({ listen: { host: "127.0.0.1", port: 0 }, target: { host: "127.0.0.1", port: e.port } }, 40);
    const payload = Array.from({ length: 200 }, (_, i) => `${i},`).join("");
    const via = await roundTrip(p.port, payload);
    expect(via.got).toBe(payload);
    // a lower bound only: a busy machine makes a round trip longer, never shorter than the delay
    expect(via.ms).toBeGreaterThanOrEqual(80);
    await p.close();
    e.close();
  });

  it("fronts an NF's URLs, keeping scheme and path, and closes with connections open", async () => {
    const e = await echo();
    const front = await delayFront({ http: `http://127.0.0.1:${e.port}`, tlsPsk: `https://127.0.0.1:${e.port}` }, 5);
    expect(front.urls.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(front.urls.tlsPsk).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(front.urls.http).not.toBe(`http://127.0.0.1:${e.port}`);
    const held = connect(Number(new URL(front.urls.http).port), "127.0.0.1");
    await new Promise((r) => held.once("connect", r));
    const heldClosed = new Promise((r) => held.once("close", r));
    // close does not wait for the client: it ends the open connection itself
    await front.close();
    await heldClosed;
    e.close();
  });
});

describe("container backend", () => {
  it("without a runtime: one line naming what was looked for", async () => {
    const env = { PATH: dir, DOCKER_HOST: `unix://${join(dir, "none.sock")}` };
    const r = await detectContainerRuntime(env);
    expect(r).toHaveProperty("looked");
    await expect(checkContainerBackend(env)).rejects.toThrow(TopologyUnavailable);
    const msg = await checkContainerBackend(env).catch((e: Error) => e.message);
    expect(msg).toMatch(/^container backend: no container runtime found \(.*none\.sock.*; no podman on PATH\), skipped$/);
    expect(msg).not.toContain("\n");
  });

  it("a Docker socket that answers /_ping is found and is the runtime the backend uses", async () => {
    const sock = join(dir, "docker.sock");
    const server = createHttpServer((req, res) => {
      res.writeHead(req.url === "/_ping" ? 200 : 404);
      res.end("OK");
    });
    await new Promise<void>((r) => server.listen(sock, () => r()));
    try {
      const env = { PATH: dir, DOCKER_HOST: `unix://${sock}` };
      expect(await detectContainerRuntime(env)).toEqual({ kind: "docker", where: sock, socket: true });
      expect(await checkContainerBackend(env)).toEqual({ kind: "docker", where: sock, socket: true });
    } finally {
      server.close();
    }
  });
});

describe("wiring and addressing", () => {
  it("each NF's config points at the URLs of the NFs started before it", () => {
    const cfg = defaultConfig();
    expect(() => wiredConfig(cfg, "bsf", {})).toThrow(TopologyError);
    const ready = {
      hss: { zh: "http://127.0.0.1:4001", admin: "http://127.0.0.1:4002" },
      bsf: { ub: "http://127.0.0.1:4003", zn: "http://127.0.0.1:4004" },
    };
    expect(wiredConfig(cfg, "bsf", ready).bsf.hssUrl).toBe("http://127.0.0.1:4001");
    expect(wiredConfig(cfg, "naf", ready).naf.bsfUrl).toBe("http://127.0.0.1:4004");
    expect(wiredConfig(cfg, "eca", ready).eca.bsfUrl).toBe("http://127.0.0.1:4004");
    expect(cfg.naf.bsfUrl).toBe(defaultConfig().naf.bsfUrl);
  });

  it("netns links are /30s of 10.77.n.0 and namespaces carry the run's pid", () => {
    expect(linkAddresses(3)).toEqual({ core: "10.77.3.1", leaf: "10.77.3.2" });
    expect(namespaceName(4242, "bsf")).toBe("gba-4242-bsf");
  });
});

describe("the run's temporary directory", () => {
  it("is named after the runner; a later run removes those of killed runs, unless kept", async () => {
    const base = mkdtempSync(join(dir, "tmp-"));
    const dead = execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const mine = await makeWorkDir(base);
    expect(mine).toMatch(new RegExp(`/gba-scenario-${process.pid}-[^/]+$`));
    const stale = join(base, `gba-scenario-${dead}-aaaaaa`);
    const kept = join(base, `gba-scenario-${dead}-bbbbbb`);
    const other = join(base, "gba-scenario-notapid");
    for (const d of [stale, kept, other]) mkdirSync(d);
    writeFileSync(join(stale, "k.json"), "{}");
    await markKept(kept);
    expect(await sweepStaleWorkDirs(base)).toEqual([`gba-scenario-${dead}-aaaaaa`]);
    expect([stale, kept, other, mine].map((d) => existsSync(d))).toEqual([false, true, true, true]);
  });
});
