// An upstream NF down or slow: the HSS killed or paused (SIGSTOP) behind a running BSF, the BSF
// killed or paused behind a running NAF. The NF in front answers 503 ProblemDetails with
// Retry-After within its own timeout (bsf.zhTimeoutMs on Zh, the NAF's Zn timeout), never hangs
// and never 5xx's otherwise, and serves again by itself once the upstream is back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex } from "../wire/bytes.js";
import type { GbaConfig } from "../nf/config.js";
import type { RunningNf } from "../nf/common/nf.js";
import { startNaf } from "../nf/naf/index.js";
import { testSubscriber } from "./helpers/bsf-stack.js";
import { fixedPortConfig, kill, type NfProcess, removeTempDirs, spawnNf, stop, tempDir, until } from "./helpers/fault-procs.js";
import { type UaSession, uaGet } from "./helpers/fault-ua.js";
import { MiniUe, ubGet } from "./helpers/mini-ue.js";
import { jsonRequest } from "./hss-fixtures.js";

const ZH_TIMEOUT_MS = 800;
/** nf/naf/start.ts ZN_TIMEOUT_MS */
const ZN_TIMEOUT_MS = 2000;
/** scheduling slack on a loaded 2-core machine */
const SLACK_MS = 1500;

let cfg: GbaConfig;
let hss: NfProcess;
let bsf: NfProcess;
let naf: RunningNf;
let ue: MiniUe;

async function bootstrap(): Promise<UaSession> {
  const b = await ue.bootstrap(bsf.urls.ub, cfg.bsf.fqdn);
  return { btid: b.btid, impi: ue.impi, ks: b.ks, rand: b.rand };
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t0 };
}

/** The first Ub request, which needs the HSS (Zh) to be answered. */
const ubFirst = () => ubGet(bsf.urls.ub, ue.initialAuthorization(cfg.bsf.fqdn));
const whoami = (s: UaSession) => uaGet(naf.urls.http, "/whoami", s, cfg.naf.fqdn);

beforeAll(async () => {
  cfg = await fixedPortConfig(tempDir("gba-upstream-"));
  cfg.bsf.zhTimeoutMs = ZH_TIMEOUT_MS;
  hss = await spawnNf("hss", cfg);
  bsf = await spawnNf("bsf", cfg);
  naf = await startNaf({ ...cfg, logLevel: "silent" });
  const sub = testSubscriber();
  const r = await jsonRequest("POST", `${hss.urls.admin}/subscribers`, {
    impi: sub.impi,
    k: bytesToHex(sub.k),
    opc: bytesToHex(sub.opc),
  });
  expect(r.status).toBe(201);
  ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
});

afterAll(async () => {
  for (const p of [hss, bsf]) if (p) p.child.kill("SIGCONT");
  await naf?.close();
  await Promise.all([hss && stop(hss), bsf && stop(bsf)]);
  removeTempDirs();
});

function expect503(r: { status: number; headers: Record<string, string>; body?: string; text?: string }, cause: string) {
  expect(r.status).toBe(503);
  expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
  const body = JSON.parse(r.body ?? r.text ?? "{}");
  expect(body).toMatchObject({ status: 503, cause });
  expect(body.detail).toMatch(/\S/);
}

describe("HSS down or slow behind the BSF", () => {
  it("bootstraps while the HSS is up", async () => {
    expect((await whoami(await bootstrap())).status).toBe(200);
  });

  it("HSS killed: 503 with Retry-After at once; serves again when the HSS is restarted", async () => {
    await kill(hss);
    const { value, ms } = await timed(ubFirst);
    expect503(value, "HSS_UNAVAILABLE");
    expect(ms).toBeLessThan(ZH_TIMEOUT_MS + SLACK_MS);
    hss = await spawnNf("hss", cfg);
    const s = await bootstrap();
    expect((await whoami(s)).status).toBe(200);
  });

  it(`HSS paused: 503 with Retry-After within bsf.zhTimeoutMs (${ZH_TIMEOUT_MS} ms); serves again once resumed`, async () => {
    hss.child.kill("SIGSTOP");
    try {
      const { value, ms } = await timed(ubFirst);
      expect503(value, "HSS_UNAVAILABLE");
      expect(ms).toBeLessThan(ZH_TIMEOUT_MS + SLACK_MS);
      // other UEs are not held either: several at once, each answered within the timeout
      const many = await timed(() => Promise.all(Array.from({ length: 8 }, ubFirst)));
      for (const r of many.value) expect(r.status).toBe(503);
      expect(many.ms).toBeLessThan(ZH_TIMEOUT_MS + SLACK_MS);
    } finally {
      hss.child.kill("SIGCONT");
    }
    await until(async () => (await ubFirst()).status === 401, 10_000);
    expect((await whoami(await bootstrap())).status).toBe(200);
  });
});

describe("BSF down or slow behind the NAF", () => {
  it("BSF killed: the NAF answers 503 naming the BSF; the session works again after the BSF restarts", async () => {
    // committed before the kill, never used at the NAF (so not in its Zn cache)
    const s = await bootstrap();
    await kill(bsf);
    const { value, ms } = await timed(() => whoami(s));
    expect503(value, "FST_GBA_BSF_UNAVAILABLE");
    expect(value.json.detail).toMatch(/BSF/);
    expect(ms).toBeLessThan(ZN_TIMEOUT_MS + SLACK_MS);
    bsf = await spawnNf("bsf", cfg);
    const again = await whoami(s);
    expect(again.status).toBe(200);
    expect(again.json.btid).toBe(s.btid);
  });

  it(`BSF paused: 503 within the Zn timeout (${ZN_TIMEOUT_MS} ms); serves again once resumed`, async () => {
    const s = await bootstrap();
    bsf.child.kill("SIGSTOP");
    try {
      const { value, ms } = await timed(() => whoami(s));
      expect503(value, "FST_GBA_BSF_UNAVAILABLE");
      expect(ms).toBeLessThan(ZN_TIMEOUT_MS + SLACK_MS);
    } finally {
      bsf.child.kill("SIGCONT");
    }
    await until(async () => (await whoami(s)).status === 200, 10_000);
  });
});
