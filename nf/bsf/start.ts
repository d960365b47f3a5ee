// The BSF as a running NF (TS 33.220 §4.2, §4.5): Ub and Zn on their own listeners, the Zh client
// to the HSS, pending challenges and bootstrap sessions in the BSF's store, and the expiry sweep.
// One cleanup stack.
import { startWithCleanup } from "../common/cleanup.js";
import type { NfConfig } from "../common/config.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import { logReady, type RunningNf } from "../common/nf.js";
import { connectingPeer, openNfDiameterNode } from "../common/diameter/index.js";
import { createNfServer, listen } from "../common/server.js";
import { APP_ZH, APP_ZN } from "../../wire/diameter/index.js";
import { type BsfConfig, bsfConfigSection } from "./config.js";
import { NafRegistry } from "./naf-registry.js";
import { UbProcedures } from "./procedures/ub.js";
import { ZnProcedures } from "./procedures/zn.js";
import { ubRoutes } from "./routes/ub.js";
import { znRoutes } from "./routes/zn.js";
import { znDiameterRoutes } from "./routes/zn-diameter.js";
import { LmdbBsfStore } from "./store-lmdb.js";
import { openBsfStore } from "./store-open.js";
import { createZhClient, type ZhClient } from "./zh-client.js";
import { createDiameterZhClient } from "./zh-client-diameter.js";

/** How often expired sessions and challenges are swept (reads check expiry as well). */
export const SWEEP_INTERVAL_MS = 30_000;

export interface RunningBsf extends RunningNf {
  /** runs the expiry sweep now; resolves to the number of sessions and challenges removed */
  sweep(): Promise<{ sessions: number; challenges: number }>;
}

export async function startBsf(cfg: NfConfig<"bsf", BsfConfig>, partialDeps?: Partial<NfDeps>): Promise<RunningBsf> {
  const deps = withDeps(partialDeps);
  const bsf = cfg.bsf;
  bsfConfigSection.check(bsf);
  return startWithCleanup(async (cleanup) => {
    // tombstones of answered nonces live one more nonce lifetime, so late replays still read as replays
    const store = await openBsfStore(cfg, bsf.nonceTtl * 1000);
    cleanup.push(() => store.close());
    const nafs = new NafRegistry(bsf.nafs);
    const ub = createNfServer({ name: "bsf-ub", logLevel: cfg.logLevel, overload: cfg.overload });
    const zn = createNfServer({ name: "bsf-zn", logLevel: cfg.logLevel, overload: cfg.overload });
    cleanup.push(() => Promise.allSettled([ub.close(), zn.close()]));

    // Diameter: Zn served when bsf.diameter.enabled, Zh asked when bsf.zh is "diameter"
    const dm = bsf.diameter;
    const zhOverDiameter = bsf.zh === "diameter";
    const diameter =
      dm.enabled || zhOverDiameter
        ? await openNfDiameterNode(
            {
              identity: dm,
              applications: [...(dm.enabled ? [APP_ZN] : []), ...(zhOverDiameter ? [APP_ZH] : [])],
              peers: [
                ...(dm.enabled ? nafs.diameterHosts.map((originHost) => ({ originHost })) : []),
                ...(zhOverDiameter ? [connectingPeer(dm.hss)] : []),
              ],
              listen: dm.enabled ? dm.listen : undefined,
              log: zn.log.child({ iface: "Diameter" }),
              tap: deps.capture?.diameterTap("BSF Diameter"),
              mount: (node) => {
                if (!dm.enabled) return;
                // a ZnProcedures of its own: its answer cache holds BIA bodies, not JSON
                const procedures = new ZnProcedures(store, nafs, deps.clock);
                znDiameterRoutes(node, { procedures, log: zn.log.child({ iface: "Zn/Diameter" }), events: deps.events });
              },
            },
            cleanup,
          )
        : undefined;
    let zh: ZhClient;
    if (diameter && zhOverDiameter) {
      zh = createDiameterZhClient(diameter.node, {
        hss: dm.hss,
        timeoutMs: bsf.zhTimeoutMs,
        clock: deps.clock,
        gussEntries: bsf.gussCacheEntries,
      });
      // the first bootstraps need the HSS connection: wait for it a little, then start anyway (retried after Tc)
      await diameter.node.waitOpen(dm.hss.originHost, bsf.zhTimeoutMs).catch((err: Error) => {
        ub.log.warn({ hss: dm.hss.originHost, error: err.message }, "Zh over Diameter: the HSS is not connected yet");
      });
    } else {
      zh = createZhClient({
        hssUrl: bsf.hssUrl,
        timeoutMs: bsf.zhTimeoutMs,
        capture: deps.capture,
        gussCheck: bsf.zhGussCheck,
        gussEntries: bsf.gussCacheEntries,
      });
      cleanup.push(() => zh.close());
    }

    const { events } = deps;
    await ub.register(ubRoutes, {
      procedures: new UbProcedures({ bsf, gbaU: cfg.gbaU, zh, store, deps }),
      events,
      tmpi: bsf.tmpi,
    });
    await zn.register(znRoutes, { procedures: new ZnProcedures(store, nafs, deps.clock), events });

    // LMDB sweeps; Redis keys expire by themselves (PEXPIREAT)
    const sweep =
      store instanceof LmdbBsfStore
        ? () => store.purgeExpired(deps.clock())
        : () => Promise.resolve({ sessions: 0, challenges: 0 });
    if (store instanceof LmdbBsfStore) {
      const timer = setInterval(() => {
        sweep().catch((err: unknown) => ub.log.error({ err }, "expiry sweep failed"));
      }, SWEEP_INTERVAL_MS);
      timer.unref();
      cleanup.push(() => clearInterval(timer));
    }

    const ubUrl = await listen(ub, bsf.ub, "http", { capture: deps.capture, label: "BSF Ub" });
    const znUrl = await listen(zn, bsf.zn, "http", { capture: deps.capture, label: "BSF Zn" });
    const urls: Record<string, string> = { ub: ubUrl, zn: znUrl };
    if (diameter?.listening) urls.znDiameter = diameter.listening;
    logReady(ub.log, "BSF", cfg.data, { fqdn: bsf.fqdn, hssUrl: bsf.hssUrl, zh: bsf.zh, ...urls });
    return {
      name: "bsf",
      urls,
      info: { fqdn: bsf.fqdn },
      diameter: diameter ? { originHost: dm.originHost, originRealm: dm.originRealm } : undefined,
      close: () => cleanup.close(),
      sweep,
    };
  });
}
