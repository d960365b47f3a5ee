// The multi-host run (root: network namespaces): 2 HSS, 2 BSF and 2 NAF replicas as real `gba`
// processes, each in its own namespace, sharing one Redis Cluster (3 + 3, six more namespaces)
// through `--store redis://…`, HAProxy in front of Zh, Ub, Zn and Ua. The UE, in a namespace of
// its own, runs `gba ue bootstrap` and curl. Checked: a B-TID bootstrapped through the load
// balancer is served on Zn by every BSF replica; a new bootstrap of the IMPI makes every replica
// answer 404 for the old one; an Ua Digest answer accepted by one NAF replica is refused as a
// nonce-count replay by the other; bootstraps alternating over both HSS replicas get fresh SQNs;
// a BSF replica killed with -9 is routed around and loses no session.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MULTI_HOST_PORTS as P, type MultiHostNet, startMultiHostNet } from "../scenarios/topology/multi-host-net.js";

const exec = promisify(execFile);
const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const MASTER_KEY = "a5".repeat(32);
const K = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC = "cd63cb71954a9f4e48a5994e37a02baf";
const BSF_FQDN = "bsf.mnc001.mcc001.pub.3gppnetwork.org";
const NAF_FQDN = "naf.example.org";
const NAF_TOKEN = "naf-zn-token";
const ZN = "/nbsp-gba/v1/bootstrapping-info-retrieval";
const BENCH_SUBSCRIBERS = 32;

let net: MultiHostNet;
const dir = mkdtempSync(join(tmpdir(), "gba-multi-host-"));
const children = new Map<string, ChildProcess>();
let usim: string;
let impi: string;

/** `gba <nf> --config FILE` inside the host's namespace; resolves at its ready line. */
function startNf(nf: "hss" | "bsf" | "naf", host: string): Promise<void> {
  const a = net.address(host);
  const lb = net.address(net.hosts.lb);
  const config = {
    data: join(dir, host),
    logLevel: "info",
    store: { backend: "redis", nodes: net.hosts.redis.map((r) => `${net.address(r)}:${P.redis}`) },
    hss: { zh: { host: a, port: P.zh }, admin: { host: "127.0.0.1", port: 7002 } },
    bsf: { ub: { host: a, port: P.ub }, zn: { host: a, port: P.zn }, hssUrl: `http://${lb}:${P.zh}` },
    naf: { http: { host: a, port: P.uaHttp }, tlsPsk: { host: a, port: P.uaTlsPsk }, bsfUrl: `http://${lb}:${P.zn}` },
  };
  const file = join(dir, `${host}.json`);
  writeFileSync(file, JSON.stringify(config));
  const argv = net.star.exec(host, [process.execPath, MAIN, nf, "--config", file]);
  // spawns: ip (ip netns exec <host> node …)
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, GBA_MASTER_KEY: MASTER_KEY },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.set(host, child);
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${nf} on ${host}: no ready line within 30 s\n${stderr}`)), 30_000);
    child.stderr?.on("data", (c) => {
      stderr += c;
      if (/ ready"/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${nf} on ${host} exited ${code} before its ready line\n${stderr}`));
    });
  });
}

/** A command in the UE's namespace. */
async function onUe(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const cmd = net.star.exec(net.hosts.ue, argv);
  // spawns: ip, curl (ip netns exec <ue host> …)
  return (await exec(cmd[0], cmd.slice(1), { timeout: 30_000, env: { ...process.env, ...env } })).stdout;
}

async function bootstrap(): Promise<{ btid: string; password: string }> {
  const out = await onUe([
    process.execPath,
    MAIN,
    "ue",
    "bootstrap",
    "--bsf",
    `http://${net.address(net.hosts.lb)}:${P.ub}`,
    "--usim",
    usim,
    "--bsf-fqdn",
    BSF_FQDN,
    "--naf",
    NAF_FQDN,
    "--trace",
    "--show-keys",
  ]);
  const r = JSON.parse(out) as { btid: string; nafKeys: Record<string, { base64: string }> };
  return { btid: r.btid, password: r.nafKeys[NAF_FQDN].base64 };
}

