// The UE against the real HSS, BSF and NAF (nf/), all in this process on ephemeral ports:
// GBA_ME and GBA_U, two NAFs from one bootstrapping, resynchronisation, key deletion at the end
// of the lifetime, and `gba ue fetch` through the NAF's authenticating proxy (Digest, TLS-PSK).
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UA_ID } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";
import { highestSqn } from "../milenage/sqn.js";
import { GbaMiddleware, type MiddlewareOptions } from "../ue/middleware/gba-middleware.js";
import { TextTracer } from "../ue/trace.js";
import { GbaClient } from "../ue/ua/client.js";
import { httpOverTls } from "../ue/ua/tls-psk.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { loadUsimStateFile, saveUsimStateFile } from "../ue/usim/state-file.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { IMPI, IMSI, K, OPC } from "./helpers/ue-fake-network.js";
import { manualClock } from "./helpers/ue-middleware-suite.js";
import { NAF2_FQDN, type Network, startNetwork } from "./helpers/ue-network.js";

const MAIN = new URL("../dist/cli/main.js", import.meta.url).pathname;
const NAF_FQDN = "naf.example.org";
const dir = mkdtempSync(join(tmpdir(), "ue-e2e-usim-"));
let files = 0;

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function network(o: Parameters<typeof startNetwork>[0] = {}): Promise<Network> {
  const n = await startNetwork(o);
  stops.push(() => n.close());
  return n;
}

function card(o: { gbaU?: boolean; sqn?: number } = {}): SimulatedUsim {
  return new SimulatedUsim(newUsimState({ k: K, opc: OPC, imsi: IMSI, gbaU: o.gbaU, sqn: o.sqn }));
}

async function ue(n: Network, usim: SimulatedUsim, o: Partial<MiddlewareOptions> = {}) {
  const lines: string[] = [];
  const mw = await GbaMiddleware.open({
    usim: new UsimClient(usim),
    bsfUrl: n.bsf.urls.ub,
    tracer: new TextTracer((l) => lines.push(l), { showKeys: false }),
    ...o,
  });
  const client = new GbaClient(mw);
  stops.push(() => client.close());
  const ubRuns = () => lines.filter((l) => l.startsWith("--- bootstrapping")).length;
  return { mw, client, lines, ubRuns };
}

interface Whoami {
  btid: string;
  impi: string;
  keyKind: string;
  method: string;
  nafId: { nafFqdn: string; uaSecProtId: string };
}

