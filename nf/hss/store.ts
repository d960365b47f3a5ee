// What the HSS keeps: subscribers (K ‖ OPc sealed, nf/hss/sealed.ts), their SEQ_HE (TS 33.102
// Annex C.1.1), the IMSI and MSISDN forms of their ueId (TS 29.562) and recent AUTS
// diagnostics. The HSS procedures, the provisioning API and `gba provision` use this interface;
// store-lmdb.ts is its backend. Every method is one atomic step, so a backend whose
// transactions cannot run our code (a Redis Cluster script) can implement each as one operation.
import type { SubscriberSecrets } from "./sealed.js";
import { type SubscriberData, type SubscriberRecord, type SubscriberView, toView, type Validated } from "./subscriber.js";

/** AUTS diagnostics entries kept per subscriber (the oldest dropped first). */
export const AUTH_FAILURES_KEPT = 20;

/** An IMPU as TS 29.562 ImsUeId names one: a SIP or tel URI (TS 23.003 §13.4). */
export const IMPU_FORM = /^(sips?|tel):/;

export interface AuthFailure {
  at: string;
  /** the check that failed: MAC-S of the AUTS (TS 33.102 §6.3.5) */
  check: "MAC-S";
  /** SQN_MS from the AUTS (unverified when rejected), 12 hex digits */
  sqnMs: string;
  /** SQN_HE before: SEQ_HE ‖ IND of this consumer, 12 hex digits */
  sqnHe: string;
  rand: string;
  /** rejected: MAC-S wrong, no resync; adopted: SEQ_HE := SEQ_MS; kept: SEQ_HE already above SEQ_MS */
  outcome: "rejected" | "sqn-ms-adopted" | "sqn-he-kept";
  /** the next SQN this consumer gets (not for rejected) */
  nextSqn?: string;
}

/** An IMPI, IMSI or MSISDN that belongs to another subscriber already. */
export class ExistsError extends Error {
  constructor(readonly conflicts: string[]) {
    super(conflicts.join("; "));
    this.name = "ExistsError";
  }
}

/** One SQN for a vector: TS 33.102 Annex C.1.1 (SEQ_HE + 1) with the consumer's IND (C.3.2). */
export interface SqnAdvance {
  /** IND of the consumer the vector is for (cfg.hss.zhInd) */
  ind: number;
  /** the record revision the caller verified an AUTS against; another revision answers "changed" */
  expectRev?: string;
  /**
   * A verified resynchronisation (TS 33.102 §6.3.5): SQN_MS from the AUTS, adopted as SEQ_HE unless
   * the next SQN from SEQ_HE is already acceptable to the USIM (milenage/sqn.ts resyncSeqHe); the
   * diagnostics entry (`at`, RAND in hex) is written in the same step.
   */
  resync?: { sqnMs: number; at: string; rand: string };
}

export type SqnAdvanced =
  | { kind: "ok"; record: SubscriberRecord; sqn: number; resync?: AuthFailure }
  | { kind: "not-found" }
  | { kind: "sqn-exhausted" }
  | { kind: "changed" };

export type UpdateOutcome =
  | { kind: "not-found" }
  | { kind: "invalid"; errors: string[] }
  | { kind: "ok"; record: SubscriberRecord };

export interface HssStore {
  /** IND length of SQN (cfg.hss.indBits); a store keeps the one it was created with */
  readonly indBits: number;
  /** K ‖ OPc sealing under the store's master key (no I/O) */
  readonly secrets: SubscriberSecrets;

  count(): Promise<number>;
  get(impi: string): Promise<SubscriberRecord | undefined>;
  /**
   * TS 29.562 UeId: the IMPI itself, `imsi-<digits>`, `msisdn-<digits>` or an IMPU (sip:, sips:,
   * tel:) that exactly one subscriber lists; what another process committed included.
   */
  resolveUeId(ueId: string): Promise<string | undefined>;
  seqHe(record: Pick<SubscriberRecord, "impi" | "sqnId">): Promise<number>;
  /** Subscribers in IMPI order after `after` (exclusive); `next` is the cursor of the following page. */
  list(limit: number, after?: string): Promise<{ items: SubscriberRecord[]; next?: string }>;
  authFailures(impi: string): Promise<AuthFailure[]>;
  /** Which of IMPI / IMSI / MSISDN already belong to someone else (`self`: the subscriber being changed). */
  conflictsOf(ids: Pick<SubscriberRecord, "impi" | "imsi" | "msisdn">, self?: string): Promise<string[]>;

  /** The AuC's step: the next SQN of a subscriber, SEQ_HE persisted before it resolves. */
  advanceSqn(impi: string, advance: SqnAdvance): Promise<SqnAdvanced>;
  /** One more diagnostics entry (a rejected AUTS), the oldest dropped beyond AUTH_FAILURES_KEPT. */
  appendAuthFailure(impi: string, failure: AuthFailure): Promise<void>;

  /** Adds sealed subscribers with their initial SQN, all or none (ExistsError when an identity is taken). */
  create(records: SubscriberRecord[], sqns: Array<number | undefined>, progress?: (written: number) => void): Promise<void>;
  /**
   * Read-validate-write of one subscriber: `change` sees the current record and its secrets and
   * returns the new data (or validation errors, then nothing is written). ExistsError on a taken identity.
   */
  update(
    impi: string,
    change: (r: SubscriberRecord, secrets: { k: Uint8Array; opc: Uint8Array }) => Validated<SubscriberData>,
  ): Promise<UpdateOutcome>;
  remove(impi: string): Promise<boolean>;
  close(): Promise<void>;
}

/** What the admin API and the CLI show of a subscriber (never K or OPc). */
export async function viewOf(store: HssStore, r: SubscriberRecord): Promise<SubscriberView> {
  return toView(r, await store.seqHe(r), store.indBits);
}
