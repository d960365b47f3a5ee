// The GSMA IoT.04 scenario 7 Enrolment CA as a running NF: a NAF application behind the GBA NAF
// plugin on its own listeners (HTTP Digest on cfg.eca.http, TLS-PSK on cfg.eca.tlsPsk). Mounting
// the NAF plugin here is the intended exception to "NFs never import each other": the plugin is
// a library for NAF applications, and the ECA still reaches the BSF over Zn only.
import { startWithCleanup } from "../common/cleanup.js";
import type { NfConfig } from "../common/config.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import { logReady, type RunningNf } from "../common/nf.js";
import { createNfServer, listen } from "../common/server.js";
import { createTlsPskListener, gbaNaf, installGbaErrorHandler, openNonceCounts, startZnClient, uaTap } from "../naf/index.js";
import { loadOrCreateCa } from "./ca.js";
import { type EcaConfig, ecaConfigSection } from "./config.js";
import { EnrolmentProcedures } from "./procedures/enrolment.js";
import { ECA_PUBLIC_PATHS, enrolmentRoutes } from "./routes/enrolment.js";
import { openEcaStore } from "./store-open.js";

const ZN_TIMEOUT_MS = 2000;
/** seconds a Ua nonce of the ECA stays valid (the NAF plugin's default) */
const NONCE_TTL_S = 300;

export async function startEca(cfg: NfConfig<"eca", EcaConfig>, deps?: Partial<NfDeps>): Promise<RunningNf> {
  const c = cfg.eca;
  ecaConfigSection.check(c);
  const d = withDeps(deps);
  return startWithCleanup(async (cleanup) => {
    const store = await openEcaStore(cfg);
    cleanup.push(() => store.close());
    // ECA replicas on several hosts share nonce-counts and the nonce secret (Redis); one ECA keeps them in memory
    const nonces = await openNonceCounts(cfg, { ttlSeconds: NONCE_TTL_S, clock: d.clock, fqdn: c.fqdn });
    if (nonces.counts) cleanup.push(() => nonces.counts?.close());
    const ca = await loadOrCreateCa(cfg.data, c.fqdn, d);
    const app = createNfServer({ name: "eca", logLevel: cfg.logLevel, overload: cfg.overload });
    cleanup.push(() => app.close());
    const zn = await startZnClient(c, {
      timeoutMs: ZN_TIMEOUT_MS,
      gbaUAware: false,
      clock: d.clock,
      log: app.log.child({ iface: "Zn/Diameter" }),
      capture: d.capture,
    });
    cleanup.push(() => zn.close());
    const enrolment = new EnrolmentProcedures({ ca, store, deps: d, certValidityDays: c.certValidityDays });
    // at the root, where the not-found handler lives: an unknown path is challenged like any other
    await app.register(gbaNaf, {
      fqdn: c.fqdn,
      zn,
      deps: d,
      eventNf: "eca",
      publicPaths: ECA_PUBLIC_PATHS,
      nonceTtl: NONCE_TTL_S,
      nonceSecret: nonces.secret,
      nonceCounts: nonces.counts,
    });
    await app.register(async (scope) => {
      installGbaErrorHandler(scope);
      await scope.register(enrolmentRoutes, { enrolment, events: d.events });
    });
    const url = await listen(app, c.http, "http", uaTap(d.capture, "ECA Ua"));
    const tls = await createTlsPskListener(app, {
      fqdn: c.fqdn,
      zn,
      host: c.tlsPsk.host,
      port: c.tlsPsk.port,
      events: d.events,
      eventNf: "eca",
      recordAddresses: d.capture !== undefined,
    });
    cleanup.push(() => tls.close());
    const diameter = c.zn === "diameter" ? { originHost: c.diameter.originHost, originRealm: c.diameter.originRealm } : undefined;
    logReady(app.log, "ECA", cfg.data, { fqdn: c.fqdn, bsfUrl: c.bsfUrl, zn: c.zn, url, tlsPsk: tls.url });
    return { name: "eca", urls: { url, tlsPsk: tls.url }, diameter, close: () => cleanup.close() };
  });
}
