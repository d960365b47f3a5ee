// The TLS-PSK listener (TS 33.222 §5.4, TS 24.109 §5.3.3) against a fake BSF Zn, with openssl
// s_client (a client we did not write) and node's TLS client.
import net from "node:net";
import tls from "node:tls";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex } from "../wire/bytes.js";
import {
  createTlsPskListener,
  createZnClient,
  gbaNaf,
  installGbaErrorHandler,
  whoamiRoutes,
  type TlsPskListener,
  type ZnClientHandle,
} from "../nf/naf/index.js";
import { DEFAULT_USS, type FakeZn, httpResponseOf, NAF_FQDN, sClientGet, startFakeZn, ZN_TOKEN } from "./naf-fixtures.js";

let zn: FakeZn;
let client: ZnClientHandle;
let app: FastifyInstance;
let listener: TlsPskListener;
let port: number;

beforeAll(async () => {
  zn = await startFakeZn();
  client = createZnClient({ bsfUrl: zn.url, token: ZN_TOKEN, timeoutMs: 1000 });
  app = Fastify();
  await app.register(async (scope) => {
    installGbaErrorHandler(scope);
    await scope.register(gbaNaf, { fqdn: NAF_FQDN, zn: client });
    await scope.register(whoamiRoutes);
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  listener = await createTlsPskListener(app, {
    fqdn: NAF_FQDN,
    zn: client,
    host: "127.0.0.1",
    port: 0,
    handshakeTimeoutMs: 3000,
  });
  port = Number(new URL(listener.url).port);
});
afterAll(async () => {
  await listener.close();
  await app.close();
  await client.close();
  await zn.close();
});

const identity = (btid: string) => `3GPP-bootstrapping.${btid}`;

describe("openssl s_client -psk (TLS 1.2, TLS_PSK_WITH_AES_128_CBC_SHA, Ua id 010001008c)", () => {
  it("serves GET /whoami inside the tunnel with the identity of the TLS session", async () => {
    const s = zn.addSession();
    const psk = bytesToHex(zn.keyFor(s, NAF_FQDN, "010001008c"));
    const r = await sClientGet({ port, version: "1.2", pskHex: psk, identity: identity(s.btid) });
    const http = httpResponseOf(r.stdout);
    expect(http?.status, r.stderr).toBe(200);
    expect(http?.body).toMatchObject({
      btid: s.btid,
      impi: s.impi,
      msisdn: "15551234567",
      nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "010001008c" },
      method: "tls-psk",
      keyKind: "ks-naf",
    });
    expect(listener.url).toBe(`https://127.0.0.1:${port}`);
  });

  it("keys the tunnel with the ME-based key: a subscription whose keyChoice is UICC_BASED_KEY gets 403 (TS 33.220 §4.4.6)", async () => {
    const s = zn.addSession({ gbaU: true, ussList: [{ uss: { ...DEFAULT_USS[0].uss, keyChoice: "UICC_BASED_KEY" } }] });
    const psk = bytesToHex(zn.keyFor(s, NAF_FQDN, "010001008c"));
    const r = await sClientGet({ port, version: "1.2", pskHex: psk, identity: identity(s.btid) });
    const http = httpResponseOf(r.stdout);
    expect(http?.status, r.stderr).toBe(403);
    expect(http?.body).toMatchObject({ cause: "FST_GBA_KEY_CHOICE" });
  });

  it("fails the handshake with a wrong key", async () => {
    const s = zn.addSession();
    const wrong = bytesToHex(zn.keyFor(s, NAF_FQDN, "0100000002")); // the Digest key, not the TLS one
    const r = await sClientGet({ port, version: "1.2", pskHex: wrong, identity: identity(s.btid) });
    expect(httpResponseOf(r.stdout)).toBeUndefined();
    expect(r.stderr).toMatch(/alert|error/i);
  });

  it("ends the handshake with unknown_psk_identity for an unknown B-TID", async () => {
    const r = await sClientGet({
      port,
      version: "1.2",
      pskHex: "00".repeat(32),
      identity: identity("AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org"),
    });
    expect(httpResponseOf(r.stdout)).toBeUndefined();
    expect(r.stderr).toMatch(/unknown psk identity/i);
  });

  it("derives the key for the suite actually negotiated (TLS_PSK_WITH_AES_256_GCM_SHA384 → 01000100a9)", async () => {
    const s = zn.addSession();
    const psk = bytesToHex(zn.keyFor(s, NAF_FQDN, "01000100a9"));
    const r = await sClientGet({
      port,
      version: "1.2",
      cipher: "PSK-AES256-GCM-SHA384",
      pskHex: psk,
      identity: identity(s.btid),
    });
    expect(httpResponseOf(r.stdout)?.body).toMatchObject({ nafId: { uaSecProtId: "01000100a9" } });
  });
});

describe("openssl s_client -psk (TLS 1.3 external PSK, Ua id 0100000007)", () => {
  it("serves GET /whoami with the TLS 1.3 key", async () => {
    const s = zn.addSession();
    const psk = bytesToHex(zn.keyFor(s, NAF_FQDN, "0100000007"));
    const r = await sClientGet({ port, version: "1.3", pskHex: psk, identity: identity(s.btid) });
    const http = httpResponseOf(r.stdout);
    expect(http?.status, r.stderr).toBe(200);
    expect(http?.body).toMatchObject({ btid: s.btid, nafId: { uaSecProtId: "0100000007" }, method: "tls-psk" });
  });

  it("fails with a wrong key and with an unknown B-TID (unknown_psk_identity)", async () => {
    const s = zn.addSession();
    const wrong = await sClientGet({
      port,
      version: "1.3",
      pskHex: bytesToHex(zn.keyFor(s, NAF_FQDN, "010001008c")),
      identity: identity(s.btid),
    });
    expect(httpResponseOf(wrong.stdout)).toBeUndefined();
    const unknown = await sClientGet({
      port,
      version: "1.3",
      pskHex: "11".repeat(32),
      identity: identity("AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org"),
    });
    expect(httpResponseOf(unknown.stdout)).toBeUndefined();
    expect(unknown.stderr).toMatch(/unknown psk identity/i);
    const notGba = await sClientGet({ port, version: "1.3", pskHex: "11".repeat(32), identity: "Client_identity" });
    expect(httpResponseOf(notGba.stdout)).toBeUndefined();
    expect(notGba.stderr).toMatch(/unknown psk identity/i);
  });
});

function nodeConnect(o: { ciphers: string; maxVersion: tls.SecureVersion; psk: Uint8Array; identity: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    let hint: string | null = null;
    const sock = tls.connect({
      host: "127.0.0.1",
      port,
      ciphers: o.ciphers,
      maxVersion: o.maxVersion,
      checkServerIdentity: () => undefined,
      pskCallback: (h) => {
        hint = h;
        return { psk: Buffer.from(o.psk), identity: o.identity };
      },
    });
    let out = "";
    sock.on("secureConnect", () => sock.write(`GET /whoami HTTP/1.1\r\nHost: ${NAF_FQDN}\r\nConnection: close\r\n\r\n`));
    sock.on("data", (d) => {
      out += d;
    });
    sock.on("end", () => resolve(`${hint}\n${out}`));
    sock.on("error", reject);
  });
}

