// The BSF (TS 33.220 §4.2, §4.5): Ub and Zn on their own listeners, the Zh client to the HSS,
// pending challenges and bootstrap sessions in the BSF's LMDB environment.
import { isDnsName } from "../../wire/dns.js";
import { ConfigError, type GbaConfig } from "../common/config.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import type { RunningNf } from "../common/nf.js";
import { createNfServer, listen } from "../common/server.js";
import { openNfStore } from "../common/store.js";
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

/** Refuses a BSF configuration that could only fail later, naming the setting. */
export function checkBsfConfig(bsf: GbaConfig["bsf"]): void {
  if (!isDnsName(bsf.fqdn)) throw new ConfigError(`bsf.fqdn: "${bsf.fqdn}" is not a DNS name`);
  let hss: URL;
  try {
    hss = new URL(bsf.hssUrl);
  } catch {
    throw new ConfigError(`bsf.hssUrl: "${bsf.hssUrl}" is not a URL`);
  }
  if (hss.protocol !== "http:" && hss.protocol !== "https:")
    throw new ConfigError("bsf.hssUrl: expected an http:// or https:// URL");
  if (bsf.algorithm !== "AKAv1-MD5" && bsf.algorithm !== "AKAv2-MD5")
    throw new ConfigError("bsf.algorithm: AKAv1-MD5 or AKAv2-MD5");
  for (const key of ["sessionLifetime", "nonceTtl", "zhTimeoutMs"] as const) {
    if (!Number.isInteger(bsf[key]) || bsf[key] <= 0) throw new ConfigError(`bsf.${key}: must be a positive integer`);
  }
  const tokens = new Set<string>();
  bsf.nafs.forEach((naf, i) => {
    const at = `bsf.nafs.${i}`;
    if (typeof naf?.id !== "string" || naf.id === "") throw new ConfigError(`${at}.id: must be a non-empty string`);
    if (typeof naf.token !== "string" || naf.token.length < 8)
      throw new ConfigError(`${at}.token: must be a string of at least 8 characters`);
    if (tokens.has(naf.token)) throw new ConfigError(`${at}.token: the same token is given to two NAFs`);
    tokens.add(naf.token);
    if (!Array.isArray(naf.fqdns) || naf.fqdns.length === 0 || !naf.fqdns.every(isDnsName)) {
      throw new ConfigError(`${at}.fqdns: must be a non-empty list of DNS names`);
    }
  });
}

export interface RunningBsf extends RunningNf {
  /** runs the expiry sweep now; resolves to the number of sessions and challenges removed */
  sweep(): Promise<{ sessions: number; challenges: number }>;
}

export async function startBsf(cfg: GbaConfig, partialDeps?: Partial<NfDeps>): Promise<RunningBsf> {
  const deps = withDeps(partialDeps);
  const bsf = cfg.bsf;
  checkBsfConfig(bsf);
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
