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
  });

  const ue = () => new MiniUe({ impi: IMPI, k: K, opc: OPC });

  it("bootstraps against the scripted HSS", async () => {
    const r = await ue().bootstrap(bsf.urls.ub, cfg.bsf.fqdn);
    expect(r.response.status).toBe(200);
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
