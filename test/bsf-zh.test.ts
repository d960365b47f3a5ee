// Zh client of the BSF against a scripted HSS (node:http), for what a real HSS will not do on
// demand: hang, reset connections, answer garbage. Also the BSF's 503 + Retry-After on Ub.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateAuthVector } from "../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { sqnToBytes } from "../milenage/sqn.js";
import { defaultConfig, type GbaConfig, withEphemeralPorts } from "../nf/config.js";
import { type RunningBsf, startBsf } from "../nf/bsf/index.js";
import { bsfConfigSection } from "../nf/bsf/config.js";
import { createZhClient, ZhError } from "../nf/bsf/zh-client.js";
import { parseDigestChallenge } from "../gba/digest/index.js";
import { MiniUe, ubGet } from "./helpers/mini-ue.js";

const IMPI = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org";
const K = hexToBytes("465b5ce8b199b49faa5f0a2ee238a6bc");
const OPC = hexToBytes("cd63cb71954a9f4e48a5994e37a02baf");

type Mode = "ok" | "hang" | "reset-once" | "reset-always" | "garbage" | "500" | "404" | "403" | "uss-no-gstype" | "uss-no-ueids";

/** A USS without one of the fields TS 29.309 Uss requires. */
const BAD_USS: Partial<Record<Mode, object>> = {
  "uss-no-gstype": { gsId: 1, ueIds: [{ ueId: "sip:a@example.org" }] },
  "uss-no-ueids": { gsId: 1, gsType: 1, ueIds: [] },
};

interface Scripted {
  url: string;
  mode: Mode;
  /** answer the GUSS timestamp option with this version and a GUSS of this lifeTime (else: an HSS without it) */
  gussOption?: { version: string; lifeTime: number };
  requests: Array<{ method: string; url: string; body: string }>;
  close(): Promise<void>;
}

