// The dashboard's server without a browser: who may use it (loopback Host, token by bearer,
// ?token= then cookie, same-origin writes), the forwarding to the HSS admin API (503 naming a
// node that is down, K/OP/OPc dropped from anything that comes back), the event stream's
// batching (≤ 4 messages a second, ≤ MAX_EVENTS_PER_MESSAGE events each, the rest counted), and
// the `gba up --dashboard` / `gba dashboard` command lines.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { startDashboard } from "../dashboard/server.js";
import { MAX_EVENTS_PER_MESSAGE, type StreamMessage } from "../dashboard/stream.js";
import { ConfigError } from "../nf/common/config.js";
import { EventBus } from "../nf/common/events.js";

const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const TOKEN = "dashboard-token-0123456789";
const LOOPBACK = { host: "127.0.0.1", port: 0 };
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (let c = cleanups.pop(); c; c = cleanups.pop()) await c();
});

async function board(o: Partial<Parameters<typeof startDashboard>[0]> = {}) {
  const b = await startDashboard({ listen: LOOPBACK, logLevel: "silent", ...o });
  cleanups.push(() => b.close());
  return b;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe("dashboard access", () => {
  it("serves the page, its modules and uPlot from the package, with a strict content security policy", async () => {
    const { url } = await board();
    const page = await get(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script type="module" src="/app.js">');
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'self'/);
    for (const path of ["/app.js", "/live.js", "/ladder.js", "/vendor/uplot/uPlot.esm.js", "/vendor/uplot/uPlot.min.css"]) {
      expect((await get(`${url}${path}`)).status, path).toBe(200);
    }
  });

  it("on loopback answers loopback host names only (DNS rebinding)", async () => {
    const { url } = await board();
    expect((await get(`${url}/api/info`, { host: "attacker.example" })).status).toBe(403);
    expect((await get(`${url}/api/info`, { host: "localhost:7080" })).status).toBe(200);
  });

  it("refuses a host beyond loopback without a token, and a short token", async () => {
    await expect(startDashboard({ listen: { host: "0.0.0.0", port: 0 }, logLevel: "silent" })).rejects.toThrow(ConfigError);
    await expect(startDashboard({ listen: LOOPBACK, token: "short", logLevel: "silent" })).rejects.toThrow(/16 characters/);
  });

  it("with a token: 401 without it, bearer or ?token= (then an HttpOnly cookie, address without the token)", async () => {
    const { url } = await board({ token: TOKEN });
    const none = await get(`${url}/api/info`);
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect((await get(`${url}/api/info?token=wrong-token-0123456789`)).status).toBe(401);
    expect((await get(`${url}/api/info`, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const login = await get(`${url}/?token=${TOKEN}#live`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe("/");
    const cookie = String(login.headers["set-cookie"]);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect((await get(`${url}/api/info`, { cookie: cookie.split(";")[0] })).status).toBe(200);
  });

  it("refuses a cross-origin write", async () => {
    const { url } = await board({ hssAdmin: { url: "http://127.0.0.1:9" } });
    const res = await request(`${url}/api/subscribers`, {
      method: "POST",
      headers: { origin: "http://attacker.example", "content-type": "application/json" },
      body: "{}",
    });
    expect(res.statusCode).toBe(403);
    expect(((await res.body.json()) as { cause: string }).cause).toBe("CROSS_ORIGIN");
  });
});

describe("dashboard forwarding to the NFs", () => {
  it("names an HSS admin API that cannot be reached (503), and a missing one (404)", async () => {
    const { url } = await board({ hssAdmin: { url: "http://127.0.0.1:9" } });
    const down = await get(`${url}/api/subscribers`);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text).detail).toMatch(/HSS provisioning API at http:\/\/127\.0\.0\.1:9 cannot be reached/);
    const bare = await board();
    expect((await get(`${bare.url}/api/eca/certificates`)).status).toBe(404);
    expect((await get(`${bare.url}/api/eca/bindings`)).status).toBe(404);
  });

  it("passes the HSS's status and problem through with its bearer token, and drops k / op / opc from anything that comes back", async () => {
    const hss = Fastify();
    const seen: string[] = [];
    hss.get("/subscribers/:impi", async (req, reply) => {
      seen.push(String(req.headers.authorization));
      if ((req.params as { impi: string }).impi === "gone") {
        return reply
          .code(404)
          .type("application/problem+json")
          .send({ status: 404, cause: "USER_NOT_FOUND", detail: "no subscriber gone" });
      }
      return { impi: "x@example.org", k: "00112233445566778899aabbccddeeff", nested: [{ OPc: "ff", ok: 1 }] };
    });
    await hss.listen({ host: "127.0.0.1", port: 0 });
    cleanups.push(() => hss.close());
    const address = hss.server.address() as { port: number };
    const { url } = await board({ hssAdmin: { url: `http://127.0.0.1:${address.port}`, token: "hss-admin-token-0123456789" } });
    const ok = await get(`${url}/api/subscribers/x@example.org`);
    expect(JSON.parse(ok.text)).toEqual({ impi: "x@example.org", nested: [{ ok: 1 }] });
    const gone = await get(`${url}/api/subscribers/gone`);
    expect(gone.status).toBe(404);
    expect(gone.headers["content-type"]).toMatch(/problem\+json/);
    expect(JSON.parse(gone.text).cause).toBe("USER_NOT_FOUND");
    expect(seen).toEqual(["Bearer hss-admin-token-0123456789", "Bearer hss-admin-token-0123456789"]);
  });
});

describe("dashboard event stream", () => {
  it("says there is no bus when it watches NFs elsewhere", async () => {
    const { url } = await board();
    const r = await get(`${url}/api/events`);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.text).cause).toBe("NO_EVENT_BUS");
  });

  it("sends at most 4 messages a second, each with the newest events capped and the rest counted", async () => {
    const bus = new EventBus();
    const { url } = await board({ events: bus });
    const controller = new AbortController();
    const res = await fetch(`${url}/api/stream`, { signal: controller.signal });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const messages: StreamMessage[] = [];
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const started = performance.now();
    let buffer = "";
    let emitted = false;
    while (performance.now() - started < 1500) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let i = buffer.indexOf("\n\n"); i >= 0; i = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data) messages.push(JSON.parse(data) as StreamMessage);
      }
      if (!emitted && messages.length > 0) {
        emitted = true;
        for (let n = 0; n < 1000; n++)
          bus.emit({ nf: "bsf", kind: "ub", outcome: "ok", impi: `u${n}@example.org`, btid: `b${n}` });
      }
    }
    controller.abort();
    const seconds = (performance.now() - started) / 1000;
    expect(messages.length).toBeLessThanOrEqual(Math.ceil(seconds * 4) + 1);
    const withEvents = messages.filter((m) => m.events.length > 0);
    expect(withEvents).toHaveLength(1);
    expect(withEvents[0].events).toHaveLength(MAX_EVENTS_PER_MESSAGE);
    expect(withEvents[0].skipped).toBe(1000 - MAX_EVENTS_PER_MESSAGE);
    expect(withEvents[0].events.at(-1)?.impi).toBe("u999@example.org");
    expect(messages.at(-1)?.totals?.["ub.ok"]).toBe(1000);
  });
});