describe("GBA_ME and GBA_U against the real BSF and NAF", () => {
  it("GBA_ME: bootstraps and is recognised by the NAF (GET /whoami over Digest)", async () => {
    const n = await network();
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    const { client, mw } = await ue(n, card());
    const res = await client.gbaFetch(`${n.naf.urls.http}/whoami`, { nafFqdn: NAF_FQDN });
    expect(res.status).toBe(200);
    const who = (await res.json()) as Whoami;
    expect(who).toMatchObject({ impi: IMPI, btid: mw.current()!.btid, method: "digest", keyKind: "ks-naf" });
    expect(who.nafId).toEqual({ nafFqdn: NAF_FQDN, uaSecProtId: "0100000002" });
  });

  it("GBA_U: Ks stays on the card, the NAF gets Ks_ext_NAF, EF_GBABP holds the B-TID", async () => {
    // a GBA_U-aware NAF offering both realms (TS 24.109 §5.2.4): the ME answers the Ks_ext_NAF one
    const n = await network({ tweak: (cfg) => (cfg.naf.realms = "both") });
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI, uiccType: "GBA_U" });
    const usim = card({ gbaU: true });
    const { client, mw } = await ue(n, usim);
    expect(mw.mode).toBe("GBA_U");
    const res = await client.gbaFetch(`${n.naf.urls.http}/whoami`, { nafFqdn: NAF_FQDN });
    expect(res.status).toBe(200);
    const who = (await res.json()) as Whoami;
    expect(who).toMatchObject({ impi: IMPI, keyKind: "ks-ext-naf" });
    expect(mw.keys.current(Date.now())?.ks).toBeUndefined();
    expect(usim.debugState().gbaUKeys).not.toBeNull();
    expect(Buffer.from(usim.debugState().gbabp).toString("latin1")).toContain(who.btid);
  });

  it("serves two NAFs from one bootstrapping with different Ks_NAF", async () => {
    const n = await network({ secondNaf: true });
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    const { client, ubRuns } = await ue(n, card());
    const a = (await (await client.gbaFetch(`${n.naf.urls.http}/whoami`, { nafFqdn: NAF_FQDN })).json()) as Whoami;
    const b = (await (await client.gbaFetch(`${n.naf2!.urls.http}/whoami`, { nafFqdn: NAF2_FQDN })).json()) as Whoami;
    expect(ubRuns()).toBe(1);
    expect(a.btid).toBe(b.btid);
    expect([a.nafId.nafFqdn, b.nafId.nafFqdn]).toEqual([NAF_FQDN, NAF2_FQDN]);
    const ka = await client.getKsNaf(NAF_FQDN, UA_ID.HTTP_DIGEST);
    const kb = await client.getKsNaf(NAF2_FQDN, UA_ID.HTTP_DIGEST);
    expect(bytesToHex(ka.key)).not.toBe(bytesToHex(kb.key));
  });

  it("resynchronises with the HSS when the card's SQN was moved ahead", async () => {
    const n = await network();
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    // the HSS hands out IND 1 (hss.zhInd); an SQN_MS at IND 1 far ahead makes its vector stale
    const ahead = 4000 * 32 + 1;
    const usim = card({ sqn: ahead });
    const { mw, client, lines } = await ue(n, usim);
    const res = await client.gbaFetch(`${n.naf.urls.http}/whoami`, { nafFqdn: NAF_FQDN });
    expect(res.status).toBe(200);
    expect(lines.some((l) => l.includes("synchronisation failure"))).toBe(true);
    expect(lines.filter((l) => l.startsWith("AUTS:"))).toHaveLength(1);
    expect(highestSqn(usim.debugState().sqn)).toBeGreaterThan(ahead);
    expect(mw.current()).toBeDefined();
  });

  it("deletes the keys at the end of the lifetime (injected clocks) and bootstraps anew on the next use", async () => {
    const t = manualClock(Date.now());
    const n = await network({ bsfDeps: { clock: t.clock }, nafDeps: { clock: t.clock } });
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI, lifeTime: 120 });
    const { mw, client, ubRuns } = await ue(n, card(), { deps: { clock: t.clock } });
    const deleted: string[] = [];
    mw.onKeysDeleted((reason) => deleted.push(reason));
    const first = (await (await client.gbaFetch(`${n.naf.urls.http}/whoami`, { nafFqdn: NAF_FQDN })).json()) as Whoami;
    t.now += 121_000;
    expect(mw.current()).toBeUndefined();
    expect(deleted).toEqual(["lifetime-expired"]);
    const second = (await (await client.gbaFetch(`${n.naf.urls.http}/whoami`, { nafFqdn: NAF_FQDN })).json()) as Whoami;
    expect(second.btid).not.toBe(first.btid);
    expect(ubRuns()).toBe(2);
  });

  it("bootstraps again once when the NAF reports the B-TID unknown (superseded at the BSF)", async () => {
    const n = await network();
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    const usim = card();
    const a = await ue(n, usim);
    const old = await a.mw.bootstrap();
    // another bootstrapping of the same IMPI replaces the session at the BSF (TS 33.220 §4.5.2)
    await (await ue(n, usim)).mw.bootstrap();
    const res = await a.client.gbaFetch(`${n.naf.urls.http}/whoami`, { nafFqdn: NAF_FQDN });
    expect(res.status).toBe(200);
    const who = (await res.json()) as Whoami;
    expect(who.btid).not.toBe(old.btid);
    expect(a.ubRuns()).toBe(2);
    expect(a.lines.some((l) => l.includes(`rejected B-TID ${old.btid}`))).toBe(true);
  });

  it("opens a TLS-PSK tunnel to the NAF (TLS 1.2 PSK suite and TLS 1.3)", async () => {
    const n = await network();
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    const { client } = await ue(n, card());
    const { port } = new URL(n.naf.urls.tlsPsk);
    for (const tls13 of [false, true]) {
      const socket = await client.tlsPskConnect("127.0.0.1", Number(port), { nafFqdn: NAF_FQDN, tls13 });
      const res = await httpOverTls(socket, { path: "/whoami", host: NAF_FQDN });
      expect(res.status).toBe(200);
      const who = JSON.parse(Buffer.from(res.body).toString()) as Whoami;
      expect(who).toMatchObject({ method: "tls-psk", impi: IMPI });
      expect(who.nafId.uaSecProtId).toBe(Buffer.from(socket.gba.uaId).toString("hex"));
    }
  });
});