async function scriptedHss(): Promise<Scripted> {
  const m = new Milenage(K, OPC);
  let sqn = 32;
  let resets = 0;
  const state: Scripted = { url: "", mode: "ok", requests: [], close: async () => {} };
  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    state.requests.push({ method: req.method ?? "", url: req.url ?? "", body });
    switch (state.mode) {
      case "hang":
        return; // never answers
      case "reset-once":
        if (resets++ === 0) {
          req.socket.destroy();
          return;
        }
        break;
      case "reset-always":
        req.socket.destroy();
        return;
      case "garbage":
        res.writeHead(200, { "content-type": "application/json" }).end('{"3gAkaAv": {"rand": "zz"}, "guss": 1');
        return;
      case "500":
        res.writeHead(500, { "content-type": "application/problem+json" }).end('{"status":500,"cause":"SYSTEM_FAILURE"}');
        return;
      case "404":
        res.writeHead(404, { "content-type": "application/problem+json" }).end('{"status":404,"cause":"USER_NOT_FOUND"}');
        return;
      case "403":
        res
          .writeHead(403, { "content-type": "application/problem+json" })
          .end('{"status":403,"cause":"AUTHENTICATION_REJECTED"}');
        return;
    }
    if (req.url?.endsWith("/subscriber-data")) {
      const bad = BAD_USS[state.mode];
      const ussList = bad ? [{ uss: bad }] : [];
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ guss: { bsfInfo: { uiccType: "GBA" }, ussList } }));
      return;
    }
    const asked = body === "" ? undefined : (JSON.parse(body) as { gussCheck?: { version?: string } }).gussCheck;
    const opt = state.gussOption;
    const bad = BAD_USS[state.mode];
    const gussCheck =
      asked && opt
        ? asked.version === opt.version
          ? { version: opt.version }
          : {
              version: opt.version,
              guss: { bsfInfo: { uiccType: "GBA", lifeTime: opt.lifeTime }, ussList: bad ? [{ uss: bad }] : [] },
            }
        : undefined;
    sqn += 32;
    const av = generateAuthVector(
      m,
      new Uint8Array(Buffer.from(`rand-${sqn}`.padEnd(16, "-"))),
      sqnToBytes(sqn + 1),
      hexToBytes("8000"),
    );
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        impi: decodeURIComponent((req.url ?? "").split("/")[3]),
        "3gAkaAv": {
          rand: bytesToHex(av.rand),
          xres: bytesToHex(av.xres),
          autn: bytesToHex(av.autn),
          ck: bytesToHex(av.ck),
          ik: bytesToHex(av.ik),
        },
        gussCheck,
      }),
    );
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => handle(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

describe("Zh client", () => {
  let hss: Scripted;
  beforeAll(async () => {
    hss = await scriptedHss();
  });
  afterAll(() => hss.close());
  afterEach(() => {
    hss.mode = "ok";
    hss.gussOption = undefined;
    hss.requests.length = 0;
  });

  it("asks Nhss_gbaUEAU with the IMPI in the path and decodes the vector", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000 });
    const av = await zh.generateAuthData(IMPI);
    expect(av.rand).toHaveLength(16);
    expect(av.xres).toHaveLength(8);
    expect(hss.requests[0].method).toBe("POST");
    expect(hss.requests[0].url).toBe(`/nhss-gba-ueau/v1/${encodeURIComponent(IMPI)}/security-information/generate-auth-data`);
    expect(JSON.parse(hss.requests[0].body)).toEqual({ authenticationScheme: "DIGEST_AKAV1_MD5" });
    await zh.close();
  });

  it("sends resynchronizationInfo as lower-case hex", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000 });
    await zh.generateAuthData(IMPI, { rand: new Uint8Array(16).fill(0xab), auts: new Uint8Array(14).fill(0xcd) });
    expect(JSON.parse(hss.requests[0].body).resynchronizationInfo).toEqual({ rand: "ab".repeat(16), auts: "cd".repeat(14) });
    await zh.close();
  });

  it("maps 404 to USER_UNKNOWN, 403 to REJECTED, 500 and garbage to UNAVAILABLE", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000 });
    const kind = async (mode: Mode, call: () => Promise<unknown>) => {
      hss.mode = mode;
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZhError);
      return (err as ZhError).kind;
    };
    expect(await kind("404", () => zh.generateAuthData(IMPI))).toBe("USER_UNKNOWN");
    expect(await kind("403", () => zh.generateAuthData(IMPI))).toBe("REJECTED");
    expect(await kind("500", () => zh.generateAuthData(IMPI))).toBe("UNAVAILABLE");
    expect(await kind("garbage", () => zh.generateAuthData(IMPI))).toBe("UNAVAILABLE");
    expect(await kind("garbage", () => zh.subscriberData(IMPI))).toBe("UNAVAILABLE");
    await zh.close();
  });

  it("refuses a GUSS whose USS lacks gsType or ueIds (both required by TS 29.309 Uss), naming the field", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000 });
    for (const [mode, field] of [
      ["uss-no-gstype", "ussList[0].uss.gsType"],
      ["uss-no-ueids", "ussList[0].uss.ueIds"],
    ] as const) {
      hss.mode = mode;
      const err = await zh.subscriberData(IMPI).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: "UNAVAILABLE", message: expect.stringContaining(field) });
    }
    await zh.close();
  });

  it("retries once on a reset connection, not twice", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000 });
    hss.mode = "reset-once";
    await expect(zh.generateAuthData(IMPI)).resolves.toHaveProperty("rand");
    expect(hss.requests).toHaveLength(2);
    hss.requests.length = 0;
    hss.mode = "reset-always";
    await expect(zh.generateAuthData(IMPI)).rejects.toMatchObject({ kind: "UNAVAILABLE" });
    expect(hss.requests).toHaveLength(2);
    await zh.close();
  });

  it("gives up after the timeout without retrying", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 200 });
    hss.mode = "hang";
    const t0 = Date.now();
    await expect(zh.generateAuthData(IMPI)).rejects.toMatchObject({ kind: "UNAVAILABLE" });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(hss.requests).toHaveLength(1);
    await zh.close();
  });

  const zhLines = () => hss.requests.map((r) => `${r.method} ${r.url.split("/")[1]} ${r.body}`);
  const avRequest = (gussCheck?: object) =>
    `POST nhss-gba-ueau ${JSON.stringify({ authenticationScheme: "DIGEST_AKAV1_MD5", ...(gussCheck && { gussCheck }) })}`;

  it("authData: one exchange with the GUSS timestamp option, the held GUSS while its version is current", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000 });
    hss.gussOption = { version: "v1", lifeTime: 7777 };
    expect((await zh.authData(IMPI)).guss.bsfInfo.lifeTime).toBe(7777);
    expect((await zh.authData(IMPI)).guss.bsfInfo.lifeTime).toBe(7777);
    hss.gussOption = { version: "v2", lifeTime: 5555 };
    const changed = await zh.authData(IMPI);
    expect(changed.guss.bsfInfo.lifeTime).toBe(5555);
    expect(changed.av.rand).toHaveLength(16);
    expect(zhLines()).toEqual([avRequest({}), avRequest({ version: "v1" }), avRequest({ version: "v1" })]);
    await zh.close();
  });

  it("authData against an HSS without the option: the vector, then subscriber-data", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000 });
    expect((await zh.authData(IMPI)).guss).toEqual({ bsfInfo: { uiccType: "GBA" }, ussList: [] });
    expect(zhLines()).toEqual([avRequest({}), "GET nhss-gba-sdm "]);
    await zh.close();
  });

  it("authData with gussCheck false: both operations, the vector request without the option", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000, gussCheck: false });
    hss.gussOption = { version: "v1", lifeTime: 7777 };
    expect((await zh.authData(IMPI)).guss.bsfInfo.lifeTime).toBeUndefined();
    expect(zhLines().sort()).toEqual(["GET nhss-gba-sdm ", avRequest()]);
    await zh.close();
  });

  it("authData holding no GUSS (gussEntries 0) names no version and takes the GUSS from every answer", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000, gussEntries: 0 });
    hss.gussOption = { version: "v1", lifeTime: 7777 };
    for (let i = 0; i < 2; i++) expect((await zh.authData(IMPI)).guss.bsfInfo.lifeTime).toBe(7777);
    expect(zhLines()).toEqual([avRequest({}), avRequest({})]);
    await zh.close();
  });

  it("authData refuses a GUSS in the vector answer whose USS lacks gsType (TS 29.309 Uss), as from subscriber-data", async () => {
    const zh = createZhClient({ hssUrl: hss.url, timeoutMs: 1000 });
    hss.gussOption = { version: "v1", lifeTime: 7777 };
    hss.mode = "uss-no-gstype";
    const err = await zh.authData(IMPI).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "UNAVAILABLE", message: expect.stringContaining("ussList[0].uss.gsType") });
    expect(hss.requests).toHaveLength(1);
    await zh.close();
  });

  it("reports an HSS that is not listening as UNAVAILABLE", async () => {
    const zh = createZhClient({ hssUrl: "http://127.0.0.1:1", timeoutMs: 500 });
    await expect(zh.generateAuthData(IMPI)).rejects.toMatchObject({ kind: "UNAVAILABLE" });
    await zh.close();
  });
});

