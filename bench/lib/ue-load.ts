// The UEs of the Ub benchmarks (ue/load-ue.ts: USIM check and Digest AKA answer, each
// subscriber's SQN array kept between runs). Subscribers are the deterministic bench
// subscribers (our own HSS), or real ones for an external BSF: simulated USIM files
// (`gba usim new`) or the HSS import CSV.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hexToBytes } from "../../wire/bytes.js";
import { computeOpc } from "../../milenage/milenage.js";
import { parseSubscriberCsv } from "../../nf/hss/csv.js";
import { systemUeDeps } from "../../ue/deps.js";
import { impiFromImsi } from "../../ue/impi.js";
import { LoadUe, type UeSubscriber } from "../../ue/load-ue.js";
import { runUbBootstrap } from "../../ue/ub/client.js";
import { loadUsimStateFile, saveUsimStateFile } from "../../ue/usim/state-file.js";
import { BenchSetupError } from "./options.js";

export type BenchSubscriber = UeSubscriber;

const derive = (label: string, i: number) =>
  new Uint8Array(createHash("sha256").update(`${label}-${i}`).digest().subarray(0, 16));

/** IMPI of bench subscriber i (IMSI-style, TS 23.003 §13.3), without deriving its keys. */
export const benchImpi = (i: number): string => `00101${String(i).padStart(10, "0")}@ims.mnc001.mcc001.3gppnetwork.org`;

/** Deterministic bench subscriber number i. */
export function benchSubscriber(i: number): BenchSubscriber {
  return { impi: benchImpi(i), k: derive("k", i), opc: derive("opc", i) };
}

/** UEs handed to one exchange at a time, so each subscriber's SQN sequence stays in order. */
export class UePool {
  private readonly free: LoadUe[];
  private readonly out = new Set<LoadUe>();
  constructor(ues: LoadUe[]) {
    this.free = [...ues];
  }
  take(): LoadUe {
    const ue = this.free.shift();
    if (ue === undefined) throw new Error("UE pool empty: more connections than subscribers");
    this.out.add(ue);
    return ue;
  }
  give(ue: LoadUe): void {
    if (this.out.delete(ue)) this.free.push(ue);
  }
  /** After a load run has stopped: UEs whose exchange was cut off are free again. */
  reclaim(): void {
    for (const ue of this.out) this.free.push(ue);
    this.out.clear();
  }
}

/** One full bootstrap with the Ub client over undici (used to prepare sessions); resolves to the B-TID. */
export async function bootstrapOnce(ubUrl: string, realm: string, ue: LoadUe): Promise<string> {
  const info = await runUbBootstrap({
    bsfUrl: ubUrl,
    bsfFqdn: realm,
    impi: ue.sub.impi,
    aka: async (rand, autn) => ue.authenticate(rand, autn).outcome,
    userAgent: ue.userAgent,
    deps: systemUeDeps,
  });
  return info.btid;
}

export interface ExternalUes {
  ues: LoadUe[];
  /** writes the SQN arrays of USIM files back, so the cards stay in step with the HSS */
  save(): Promise<void>;
}

/** UEs for an external BSF: --usim files (GBA_ME use of their K/OPc and SQN array) and --subscribers CSV. */
export async function externalUes(usims: string[], csv: string | undefined): Promise<ExternalUes> {
  const ues: LoadUe[] = [];
  const files: Array<{ path: string; ue: LoadUe; state: Awaited<ReturnType<typeof loadUsimStateFile>> }> = [];
  for (const path of usims) {
    const state = await loadUsimStateFile(path);
    const ue = new LoadUe({ impi: impiFromImsi(state.imsi, state.mncLength), k: state.k, opc: state.opc }, { sqn: state.sqn });
    files.push({ path, ue, state });
    ues.push(ue);
  }
  if (csv !== undefined) {
    let text: string;
    try {
      text = readFileSync(csv, "utf8");
    } catch (err) {
      throw new BenchSetupError(`--subscribers: cannot read ${csv}: ${(err as Error).message}`);
    }
    const { rows, errors } = parseSubscriberCsv(text);
    if (errors.length)
      throw new BenchSetupError(`--subscribers ${csv}: ${errors.map((e) => `${e.label}: ${e.reason}`).join("; ")}`);
    for (const { label, input } of rows) {
      const r = input as { impi?: string; k?: string; opc?: string; op?: string };
      try {
        const k = hexToBytes(r.k ?? "", "k", 16);
        const opc = r.opc !== undefined ? hexToBytes(r.opc, "opc", 16) : computeOpc(k, hexToBytes(r.op ?? "", "op", 16));
        ues.push(new LoadUe({ impi: r.impi ?? "", k, opc }));
      } catch (err) {
        throw new BenchSetupError(`--subscribers ${csv} ${label}: ${(err as Error).message}`);
      }
    }
  }
  if (ues.length === 0)
    throw new BenchSetupError("an external BSF needs subscribers: --usim FILE (repeatable) or --subscribers CSV");
  return {
    ues,
    save: async () => {
      for (const f of files) await saveUsimStateFile(f.path, { ...f.state, sqn: f.ue.sqn });
    },
  };
}
