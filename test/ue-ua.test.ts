// Client application API against a scripted BSF and NAFs (test/helpers/ue-fake-network.ts):
// gbaFetch over HTTP Digest (TS 24.109 §5.2) and tlsPskConnect (TS 33.222 §5.4).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PSK_IDENTITY_HINT } from "../gba/btid.js";
import { parseDigestCredentials } from "../gba/digest/index.js";
import { GbaMiddleware } from "../ue/middleware/gba-middleware.js";
import { GbaClient } from "../ue/ua/client.js";
import { UaError, type UaClientOptions } from "../ue/ua/gba-fetch.js";
import { httpOverTls, TlsPskError } from "../ue/ua/tls-psk.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import {
  close,
  FakeBsf,
  type FakeBsfOptions,
  FakeNaf,
  type FakeNafOptions,
  IMSI,
  K,
  OPC,
  startFakeTlsPskNaf,
} from "./helpers/ue-fake-network.js";

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function network(bsfOpts: FakeBsfOptions = {}, nafOpts: FakeNafOptions = {}, clientOpts: UaClientOptions = {}) {
  const bsf = new FakeBsf(bsfOpts);
  await bsf.start();
  stops.push(() => bsf.stop());
  const naf = new FakeNaf(bsf, nafOpts);
  await naf.start();
  stops.push(() => naf.stop());
  const usim = new SimulatedUsim(newUsimState({ k: K, opc: OPC, imsi: IMSI, gbaU: bsfOpts.gbaU }));
  const mw = await GbaMiddleware.open({ usim: new UsimClient(usim), bsfUrl: bsf.url });
  const client = new GbaClient(mw, clientOpts);
  stops.push(() => client.close());
  return { bsf, naf, mw, client };
}

const bootstrapsOf = (bsf: FakeBsf) => bsf.requests.filter((r) => r.authorization?.includes('nonce=""')).length;

