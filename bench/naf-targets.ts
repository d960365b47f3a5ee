// Servers under test for the NAF benchmarks, one per child process; each prints one JSON ready
// line and runs until SIGTERM.
//   upstream                 plain node:http answering 200 "ok"
//   bare-proxy URL           Fastify + @fastify/http-proxy to URL, no authentication (baseline)
//   naf [URL]                the NAF (startNaf) with a stub BSF in-process; proxy to URL if given
//   tls-plain 1.2|1.3        node:tls PSK with a fixed key, sockets handed to node:http (baseline)
import { constants as cryptoConstants } from "node:crypto";
import http from "node:http";
import tls from "node:tls";
import httpProxy from "@fastify/http-proxy";
import Fastify from "fastify";
import { bytesToHex } from "../milenage/bytes.js";
import { defaultConfig, withEphemeralPorts } from "../nf/common/config.js";
import { startNaf } from "../nf/naf/index.js";
import { BENCH_BTID, BENCH_IMPI, BENCH_NAF_FQDN, BENCH_ZN_TOKEN, benchKsNaf } from "./naf-common.js";

const LOOPBACK = "127.0.0.1";

function ready(info: Record<string, string>, stop: () => Promise<unknown>): void {
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.once("SIGTERM", () => {
    stop().finally(() => process.exit(0));
  });
}

async function listenHttp(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  return `http://${LOOPBACK}:${(server.address() as { port: number }).port}`;
}

/** A BSF Zn stub that knows the bench subscriber only (the NAF caches its answer anyway). */
async function stubBsf(): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify();
  app.post("/nbsp-gba/v1/bootstrapping-info-retrieval", async (req, reply) => {
    const b = req.body as { btId: string; nafId: { nafFqdn: string; uaSecProtId: string } };
    if (req.headers.authorization !== `Bearer ${BENCH_ZN_TOKEN}`) return reply.code(401).send({});
    if (b.btId !== BENCH_BTID) return reply.code(404).send({ status: 404, cause: "BTID_NOT_FOUND" });
    return {
      meKeyMaterial: bytesToHex(benchKsNaf(b.nafId.uaSecProtId, b.nafId.nafFqdn)),
      keyExpiryTime: new Date(Date.now() + 3600_000).toISOString(),
      ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: "sip:bench@ims.example" }, { ueId: "tel:+15550000001" }] } }],
      gbaType: "3G_GBA",
      impi: BENCH_IMPI,
    };
  });
  await app.listen({ host: LOOPBACK, port: 0 });
  return { url: `http://${LOOPBACK}:${(app.server.address() as { port: number }).port}`, close: () => app.close() };
}

const [kind, arg] = process.argv.slice(2);

switch (kind) {
  case "upstream": {
    const server = http.createServer((_req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end("ok");
    });
    server.keepAliveTimeout = 60_000;
    ready({ url: await listenHttp(server) }, () => new Promise((r) => server.close(r)));
    break;
  }
  case "bare-proxy": {
    const app = Fastify();
    await app.register(httpProxy, { upstream: arg });
    await app.listen({ host: LOOPBACK, port: 0 });
    ready({ url: `http://${LOOPBACK}:${(app.server.address() as { port: number }).port}` }, () => app.close());
    break;
  }
  case "naf": {
    const bsf = await stubBsf();
    const cfg = withEphemeralPorts(defaultConfig());
    cfg.logLevel = "silent";
    cfg.naf = { ...cfg.naf, fqdn: BENCH_NAF_FQDN, bsfUrl: bsf.url, znToken: BENCH_ZN_TOKEN, upstream: arg };
    const naf = await startNaf(cfg);
    ready({ http: naf.urls.http, tlsPsk: naf.urls.tlsPsk }, async () => {
      await naf.close();
      await bsf.close();
    });
    break;
  }
  case "tls-plain": {
    const v13 = arg === "1.3";
    const key = Buffer.from(benchKsNaf(v13 ? "0100000007" : "010001008c"));
    const httpServer = http.createServer((_req, res) => res.end("ok"));
    const server = tls.createServer(
      {
        pskIdentityHint: "3GPP-bootstrapping",
        pskCallback: () => key,
        minVersion: v13 ? "TLSv1.3" : "TLSv1.2",
        maxVersion: v13 ? "TLSv1.3" : "TLSv1.2",
        ciphers: v13 ? "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256" : "PSK-AES128-CBC-SHA",
        // as the NAF: no session tickets
        secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
      },
      (socket) => httpServer.emit("connection", socket),
    );
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    ready(
      { url: `https://${LOOPBACK}:${(server.address() as { port: number }).port}` },
      () => new Promise((r) => server.close(r)),
    );
    break;
  }
  default:
    process.stderr.write(`unknown bench target "${kind}"\n`);
    process.exit(2);
}