function runGba(
  args: string[],
  o: { untilReady?: boolean } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, GBA_DASHBOARD_TOKEN: "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      if (o.untilReady && stdout.includes("\n")) child.kill("SIGTERM");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `gba ARGS`, resolves to its ready line; the process stops after the test. */
async function startGba(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, GBA_DASHBOARD_TOKEN: "", ...env },
  });
  cleanups.push(
    () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r(undefined);
        child.once("exit", r);
        child.kill("SIGTERM");
      }),
  );
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
    child.once("exit", (code) => reject(new Error(`gba ${args[0]} exited with ${code}`)));
  });
  return JSON.parse(line) as Record<string, unknown>;
}

describe("gba up --dashboard and gba dashboard", () => {
  it("gba up --dashboard names the dashboard in the ready line, and it serves the page", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gba-up-dashboard-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const ready = (await startGba(["up", "--dashboard", "--ephemeral-ports", "--data", dir, "--log-level", "warn"])) as {
      ready: boolean;
      dashboard: string;
      hss: { admin: string };
    };
    expect(ready.ready).toBe(true);
    expect(ready.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const info = JSON.parse((await get(`${ready.dashboard}/api/info`)).text);
    expect(info).toMatchObject({ events: true, hssAdmin: ready.hss.admin });
    expect((await get(`${ready.dashboard}/api/subscribers`)).status).toBe(200);
    // the ECA's certificate log and binding registry answer the dashboard (a loopback client), a page at a time
    expect(JSON.parse((await get(`${ready.dashboard}/api/eca/certificates`)).text)).toEqual({ certificates: [], next: null });
    expect(JSON.parse((await get(`${ready.dashboard}/api/eca/bindings?limit=5`)).text)).toEqual({ bindings: [], next: null });
    expect((await get(`${ready.dashboard}/api/eca/bindings?limit=x`)).status).toBe(400);
  }, 30_000);

  it("takes its token from dashboard.token of the config, GBA_DASHBOARD_TOKEN in its place when set", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gba-dashboard-config-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const config = (dashboard: object) => {
      const file = join(dir, `config-${cleanups.length}.yaml`);
      writeFileSync(file, JSON.stringify({ dashboard }));
      return file;
    };
    const args = (file: string) => [
      ...["dashboard", "--hss-admin", "http://127.0.0.1:9", "--ephemeral-ports"],
      ...["--log-level", "warn", "--config", file],
    ];
    const withToken = config({ token: TOKEN });
    const fromConfig = (await startGba(args(withToken))).dashboard as string;
    expect((await get(`${fromConfig}/api/info`)).status).toBe(401);
    expect((await get(`${fromConfig}/api/info`, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const other = "environment-token-0123456789";
    const fromEnv = (await startGba(args(withToken), { GBA_DASHBOARD_TOKEN: other })).dashboard as string;
    expect((await get(`${fromEnv}/api/info`, { authorization: `Bearer ${TOKEN}` })).status).toBe(401);
    expect((await get(`${fromEnv}/api/info`, { authorization: `Bearer ${other}` })).status).toBe(200);
    // the HSS admin API's rule: 16+ characters, and a token beyond loopback
    const short = await runGba(args(config({ token: "short" })));
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/dashboard\.token \(or GBA_DASHBOARD_TOKEN\): must be a string of at least 16 characters/);
    const wide = await runGba(args(config({ listen: { host: "0.0.0.0", port: 0 } })));
    expect(wide.code).toBe(1);
    expect(wide.stderr).toMatch(/dashboard\.listen\.host 0\.0\.0\.0 is not a loopback address/);
  }, 30_000);

  it("gba dashboard needs a node to watch, and a token beyond loopback", async () => {
    const none = await runGba(["dashboard"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--hss-admin URL, --eca URL or both/);
    // it keeps no state: --store is refused, not silently ignored, and not offered in --help
    const store = await runGba(["dashboard", "--hss-admin", "http://127.0.0.1:7002", "--store", "redis://127.0.0.1:7000"]);
    expect(store.code).toBe(2);
    expect(store.stderr).toMatch(
      /--store: gba dashboard keeps no state; it reads the HSS and the ECA over --hss-admin and --eca/,
    );
    expect((await runGba(["dashboard", "--help"])).stdout).not.toMatch(/--store/);
    const wide = await runGba(["dashboard", "--hss-admin", "http://127.0.0.1:7002", "--listen", "0.0.0.0:0"]);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toMatch(
      /dashboard.listen.host 0.0.0.0 is not a loopback address: set dashboard.token \(or GBA_DASHBOARD_TOKEN\)/,
    );
    const ok = await runGba(["dashboard", "--hss-admin", "http://127.0.0.1:7002", "--ephemeral-ports"], { untilReady: true });
    expect(JSON.parse(ok.stdout.split("\n")[0])).toMatchObject({ ready: true, dashboard: expect.stringMatching(/^http:/) });
  }, 30_000);
});
