// The NAF against the real HSS and BSF, with clients we did not write: curl --digest on the
// Digest listener (and over HTTPS, TS 33.222 §5.3), openssl s_client -psk on the TLS-PSK
// listener (TLS 1.2 and TLS 1.3). A minimal UE bootstraps over Ub; Ks_NAF is derived here
// from the UE's Ks (TS 33.220 B.3).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import type https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveKsNaf, nafId } from "../gba/keys.js";
import { parseUaId } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";
import type { RunningNf } from "../nf/common/nf.js";
import { createZnClient, gbaNaf, installGbaErrorHandler, whoamiRoutes, startNaf, type ZnClientHandle } from "../nf/naf/index.js";
import { type Stack, startStack, testSubscriber } from "./helpers/bsf-stack.js";
import { type Bootstrapped, MiniUe } from "./helpers/mini-ue.js";
import { answerChallenge, answerWhoami, b64, httpResponseOf, parseChallenge, run, sClientGet } from "./naf-fixtures.js";

const NAF_FQDN = "naf.example.org";
const ECA_FQDN = "eca.vehicleman.example";
const MSISDN = "491711234567";
const IMPU = "sip:vehicle-7@ims.mnc001.mcc001.3gppnetwork.org";

let stack: Stack;
let naf: RunningNf;
let ue: { b: Bootstrapped; impi: string };

function ksNaf(b: Bootstrapped, impi: string, uaIdHex: string, fqdn = NAF_FQDN): Uint8Array {
  return deriveKsNaf(b.ks, b.rand, impi, nafId(fqdn, parseUaId(uaIdHex)));
}

