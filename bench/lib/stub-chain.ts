// The protocol floor of a bootstrap (issue 18 goal 2): a stub chain that makes the same HTTP
// exchanges as our BSF with no crypto and no storage. A Fastify "HSS" answers Zh with bodies
// shaped like the real ones; a Fastify "BSF" answers the first Ub GET (nonce="") with a 401
// challenge after `zh` Zh exchanges to the stub HSS over an undici pool, and any other GET with
// the BSF's 200 (BootstrappingInfo body and headers). One exchange is the vector request with the
// GUSS timestamp option and a GUSS the BSF holds (the BSF's steady state, nf/bsf/zh-client.ts);
// two are the vector and the GUSS in parallel, as without the option. It also answers Zn
// (TS 29.309 bootstrapping-info-retrieval) with a constant Zn-shaped body, for the IoT.04 flow floor
// (stubEca below, bench/flow.ts). The load generator in front sends two Ub requests per bootstrap with headers
// shaped like the UE's, so the chain differs from ours only in the work neither side skips.
//   node dist/bench/lib/targets.js stub-hss
//   node dist/bench/lib/targets.js stub-bsf HSS_URL ZH_EXCHANGES [WORKERS]
import cluster from "node:cluster";
import { constants as cryptoConstants } from "node:crypto";
import tls from "node:tls";
import { Pool } from "undici";
import { BOOTSTRAPPING_INFO_CONTENT_TYPE, buildBootstrappingInfo } from "../../gba/bootstrapping-info.js";
import { makeBtid } from "../../gba/btid.js";
import { formatAuthenticationInfo, formatChallenge } from "../../gba/digest/index.js";
import { PSK_IDENTITY_HINT } from "../../gba/btid.js";
import { createNfServer } from "../../nf/common/server.js";
import { DEFAULT_TLS12_PSK_SUITES } from "../../ue/ua/tls-psk.js";
import {
  STUB_BSF_REALM,
  STUB_BTID,
  STUB_CERTIFICATE,
  STUB_ECA_FQDN,
  STUB_IMPI,
  STUB_PSK,
  STUB_UA,
  STUB_UB_NONCE,
  STUB_UB_OPAQUE,
} from "./stub-flow-ue.js";

const LOOPBACK = "127.0.0.1";
const REALM = STUB_BSF_REALM;
const IMPI = STUB_IMPI;
/** as many Zh connections as the BSF's Zh client keeps */
const ZH_CONNECTIONS = 64;
/** as many Zn connections as the ECA's Zn client keeps (nf/naf/zn-client.ts) */
const ZN_CONNECTIONS = 16;
const hex = (n: number) => "0".repeat(2 * n);
const NONCE = STUB_UB_NONCE;
const OPAQUE = STUB_UB_OPAQUE;

export const STUB_CHALLENGE = formatChallenge({
  realm: REALM,
  nonce: NONCE,
  algorithm: "AKAv1-MD5",
  qop: ["auth-int"],
  opaque: OPAQUE,
});
const UA_RSPAUTH = formatAuthenticationInfo({ qop: "auth-int", rspauth: hex(16), cnonce: hex(16), nc: "00000001" });
const ZN_REQUEST = JSON.stringify({ btId: STUB_BTID, nafId: { nafFqdn: STUB_ECA_FQDN, uaSecProtId: "0100000002" } });
const RSPAUTH = formatAuthenticationInfo({ qop: "auth-int", rspauth: hex(16), cnonce: hex(8), nc: "00000001" });
const BODY = buildBootstrappingInfo({ btid: makeBtid(new Uint8Array(16), REALM), lifetime: new Date("2030-01-01T00:00:00Z") });

export { STUB_UE_HEADERS } from "./stub-flow-ue.js";

