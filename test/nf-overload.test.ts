// Overload protection of an NF listener (nf/common/overload.ts, issue 18): while the event loop
// is late or the listener is full, a request is answered at once with 503 NF_CONGESTION and
// Retry-After, before any handler runs; an abandoned request frees its place.
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { type OverloadConfig, overloadDefaults } from "../nf/common/config.js";
import { overloadGuard } from "../nf/common/overload.js";
import { createNfServer, listen } from "../nf/common/server.js";
import { defaultConfig } from "../nf/config.js";

const LOOPBACK = { host: "127.0.0.1", port: 0 };
let apps: FastifyInstance[] = [];

afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

/** A listener with the guard and a route that waits for `gate` (the handler counts its calls). */
async function server(o: Partial<OverloadConfig> & { loopDelayMs?: () => number }, gate?: () => Promise<void>) {
  const app = createNfServer({ name: "overload-test", logLevel: "silent" });
  apps.push(app);
  const seen = { handled: 0 };
  await app.register(overloadGuard, { ...overloadDefaults(), ...o });
  app.get("/work", async () => {
    seen.handled++;
    if (gate) await gate();
    return { ok: true };
  });
  return { url: await listen(app, LOOPBACK), seen };
}

async function expectShed(res: Response, retryAfter: string, why: RegExp): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe(retryAfter);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const p = (await res.json()) as { cause: string; detail: string; status: number };
  expect(p).toMatchObject({ status: 503, cause: "NF_CONGESTION" });
  expect(p.detail).toMatch(why);
}

describe("overload guard", () => {
  it("sheds while the event loop is later than maxEventLoopDelayMs, before the handler runs", async () => {
    let delay = 0;
    const { url, seen } = await server({
      maxEventLoopDelayMs: 100,
      maxInFlight: 0,
      retryAfterSeconds: 2,
      loopDelayMs: () => delay,
    });
    expect((await fetch(`${url}/work`)).status).toBe(200);
    delay = 101;
    await expectShed(await fetch(`${url}/work`), "2", /event-loop delay 101 ms \(overload\.maxEventLoopDelayMs 100\)/);
    expect(seen.handled).toBe(1);
    delay = 100;
    expect((await fetch(`${url}/work`)).status).toBe(200);
  });

  it("sheds beyond maxInFlight requests being served, and serves again once one ends", async () => {
    const waiting: Array<() => void> = [];
    const gate = () => new Promise<void>((r) => waiting.push(r));
    const { url, seen } = await server({ maxEventLoopDelayMs: 0, maxInFlight: 2 }, gate);
    const first = [fetch(`${url}/work`), fetch(`${url}/work`)];
    await expect.poll(() => waiting.length).toBe(2);
    await expectShed(await fetch(`${url}/work`), "1", /2 requests in flight \(overload\.maxInFlight 2\)/);
    expect(seen.handled).toBe(2);
    waiting.shift()?.();
    expect((await first[0]).status).toBe(200);
    const third = fetch(`${url}/work`);
    await expect.poll(() => waiting.length).toBe(2);
    for (const w of waiting.splice(0)) w();
    expect((await third).status).toBe(200);
    expect((await first[1]).status).toBe(200);
  });

  it("a request its client abandoned frees its place", async () => {
    let release = () => {};
    const first = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    // only the first request waits (until the end of the test); the others are answered at once
    const { url } = await server({ maxEventLoopDelayMs: 0, maxInFlight: 1 }, () => (++calls === 1 ? first : Promise.resolve()));
    const abort = new AbortController();
    const gone = fetch(`${url}/work`, { signal: abort.signal }).catch((e: unknown) => e);
    await expect.poll(() => calls).toBe(1);
    await expectShed(await fetch(`${url}/work`), "1", /1 requests in flight/);
    abort.abort();
    await gone;
    // its handler still waits, but the connection is gone: the next request is served
    await expect.poll(async () => (await fetch(`${url}/work`)).status).toBe(200);
    release();
  });

  it("measures this process's event loop: two 300 ms stalls in a row shed the next request, one does not", async () => {
    const app = createNfServer({
      name: "overload-test",
      logLevel: "silent",
      overload: { maxEventLoopDelayMs: 100, maxInFlight: 0, retryAfterSeconds: 1 },
    });
    apps.push(app);
    const stall = () => {
      const end = performance.now() + 300;
      while (performance.now() < end) {
        // a synchronous stretch, as a CPU-bound NF under load has them
      }
    };
    app.get<{ Querystring: { times: string } }>("/stall", async (req) => {
      for (let i = 0; i < Number(req.query.times); i++) {
        stall();
        // a timers phase in between: the sampling timer (overdue) reads the stall
        await new Promise((r) => setTimeout(r, 1));
      }
      return { ok: true };
    });
    app.get("/work", async () => ({ ok: true }));
    const url = await listen(app, LOOPBACK);
    // the sampling timer reads the last stall before this process reads /stall's answer
    expect((await fetch(`${url}/stall?times=1`)).status).toBe(200);
    expect((await fetch(`${url}/work`)).status).toBe(200);
    expect((await fetch(`${url}/stall?times=2`)).status).toBe(200);
    await expectShed(await fetch(`${url}/work`), "1", /event-loop delay \d+ ms/);
    // a sample on time ends it
    await expect.poll(async () => (await fetch(`${url}/work`)).status, { timeout: 5000 }).toBe(200);
  });

  it("refuses settings that are not integers in range, naming the setting", () => {
    const overload = { ...defaultConfig().overload, maxInFlight: -1 };
    expect(() => createNfServer({ name: "x", logLevel: "silent", overload })).toThrow(
      /overload\.maxInFlight: must be a non-negative integer/,
    );
    const retry = { ...defaultConfig().overload, retryAfterSeconds: 0 };
    expect(() => createNfServer({ name: "x", logLevel: "silent", overload: retry })).toThrow(/overload\.retryAfterSeconds/);
  });
});