let ues = 0;
async function bootstrapNewUe(msisdn = `4917100${String(++ues).padStart(5, "0")}`): Promise<{ b: Bootstrapped; impi: string }> {
  const sub = testSubscriber();
  const r = await request(`${stack.hss.urls.admin}/subscribers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ impi: sub.impi, k: bytesToHex(sub.k), opc: bytesToHex(sub.opc), msisdn: `+${msisdn}`, impus: [IMPU] }),
  });
  expect(r.statusCode, await r.body.text()).toBe(201);
  const mini = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
  return { b: await mini.bootstrap(stack.bsf.urls.ub, stack.cfg.bsf.fqdn), impi: sub.impi };
}

beforeAll(async () => {
  stack = await startStack();
  const cfg = structuredClone(stack.cfg);
  cfg.naf.http.port = 0;
  cfg.naf.tlsPsk.port = 0;
  cfg.naf.bsfUrl = stack.bsf.urls.zn;
  naf = await startNaf(cfg);
  ue = await bootstrapNewUe(MSISDN);
});
afterAll(async () => {
  await naf?.close();
  await stack?.close();
});

function curlDigest(url: string, user: string, password: string, extra: string[] = []) {
  return run("curl", ["-s", "--digest", "-u", `${user}:${password}`, "-w", "\n%{http_code}", ...extra, url]);
}

function split(out: string): { status: number; body: string } {
  const nl = out.lastIndexOf("\n");
  return { status: Number(out.slice(nl + 1)), body: out.slice(0, nl) };
}

describe("curl --digest against the Digest listener (MD5, qop=auth)", () => {
  it("gets 200 and the identity with username = B-TID, password = base64(Ks_NAF)", async () => {
    const r = split((await curlDigest(`${naf.urls.http}/whoami`, ue.b.btid, b64(ksNaf(ue.b, ue.impi, "0100000002")))).stdout);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({
      btid: ue.b.btid,
      impi: ue.impi,
      impus: [IMPU, `tel:+${MSISDN}`],
      msisdn: MSISDN,
      nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "0100000002" },
      method: "digest",
      keyKind: "ks-naf",
    });
  });

  it("gets 401 with a wrong key", async () => {
    const wrong = b64(ksNaf(ue.b, ue.impi, "0100000007"));
    expect(split((await curlDigest(`${naf.urls.http}/whoami`, ue.b.btid, wrong)).stdout).status).toBe(401);
  });

  it("refuses a key derived for another NAF (the ECA's NAF_Id)", async () => {
    const other = b64(ksNaf(ue.b, ue.impi, "0100000002", ECA_FQDN));
    expect(split((await curlDigest(`${naf.urls.http}/whoami`, ue.b.btid, other)).stdout).status).toBe(401);
  });

  it("answers an unknown B-TID with the bootstrapping challenge", async () => {
    const r = await request(`${naf.urls.http}/whoami`);
    const c = parseChallenge(r.headers["www-authenticate"] as string);
    await r.body.dump();
    const a = answerWhoami(c, "AAAAAAAAAAAAAAAAAAAAAA==@bsf.mnc001.mcc001.pub.3gppnetwork.org", b64(new Uint8Array(32)));
    const res = await request(`${naf.urls.http}/whoami`, { headers: { authorization: a.header } });
    const body = (await res.body.json()) as { cause: string };
    expect(res.statusCode).toBe(401);
    expect(body.cause).toBe("FST_GBA_BTID_UNKNOWN");
    expect(parseChallenge(res.headers["www-authenticate"] as string).realm).toBe(`3GPP-bootstrapping@${NAF_FQDN}`);
  });

  it("refuses a replayed nonce-count", async () => {
    const r = await request(`${naf.urls.http}/whoami`);
    const c = parseChallenge(r.headers["www-authenticate"] as string);
    await r.body.dump();
    const a = answerChallenge({
      username: ue.b.btid,
      password: b64(ksNaf(ue.b, ue.impi, "0100000002")),
      realm: c.realm,
      nonce: c.nonce,
      method: "GET",
      uri: "/whoami",
      qop: "auth-int",
      nc: 1,
    });
    const first = await request(`${naf.urls.http}/whoami`, { headers: { authorization: a.header } });
    await first.body.dump();
    expect(first.statusCode).toBe(200);
    const again = await request(`${naf.urls.http}/whoami`, { headers: { authorization: a.header } });
    expect(again.statusCode).toBe(401);
    expect(((await again.body.json()) as { cause: string }).cause).toBe("FST_GBA_NC_REPLAY");
  });
});

describe("openssl s_client -psk against the TLS-PSK listener", () => {
  const port = () => Number(new URL(naf.urls.tlsPsk).port);
  const identity = () => `3GPP-bootstrapping.${ue.b.btid}`;

  it("TLS 1.2 PSK-AES128-CBC-SHA with Ks_NAF for Ua id 010001008c: HTTP 200 for GET /whoami", async () => {
    const r = await sClientGet({
      port: port(),
      version: "1.2",
      pskHex: bytesToHex(ksNaf(ue.b, ue.impi, "010001008c")),
      identity: identity(),
    });
    const http = httpResponseOf(r.stdout);
    expect(http?.status, r.stderr).toBe(200);
    expect(http?.body).toMatchObject({
      btid: ue.b.btid,
      msisdn: MSISDN,
      method: "tls-psk",
      nafId: { uaSecProtId: "010001008c" },
    });
  });

  it("TLS 1.2: handshake failure with a wrong key", async () => {
    const r = await sClientGet({
      port: port(),
      version: "1.2",
      pskHex: bytesToHex(ksNaf(ue.b, ue.impi, "0100000002")),
      identity: identity(),
    });
    expect(httpResponseOf(r.stdout)).toBeUndefined();
    expect(r.stderr).toMatch(/alert|error/i);
  });

  it("TLS 1.3 external PSK with Ks_NAF for Ua id 0100000007: HTTP 200 for GET /whoami", async () => {
    const r = await sClientGet({
      port: port(),
      version: "1.3",
      pskHex: bytesToHex(ksNaf(ue.b, ue.impi, "0100000007")),
      identity: identity(),
    });
    const http = httpResponseOf(r.stdout);
    expect(http?.status, r.stderr).toBe(200);
    expect(http?.body).toMatchObject({ btid: ue.b.btid, method: "tls-psk", nafId: { uaSecProtId: "0100000007" } });
  });

  it("TLS 1.3: handshake failure with a wrong key", async () => {
    const r = await sClientGet({
      port: port(),
      version: "1.3",
      pskHex: bytesToHex(ksNaf(ue.b, ue.impi, "010001008c")),
      identity: identity(),
    });
    expect(httpResponseOf(r.stdout)).toBeUndefined();
  });

  it("a fresh bootstrap works on the first handshake (cold Zn cache)", async () => {
    const fresh = await bootstrapNewUe();
    const r = await sClientGet({
      port: port(),
      version: "1.2",
      pskHex: bytesToHex(ksNaf(fresh.b, fresh.impi, "010001008c")),
      identity: `3GPP-bootstrapping.${fresh.b.btid}`,
    });
    expect(httpResponseOf(r.stdout)?.status, r.stderr).toBe(200);
    const fresh13 = await bootstrapNewUe();
    const r13 = await sClientGet({
      port: port(),
      version: "1.3",
      pskHex: bytesToHex(ksNaf(fresh13.b, fresh13.impi, "0100000007")),
      identity: `3GPP-bootstrapping.${fresh13.b.btid}`,
    });
    expect(httpResponseOf(r13.stdout)?.status, r13.stderr).toBe(200);
  });
});

describe("Digest over HTTPS (TS 33.222 §5.3): NAF_Id carries the negotiated suite", () => {
  let dir: string;
  let app: FastifyInstance;
  let zn: ZnClientHandle;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "naf-https-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        `/CN=${NAF_FQDN}`,
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    const { readFileSync } = await import("node:fs");
    zn = createZnClient({ bsfUrl: stack.bsf.urls.zn, token: "naf-zn-token" });
    app = Fastify({
      https: { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) } as https.ServerOptions,
    });
    await app.register(async (scope) => {
      installGbaErrorHandler(scope);
      await scope.register(gbaNaf, { fqdn: NAF_FQDN, zn });
      await scope.register(whoamiRoutes);
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    url = `https://127.0.0.1:${(app.server.address() as { port: number }).port}/whoami`;
  });
  afterAll(async () => {
    await app?.close();
    await zn?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("accepts Ks_NAF for 01 00 01 c0 2f over TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 and refuses the plain-HTTP key", async () => {
    const tls12 = ["-k", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"];
    const ok = split((await curlDigest(url, ue.b.btid, b64(ksNaf(ue.b, ue.impi, "010001c02f")), tls12)).stdout);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).nafId).toEqual({ nafFqdn: NAF_FQDN, uaSecProtId: "010001c02f" });
    const plainKey = split((await curlDigest(url, ue.b.btid, b64(ksNaf(ue.b, ue.impi, "0100000002")), tls12)).stdout);
    expect(plainKey.status).toBe(401);
  });
});
