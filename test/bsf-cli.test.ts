// `gba bsf` and `gba up` as processes (node dist/cli/main.js; run `npx tsc -p .` first):
// ready lines, flags, a bootstrap through them, and two BSF processes sharing one data root
// (the challenge issued by one is answered at the other; Zn of either finds the session).
// On both store backends (vitest.config.ts): every data root and `--data` goes with its store.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseDigestChallenge } from "../gba/digest/index.js";
import { startBsf } from "../nf/bsf/index.js";
import { defaultConfig, withEphemeralPorts } from "../nf/config.js";
import type { RunningNf } from "../nf/common/nf.js";
import { startHss } from "../nf/hss/index.js";
import { bytesToHex } from "../wire/bytes.js";
import { testSubscriber } from "./helpers/bsf-stack.js";
import { MiniUe, ubGet } from "./helpers/mini-ue.js";
import { withStoreArgs, withTestStore } from "./helpers/store-backend.js";

const MAIN = resolve("dist/cli/main.js");
const FQDN = defaultConfig().bsf.fqdn;

interface Proc {
  child: ChildProcessWithoutNullStreams;
  ready: Record<string, Record<string, string>>;
  stderr(): string;
  stop(): Promise<number | null>;
}

function startCli(args: string[]): Promise<Proc> {
  const child = spawn(process.execPath, [MAIN, ...withStoreArgs(args)], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (c) => {
    err += c;
  });
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 20 s; stderr: ${err}`)), 20_000);
    child.stdout.on("data", (c) => {
      out += c;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      resolveReady({
        child,
        ready: JSON.parse(out.slice(0, nl)),
        stderr: () => err,
        stop: () =>
          new Promise((r) => {
            child.once("exit", (code) => r(code));
            child.kill("SIGTERM");
          }),
      });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before the ready line; stderr: ${err}`));
    });
  });
}

