// The HSS: encrypted subscriber store, AuC with durable SQN, Zh (TS 29.562 shapes) and the
// provisioning API, each on its own listener.
import { ConfigError, type NfConfig } from "../common/config.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import type { RunningNf } from "../common/nf.js";
import { createNfServer, listen } from "../common/server.js";
import { registerAdminRoutes } from "./admin.js";
import { Auc } from "./auc.js";
import { type HssConfig, hssConfigSection } from "./config.js";
import { HssStore } from "./store.js";
import { registerZhRoutes } from "./zh.js";

export { HssStore } from "./store.js";

export { isLoopback } from "./config.js";

/** SEQ_HE journal entries folded per checkpoint commit */
export const CHECKPOINT_CHUNK = 20_000;
/** how often the journal length is looked at */
const CHECKPOINT_POLL_MS = 1000;

export async function startHss(cfg: NfConfig<"hss", HssConfig>, deps?: Partial<NfDeps>): Promise<RunningNf> {
  hssConfigSection.check(cfg.hss);
  const d = withDeps(deps);
  const h = cfg.hss;
  const store = HssStore.open(cfg.data, { indBits: h.indBits, clock: d.clock });
  const zh = createNfServer({ name: "hss-zh", logLevel: cfg.logLevel });
  const admin = createNfServer({ name: "hss-admin", logLevel: cfg.logLevel });
  let checkpoints: { stop(): Promise<void> } | undefined;
  try {
    let auc: Auc;
    try {
      auc = new Auc(store, { ind: h.zhInd, randomBytes: d.randomBytes, clock: d.clock });
    } catch (err) {
      if (err instanceof RangeError) throw new ConfigError(err.message);
      throw err;
    }
    registerZhRoutes(zh, store, auc);
    registerAdminRoutes(admin, store, { defaultAmf: h.defaultAmf, token: h.admin.token });
    checkpoints = sqnCheckpoints(store, h, d.clock, (err) => zh.log.error({ err }, "SEQ_HE checkpoint failed"));
    const urls = { zh: await listen(zh, h.zh), admin: await listen(admin, h.admin) };
    zh.log.info(
      { subscribers: store.count(), indBits: store.indBits, zhInd: h.zhInd, masterKey: store.keySource, ...urls },
      "HSS ready",
    );
    return {
      name: "hss",
      urls,
      async close() {
        await Promise.all([zh.close(), admin.close()]);
        await checkpoints?.stop();
        await store.close();
      },
    };
  } catch (err) {
    await Promise.allSettled([zh.close(), admin.close()]);
    await checkpoints?.stop().catch(() => {});
    await store.close();
    throw err;
  }
}

/**
 * Folds the SEQ_HE journal into the per-subscriber table every hss.sqnCheckpointSeconds, early
 * when hss.sqnLogMax entries are waiting, and completely at stop. One fold at a time.
 */
function sqnCheckpoints(
  store: HssStore,
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
export const hssStarter = (cfg: NfConfig<"hss", HssConfig>): Promise<RunningNf> => startHss(cfg);
