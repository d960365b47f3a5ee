// The HSS as a running NF: the subscriber store, the Zh listener (TS 29.562 shapes) and the
// provisioning API on its own listener, and the periodic SEQ_HE checkpoints. One cleanup stack.
import { startWithCleanup } from "../common/cleanup.js";
import { storeDescription } from "../common/store/redis-config.js";
import { ConfigError, type NfConfig } from "../common/config.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import { logReady, type RunningNf } from "../common/nf.js";
import { openNfDiameterNode } from "../common/diameter/index.js";
import { createNfServer, listen } from "../common/server.js";
import { APP_ZH } from "../../wire/diameter/index.js";
import { type HssConfig, hssConfigSection } from "./config.js";
import { MilenageCache } from "./key-cache.js";
import { AdminProcedures } from "./procedures/admin.js";
import { ZhProcedures } from "./procedures/zh.js";
import { adminRoutes } from "./routes/admin.js";
import { zhRoutes } from "./routes/zh.js";
import { zhDiameterRoutes } from "./routes/zh-diameter.js";
import { LmdbHssStore } from "./store-lmdb.js";
import { openHssStore } from "./store-open.js";

/** SEQ_HE journal entries folded per checkpoint commit */
export const CHECKPOINT_CHUNK = 20_000;
/** how often the journal length is looked at */
const CHECKPOINT_POLL_MS = 1000;

export async function startHss(cfg: NfConfig<"hss", HssConfig>, deps?: Partial<NfDeps>): Promise<RunningNf> {
  hssConfigSection.check(cfg.hss);
  const d = withDeps(deps);
  const h = cfg.hss;
  return startWithCleanup(async (cleanup) => {
    const store = await openHssStore(cfg, { indBits: h.indBits, clock: d.clock });
    cleanup.push(() => store.close());
    let zhProcedures: ZhProcedures;
    try {
      zhProcedures = new ZhProcedures(store, new MilenageCache(store.secrets), {
        ind: h.zhInd,
        randomBytes: d.randomBytes,
        clock: d.clock,
      });
    } catch (err) {
      if (err instanceof RangeError) throw new ConfigError(err.message);
      throw err;
    }
    const zh = createNfServer({ name: "hss-zh", logLevel: cfg.logLevel, overload: cfg.overload });
    const admin = createNfServer({ name: "hss-admin", logLevel: cfg.logLevel });
    if (store instanceof LmdbHssStore) {
      const checkpoints = sqnCheckpoints(store, h, d.clock, (err) => zh.log.error({ err }, "SEQ_HE checkpoint failed"));
      cleanup.push(() => checkpoints.stop());
    }
    cleanup.push(() => Promise.all([zh.close(), admin.close()]));
    await zh.register(zhRoutes, { procedures: zhProcedures, events: d.events });
    await admin.register(adminRoutes, {
      procedures: new AdminProcedures(store, { defaultAmf: h.defaultAmf }),
      token: h.admin.token,
    });
    const urls: Record<string, string> = {
      zh: await listen(zh, h.zh, "http", { capture: d.capture, label: "HSS Zh" }),
      admin: await listen(admin, h.admin, "http", { capture: d.capture, label: "HSS admin" }),
    };
    const dm = h.diameter;
    if (dm.enabled) {
      const log = zh.log.child({ iface: "Zh/Diameter" });
      const { listening } = await openNfDiameterNode(
        {
          identity: dm,
          applications: [APP_ZH],
          peers: dm.peers.map((originHost) => ({ originHost })),
          listen: dm.listen,
          log,
          tap: d.capture?.diameterTap("HSS Zh Diameter"),
          mount: (node) => zhDiameterRoutes(node, { procedures: zhProcedures, log, events: d.events }),
        },
        cleanup,
      );
      if (listening) urls.zhDiameter = listening;
    }
    logReady(zh.log, "HSS", cfg.data, {
      subscribers: await store.count(),
      indBits: store.indBits,
      zhInd: h.zhInd,
      masterKey: store.secrets.source,
      store: storeDescription(cfg.store),
      ...urls,
    });
    const diameter = dm.enabled ? { originHost: dm.originHost, originRealm: dm.originRealm } : undefined;
    return { name: "hss", urls, diameter, close: () => cleanup.close() };
  });
}

/**
 * Folds the SEQ_HE journal into the per-subscriber table every hss.sqnCheckpointSeconds, early
 * when hss.sqnLogMax entries are waiting, and completely at stop. One fold at a time.
 */
function sqnCheckpoints(
  store: LmdbHssStore,
  h: HssConfig,
  clock: () => number,
  onError: (err: unknown) => void,
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let last = clock();
  const fold = (): Promise<void> => {
    running ??= (async () => {
      try {
        while ((await store.checkpointSqn(CHECKPOINT_CHUNK)) === CHECKPOINT_CHUNK);
      } catch (err) {
        onError(err);
      } finally {
        last = clock();
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => {
    if (store.sqnLogLength >= h.sqnLogMax || (store.sqnLogLength > 0 && clock() - last >= h.sqnCheckpointSeconds * 1000))
      void fold();
  }, CHECKPOINT_POLL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await fold();
    },
  };
}

/** `gba up` starter: the HSS comes first and needs no other NF's URL. */
export const hssStarter = (cfg: NfConfig<"hss", HssConfig>, _started?: RunningNf[], deps?: Partial<NfDeps>): Promise<RunningNf> =>
  startHss(cfg, deps);