describe("BSF Ub when the HSS fails", () => {
  let hss: Scripted;
  let bsf: RunningBsf;
  let dir: string;
  let cfg: GbaConfig;
  beforeAll(async () => {
    hss = await scriptedHss();
    dir = mkdtempSync(join(tmpdir(), "bsf-zh-"));
    cfg = withEphemeralPorts(defaultConfig());
    cfg.data = dir;
    cfg.logLevel = "silent";
    cfg.bsf.hssUrl = hss.url;
    cfg.bsf.zhTimeoutMs = 300;
    bsf = await startBsf(cfg);
  });
  afterAll(async () => {
    await bsf.close();
    await hss.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    hss.mode = "ok";
    hss.gussOption = undefined;
    hss.requests.length = 0;
  });

  const ue = () => new MiniUe({ impi: IMPI, k: K, opc: OPC });
  const zhCalls = () => hss.requests.map((r) => `${r.method} ${r.url.split("/")[1]}`);

  it("bootstraps against the scripted HSS", async () => {
    const r = await ue().bootstrap(bsf.urls.ub, cfg.bsf.fqdn);
    expect(r.response.status).toBe(200);
  });

  it("with the GUSS timestamp option, one Zh exchange per bootstrap; a new GUSS version reaches the next bootstrap", async () => {
    // the key lifetime comes from the GUSS (bsfInfo.lifeTime)
    const lifetimeS = async () => {
      const r = await ue().bootstrap(bsf.urls.ub, cfg.bsf.fqdn);
      expect(r.response.status).toBe(200);
      return Math.round((r.lifetime.getTime() - Date.now()) / 1000);
    };
    hss.gussOption = { version: "v1", lifeTime: 7777 };
    for (let i = 0; i < 2; i++) expect(await lifetimeS()).toBeGreaterThan(7700);
    hss.gussOption = { version: "v2", lifeTime: 5555 };
    const changed = await lifetimeS();
    expect(changed).toBeGreaterThan(5500);
    expect(changed).toBeLessThan(5600);
    expect(zhCalls()).toEqual(Array(3).fill("POST nhss-gba-ueau"));
  });

  for (const mode of ["hang", "reset-always", "500", "garbage", "uss-no-gstype"] as const) {
    it(`answers 503 with Retry-After when the HSS ${mode === "hang" ? "is slow" : `answers ${mode}`}`, async () => {
      hss.mode = mode;
      const r = await ubGet(bsf.urls.ub, ue().initialAuthorization(cfg.bsf.fqdn));
      expect(r.status).toBe(503);
      expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
      expect(JSON.parse(r.body)).toMatchObject({ status: 503, cause: "HSS_UNAVAILABLE" });
    });
  }

  it("challenges a user the HSS does not know and answers the reply with the body of a wrong password", async () => {
    hss.mode = "404";
    const first = await ubGet(bsf.urls.ub, ue().initialAuthorization(cfg.bsf.fqdn));
    expect(first.status).toBe(401);
    const ch = parseDigestChallenge(first.headers["www-authenticate"])[0];
    const r = await ubGet(bsf.urls.ub, ue().answerAuthorization(ch, new Uint8Array(8)).header);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toEqual({
      title: "Forbidden",
      status: 403,
      detail: "authentication failed",
      cause: "AUTHENTICATION_REJECTED",
    });
  });

  it("answers 403 at once when the HSS rejects the request", async () => {
    hss.mode = "403";
    const r = await ubGet(bsf.urls.ub, ue().initialAuthorization(cfg.bsf.fqdn));
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).cause).toBe("AUTHENTICATION_REJECTED");
  });
});

