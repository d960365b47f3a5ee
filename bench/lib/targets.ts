// The same-run baselines and helper servers of the benchmarks, one per child process:
//   node dist/bench/lib/targets.js <kind> [arg]
//     bare-zn             POST Zn route parsing JSON, answering a Zn-sized body (Zn baseline)
//     bare-zh             POST Zh route answering an AV-shaped body (HSS baseline)
//     upstream            plain node:http answering 200 "ok" (the proxied application)
//     bare-proxy URL      @fastify/http-proxy to URL, no authentication (Ua baseline)
//     zn-stub             a BSF Zn stub knowing the bench subscriber (stub-bsf.ts)
//     tls-plain 1.2|1.3   node:tls with a fixed PSK, sockets handed to node:http (TLS-PSK baseline)
//     eca-stub DIR        the ECA's routes behind a stub authentication (enrolment baseline)
//     stub-hss            the Zh side of the bootstrap floor (stub-chain.ts)
//     stub-bsf URL ZH [N] the Ub side of the bootstrap floor: ZH Zh exchanges to the stub HSS at
//                         URL per challenge, N cluster workers (stub-chain.ts); it answers Zn too
//     stub-eca URL        the ECA side of the IoT.04 flow floor: Ua Digest or TLS-PSK, one Zn
//                         exchange with the stub BSF at URL per enrolment (stub-chain.ts)
// Bare routes use the NFs' own server settings (nf/common/server.ts). Each prints one JSON line
// {"url": ...} once listening and stops on SIGTERM.
import { constants as cryptoConstants } from "node:crypto";
import http from "node:http";
import tls from "node:tls";
import httpProxy from "@fastify/http-proxy";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { PSK_IDENTITY_HINT } from "../../gba/btid.js";
import { withDeps } from "../../nf/common/deps.js";
import { createNfServer } from "../../nf/common/server.js";
import { loadOrCreateCa } from "../../nf/eca/ca.js";
import { LmdbEcaStore } from "../../nf/eca/store-lmdb.js";
import { EnrolmentProcedures } from "../../nf/eca/procedures/enrolment.js";
import { enrolmentRoutes } from "../../nf/eca/routes/enrolment.js";
import type { GbaIdentity } from "../../nf/naf/index.js";
import { BENCH_BTID, BENCH_IMPI, BENCH_MSISDN, benchKsNaf, registerStubZn } from "./stub-bsf.js";
import { stubBsf, stubEca, stubHss } from "./stub-chain.js";

const LOOPBACK = "127.0.0.1";
const ENROL_FQDN = "eca.vehicleman.example";

function ready(info: Record<string, unknown>, stop: () => Promise<unknown>): void {
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.once("SIGTERM", () => {
    stop().finally(() => process.exit(0));
  });
}

async function serve(app: FastifyInstance): Promise<void> {
  await app.listen({ host: LOOPBACK, port: 0 });
  ready({ url: `http://${LOOPBACK}:${(app.server.address() as { port: number }).port}` }, () => app.close());
}

const bare = () => createNfServer({ name: "bare", logLevel: "warn" });

const ZN_SIZED_ANSWER = {
  meKeyMaterial: "0".repeat(64),
  keyExpiryTime: "2030-01-01T00:00:00Z",
  bootstrappingInfoCreationTime: "2030-01-01T00:00:00Z",
  ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: `sip:${BENCH_IMPI}` }], keyChoice: "ME_BASED_KEY" } }],
  gbaType: "3G_GBA",
  impi: BENCH_IMPI,
};

const AV = { rand: "00".repeat(16), xres: "00".repeat(8), autn: "00".repeat(16), ck: "00".repeat(16), ik: "00".repeat(16) };