describe("gba ue fetch through the NAF proxy (nf/naf upstream)", () => {
  let upstream: Server;
  let upstreamUrl: string;
  const seen: Array<Record<string, string | string[] | undefined>> = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` first`);
    upstream = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        seen.push(req.headers);
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ path: req.url, method: req.method, body }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => upstream.close(() => r())));

  function gba(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      });
    });
  }

  async function usimFile(): Promise<string> {
    const file = join(dir, `usim-${++files}.json`);
    await saveUsimStateFile(file, newUsimState({ k: K, opc: OPC, imsi: IMSI }), { exclusive: true });
    return file;
  }

  it("over HTTP Digest, and the state file keeps the new SQN", async () => {
    const n = await network({ upstream: upstreamUrl });
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    const file = await usimFile();
    const r = await gba([
      "ue",
      "fetch",
      `${n.naf.urls.http}/app/items?x=1`,
      "--bsf",
      n.bsf.urls.ub,
      "--usim",
      file,
      "--naf-fqdn",
      NAF_FQDN,
      "--body",
      "hello",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ method: "POST", path: "/app/items?x=1", body: "hello" });
    expect(JSON.stringify(seen[seen.length - 1])).toContain(IMPI);
    expect(highestSqn((await loadUsimStateFile(file)).sqn)).toBeGreaterThan(0);
  });

  it("over TLS-PSK", async () => {
    const n = await network({ upstream: upstreamUrl });
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    const { port } = new URL(n.naf.urls.tlsPsk);
    const r = await gba([
      "ue",
      "fetch",
      `https://127.0.0.1:${port}/app/psk`,
      "--bsf",
      n.bsf.urls.ub,
      "--usim",
      await usimFile(),
      "--tls-psk",
      "--naf-fqdn",
      NAF_FQDN,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ method: "GET", path: "/app/psk" });
    expect(JSON.stringify(seen[seen.length - 1])).toContain(IMPI);
  });
});

describe("TMPI (TS 33.220 §4.5.2, B.4) against the real BSF", () => {
  const TMPI = /^[A-Za-z0-9+/]{32}@tmpi\.bsf\.3gppnetwork\.org$/;
  /** the username of each first Ub request, in order */
  const ubUsernames = (lines: string[]) =>
    lines.filter((l) => /^authorization: Digest .*nonce=""/i.test(l)).map((l) => /username="([^"]*)"/.exec(l)?.[1]);

  it("GBA_ME: announces 3gpp-gba-tmpi, keeps the TMPI of each bootstrapping and names it in the next", async () => {
    const n = await network();
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    const { mw, lines } = await ue(n, card());
    await mw.bootstrap();
    const tmpi = mw.currentTmpi();
    expect(tmpi).toMatch(TMPI);
    expect(lines.some((l) => /^user-agent: .*3gpp-gba-tmpi/i.test(l))).toBe(true);
    await mw.bootstrap();
    expect(ubUsernames(lines)).toEqual([IMPI, tmpi]);
    expect(lines.some((l) => l.includes("did not accept TMPI"))).toBe(false);
    expect(mw.currentTmpi()).toMatch(TMPI);
    expect(mw.currentTmpi()).not.toBe(tmpi);
  });

  it("GBA_U: the TMPI comes from the card (Ks_ext_NAF for BSF_Id) and the BSF resolves it", async () => {
    const n = await network();
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI, uiccType: "GBA_U" });
    const { mw, lines } = await ue(n, card({ gbaU: true }));
    expect(mw.mode).toBe("GBA_U");
    await mw.bootstrap();
    const tmpi = mw.currentTmpi();
    expect(tmpi).toMatch(TMPI);
    await mw.bootstrap();
    expect(ubUsernames(lines)).toEqual([IMPI, tmpi]);
    expect(lines.some((l) => l.includes("did not accept TMPI"))).toBe(false);
  });

  it("a TMPI the BSF no longer knows is deleted and the UE bootstraps with its IMPI", async () => {
    const n = await network();
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    const usim = card();
    const a = await ue(n, usim);
    await a.mw.bootstrap();
    const stale = a.mw.currentTmpi();
    // another bootstrapping of the IMPI ends the TMPI at the BSF
    await (await ue(n, usim)).mw.bootstrap();
    await a.mw.bootstrap();
    expect(ubUsernames(a.lines)).toEqual([IMPI, stale, IMPI]);
    expect(a.lines.some((l) => l.includes(`the BSF did not accept TMPI ${stale}`))).toBe(true);
    expect(a.mw.currentTmpi()).toMatch(TMPI);
  });

  it("tmpi: false announces nothing and always names the IMPI", async () => {
    const n = await network();
    await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
    const { mw, lines } = await ue(n, card(), { tmpi: false });
    await mw.bootstrap();
    await mw.bootstrap();
    expect(mw.currentTmpi()).toBeUndefined();
    expect(ubUsernames(lines)).toEqual([IMPI, IMPI]);
    expect(lines.some((l) => /3gpp-gba-tmpi/i.test(l) && /^user-agent/i.test(l))).toBe(false);
  });
});
