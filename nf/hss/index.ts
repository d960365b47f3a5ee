// The HSS: encrypted subscriber store, AuC with durable SQN, Zh (TS 29.562 shapes) and the
// provisioning API, each on its own listener.
import { HexError, hexToBytes } from "../../milenage/bytes.js";
import { ConfigError, type GbaConfig } from "../common/config.js";
import { type NfDeps, withDeps } from "../common/deps.js";
import type { RunningNf } from "../common/nf.js";
import { createNfServer, listen } from "../common/server.js";
import { registerAdminRoutes } from "./admin.js";
import { Auc } from "./auc.js";
import { HssStore } from "./store.js";
import { registerZhRoutes } from "./zh.js";

export { HssStore } from "./store.js";

/** 127.0.0.0/8, ::1 and localhost: the admin API needs no token there. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function checkConfig(cfg: GbaConfig): void {
  const { admin, defaultAmf } = cfg.hss;
  if (admin.token !== undefined && (typeof admin.token !== "string" || admin.token.length < 16)) {
    throw new ConfigError("hss.admin.token: must be a string of at least 16 characters");
  }
  if (!isLoopback(admin.host) && admin.token === undefined) {
    throw new ConfigError(
      `hss.admin.host ${admin.host} is not a loopback address: set hss.admin.token so the provisioning API requires a bearer token`,
    );
  }
  try {
    hexToBytes(defaultAmf, "hss.defaultAmf", 2);
  } catch (err) {
    if (err instanceof HexError) throw new ConfigError(err.message);
    throw err;
  }
}

export async function startHss(cfg: GbaConfig, deps?: Partial<NfDeps>): Promise<RunningNf> {
  checkConfig(cfg);
  const d = withDeps(deps);
  const h = cfg.hss;
  const store = HssStore.open(cfg.data, { indBits: h.indBits, clock: d.clock });
  const zh = createNfServer({ name: "hss-zh", logLevel: cfg.logLevel });
  const admin = createNfServer({ name: "hss-admin", logLevel: cfg.logLevel });
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
        await store.close();
      },
    };
  } catch (err) {
    await Promise.allSettled([zh.close(), admin.close()]);
    await store.close();
    throw err;
  }
}

/** `gba up` starter: the HSS comes first and needs no other NF's URL. */
export const hssStarter = (cfg: GbaConfig): Promise<RunningNf> => startHss(cfg);