/** a subscriber record's revision, as the HSS names a GUSS version (8 random octets in hex) */
const GUSS_VERSION = hex(8);
const AV_ANSWER = { impi: IMPI, "3gAkaAv": { rand: hex(16), xres: hex(8), autn: hex(16), ck: hex(16), ik: hex(16) } };
const AV_CHECKED_ANSWER = { ...AV_ANSWER, gussCheck: { version: GUSS_VERSION } };
const AV_REQUEST = { authenticationScheme: "DIGEST_AKAV1_MD5" };
/** a Zn answer shaped as the BSF's (TS 29.309 BootstrappingInfo with the USS list) */
const ZN_ANSWER = {
  meKeyMaterial: hex(32),
  keyExpiryTime: "2030-01-01T00:00:00Z",
  bootstrappingInfoCreationTime: "2030-01-01T00:00:00Z",
  ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: `sip:${IMPI}` }, { ueId: "tel:+15550000000" }] } }],
  gbaType: "3G_GBA",
  impi: IMPI,
};
const ZN_PATH = "/nbsp-gba/v1/bootstrapping-info-retrieval";

const GUSS_ANSWER = {
  guss: {
    bsfInfo: { uiccType: "GBA" },
    ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: `sip:${IMPI}` }, { ueId: "tel:+15550000000" }] } }],
  },
};

type Ready = (info: Record<string, unknown>, stop: () => Promise<unknown>) => void;

/** The stub HSS: both Zh operations the BSF calls, constant answers. */
export async function stubHss(ready: Ready): Promise<void> {
  const app = createNfServer({ name: "stub-hss", logLevel: "warn" });
  app.post<{ Body: { gussCheck?: unknown } }>("/nhss-gba-ueau/v1/:ueId/security-information/generate-auth-data", async (req) =>
    req.body?.gussCheck ? AV_CHECKED_ANSWER : AV_ANSWER,
  );
  app.get("/nhss-gba-sdm/v1/:ueId/subscriber-data", async () => GUSS_ANSWER);
  await app.listen({ host: LOOPBACK, port: 0 });
  ready({ url: `http://${LOOPBACK}:${(app.server.address() as { port: number }).port}` }, () => app.close());
}

async function stubBsfServer(hssUrl: string, zh: number): Promise<{ port: number; close: () => Promise<unknown> }> {
  const pool = new Pool(hssUrl, { connections: ZH_CONNECTIONS, keepAliveTimeout: 30_000 });
  const path = `/nhss-gba-ueau/v1/${encodeURIComponent(IMPI)}/security-information/generate-auth-data`;
  // one exchange: the GUSS timestamp option; two: the vector and subscriber-data
  const avBody = JSON.stringify(zh === 1 ? { ...AV_REQUEST, gussCheck: { version: GUSS_VERSION } } : AV_REQUEST);
  const zhExchange = async (i: number): Promise<void> => {
    const res =
      i === 0
        ? await pool.request({
            method: "POST",
            path,
            headers: { accept: "application/json", "content-type": "application/json" },
            body: avBody,
          })
        : await pool.request({
            method: "GET",
            path: `/nhss-gba-sdm/v1/${encodeURIComponent(IMPI)}/subscriber-data`,
            headers: { accept: "application/json" },
          });
    JSON.parse(await res.body.text());
  };
  const app = createNfServer({ name: "stub-bsf", logLevel: "warn" });
  app.get("/", async (req, reply) => {
    if ((req.headers.authorization ?? "").includes('nonce=""')) {
      await Promise.all(Array.from({ length: zh }, (_, i) => zhExchange(i)));
      return reply.code(401).header("www-authenticate", STUB_CHALLENGE).send();
    }
    return reply
      .header("content-type", BOOTSTRAPPING_INFO_CONTENT_TYPE)
      .header("authentication-info", RSPAUTH)
      .header("expires", new Date(Date.now() + 3600_000).toUTCString())
      .header("cache-control", "no-store")
      .send(BODY);
  });
  app.post(ZN_PATH, async () => ZN_ANSWER);
  await app.listen({ host: LOOPBACK, port: 0 });
  return {
    port: (app.server.address() as { port: number }).port,
    close: async () => {
      await app.close();
      await pool.close();
    },
  };
}