async function provision(adminUrl: string, sub: ReturnType<typeof testSubscriber>): Promise<void> {
  const r = await request(`${adminUrl}/subscribers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ impi: sub.impi, k: bytesToHex(sub.k), opc: bytesToHex(sub.opc) }),
  });
  expect(r.statusCode).toBe(201);
  await r.body.dump();
}

let dir: string;
let running: Array<{ close(): Promise<unknown> }> = [];
beforeEach(() => {
  expect(existsSync(MAIN), "run `npx tsc -p .` first").toBe(true);
  dir = mkdtempSync(join(tmpdir(), "bsf-cli-"));
  running = [];
});
afterEach(async () => {
  for (const r of running.reverse()) await r.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function inProcessHss(): Promise<RunningNf> {
  const cfg = withEphemeralPorts(defaultConfig());
  cfg.data = dir;
  cfg.logLevel = "silent";
  withTestStore(cfg);
  const hss = await startHss(cfg);
  running.push(hss);
  return hss;
}

describe("gba bsf", () => {
  it("documents its options in --help", () => {
    const r = spawnSync(process.execPath, [MAIN, "bsf", "--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    for (const flag of ["--hss URL", "--fqdn NAME", "--algorithm", "--data DIR", "--config FILE", "--ephemeral-ports"])
      expect(r.stdout).toContain(flag);
  });

  it("refuses bad flags with exit 2 and a message naming the flag", () => {
    for (const [args, mention] of [
      [["--algorithm", "MD5"], "--algorithm"],
      [["--hss", "not a url"], "--hss"],
      [["--hss", "ftp://x"], "--hss"],
      [["--fqdn", "bad name"], "--fqdn"],
      [["--frobnicate"], "frobnicate"],
    ] as const) {
      const r = spawnSync(process.execPath, [MAIN, ...withStoreArgs(["bsf", "--ephemeral-ports", "--data", dir, ...args])], {
        encoding: "utf8",
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(mention);
    }
  });

  it("starts alone against --hss, prints the ready line, bootstraps a UE, stops on SIGTERM", async () => {
    const hss = await inProcessHss();
    const bsf = await startCli([
      "bsf",
      "--ephemeral-ports",
      "--data",
      dir,
      "--hss",
      hss.urls.zh,
      "--log-level",
      "warn",
      "--algorithm",
      "AKAv2-MD5",
    ]);
    expect(Object.keys(bsf.ready)).toEqual(["ready", "bsf", "diameter"]);
    expect(bsf.ready.bsf).toEqual({
      ub: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      zn: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      znDiameter: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      fqdn: FQDN,
    });
    expect(bsf.ready.diameter).toEqual({ realm: "mnc001.mcc001.3gppnetwork.org", bsfHost: "bsf.mnc001.mcc001.3gppnetwork.org" });
    const sub = testSubscriber();
    await provision(hss.urls.admin, sub);
    const b = await new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc }).bootstrap(bsf.ready.bsf.ub, FQDN);
    expect(b.algorithm).toBe("AKAv2-MD5");
    expect(await bsf.stop()).toBe(0);
  });
});

describe("gba up", () => {
  it("starts the HSS and the BSF wired together and prints hss and bsf in the ready line", async () => {
    const up = await startCli(["up", "--ephemeral-ports", "--data", dir, "--log-level", "warn"]);
    running.push({ close: () => up.stop() });
    expect(up.ready.ready).toBe(true);
    expect(up.ready.bsf).toEqual({ ub: expect.any(String), zn: expect.any(String), znDiameter: expect.any(String), fqdn: FQDN });
    expect(up.ready.hss).toEqual({ zh: expect.any(String), admin: expect.any(String), zhDiameter: expect.any(String) });
    expect(up.ready.diameter).toEqual({
      realm: "mnc001.mcc001.3gppnetwork.org",
      hssHost: "hss.mnc001.mcc001.3gppnetwork.org",
      bsfHost: "bsf.mnc001.mcc001.3gppnetwork.org",
    });
    const sub = testSubscriber();
    await provision(up.ready.hss.admin, sub);
    const b = await new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc }).bootstrap(up.ready.bsf.ub, FQDN);
    expect(b.response.status).toBe(200);
  });
});

describe("two BSF processes on one data root", () => {
  it("a challenge from one is answered at the other, and both serve the session on Zn", async () => {
    const hss = await inProcessHss();
    const cfg = withEphemeralPorts(defaultConfig());
    cfg.data = dir;
    cfg.logLevel = "silent";
    withTestStore(cfg);
    cfg.bsf.hssUrl = hss.urls.zh;
    const here = await startBsf(cfg);
    running.push(here);
    const there = await startCli(["bsf", "--ephemeral-ports", "--data", dir, "--hss", hss.urls.zh, "--log-level", "warn"]);
    running.push({ close: () => there.stop() });

    const sub = testSubscriber();
    await provision(hss.urls.admin, sub);
    const ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
    const first = await ubGet(there.ready.bsf.ub, ue.initialAuthorization(FQDN));
    const ch = parseDigestChallenge(first.headers["www-authenticate"])[0];
    const n = Buffer.from(ch.nonce, "base64");
    const aka = ue.authenticate(n.subarray(0, 16), n.subarray(16, 32));
    if (aka.kind !== "ok") throw new Error("USIM refused");
    const answer = ue.answerAuthorization(ch, aka.res).header;
    const ok = await ubGet(here.urls.ub, answer);
    expect(ok.status).toBe(200);
    // the replay at the first process is refused: the nonce was spent in the shared store
    expect((await ubGet(there.ready.bsf.ub, answer)).status).toBe(403);

    const btid = /<btid>([^<]+)<\/btid>/.exec(ok.body)?.[1];
    for (const znUrl of [here.urls.zn, there.ready.bsf.zn]) {
      const r = await request(`${znUrl}/nbsp-gba/v1/bootstrapping-info-retrieval`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer naf-zn-token" },
        body: JSON.stringify({ btId: btid, nafId: { nafFqdn: "naf.example.org", uaSecProtId: "0100000002" } }),
      });
      expect(r.statusCode).toBe(200);
      expect(((await r.body.json()) as { impi: string }).impi).toBe(sub.impi);
    }
  });
});
