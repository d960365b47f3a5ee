// The BSF (TS 33.220 §4.2, §4.5): Ub and Zn on their own listeners, the Zh client to the HSS,
// pending challenges and bootstrap sessions in the BSF's LMDB environment.
import type { NfConfig } from "../common/config.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import type { RunningNf } from "../common/nf.js";
import { createNfServer, listen } from "../common/server.js";
import { openNfStore } from "../common/store.js";
import { type BsfConfig, bsfConfigSection } from "./config.js";
import { SessionStore } from "./session-store.js";
import { ChallengeStore } from "./ub/challenge-store.js";
import { UbProcedures } from "./ub/procedures.js";
import { registerUbRoutes } from "./ub/routes.js";
import { createZhClient } from "./zh-client.js";
import { NafRegistry } from "./zn/naf-auth.js";
import { ZnProcedures } from "./zn/procedures.js";
import { registerZnRoutes } from "./zn/routes.js";

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
  const root = openNfStore(cfg.data, "bsf");
  const sessions = new SessionStore(root);
  // tombstones of answered nonces live one more nonce lifetime, so late replays still read as replays
  const challenges = new ChallengeStore(root, bsf.nonceTtl * 1000);
  const zh = createZhClient({ hssUrl: bsf.hssUrl, timeoutMs: bsf.zhTimeoutMs });
  const nafs = new NafRegistry(bsf.nafs);

  const ub = createNfServer({ name: "bsf-ub", logLevel: cfg.logLevel });
  registerUbRoutes(ub, new UbProcedures({ bsf, gbaU: cfg.gbaU, zh, challenges, sessions, deps }));
  const zn = createNfServer({ name: "bsf-zn", logLevel: cfg.logLevel });
  registerZnRoutes(zn, new ZnProcedures(sessions, nafs, deps.clock), nafs);

  const sweep = async () => {
    const now = deps.clock();
    const [s, c] = await Promise.all([sessions.purgeExpired(now), challenges.purgeExpired(now)]);
    return { sessions: s, challenges: c };
  };
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => ub.log.error({ err }, "expiry sweep failed"));
  }, SWEEP_INTERVAL_MS);
  timer.unref();

  const close = async () => {
    clearInterval(timer);
    await Promise.allSettled([ub.close(), zn.close()]);
    await zh.close();
    await root.close();
  };
  try {
    const ubUrl = await listen(ub, bsf.ub);
    const znUrl = await listen(zn, bsf.zn);
    return { name: "bsf", urls: { ub: ubUrl, zn: znUrl }, info: { fqdn: bsf.fqdn }, close, sweep };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