/** The identity the stub authentication gives every enrolment request: the bench subscriber's. */
const STUB_IDENTITY: GbaIdentity = {
  btid: BENCH_BTID,
  impi: BENCH_IMPI,
  impus: [`sip:${BENCH_IMPI}`, `tel:+${BENCH_MSISDN}`],
  msisdn: BENCH_MSISDN,
  ussList: [],
  nafId: { nafFqdn: ENROL_FQDN, uaSecProtId: "0100000002" },
  keyExpiryTime: "2030-01-01T00:00:00Z",
  method: "digest",
  keyKind: "ks-naf",
};

async function ecaStub(dir: string): Promise<void> {
  const deps = withDeps();
  const store = LmdbEcaStore.open(dir);
  const ca = await loadOrCreateCa(dir, ENROL_FQDN, deps);
  const app = createNfServer({ name: "eca-stub", logLevel: "warn" });
  app.decorateRequest("gba", null);
  app.decorate("gbaAuthenticate", async (req: FastifyRequest) => {
    req.gba = STUB_IDENTITY;
  });
  await app.register(enrolmentRoutes, { enrolment: new EnrolmentProcedures({ ca, store, deps, certValidityDays: 365 }) });
  await app.listen({ host: LOOPBACK, port: 0 });
  ready({ url: `http://${LOOPBACK}:${(app.server.address() as { port: number }).port}` }, async () => {
    await app.close();
    await store.close();
  });
}

async function tlsPlain(version: string): Promise<void> {
  const v13 = version === "1.3";
  const key = Buffer.from(benchKsNaf(v13 ? "0100000007" : "010001008c", "naf.example.org"));
  const httpServer = http.createServer((_req, res) => res.end("ok"));
  const server = tls.createServer(
    {
      pskIdentityHint: PSK_IDENTITY_HINT,
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
  ready({ url: `https://${LOOPBACK}:${(server.address() as { port: number }).port}` }, () => new Promise((r) => server.close(r)));
}

async function main(kind: string | undefined, arg: string | undefined, ...more: string[]): Promise<void> {
  switch (kind) {
    case "bare-zn": {
      const app = bare();
      app.post("/nbsp-gba/v1/bootstrapping-info-retrieval", async (req) => ({
        ...ZN_SIZED_ANSWER,
        impi: (req.body as { btId?: string }).btId,
      }));
      return serve(app);
    }
    case "bare-zh": {
      const app = bare();
      app.post<{ Params: { ueId: string } }>("/nhss-gba-ueau/v1/:ueId/security-information/generate-auth-data", async (req) => ({
        impi: req.params.ueId,
        "3gAkaAv": AV,
      }));
      return serve(app);
    }
    case "upstream": {
      const server = http.createServer((_req, res) => {
        res.setHeader("content-type", "text/plain");
        res.end("ok");
      });
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
      ready(
        { url: `http://${LOOPBACK}:${(server.address() as { port: number }).port}` },
        () => new Promise((r) => server.close(r)),
      );
      return;
    }
    case "bare-proxy": {
      if (!arg) throw new Error("bare-proxy needs the upstream URL");
      const app = bare();
      await app.register(httpProxy, { upstream: arg });
      return serve(app);
    }
    case "zn-stub": {
      const app = bare();
      registerStubZn(app);
      return serve(app);
    }
    case "tls-plain":
      return tlsPlain(arg ?? "1.2");
    case "eca-stub":
      if (!arg) throw new Error("eca-stub needs a data directory");
      return ecaStub(arg);
    case "stub-hss":
      return stubHss(ready);
    case "stub-bsf":
      if (!arg) throw new Error("stub-bsf needs the stub HSS URL");
      return stubBsf(arg, Number(more[0] ?? 2), Number(more[1] ?? 1), ready);
    case "stub-eca":
      if (!arg) throw new Error("stub-eca needs the stub BSF URL");
      return stubEca(arg, ready);
    default:
      throw new Error(`unknown bench target "${kind}"`);
  }
}

main(process.argv[2], process.argv[3], ...process.argv.slice(4)).catch((err: unknown) => {
  process.stderr.write(`bench target: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
