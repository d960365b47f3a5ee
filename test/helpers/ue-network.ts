// The real network for the UE end-to-end tests: HSS, BSF and NAF(s) from nf/, started in this
// process on ephemeral loopback ports with a fresh data root, logs silenced, and randomness and
// clocks injectable (so a trace can be pinned).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { bytesToHex } from "../../wire/bytes.js";
import { startBsf } from "../../nf/bsf/index.js";
import { defaultConfig, type GbaConfig, withEphemeralPorts } from "../../nf/config.js";
import type { NfDeps } from "../../nf/common/deps.js";
import type { RunningNf } from "../../nf/common/nf.js";
import { startHss } from "../../nf/hss/index.js";
import { startNaf } from "../../nf/naf/index.js";

export const NAF2_FQDN = "naf2.example.org";
const NAF2_TOKEN = "naf2-zn-token-0123456789";

export interface NetworkOptions {
  hssDeps?: Partial<NfDeps>;
  bsfDeps?: Partial<NfDeps>;
  nafDeps?: Partial<NfDeps>;
  /** start a second NAF (naf2.example.org) on the same BSF */
  secondNaf?: boolean;
  /** reverse-proxy upstream of the (first) NAF */
  upstream?: string;
  tweak?: (cfg: GbaConfig) => void;
}

export interface Network {
  cfg: GbaConfig;
  hss: RunningNf;
  bsf: RunningNf;
  naf: RunningNf;
  naf2?: RunningNf;
  provision(sub: {
    impi: string;
    k: Uint8Array;
    opc: Uint8Array;
    imsi?: string;
    uiccType?: "GBA" | "GBA_U";
    lifeTime?: number;
    sqn?: string;
  }): Promise<void>;
  close(): Promise<void>;
}

export async function startNetwork(o: NetworkOptions = {}): Promise<Network> {
  const data = mkdtempSync(join(tmpdir(), "ue-e2e-"));
  const cfg = withEphemeralPorts(defaultConfig());
  cfg.data = data;
  cfg.logLevel = "silent";
  cfg.bsf.nafs = [...cfg.bsf.nafs, { id: "naf2", token: NAF2_TOKEN, fqdns: [NAF2_FQDN], gbaUAware: false }];
  if (o.upstream) cfg.naf.upstream = o.upstream;
  o.tweak?.(cfg);
  const started: RunningNf[] = [];
  const close = async () => {
    for (const nf of started.reverse()) await nf.close().catch(() => undefined);
    rmSync(data, { recursive: true, force: true });
  };
  try {
    const hss = await startHss(cfg, o.hssDeps);
    started.push(hss);
    cfg.bsf.hssUrl = hss.urls.zh;
    const bsf = await startBsf(cfg, o.bsfDeps);
    started.push(bsf);
    cfg.naf.bsfUrl = bsf.urls.zn;
    const naf = await startNaf(cfg, o.nafDeps);
    started.push(naf);
    let naf2: RunningNf | undefined;
    if (o.secondNaf) {
      const cfg2: GbaConfig = { ...cfg, naf: { ...cfg.naf, fqdn: NAF2_FQDN, znToken: NAF2_TOKEN, upstream: undefined } };
      naf2 = await startNaf(cfg2, o.nafDeps);
      started.push(naf2);
    }
    return {
      cfg,
      hss,
      bsf,
      naf,
      naf2,
      async provision(sub) {
        const body = {
          impi: sub.impi,
          k: bytesToHex(sub.k),
          opc: bytesToHex(sub.opc),
          imsi: sub.imsi,
          uiccType: sub.uiccType ?? "GBA",
          lifeTime: sub.lifeTime,
          sqn: sub.sqn,
        };
        const res = await request(`${hss.urls.admin}/subscribers`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        const text = await res.body.text();
        if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`provisioning failed: ${res.statusCode} ${text}`);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
