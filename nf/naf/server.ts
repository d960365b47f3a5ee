// The NAF as a running NF: the Ua HTTP listener (Digest) and the TLS-PSK listener on one Fastify
// app, in front of either `GET /whoami` or an upstream application (authentication proxy).
import type { FastifyError, FastifyInstance } from "fastify";
import type { NfConfig } from "../common/config.js";
import type { NafConfig } from "./config.js";
import { type NfDeps, systemDeps } from "../common/deps.js";
import type { RunningNf } from "../common/nf.js";
import { sendProblem } from "../common/problem.js";
import { createNfServer, listen } from "../common/server.js";
import { isGbaError } from "./errors.js";
import { gbaNaf } from "./plugin.js";
import { registerGbaProxy } from "./proxy.js";
import { SharedNonceCounts } from "./shared-nonce-counts.js";
import { createTlsPskListener } from "./tls-psk.js";
import { createZnClient } from "./zn-client.js";

/** Request bodies the NAF accepts (auth-int hashes the whole body, the proxy forwards it). */
const NAF_BODY_LIMIT = 1024 * 1024;
const ZN_TIMEOUT_MS = 2000;

/** Renders the plugin's errors as ProblemDetails with the error code as cause; others go to the app's handler. */
export function installGbaErrorHandler(scope: FastifyInstance): void {
  scope.setErrorHandler((err: FastifyError, request, reply) => {
    if (!isGbaError(err)) throw err;
    request.log.info({ cause: err.code, status: err.statusCode }, "GBA authentication refused");
    return sendProblem(reply, {
      title:
        err.statusCode === 503
          ? "Service Unavailable"
          : err.statusCode === 401
            ? "Unauthorized"
            : err.statusCode === 403
              ? "Forbidden"
              : "Bad Request",
      status: err.statusCode,
      detail: err.message,
      cause: err.code,
    });
  });
}

/** Registers `GET /whoami`: the identity the request was authenticated as. */
export function registerWhoami(scope: FastifyInstance): void {
  scope.get("/whoami", { onRequest: scope.gbaAuthenticate }, async (request) => {
    const g = request.gba;
    if (!g) throw new Error("gbaAuthenticate let an unauthenticated request through");
    return {
      btid: g.btid,
      impi: g.impi,
      impus: g.impus,
      msisdn: g.msisdn ?? null,
      ussList: g.ussList,
      nafId: g.nafId,
      method: g.method,
      keyKind: g.keyKind,
      keyExpiryTime: g.keyExpiryTime,
    };
  });
}

/**
 * One of several NAF worker processes on a host (`gba naf --workers N`): every worker verifies
 * the nonces any of them issued (one HMAC secret, drawn by the primary) and sees every
 * nonce-count any of them accepted (SharedNonceCounts under cfg.data), so a Digest answer
 * replayed to another worker is still refused.
 */
export interface NafWorkerOptions {
  nonceSecret: Uint8Array;
}

/** Starts the NAF: HTTP (Digest) and TLS-PSK listeners; proxy to cfg.naf.upstream or serve /whoami. */
export async function startNaf(
  cfg: NfConfig<"naf", NafConfig>,
  deps?: Partial<NfDeps>,
  worker?: NafWorkerOptions,
): Promise<RunningNf> {
  const n = cfg.naf;
  const zn = createZnClient({
    bsfUrl: n.bsfUrl,
    token: n.znToken,
    timeoutMs: ZN_TIMEOUT_MS,
    gbaUAware: n.realms !== "gba-me",
    clock: deps?.clock,
  });
  const shared = worker && SharedNonceCounts.open(cfg.data, n.nonceTtl, deps?.clock ?? systemDeps.clock);
  const app = createNfServer({ name: "naf", logLevel: cfg.logLevel, bodyLimit: NAF_BODY_LIMIT });
  await app.register(async (scope) => {
    installGbaErrorHandler(scope);
    await scope.register(gbaNaf, {
      fqdn: n.fqdn,
      zn,
      digestAlgorithm: n.digestAlgorithm,
      realms: n.realms,
      nonceTtl: n.nonceTtl,
      nonceSecret: worker?.nonceSecret,
      nonceCounts: shared,
      deps,
    });
    if (n.upstream) await registerGbaProxy(scope, n.upstream);
    else registerWhoami(scope);
  });
  let http: string;
  try {
    http = await listen(app, n.http);
  } catch (err) {
    await zn.close();
    await shared?.close();
    throw err;
  }
  let tlsPsk: Awaited<ReturnType<typeof createTlsPskListener>>;
  try {
    tlsPsk = await createTlsPskListener(app, { fqdn: n.fqdn, zn, host: n.tlsPsk.host, port: n.tlsPsk.port });
  } catch (err) {
    await app.close();
    await zn.close();
    await shared?.close();
    throw err;
  }
  return {
    name: "naf",
    urls: { http, tlsPsk: tlsPsk.url },
    info: { fqdn: n.fqdn },
    async close() {
      await tlsPsk.close();
      await app.close();
      await zn.close();
      await shared?.close();
    },
  };
}