describe("node TLS client", () => {
  it("sends the hint 3GPP-bootstrapping and works with ECDHE-PSK (0xC037)", async () => {
    const s = zn.addSession();
    const out = await nodeConnect({
      ciphers: "ECDHE-PSK-AES128-CBC-SHA256",
      maxVersion: "TLSv1.2",
      psk: zn.keyFor(s, NAF_FQDN, "010001c037"),
      identity: identity(s.btid),
    });
    expect(out.split("\n")[0]).toBe("3GPP-bootstrapping");
    expect(httpResponseOf(out)?.body).toMatchObject({ nafId: { uaSecProtId: "010001c037" } });
  });

  it("asks the BSF once per (B-TID, NAF_Id) across connections", async () => {
    const s = zn.addSession();
    const psk = zn.keyFor(s, NAF_FQDN, "010001008c");
    const outs = await Promise.all(
      Array.from({ length: 5 }, () =>
        nodeConnect({ ciphers: "PSK-AES128-CBC-SHA", maxVersion: "TLSv1.2", psk, identity: identity(s.btid) }),
      ),
    );
    for (const o of outs) expect(httpResponseOf(o)?.status).toBe(200);
    expect(zn.requests.filter((r) => r.btId === s.btid)).toHaveLength(1);
  });

  it("closes a connection that does not start with a TLS ClientHello", async () => {
    const closed = await new Promise<string>((resolve) => {
      const sock = net.connect(port, "127.0.0.1", () => sock.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      let out = "";
      sock.on("data", (d) => {
        out += d;
      });
      sock.on("close", () => resolve(out));
    });
    expect(closed).toBe("");
  });
});

describe("BSF unavailable", () => {
  it("ends the handshake with internal_error when Zn cannot be reached", async () => {
    const down = createZnClient({ bsfUrl: "http://127.0.0.1:1", token: ZN_TOKEN, timeoutMs: 500 });
    const l = await createTlsPskListener(app, { fqdn: NAF_FQDN, zn: down, host: "127.0.0.1", port: 0 });
    try {
      const r = await sClientGet({
        port: Number(new URL(l.url).port),
        version: "1.2",
        pskHex: "00".repeat(32),
        identity: identity("AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org"),
      });
      expect(httpResponseOf(r.stdout)).toBeUndefined();
      expect(r.stderr).toMatch(/internal error/i);
    } finally {
      await l.close();
      await down.close();
    }
  });
});