describe("bsf.zhGussCheck false (an HSS that refuses the extension)", () => {
  it("asks the vector without gussCheck and the GUSS with subscriber-data", async () => {
    const hss = await scriptedHss();
    const dir = mkdtempSync(join(tmpdir(), "bsf-zh-off-"));
    const cfg = withEphemeralPorts(defaultConfig());
    cfg.data = dir;
    cfg.logLevel = "silent";
    cfg.bsf.hssUrl = hss.url;
    cfg.bsf.zhGussCheck = false;
    hss.gussOption = { version: "v1", lifeTime: 7777 };
    const bsf = await startBsf(cfg);
    try {
      const r = await new MiniUe({ impi: IMPI, k: K, opc: OPC }).bootstrap(bsf.urls.ub, cfg.bsf.fqdn);
      expect(r.response.status).toBe(200);
      expect(hss.requests.map((q) => `${q.method} ${q.body}`).sort()).toEqual([
        "GET ",
        `POST ${JSON.stringify({ authenticationScheme: "DIGEST_AKAV1_MD5" })}`,
      ]);
    } finally {
      await bsf.close();
      await hss.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("bsf.gussCacheEntries and bsf.zhGussCheck are checked", () => {
    const cfg = defaultConfig();
    expect(() => bsfConfigSection.check({ ...cfg.bsf, gussCacheEntries: -1 })).toThrow(/bsf.gussCacheEntries/);
    expect(() => bsfConfigSection.check({ ...cfg.bsf, gussCacheEntries: 1.5 })).toThrow(/bsf.gussCacheEntries/);
    expect(() => bsfConfigSection.check({ ...cfg.bsf, zhGussCheck: "yes" as unknown as boolean })).toThrow(/bsf.zhGussCheck/);
    expect(() => bsfConfigSection.check({ ...cfg.bsf, gussCacheEntries: 0 })).not.toThrow();
  });
});