/**
 * The stub BSF; with workers > 1 a node:cluster primary forks them as `gba bsf --workers N` does
 * (they share one listening port) and prints the ready line once all listen.
 */
export async function stubBsf(hssUrl: string, zh: number, workers: number, ready: Ready): Promise<void> {
  if (!(zh >= 1 && zh <= 2)) throw new Error("stub-bsf: ZH_EXCHANGES is 1 or 2");
  if (workers <= 1) {
    const s = await stubBsfServer(hssUrl, zh);
    ready({ url: `http://${LOOPBACK}:${s.port}` }, s.close);
    return;
  }
  if (cluster.isWorker) {
    const s = await stubBsfServer(hssUrl, zh);
    process.send?.({ port: s.port });
    process.once("SIGTERM", () => void s.close().finally(() => process.exit(0)));
    return;
  }
  const forked = Array.from({ length: workers }, () => cluster.fork());
  const ports = await Promise.all(
    forked.map((w) => new Promise<number>((resolve) => w.once("message", (m: { port: number }) => resolve(m.port)))),
  );
  const stopWorker = (w: (typeof forked)[number]) =>
    new Promise((r) => {
      w.once("exit", r);
      w.kill("SIGTERM");
    });
  ready({ url: `http://${LOOPBACK}:${ports[0]}`, workers }, () => Promise.all(forked.map(stopWorker)));
}

/**
 * The stub ECA of the IoT.04 flow floor: POST /enrol over HTTP answers a request without
 * credentials with the ECA's 401 challenge, and one with credentials (or any request inside a
 * TLS-PSK tunnel: a fixed PSK, TLS 1.2 PSK suites as the NAF offers them, no tickets) with a
 * certificate-sized 200 after one Zn exchange with the stub BSF over an undici pool, as the ECA
 * asks its BSF for each new B-TID. No digest, no CSR check, no CA, no store.
 */
export async function stubEca(bsfUrl: string, ready: Ready): Promise<void> {
  const pool = new Pool(bsfUrl, { connections: ZN_CONNECTIONS, keepAliveTimeout: 30_000 });
  const zn = async (): Promise<void> => {
    const res = await pool.request({
      method: "POST",
      path: ZN_PATH,
      headers: { accept: "application/json", "content-type": "application/json", authorization: "Bearer stub" },
      body: ZN_REQUEST,
    });
    JSON.parse(await res.body.text());
  };
  const app = createNfServer({ name: "stub-eca", logLevel: "warn" });
  app.addContentTypeParser("application/x-pkcs10", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.post("/enrol", async (req, reply) => {
    const tunnel = (req.raw.socket as { encrypted?: boolean }).encrypted === true;
    if (!tunnel && !(req.headers.authorization ?? "").includes("response=")) {
      return reply.code(401).header("www-authenticate", STUB_UA.challenge).send();
    }
    await zn();
    if (!tunnel) reply.header("authentication-info", UA_RSPAUTH);
    return reply.header("content-type", "application/pkix-cert").send(STUB_CERTIFICATE);
  });
  await app.listen({ host: LOOPBACK, port: 0 });
  const tlsServer = tls.createServer(
    {
      pskIdentityHint: PSK_IDENTITY_HINT,
      pskCallback: () => STUB_PSK,
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.2",
      ciphers: DEFAULT_TLS12_PSK_SUITES.join(":"),
      secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
    },
    (socket) => app.server.emit("connection", socket),
  );
  await new Promise<void>((r) => tlsServer.listen(0, LOOPBACK, r));
  const port = (s: { address(): unknown }) => (s.address() as { port: number }).port;
  ready({ url: `http://${LOOPBACK}:${port(app.server)}`, tlsPsk: `https://${LOOPBACK}:${port(tlsServer)}` }, async () => {
    await new Promise((r) => tlsServer.close(r));
    await app.close();
    await pool.close();
  });
}
