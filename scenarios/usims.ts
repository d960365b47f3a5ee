// One simulated USIM state file per OBU, in the run's temporary directory (mode 0600: they hold
// K). An OBU with SQN drift gets a card whose SEQ_MS is ahead of the HSS's SEQ_HE, so its
// first bootstrapping ends in a synchronisation failure and a resynchronisation (TS 33.102 §6.3.5).
import { mkdir } from "node:fs/promises";
import { splitSqn } from "../milenage/sqn.js";
import { saveUsimStateFile } from "../ue/usim/state-file.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { usimFileOf } from "./engine/engine.js";
import type { PlannedDevice, SubscriberSecret } from "./plan.js";

export interface UsimOptions {
  indBits: number;
  /** must match the BSF's gbaU.autnStar */
  autnStar: boolean;
}

export async function writeUsims(
  dir: string,
  devices: PlannedDevice[],
  secrets: SubscriberSecret[],
  o: UsimOptions,
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const byImpi = new Map(secrets.map((s) => [s.impi, s]));
  for (const d of devices) {
    const s = byImpi.get(d.impi);
    if (!s) throw new Error(`no subscriber for ${d.obu} (${d.impi})`);
    const state = newUsimState({
      k: s.k,
      opc: s.opc,
      imsi: d.imsi,
      mncLength: d.mncLength,
      sqn: s.sqn,
      indBits: o.indBits,
      gbaU: d.uicc === "GBA_U",
      autnStar: o.autnStar,
    });
    if (s.sqnAhead) {
      // every IND slot has accepted a SEQ the HSS has not reached yet
      const ahead = splitSqn(s.sqn, o.indBits).seq + s.sqnAhead;
      state.sqn.seq.fill(ahead);
    }
    await saveUsimStateFile(usimFileOf(dir, d.obu), state);
  }
}