/** Zn through the load balancer: the HTTP status. */
async function znViaLb(btid: string): Promise<number> {
  return znOn(net.hosts.lb, btid);
}

/** Zn on one BSF replica directly (not through the load balancer): the HTTP status. */
async function znOn(bsfHost: string, btid: string): Promise<number> {
  const body = JSON.stringify({ btId: btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "0100000002" } });
  const url = `http://${net.address(bsfHost)}:${P.zn}${ZN}`;
  const h = ["-H", "content-type: application/json", "-H", `authorization: Bearer ${NAF_TOKEN}`];
  return Number(await onUe(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", ...h, "--data-binary", body, url]));
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("this suite needs root (network namespaces); CI runs as root");
  net = await startMultiHostNet({ replicas: 2, dir: join(dir, "net"), redisNodeTimeoutMs: 1000, checkIntervalMs: 200 });
  // the first HSS creates the store's key check; the others and the rest then start in parallel
  await startNf("hss", net.hosts.hss[0]);
  await Promise.all([
    ...net.hosts.hss.slice(1).map((h) => startNf("hss", h)),
    ...net.hosts.bsf.map((h) => startNf("bsf", h)),
    ...net.hosts.naf.map((h) => startNf("naf", h)),
  ]);
  for (const [backend, hosts] of [
    ["zh", net.hosts.hss],
    ["ub", net.hosts.bsf],
    ["zn", net.hosts.bsf],
    ["ua_http", net.hosts.naf],
  ] as const)
    for (const h of hosts) await net.lb.waitFor(backend, h, "UP");
  usim = join(dir, "usim.json");
  const made = await exec(process.execPath, [
    MAIN,
    "usim",
    "new",
    "--k",
    K,
    "--opc",
    OPC,
    "--imsi",
    "001010000054321",
    "--out",
    usim,
  ]);
  impi = (JSON.parse(made.stdout) as { impi: string }).impi;
  mkdirSync(join(dir, "ue"), { recursive: true });
  await onUe(
    [
      process.execPath,
      MAIN,
      "provision",
      "add",
      "--impi",
      impi,
      "--k",
      K,
      "--opc",
      OPC,
      "--data",
      join(dir, "ue"),
      "--store",
      net.storeUrl,
    ],
    { GBA_MASTER_KEY: MASTER_KEY },
  );
}, 180_000);

