// The NAF as a running NF: the Ua HTTP listener (Digest) and the TLS-PSK listener on one Fastify
// app, in front of either `GET /whoami` or an upstream application (authentication proxy).
import { startWithCleanup } from "../common/cleanup.js";
import type { NfConfig } from "../common/config.js";
import { type NfDeps, systemDeps } from "../common/deps.js";
import { logReady, type RunningNf } from "../common/nf.js";
import { createNfServer, listen } from "../common/server.js";
import { type NafConfig, nafConfigSection } from "./config.js";
import { gbaNaf, installGbaErrorHandler } from "./plugin.js";
import { proxyRoutes } from "./routes/proxy.js";
import { whoamiRoutes } from "./routes/whoami.js";
import { openNonceCounts } from "./store-open.js";
import { createTlsPskListener, uaTap } from "./tls-psk.js";
import { startZnClient } from "./zn-binding.js";

/** Request bodies the NAF accepts (auth-int hashes the whole body, the proxy forwards it). */
const NAF_BODY_LIMIT = 1024 * 1024;
const ZN_TIMEOUT_MS = 2000;

/**
 * One of several NAF worker processes on a host (`gba naf --workers N`): every worker verifies
 * the nonces any of them issued (one HMAC secret, drawn by the primary) and sees every
 * nonce-count any of them accepted (LMDB under cfg.data, or the Redis Cluster), so a Digest
 * answer replayed to another worker is still refused. Replicas on several hosts share both
 * through the Redis Cluster (store-open.ts).
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
  nafConfigSection.check(n);
  return startWithCleanup(async (cleanup) => {
    const app = createNfServer({ name: "naf", logLevel: cfg.logLevel, bodyLimit: NAF_BODY_LIMIT, overload: cfg.overload });
    cleanup.push(() => app.close());
    const zn = await startZnClient(n, {
      timeoutMs: ZN_TIMEOUT_MS,
      gbaUAware: n.realms !== "gba-me",
      clock: deps?.clock,
      log: app.log.child({ iface: "Zn/Diameter" }),
      capture: deps?.capture,
    });
    cleanup.push(() => zn.close());
    const shared = await openNonceCounts(cfg, {
      ttlSeconds: n.nonceTtl,
      clock: deps?.clock ?? systemDeps.clock,
      fqdn: n.fqdn,
      workerSecret: worker?.nonceSecret,
    });
    if (shared.counts) cleanup.push(() => shared.counts?.close());
    // at the root, where the not-found handler lives: an unknown path is challenged like any other
    await app.register(gbaNaf, {
      fqdn: n.fqdn,
      zn,
      digestAlgorithm: n.digestAlgorithm,
      realms: n.realms,
      qop: n.qop,
      protectedPaths: n.protectedPaths,
      publicPaths: n.publicPaths,
      nonceTtl: n.nonceTtl,
      nonceSecret: shared.secret,
      nonceCounts: shared.counts,
      deps,
    });
    await app.register(async (scope) => {
      installGbaErrorHandler(scope);
      if (n.upstream) await scope.register(proxyRoutes, { upstream: n.upstream });
      else await scope.register(whoamiRoutes);
    });
    const http = await listen(app, n.http, "http", uaTap(deps?.capture, "NAF Ua"));
    const tlsPsk = await createTlsPskListener(app, {
      fqdn: n.fqdn,
      zn,
      host: n.tlsPsk.host,
      port: n.tlsPsk.port,
      events: deps?.events,
      recordAddresses: deps?.capture !== undefined,
    });
    cleanup.push(() => tlsPsk.close());
    const diameter = n.zn === "diameter" ? { originHost: n.diameter.originHost, originRealm: n.diameter.originRealm } : undefined;
    logReady(app.log, "NAF", cfg.data, {
      fqdn: n.fqdn,
      bsfUrl: n.bsfUrl,
      zn: n.zn,
      upstream: n.upstream,
      http,
      tlsPsk: tlsPsk.url,
    });
    return { name: "naf", urls: { http, tlsPsk: tlsPsk.url }, info: { fqdn: n.fqdn }, diameter, close: () => cleanup.close() };
  });
}
