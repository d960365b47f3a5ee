// One simulated USIM state file per OBU, in the run's temporary directory (mode 0600: they hold
// K). An OBU with SQN drift gets a card whose SEQ_MS is ahead of the HSS's SEQ_HE, so its
// first bootstrapping ends in a synchronisation failure and a resynchronisation (TS 33.102 §6.3.5).
// The files are created without fsync, a bounded number at a time: the directory is the run's
// own and is removed with it, so a crash loses nothing that a durable write would have kept.
import { mkdir } from "node:fs/promises";
import { splitSqn } from "../milenage/sqn.js";
import { createUsimStateFile } from "../ue/usim/state-file.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { usimFileOf } from "./engine/engine.js";
import type { PlannedDevice, SubscriberSecret } from "./plan.js";

export interface UsimOptions {
  indBits: number;
  /** must match the BSF's gbaU.autnStar */
  autnStar: boolean;
}

/** files being written at once: enough to keep the disk busy, few enough file descriptors */
const FILES_AT_ONCE = 64;

export async function writeUsims(
  dir: string,
  devices: PlannedDevice[],
  secrets: SubscriberSecret[],
  o: UsimOptions,
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const byImpi = new Map(secrets.map((s) => [s.impi, s]));
  const write = (d: PlannedDevice) => {
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
    return createUsimStateFile(usimFileOf(dir, d.obu), state);
  };
  for (let i = 0; i < devices.length; i += FILES_AT_ONCE) {
    await Promise.all(devices.slice(i, i + FILES_AT_ONCE).map(write));
  }
}
