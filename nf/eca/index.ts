// The GSMA IoT.04 scenario 7 Enrolment CA: a NAF application behind the GBA NAF plugin on its
// own listeners (HTTP Digest on cfg.eca.http, TLS-PSK on cfg.eca.tlsPsk). Importing the NAF
// plugin here is the intended exception to "NFs never import each other": the plugin is a
// library for NAF applications, and the ECA still reaches the BSF over Zn only.
import { ConfigError, type NfConfig } from "../common/config.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import type { RunningNf } from "../common/nf.js";
import { createNfServer, listen } from "../common/server.js";
import { createTlsPskListener, createZnClient, gbaNaf, installGbaErrorHandler } from "../naf/index.js";
import { loadOrCreateCa } from "./ca.js";
import { type EcaConfig, ecaConfigSection } from "./config.js";
import { EcaStore } from "./registry.js";
import { ecaRoutes } from "./routes.js";

const ZN_TIMEOUT_MS = 2000;

export async function startEca(cfg: NfConfig<"eca", EcaConfig>, deps?: Partial<NfDeps>): Promise<RunningNf> {
  const c = cfg.eca;
  ecaConfigSection.check(c);
  const d = withDeps(deps);
  const store = EcaStore.open(cfg.data);
  const cleanup: Array<() => Promise<unknown>> = [() => store.close()];
  const close = async () => {
    for (let step = cleanup.pop(); step; step = cleanup.pop()) await step();
  };
  try {
    const ca = await loadOrCreateCa(cfg.data, c.fqdn, d);
    let zn: ReturnType<typeof createZnClient>;
    try {
      zn = createZnClient({ bsfUrl: c.bsfUrl, token: c.znToken, timeoutMs: ZN_TIMEOUT_MS, gbaUAware: false, clock: d.clock });
    } catch (err) {
      if (err instanceof RangeError) throw new ConfigError(`eca.bsfUrl: ${err.message}`);
      throw err;
    }
    cleanup.push(() => zn.close());
    const app = createNfServer({ name: "eca", logLevel: cfg.logLevel });
    cleanup.push(() => app.close());
    await app.register(async (scope) => {
      installGbaErrorHandler(scope);
      await scope.register(gbaNaf, { fqdn: c.fqdn, zn, deps: d });
      await scope.register(ecaRoutes, { ca, store, deps: d, certValidityDays: c.certValidityDays });
    });
    const url = await listen(app, c.http);
    const tls = await createTlsPskListener(app, { fqdn: c.fqdn, zn, host: c.tlsPsk.host, port: c.tlsPsk.port });
    cleanup.push(() => tls.close());
    return { name: "eca", urls: { url, tlsPsk: tls.url }, close };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
