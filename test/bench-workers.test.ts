// `gba naf --workers N` and `gba bsf --workers N` (node:cluster): one ready line for all workers,
// a worker that dies is replaced, SIGTERM stops them all; and what must hold across workers:
// a Ua nonce from one worker verifies on another while a replayed nc is refused on every one
// (shared nonce secret, nonce-counts in LMDB), a Ub challenge from one worker is answered on
// another (challenges in LMDB). Every request goes out on a new connection, so the primary's
// round-robin hands consecutive requests to different workers.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { Agent, request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { hexToBytes } from "../wire/bytes.js";
import { createZnClient, gbaNaf, installGbaErrorHandler } from "../nf/naf/index.js";
import { LmdbNonceCountStore } from "../nf/naf/store-lmdb.js";
import { MiniUe } from "./helpers/mini-ue.js";
import { answerChallenge, b64, NAF_FQDN, parseChallenge, startFakeZn, ZN_TOKEN } from "./naf-fixtures.js";

const MAIN = join(process.cwd(), "dist/cli/main.js");
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "gba-workers-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A new connection for every request. */
const fresh = new Agent({ pipelining: 0 });

interface Cli {
  child: ChildProcess;
  ready: Record<string, unknown>;
  stdout(): string;
  stderr(): string;
  stop(): Promise<number | null>;
}

function startCli(args: string[]): Promise<Cli> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  let out = "";
  child.stderr?.on("data", (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`gba ${args.join(" ")} exited with ${code}: ${err}`));
    child.once("exit", onExit);
    child.stdout?.on("data", (d) => {
      const first = out.indexOf("\n") < 0;
      out += d;
      const nl = out.indexOf("\n");
      if (!first || nl < 0) return;
      child.off("exit", onExit);
      resolve({
        child,
        ready: JSON.parse(out.slice(0, nl)),
        stdout: () => out,
        stderr: () => err,
        stop: () =>
          new Promise((r) => {
            child.once("exit", (code) => r(code));
            child.kill("SIGTERM");
          }),
      });
    });
  });
}

