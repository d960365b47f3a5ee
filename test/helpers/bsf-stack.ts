// The real HSS and the BSF for the BSF acceptance tests, on ephemeral loopback ports, one
// temporary data root on the suite's store backend (./store-backend.ts), the BSF with an
// injected clock. Subscribers go in over the HSS provisioning API.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { bytesToHex } from "../../wire/bytes.js";
import { type RunningBsf, startBsf } from "../../nf/bsf/index.js";
import type { Guss } from "../../wire/zh.js";
import { defaultConfig, type GbaConfig, withEphemeralPorts } from "../../nf/config.js";
import { parseHostPort } from "../../nf/common/diameter/index.js";
import type { RunningNf } from "../../nf/common/nf.js";
import { startHss } from "../../nf/hss/index.js";
import { withTestStore } from "./store-backend.js";

export interface TestSubscriber {
  impi: string;
  k: Uint8Array;
  opc: Uint8Array;
  uiccType?: "GBA" | "GBA_U";
  lifeTime?: number;
  ussList?: Guss["ussList"];
}

export interface Stack {
  cfg: GbaConfig;
  hss: RunningNf;
  bsf: RunningBsf;
  /** the BSF's clock (ms); tests move it */
  clock: { now: number };
  provision(sub: TestSubscriber): Promise<void>;
  close(): Promise<void>;
}

let counter = 0;
/** A fresh subscriber (IMSI-style IMPI, TS 23.003 §13.3) with K and OPc of its own. */
export function testSubscriber(extra: Partial<TestSubscriber> = {}): TestSubscriber {
  const n = ++counter + Math.floor(Math.random() * 1e6) * 1000;
  const msin = String(n).padStart(10, "0");
  const k = new Uint8Array(16).map((_, i) => (n * 7 + i * 13) & 0xff);
  const opc = new Uint8Array(16).map((_, i) => (n * 11 + i * 17 + 3) & 0xff);
  return { impi: `00101${msin}@ims.mnc001.mcc001.3gppnetwork.org`, k, opc, ...extra };
}

export async function startStack(tweak: (cfg: GbaConfig) => void = () => {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "bsf-stack-"));
  const cfg = withEphemeralPorts(defaultConfig());
  cfg.data = dir;
  cfg.logLevel = "silent";
  withTestStore(cfg);
  tweak(cfg);
  const clock = { now: Date.UTC(2030, 0, 1, 12, 0, 0, 500) };
  const hss = await startHss(cfg);
  cfg.bsf.hssUrl = hss.urls.zh;
  const zhDiameter = hss.urls.zhDiameter === undefined ? undefined : parseHostPort(hss.urls.zhDiameter);
  if (zhDiameter) cfg.bsf.diameter.hss = { ...cfg.bsf.diameter.hss, ...zhDiameter };
  const bsf = await startBsf(cfg, { clock: () => clock.now });
  return {
    cfg,
    hss,
    bsf,
    clock,
    async provision(sub) {
      const body: Record<string, unknown> = { impi: sub.impi, k: bytesToHex(sub.k), opc: bytesToHex(sub.opc) };
      if (sub.uiccType) body.uiccType = sub.uiccType;
      if (sub.lifeTime) body.lifeTime = sub.lifeTime;
      if (sub.ussList) {
        body.guss = {
          bsfInfo: { uiccType: sub.uiccType ?? "GBA", ...(sub.lifeTime ? { lifeTime: sub.lifeTime } : {}) },
          ussList: sub.ussList,
        };
      }
      const r = await request(`${hss.urls.admin}/subscribers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await r.body.text();
      if (r.statusCode !== 201) throw new Error(`HSS provisioning refused ${sub.impi}: ${r.statusCode} ${text}`);
    },
    async close() {
      await bsf.close();
      await hss.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
