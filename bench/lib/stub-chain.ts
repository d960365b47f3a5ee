// The protocol floor of a bootstrap (issue 18 goal 2): a stub chain that makes the same HTTP
// exchanges as our BSF with no crypto and no storage. A Fastify "HSS" answers Zh with bodies
// shaped like the real ones; a Fastify "BSF" answers the first Ub GET (nonce="") with a 401
// challenge after `zh` Zh exchanges to the stub HSS over an undici pool, and any other GET with
// the BSF's 200 (BootstrappingInfo body and headers). One exchange is the vector request with the
// GUSS timestamp option and a GUSS the BSF holds (the BSF's steady state, nf/bsf/zh-client.ts);
// two are the vector and the GUSS in parallel, as without the option. The load generator in front sends two Ub requests per bootstrap with headers
// shaped like the UE's, so the chain differs from ours only in the work neither side skips.
//   node dist/bench/lib/targets.js stub-hss
//   node dist/bench/lib/targets.js stub-bsf HSS_URL ZH_EXCHANGES [WORKERS]
import cluster from "node:cluster";
import { Pool } from "undici";
import { BOOTSTRAPPING_INFO_CONTENT_TYPE, buildBootstrappingInfo } from "../../gba/bootstrapping-info.js";
import { makeBtid } from "../../gba/btid.js";
import { formatAuthenticationInfo, formatChallenge, formatCredentials } from "../../gba/digest/index.js";
import { createNfServer } from "../../nf/common/server.js";

const LOOPBACK = "127.0.0.1";
const REALM = "bsf.mnc001.mcc001.pub.3gppnetwork.org";
const IMPI = "001010000000000@ims.mnc001.mcc001.3gppnetwork.org";
/** as many Zh connections as the BSF's Zh client keeps */
const ZH_CONNECTIONS = 64;
const hex = (n: number) => "0".repeat(2 * n);
/** b64(RAND ‖ AUTN), 32 octets, as the BSF's nonce (TS 33.220 §4.5.2, RFC 3310 §3.2) */
const NONCE = Buffer.alloc(32).toString("base64");
const OPAQUE = hex(16);

export const STUB_CHALLENGE = formatChallenge({
  realm: REALM,
  nonce: NONCE,
  algorithm: "AKAv1-MD5",
  qop: ["auth-int"],
  opaque: OPAQUE,
});
const RSPAUTH = formatAuthenticationInfo({ qop: "auth-int", rspauth: hex(16), cnonce: hex(8), nc: "00000001" });
const BODY = buildBootstrappingInfo({ btid: makeBtid(new Uint8Array(16), REALM), lifetime: new Date("2030-01-01T00:00:00Z") });

/** The UE's first Ub request (TS 24.109 A.3: empty nonce and response) and its answer, shaped as ours. */
export const STUB_UE_HEADERS = {
  initial: formatCredentials({ username: IMPI, realm: REALM, nonce: "", uri: "/", response: "" }),
  answer: formatCredentials({
    username: IMPI,
    realm: REALM,
    nonce: NONCE,
    uri: "/",
    response: hex(16),
    algorithm: "AKAv1-MD5",
    qop: "auth-int",
    nc: "00000001",
    cnonce: hex(8),
    opaque: OPAQUE,
  }),
};

/** a subscriber record's revision, as the HSS names a GUSS version (8 random octets in hex) */
const GUSS_VERSION = hex(8);
const AV_ANSWER = { impi: IMPI, "3gAkaAv": { rand: hex(16), xres: hex(8), autn: hex(16), ck: hex(16), ik: hex(16) } };
const AV_CHECKED_ANSWER = { ...AV_ANSWER, gussCheck: { version: GUSS_VERSION } };
const AV_REQUEST = { authenticationScheme: "DIGEST_AKAV1_MD5" };
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