describe("gbaFetch over HTTP Digest (TS 24.109 §5.2)", () => {
  it("answers the bootstrapping 401, bootstrapping first, and checks rspauth", async () => {
    const { bsf, naf, client } = await network();
    const res = await client.gbaFetch(`${naf.url}/service?x=1`, {
      nafFqdn: naf.fqdn,
      method: "POST",
      body: "hello naf",
      headers: { "content-type": "text/plain" },
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as { method: string; path: string; body: string; btid: string };
    expect(echo).toMatchObject({ method: "POST", path: "/service?x=1", body: "hello naf" });
    expect(bsf.sessions.has(echo.btid)).toBe(true);
    expect(naf.seen.map((s) => s.status)).toEqual([401, 200]);
    const creds = parseDigestCredentials(naf.seen[1].authorization!);
    expect(creds).toMatchObject({
      username: echo.btid,
      realm: naf.realm,
      qop: "auth-int",
      nc: "00000001",
      uri: "/service?x=1",
      algorithm: "MD5",
    });
    expect(naf.seen[1].userAgent).toContain("3gpp-gba");
  });

  it("sends credentials right away to a NAF it knows, counting nc per nonce, without bootstrapping again", async () => {
    const { bsf, naf, client } = await network();
    await (await client.gbaFetch(`${naf.url}/a`, { nafFqdn: naf.fqdn })).arrayBuffer();
    const r2 = await client.gbaFetch(`${naf.url}/b`, { nafFqdn: naf.fqdn });
    expect(r2.status).toBe(200);
    expect(naf.seen.map((s) => s.status)).toEqual([401, 200, 200]);
    expect(naf.seen[2].nonce).toBe(naf.seen[1].nonce);
    expect(naf.seen[2].nc).toBe("00000002");
    expect(bootstrapsOf(bsf)).toBe(1);
  });

  it("moves to the nextnonce of Authentication-Info with nc starting again", async () => {
    const { naf, client } = await network({}, { nextnonce: true });
    await (await client.gbaFetch(`${naf.url}/a`, { nafFqdn: naf.fqdn })).arrayBuffer();
    await (await client.gbaFetch(`${naf.url}/b`, { nafFqdn: naf.fqdn })).arrayBuffer();
    expect(naf.seen[2].nonce).not.toBe(naf.seen[1].nonce);
    expect(naf.seen[2].nc).toBe("00000001");
  });

  it("answers SHA-256 (RFC 7616) and qop=auth", async () => {
    const { naf, client } = await network({}, { algorithm: "SHA-256", qop: ["auth"] });
    const res = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn });
    expect(res.status).toBe(200);
    expect(parseDigestCredentials(naf.seen[1].authorization!)).toMatchObject({ algorithm: "SHA-256", qop: "auth" });
  });

  it("works with GBA_U (Ks_ext_NAF from the card) and says 3gpp-gba-uicc", async () => {
    const { naf, client, mw } = await network({ gbaU: true });
    expect(mw.mode).toBe("GBA_U");
    const res = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn });
    expect(res.status).toBe(200);
    expect(naf.seen[1].userAgent).toContain("3gpp-gba-uicc");
  });

  it("picks the 3GPP-bootstrapping realm when the NAF offers both (TS 24.109 §5.2.4)", async () => {
    const fqdn = "naf.example.org";
    const { naf, client } = await network({}, { realm: `3GPP-bootstrapping-uicc@${fqdn};3GPP-bootstrapping@${fqdn}` });
    const res = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn });
    expect(res.status).toBe(200);
    expect(parseDigestCredentials(naf.seen[1].authorization!).realm).toBe(`3GPP-bootstrapping@${fqdn}`);
  });

  it("refuses a realm that asks for Ks_int_NAF only", async () => {
    const { naf, client } = await network({}, { realm: "3GPP-bootstrapping-uicc@naf.example.org" });
    await expect(client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn })).rejects.toMatchObject({ code: "UNSUPPORTED_CHALLENGE" });
  });

  it("refuses a realm naming another NAF than the one contacted, before deriving or proving any key (TS 33.222 §5.3.0)", async () => {
    const { bsf, naf, client } = await network({}, { realm: "3GPP-bootstrapping@bank.example.com" });
    const err = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UaError);
    expect(err).toMatchObject({ code: "REALM_HOST_MISMATCH", message: expect.stringContaining("bank.example.com") });
    expect(naf.seen.filter((x) => x.authorization !== undefined)).toEqual([]);
    expect(bootstrapsOf(bsf)).toBe(0);
  });

  it("needs the NAF's FQDN when the URL names an address; compares names case-insensitively", async () => {
    const { naf, client } = await network();
    await expect(client.gbaFetch(`${naf.url}/x`)).rejects.toMatchObject({ code: "NAF_FQDN_UNKNOWN" });
    const res = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: "NAF.Example.ORG." });
    expect(res.status).toBe(200);
  });

  it("bootstraps again once when the NAF no longer knows the B-TID", async () => {
    const { bsf, naf, client } = await network({}, { forgetFirstBtid: true });
    const res = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn });
    expect(res.status).toBe(200);
    expect(naf.seen.map((s) => s.status)).toEqual([401, 401, 200]);
    expect(bootstrapsOf(bsf)).toBe(2);
    const [first, second] = [naf.seen[1], naf.seen[2]].map((s) => parseDigestCredentials(s.authorization!).username);
    expect(first).not.toBe(second);
  });

  it("returns the NAF's 401 when it rejects the new bootstrapping too (only one retry)", async () => {
    const { bsf, naf, client } = await network({}, { forgetEveryBtid: true });
    const res = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn });
    expect(res.status).toBe(401);
    expect(bootstrapsOf(bsf)).toBe(2);
  });

  it("returns a 5xx without Authentication-Info as the NAF's own failure (RFC 7616 §3.5: nothing was authenticated)", async () => {
    const { naf, client } = await network({}, { unauthenticatedStatus: 503 });
    const res = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toMatchObject({ cause: "FST_GBA_BSF_UNAVAILABLE" });
  });

  it.each([200, 403])("refuses a %i without Authentication-Info: the NAF is not authenticated", async (status) => {
    const { naf, client } = await network({}, { unauthenticatedStatus: status });
    const err = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "SERVER_AUTH_FAILED" });
  });

  it("refuses an answer whose rspauth does not verify", async () => {
    const { naf, client } = await network({}, { tamperRspauth: true });
    const err = await client.gbaFetch(`${naf.url}/x`, { nafFqdn: naf.fqdn }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UaError);
    expect(err).toMatchObject({ code: "SERVER_AUTH_FAILED" });
  });
});

