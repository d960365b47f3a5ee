// The AuC: MILENAGE authentication vectors with a durable SQN (TS 33.102 §6.3.2, Annex C).
// SQN = SEQ ‖ IND with the BSF (Zh) as its own IND consumer (Annex C.3.2). The SEQ_HE
// read-increment-write runs inside one LMDB write transaction, so concurrent requests for one
// subscriber never share an SQN, and the vector leaves only after the commit is on disk.
import { type AuthVector, generateAuthVector, verifyAuts } from "../../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../../wire/bytes.js";
import type { Milenage } from "../../milenage/milenage.js";
import { bytesToSqn, nextSqn, resyncSeqHe, sqnToBytes } from "../../milenage/sqn.js";
import type { RandomBytes } from "../../wire/deps.js";
import type { AuthFailure, HssStore } from "./store.js";

export interface ResyncRequest {
  rand: Uint8Array;
  auts: Uint8Array;
}

export type AvOutcome =
  | { kind: "ok"; impi: string; av: AuthVector; sqn: number; resync?: AuthFailure }
  | { kind: "not-found" }
  | { kind: "mac-s-failure"; impi: string; failure: AuthFailure }
  | { kind: "sqn-exhausted"; impi: string };

export interface AucOptions {
  /** IND of the vectors this AuC hands out (cfg.hss.zhInd) */
  ind: number;
  randomBytes: RandomBytes;
  clock: () => number;
}

type Committed =
  | { kind: "ok"; impi: string; milenage: Milenage; amf: string; sqn: number; resync?: AuthFailure }
  | { kind: "not-found" }
  | { kind: "mac-s-failure"; impi: string; failure: AuthFailure }
  | { kind: "sqn-exhausted"; impi: string };

export class Auc {
  constructor(
    private readonly store: HssStore,
    private readonly opts: AucOptions,
  ) {
    const a = 2 ** store.indBits;
    if (!Number.isInteger(opts.ind) || opts.ind < 0 || opts.ind >= a) {
      throw new RangeError(`hss.zhInd ${opts.ind} out of 0..${a - 1} for hss.indBits ${store.indBits}`);
    }
  }

  /** One vector for `ueId` (IMPI, imsi-…, msisdn-…), after an optional resynchronisation. */
  async generate(ueId: string, resync?: ResyncRequest): Promise<AvOutcome> {
    let impi = this.store.resolveUeId(ueId);
    if (impi === undefined) {
      // provisioned a moment ago by another process (`gba provision`)?
      this.store.refreshReads();
      impi = this.store.resolveUeId(ueId);
      if (impi === undefined) return { kind: "not-found" };
    }
    const found = impi;
    const c = await this.store.write(() => this.advance(found, resync));
    if (c.kind !== "ok") return c;
    const rand = this.opts.randomBytes(16);
    const av = generateAuthVector(c.milenage, rand, sqnToBytes(c.sqn), hexToBytes(c.amf, "amf", 2));
    return { kind: "ok", impi: c.impi, av, sqn: c.sqn, resync: c.resync };
  }

  /** Runs inside the write transaction: it sees the latest committed SEQ_HE of every process. */
  private advance(impi: string, resync: ResyncRequest | undefined): Committed {
    const { store } = this;
    const { ind } = this.opts;
    const record = store.get(impi);
    if (!record) return { kind: "not-found" };
    const milenage = store.milenageOf(record);
    let seqHe = store.seqHe(record);
    let resyncEntry: AuthFailure | undefined;
    if (resync) {
      // TS 33.102 §6.3.5: SQN_MS = Conc(SQN_MS) ⊕ f5*(RAND), then MAC-S = f1*(SQN_MS ‖ RAND ‖ AMF*)
      const verdict = verifyAuts(milenage, resync.rand, resync.auts);
      const sqnMs = bytesToSqn(verdict.sqnMs);
      const base = {
        at: new Date(this.opts.clock()).toISOString(),
        check: "MAC-S" as const,
        sqnMs: bytesToHex(verdict.sqnMs),
        sqnHe: store.sqnHex(seqHe, ind),
        rand: bytesToHex(resync.rand),
      };
      if (!verdict.ok) {
        const failure: AuthFailure = { ...base, outcome: "rejected" };
        store.appendFailure(impi, failure);
        return { kind: "mac-s-failure", impi, failure };
      }
      const adopted = resyncSeqHe(seqHe, sqnMs, store.indBits);
      resyncEntry = { ...base, outcome: adopted === seqHe ? "sqn-he-kept" : "sqn-ms-adopted" };
      seqHe = adopted;
    }
    let next: { sqn: number; seqHe: number };
    try {
      next = nextSqn(seqHe, ind, store.indBits);
    } catch (err) {
      if (err instanceof RangeError) return { kind: "sqn-exhausted", impi };
      throw err;
    }
    if (resyncEntry) {
      resyncEntry.nextSqn = bytesToHex(sqnToBytes(next.sqn));
      store.appendFailure(impi, resyncEntry);
    }
    store.putSeqHe(record, next.seqHe);
    return { kind: "ok", impi, milenage, amf: record.amf, sqn: next.sqn, resync: resyncEntry };
  }
}