afterAll(async () => {
  for (const c of children.values()) if (c.exitCode === null) c.kill("SIGKILL");
  await net?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("multi-host: replicas in namespaces behind HAProxy, state on the Redis Cluster", () => {
  test("a B-TID bootstrapped through the load balancer is served on Zn by every BSF replica", async () => {
    const { btid } = await bootstrap();
    for (const h of net.hosts.bsf) expect(await znOn(h, btid), `Zn on ${h}`).toBe(200);
  });

  test("bootstraps over both HSS replicas get fresh SQNs; a new bootstrap makes every replica answer 404 for the old B-TID", async () => {
    const seen: string[] = [];
    // the load balancer alternates Zh over the HSS replicas: each bootstrap's vector from another one
    for (let i = 0; i < 4; i++) seen.push((await bootstrap()).btid);
    expect(new Set(seen).size).toBe(4);
    for (const old of seen.slice(0, -1)) for (const h of net.hosts.bsf) expect(await znOn(h, old), `${old} on ${h}`).toBe(404);
    for (const h of net.hosts.bsf) expect(await znOn(h, seen.at(-1)!)).toBe(200);
  }, 60_000);

  test("an Ua Digest answer accepted by one NAF replica is refused by the other as a nonce-count replay", async () => {
    const { btid, password } = await bootstrap();
    const [naf1, naf2] = net.hosts.naf.map((h) => `${NAF_FQDN}:${P.uaHttp}:${net.address(h)}`);
    const url = `http://${NAF_FQDN}:${P.uaHttp}/whoami`;
    // curl -v writes the request headers (the Authorization it computed) to stderr
    const cmd = net.star.exec(net.hosts.ue, [
      "curl",
      "-sS",
      "-v",
      "--digest",
      "-u",
      `${btid}:${password}`,
      "--resolve",
      naf1,
      "-w",
      "\n%{http_code}",
      url,
    ]);
    // spawns: ip, curl (ip netns exec <ue host> curl …)
    const verbose = await exec(cmd[0], cmd.slice(1), { timeout: 30_000 });
    expect(verbose.stdout.trim().split("\n").at(-1), verbose.stdout).toBe("200");
    const authorization = /^> authorization: (Digest .*)$/im.exec(verbose.stderr)?.[1]?.trim();
    expect(authorization, verbose.stderr).toBeDefined();
    const replay = async (naf: string) =>
      onUe(["curl", "-sS", "-H", `authorization: ${authorization}`, "--resolve", naf, "-w", "\n%{http_code}", url]);
    for (const naf of [naf2, naf1]) {
      const lines = (await replay(naf)).trim().split("\n");
      expect(lines.at(-1), `replay to ${naf}`).toBe("401");
      expect(lines.slice(0, -1).join("\n"), `replay to ${naf}`).toMatch(/nonce-count 00000001 was already used/);
    }
  }, 60_000);

  test("gba bench ub and zn from the UE host through HAProxy: bootstraps/s and Zn lookups/s of the whole deployment", async () => {
    const csv = join(dir, "bench-subscribers.csv");
    const rows = ["impi,k,opc"];
    for (let i = 0; i < BENCH_SUBSCRIBERS; i++)
      rows.push(`00101000009${String(i).padStart(4, "0")}@ims.mnc001.mcc001.3gppnetwork.org,${K},${OPC}`);
    writeFileSync(csv, rows.join("\n"));
    await onUe([process.execPath, MAIN, "provision", "import", csv, "--data", join(dir, "ue"), "--store", net.storeUrl], {
      GBA_MASTER_KEY: MASTER_KEY,
    });
    const lb = net.address(net.hosts.lb);
    const common = ["--duration", "3", "--rounds", "1", "--warmup", "1", "--connections", "16", "--subscribers", csv];
    const run = async (bench: "ub" | "zn", extra: string[]) => {
      const out = join(dir, `bench-${bench}.json`);
      await onUe([process.execPath, MAIN, "bench", bench, ...common, ...extra, "--out", out]);
      const r = JSON.parse(readFileSync(out, "utf8")) as {
        comparisons: Array<{
          subject: { perSec: number; ok: number; errors: Record<string, number>; latencyMs?: { p99: number } };
        }>;
      };
      return r.comparisons[0].subject;
    };
    const ub = await run("ub", ["--target", `http://${lb}:${P.ub}`]);
    const zn = await run("zn", [
      "--target",
      `http://${lb}:${P.zn}`,
      "--bsf",
      `http://${lb}:${P.ub}`,
      "--zn-token",
      NAF_TOKEN,
      "--naf-fqdn",
      NAF_FQDN,
    ]);
    for (const m of [ub, zn]) {
      expect(m.ok).toBeGreaterThan(0);
      expect(m.errors).toEqual({});
    }
    process.stderr.write(
      `multi-host (${net.hosts.bsf.length} BSF, ${net.hosts.hss.length} HSS, Redis 3+3, HAProxy; namespaces on one 2-core machine): ` +
        `${ub.perSec.toFixed(0)} bootstraps/s (p99 ${ub.latencyMs?.p99.toFixed(1)} ms), ` +
        `${zn.perSec.toFixed(0)} Zn lookups/s (p99 ${zn.latencyMs?.p99.toFixed(1)} ms), 16 connections, ${BENCH_SUBSCRIBERS} subscribers\n`,
    );
  }, 120_000);
  test("kill -9 of a BSF replica: HAProxy routes around it, bootstraps go on, no session lost", async () => {
    const before = await bootstrap();
    const victim = net.hosts.bsf[0];
    const child = children.get(victim)!;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await gone;
    // at once, before the health check notices: HAProxy retries a refused connection elsewhere (redispatch)
    expect(await znViaLb(before.btid)).toBe(200);
    await net.lb.waitFor("ub", victim, "DOWN");
    let last = before.btid;
    for (let i = 0; i < 3; i++) last = (await bootstrap()).btid;
    for (const h of net.hosts.bsf.slice(1)) expect(await znOn(h, last)).toBe(200);
    expect(await znViaLb(last)).toBe(200);
  }, 60_000);
});