describe("gbaFetch over HTTPS: Digest inside server-authenticated TLS (TS 33.222 §5.3)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ue-https-"));
  let tls: { key: string; cert: string };
  beforeAll(() => {
    const r = spawnSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]);
    if (r.status !== 0) throw new Error(`openssl could not make a test certificate (install openssl): ${r.stderr}`);
    tls = { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("uses Ua id 01 00 01 c0 2b for TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256", async () => {
    const { naf, client } = await network(
      {},
      { tls: { ...tls, ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256", maxVersion: "TLSv1.2" } },
      { tls: { ca: tls.cert } },
    );
    const res = await client.gbaFetch(`${naf.url}/secure`, { nafFqdn: naf.fqdn });
    expect(res.status).toBe(200);
    expect(naf.suites).toEqual(["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
  });

  it("uses the code of the negotiated TLS 1.3 suite (01 00 01 13 0x)", async () => {
    const { naf, client } = await network({}, { tls: { ...tls, maxVersion: "TLSv1.3" } }, { tls: { ca: tls.cert } });
    const res = await client.gbaFetch(`${naf.url}/secure`, { nafFqdn: naf.fqdn });
    expect(res.status).toBe(200);
    expect(naf.suites).toHaveLength(1);
    expect(naf.suites[0]).toMatch(/^TLS_AES_(128_GCM_SHA256|256_GCM_SHA384)$/);
  });

  it("refuses a NAF whose certificate does not verify", async () => {
    const { naf, client } = await network({}, { tls });
    await expect(client.gbaFetch(`${naf.url}/secure`, { nafFqdn: naf.fqdn })).rejects.toThrow();
  });
});

describe("tlsPskConnect (TS 33.222 §5.4)", () => {
  async function pskNetwork(o: { ciphers: string; tls13?: boolean; forgetFirstBtid?: boolean }) {
    const net = await network();
    const srv = await startFakeTlsPskNaf(net.bsf, o);
    stops.push(() => close(srv.server));
    return { ...net, ...srv };
  }

  it("uses identity 3GPP-bootstrapping.<B-TID> and Ks_NAF of Ua id 01 00 01 00 8c for TLS_PSK_WITH_AES_128_CBC_SHA", async () => {
    const { client, port, identities, mw } = await pskNetwork({ ciphers: "PSK-AES128-CBC-SHA" });
    const socket = await client.tlsPskConnect("127.0.0.1", port, { nafFqdn: "naf.example.org", suites: ["PSK-AES128-CBC-SHA"] });
    expect(socket.gba.suite).toBe("TLS_PSK_WITH_AES_128_CBC_SHA");
    expect(Buffer.from(socket.gba.uaId).toString("hex")).toBe("010001008c");
    const res = await httpOverTls(socket, { path: "/", host: "naf.example.org" });
    expect(res.status).toBe(200);
    expect(identities[0]).toBe(`${PSK_IDENTITY_HINT}.${mw.current()!.btid}`);
  });

  it("offers one suite per handshake and moves on to the next when the NAF refuses it", async () => {
    const { client, port } = await pskNetwork({ ciphers: "PSK-AES128-GCM-SHA256" });
    const socket = await client.tlsPskConnect("127.0.0.1", port, { nafFqdn: "naf.example.org" });
    expect(socket.gba.suite).toBe("TLS_PSK_WITH_AES_128_GCM_SHA256");
    const res = await httpOverTls(socket, { path: "/", host: "naf.example.org" });
    expect(JSON.parse(Buffer.from(res.body).toString())).toMatchObject({ suite: "TLS_PSK_WITH_AES_128_GCM_SHA256" });
  });

  it("uses Ua id 01 00 00 00 07 with TLS 1.3", async () => {
    const { client, port } = await pskNetwork({ ciphers: "TLS_AES_128_GCM_SHA256", tls13: true });
    const socket = await client.tlsPskConnect("127.0.0.1", port, { nafFqdn: "naf.example.org", tls13: true });
    expect(socket.getProtocol()).toBe("TLSv1.3");
    expect(Buffer.from(socket.gba.uaId).toString("hex")).toBe("0100000007");
    socket.destroy();
  });

  it("bootstraps again once when the NAF does not know the PSK identity", async () => {
    const { client, port, bsf, identities } = await pskNetwork({ ciphers: "PSK-AES128-CBC-SHA", forgetFirstBtid: true });
    const socket = await client.tlsPskConnect("127.0.0.1", port, { nafFqdn: "naf.example.org", suites: ["PSK-AES128-CBC-SHA"] });
    expect(bootstrapsOf(bsf)).toBe(2);
    expect(identities[0]).not.toBe(identities[1]);
    socket.destroy();
  });

  it("fails with a clear error when no offered suite is accepted", async () => {
    const { client, port } = await pskNetwork({ ciphers: "PSK-AES256-CBC-SHA" });
    const err = await client
      .tlsPskConnect("127.0.0.1", port, { nafFqdn: "naf.example.org", suites: ["PSK-AES128-CBC-SHA"] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsPskError);
  });

  it("refuses a suite that is not a PSK suite", async () => {
    const { client, port } = await pskNetwork({ ciphers: "PSK-AES128-CBC-SHA" });
    await expect(
      client.tlsPskConnect("127.0.0.1", port, { nafFqdn: "naf.example.org", suites: ["AES128-SHA"] }),
    ).rejects.toMatchObject({
      code: "BAD_OPTIONS",
    });
  });
});