function workerPids(primary: number): number[] {
  return readFileSync(`/proc/${primary}/task/${primary}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

async function until(probe: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("LmdbNonceCountStore", () => {
  it("sees the nc another store (another process) recorded, refuses replays, goes stale with the nonce", async () => {
    const data = tmp();
    let now = 1_000_000;
    const a = LmdbNonceCountStore.open(data, 60, () => now);
    const b = LmdbNonceCountStore.open(data, 60, () => now);
    try {
      expect(await a.use("n1", now, 1)).toBe("ok");
      expect(await b.use("n1", now, 1)).toBe("replay");
      expect(await b.use("n1", now, 2)).toBe("ok");
      expect(await a.use("n1", now, 2)).toBe("replay");
      expect(await a.use("n1", now, 3)).toBe("ok");
      expect(await b.use("n2", now, 1)).toBe("ok");
      now += 61_000;
      expect(await a.use("n1", now - 61_000, 4)).toBe("stale");
      expect(b.sweep()).toBe(2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("lets exactly one of two concurrent uses of the same nc through", async () => {
    const data = tmp();
    const a = LmdbNonceCountStore.open(data, 60, Date.now);
    const b = LmdbNonceCountStore.open(data, 60, Date.now);
    try {
      const t = Date.now();
      for (let nc = 1; nc <= 20; nc++) {
        const both = await Promise.all([a.use("race", t, nc), b.use("race", t, nc)]);
        expect(both.sort()).toEqual(["ok", "replay"]);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("backs the NAF plugin: two apps on one store refuse each other's replays, auth-int bodies included", async () => {
    const zn = await startFakeZn();
    const s = zn.addSession();
    const password = b64(zn.keyFor(s, NAF_FQDN, "0100000002"));
    const data = tmp();
    const secret = new Uint8Array(32).fill(7);
    const apps = await Promise.all(
      [0, 1].map(async () => {
        const counts = LmdbNonceCountStore.open(data, 60, Date.now);
        const client = createZnClient({ bsfUrl: zn.url, token: ZN_TOKEN });
        const app = Fastify();
        app.addHook("onClose", async () => {
          await client.close();
          await counts.close();
        });
        await app.register(async (scope) => {
          installGbaErrorHandler(scope);
          await scope.register(gbaNaf, { fqdn: NAF_FQDN, zn: client, nonceSecret: secret, nonceCounts: counts });
          scope.post("/echo", { onRequest: scope.gbaAuthenticate }, async (req) => ({ got: req.body }));
        });
        return app;
      }),
    );
    try {
      const c = parseChallenge((await apps[0].inject({ method: "POST", url: "/echo" })).headers["www-authenticate"] as string);
      const body = JSON.stringify({ n: 1 });
      const post = (app: number, nc: number) =>
        apps[app].inject({
          method: "POST",
          url: "/echo",
          payload: body,
          headers: {
            "content-type": "application/json",
            authorization: answerChallenge({
              ...{ username: s.btid, password, realm: c.realm, nonce: c.nonce, method: "POST", uri: "/echo" },
              ...{ qop: "auth-int", nc, cnonce: "abc", body },
            }).header,
          },
        });
      expect((await post(1, 1)).statusCode).toBe(200);
      expect((await post(0, 1)).statusCode).toBe(401);
      expect((await post(0, 2)).statusCode).toBe(200);
      expect((await post(1, 2)).statusCode).toBe(401);
      expect((await post(1, 1)).statusCode).toBe(401);
    } finally {
      for (const app of apps) await app.close();
      await zn.close();
    }
  });
});

describe("gba naf --workers 2", () => {
  it("one ready line; nonces verify on every worker, replays are refused on every worker; a dead worker is replaced", async () => {
    const zn = await startFakeZn();
    const session = zn.addSession();
    const password = b64(zn.keyFor(session, NAF_FQDN, "0100000002"));
    const naf = await startCli([
      "naf",
      "--ephemeral-ports",
      "--data",
      tmp(),
      "--bsf",
      zn.url,
      "--log-level",
      "warn",
      "--workers",
      "2",
    ]);
    try {
      expect(naf.ready).toMatchObject({ ready: true, workers: 2, naf: { fqdn: NAF_FQDN } });
      const base = (naf.ready.naf as { http: string }).http;
      const pids = workerPids(naf.child.pid as number);
      expect(pids).toHaveLength(2);

      const get = async (authorization?: string) => {
        const r = await request(`${base}/whoami`, { dispatcher: fresh, headers: authorization ? { authorization } : {} });
        await r.body.dump();
        return { status: r.statusCode, www: r.headers["www-authenticate"] as string | undefined };
      };
      const { realm, nonce } = parseChallenge((await get()).www);
      const answer = (nc: number) =>
        answerChallenge({
          username: session.btid,
          password,
          realm,
          nonce,
          method: "GET",
          uri: "/whoami",
          qop: "auth",
          nc,
          cnonce: "c0ffee",
        }).header;
      // nc 1..4, each on a new connection: both workers accept the nonce
      for (let nc = 1; nc <= 4; nc++) expect((await get(answer(nc))).status).toBe(200);
      // every earlier answer replayed on new connections: refused by both workers
      for (let nc = 1; nc <= 4; nc++) for (let i = 0; i < 2; i++) expect((await get(answer(nc))).status).toBe(401);

      process.kill(pids[0], "SIGKILL");
      await until(() => /starting another/.test(naf.stderr()) && workerPids(naf.child.pid as number).length === 2, 10_000);
      // the replacement knows the nonce secret and the counts of the dead worker
      await until(() => workerPids(naf.child.pid as number).every((p) => p !== pids[0]), 5000);
      const statuses: number[] = [];
      for (let nc = 5; nc <= 8; nc++) statuses.push((await get(answer(nc))).status);
      expect(statuses).toEqual([200, 200, 200, 200]);
      expect((await get(answer(8))).status).toBe(401);
      expect((await get(answer(8))).status).toBe(401);

      const left = workerPids(naf.child.pid as number);
      expect(await naf.stop()).toBe(0);
      expect(naf.stdout().trim().split("\n")).toHaveLength(1);
      for (const p of left) expect(alive(p)).toBe(false);
    } finally {
      if (naf.child.exitCode === null) naf.child.kill("SIGKILL");
      await zn.close();
    }
  });
});

describe("gba bsf --workers 2", () => {
  it("a challenge from one worker is answered on another: every bootstrap succeeds", async () => {
    const data = tmp();
    const k = "465b5ce8b199b49faa5f0a2ee238a6bc";
    const opc = "cd63cb71954a9f4e48a5994e37a02baf";
    const impi = "001010000007777@ims.mnc001.mcc001.3gppnetwork.org";
    const hss = await startCli(["hss", "--ephemeral-ports", "--data", data, "--log-level", "warn"]);
    let bsf: Cli | undefined;
    try {
      const add = spawn(process.execPath, [MAIN, "provision", "add", "--data", data, "--impi", impi, "--k", k, "--opc", opc]);
      expect(await new Promise((r) => add.on("close", r))).toBe(0);
      const zh = (hss.ready.hss as { zh: string }).zh;
      bsf = await startCli(["bsf", "--ephemeral-ports", "--data", data, "--hss", zh, "--log-level", "warn", "--workers", "2"]);
      expect(bsf.ready).toMatchObject({ ready: true, workers: 2 });
      const { ub, fqdn } = bsf.ready.bsf as { ub: string; fqdn: string };
      const ue = new MiniUe({ impi, k: hexToBytes(k), opc: hexToBytes(opc), dispatcher: fresh });
      const btids = new Set<string>();
      for (let i = 0; i < 4; i++) btids.add((await ue.bootstrap(ub, fqdn)).btid);
      expect(btids.size).toBe(4);
      expect(await bsf.stop()).toBe(0);
    } finally {
      if (bsf && bsf.child.exitCode === null) bsf.child.kill("SIGKILL");
      await hss.stop();
    }
  });
});
