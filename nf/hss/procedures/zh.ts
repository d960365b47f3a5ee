// Zh procedures of the HSS (TS 33.220 §4.5.2 step 2; TS 29.562 Nhss_gbaUEAU / Nhss_gbaSDM): the
// AuC hands out MILENAGE authentication vectors with a durable SQN (TS 33.102 §6.3.2, Annex C),
// SQN = SEQ ‖ IND with the BSF (Zh) as its own IND consumer (Annex C.3.2), and the GUSS. The
// SEQ_HE step is one atomic store operation, so concurrent requests for one subscriber never
// share an SQN, and a vector leaves only after its SEQ_HE is durable. No HTTP here: every answer
// is a tagged outcome the route maps (routes/zh.ts).
import { type AuthVector, generateAuthVector, verifyAuts } from "../../../milenage/aka.js";
import { bytesToSqn, joinSqn, sqnToBytes, sqnToHex } from "../../../milenage/sqn.js";
import { bytesToHex, hexToBytes } from "../../../wire/bytes.js";
import type { RandomBytes } from "../../../wire/deps.js";
import { type Guss, type GussCheckRequest, type GussCheckResult, gussCheckResult, type ResyncInfo } from "../../../wire/zh.js";
import type { MilenageCache } from "../key-cache.js";
import type { AuthFailure, HssStore } from "../store.js";
import { effectiveGuss, type SubscriberRecord } from "../subscriber.js";

export type AvOutcome =
  | {
      kind: "ok";
      impi: string;
      av: AuthVector;
      sqn: number;
      resync?: AuthFailure;
      /** the record the vector was made from */
      record: SubscriberRecord;
      gussCheck?: GussCheckResult;
    }
  | { kind: "not-found" }
  | { kind: "mac-s-failure"; impi: string; failure: AuthFailure }
  | { kind: "sqn-exhausted"; impi: string };

export type GussOutcome = { kind: "ok"; impi: string; guss: Guss } | { kind: "not-found" };

export interface ZhProceduresOptions {
  /** IND of the vectors handed out over Zh (cfg.hss.zhInd) */
  ind: number;
  randomBytes: RandomBytes;
  clock: () => number;
}

/** a record changed (e.g. new keys) between the AUTS check and the SEQ_HE step: check again, this often */
const RESYNC_ATTEMPTS = 5;

export class ZhProcedures {
  constructor(
    private readonly store: HssStore,
    private readonly keys: MilenageCache,
    private readonly opts: ZhProceduresOptions,
  ) {
    const a = 2 ** store.indBits;
    if (!Number.isInteger(opts.ind) || opts.ind < 0 || opts.ind >= a) {
      throw new RangeError(`hss.zhInd ${opts.ind} out of 0..${a - 1} for hss.indBits ${store.indBits}`);
    }
  }

  /**
   * One vector for `ueId` (IMPI, imsi-…, msisdn-…), after an optional resynchronisation; with
   * `gussCheck`, the GUSS timestamp option (TS 33.220 §4.5.2 step 2): the GUSS of the same record
   * read, unless the BSF holds its version (the record's rev, new on every write).
   */
  async generateAuthData(ueId: string, resync?: ResyncInfo, gussCheck?: GussCheckRequest): Promise<AvOutcome> {
    const impi = await this.store.resolveUeId(ueId);
    if (impi === undefined) return { kind: "not-found" };
    const out = resync ? await this.resynchronise(impi, resync) : await this.vector(impi);
    if (out.kind === "ok" && gussCheck)
      out.gussCheck = gussCheckResult(gussCheck, out.record.rev, () => effectiveGuss(out.record));
    return out;
  }

  /** The subscriber's GUSS (the provisioned one or the default, nf/hss/subscriber.ts). */
  async subscriberData(ueId: string): Promise<GussOutcome> {
    const impi = await this.store.resolveUeId(ueId);
    const record = impi === undefined ? undefined : await this.store.get(impi);
    if (!record) return { kind: "not-found" };
    return { kind: "ok", impi: record.impi, guss: effectiveGuss(record) };
  }

  /**
   * TS 29.109 §4.2.2 GUSS-Timestamp: the GUSS of `record` (the one a vector was made from), or
   * undefined when it has not changed since `heldSince` (ms since 1970), the time the BSF got the one it holds.
   */
  gussUnlessHeld(record: SubscriberRecord, heldSince?: number): Guss | undefined {
    if (heldSince !== undefined && Date.parse(record.updatedAt) <= heldSince) return undefined;
    return effectiveGuss(record);
  }

  private async vector(impi: string): Promise<AvOutcome> {
    const a = await this.store.advanceSqn(impi, { ind: this.opts.ind });
    switch (a.kind) {
      case "ok":
        return { kind: "ok", impi, av: this.av(a.record, a.sqn), sqn: a.sqn, record: a.record };
      case "sqn-exhausted":
        return { kind: "sqn-exhausted", impi };
      default:
        return { kind: "not-found" };
    }
  }

  /**
   * TS 33.102 §6.3.5: SQN_MS = Conc(SQN_MS) ⊕ f5*(RAND), then MAC-S = f1*(SQN_MS ‖ RAND ‖ AMF*).
   * A wrong MAC-S is recorded and refused; a verified SQN_MS goes into the SEQ_HE step, checked
   * against the same record revision the AUTS was verified with.
   */
  private async resynchronise(impi: string, resync: ResyncInfo): Promise<AvOutcome> {
    const { store, opts } = this;
    for (let attempt = 0; attempt < RESYNC_ATTEMPTS; attempt++) {
      const record = await store.get(impi);
      if (!record) return { kind: "not-found" };
      const verdict = verifyAuts(this.keys.milenageOf(record), resync.rand, resync.auts);
      const at = new Date(opts.clock()).toISOString();
      const rand = bytesToHex(resync.rand);
      const sqnMs = bytesToSqn(verdict.sqnMs);
      if (!verdict.ok) {
        const seqHe = await store.seqHe(record);
        const failure: AuthFailure = {
          at,
          check: "MAC-S",
          sqnMs: sqnToHex(sqnMs),
          sqnHe: sqnToHex(joinSqn(seqHe, opts.ind, store.indBits)),
          rand,
          outcome: "rejected",
        };
        await store.appendAuthFailure(impi, failure);
        return { kind: "mac-s-failure", impi, failure };
      }
      const a = await store.advanceSqn(impi, { ind: opts.ind, expectRev: record.rev, resync: { sqnMs, at, rand } });
      switch (a.kind) {
        case "changed":
          continue;
        case "ok":
          return { kind: "ok", impi, av: this.av(a.record, a.sqn), sqn: a.sqn, resync: a.resync, record: a.record };
        case "sqn-exhausted":
          return { kind: "sqn-exhausted", impi };
        default:
          return { kind: "not-found" };
      }
    }
    throw new Error(`subscriber ${impi} changed ${RESYNC_ATTEMPTS} times during one resynchronisation`);
  }

  private av(record: Parameters<MilenageCache["milenageOf"]>[0], sqn: number): AuthVector {
    const rand = this.opts.randomBytes(16);
    return generateAuthVector(this.keys.milenageOf(record), rand, sqnToBytes(sqn), hexToBytes(record.amf, "amf", 2));
  }
}
