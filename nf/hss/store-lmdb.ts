// The HSS store on LMDB: one environment in <data>/hss/ (nf/common/store.ts), shared by the HSS
// process and `gba provision` (LMDB is multi-process). Named databases:
//   subscribers  IMPI → SubscriberRecord (K ‖ OPc sealed, nf/hss/sealed.ts)
//   sqnById      sqnId (uint32) → SEQ_HE as of the last checkpoint (TS 33.102 Annex C.1.1)
//   sqnLog       log position → [sqnId, SEQ_HE]: every SEQ_HE written since (nf/hss/sqn-journal.ts)
//   imsi         IMSI → IMPI      msisdn  MSISDN → IMPI  (TS 29.562 ueId forms)
//   impu         IMPU → IMPI, one entry per subscriber listing it (dupSort: an IMPU may be shared)
//   authFailures IMPI → the last AUTH_FAILURES_KEPT failures (diagnostics)
//   meta         "keyCheck" (proves the master key), "layout" (SQN IND length),
//                "nextSqnId" (never reused, so a removed subscriber's SQN cannot leak to a new one),
//                "sqnLogFolded" (the last log position folded into sqnById),
//                "impuIndex" (the impu index covers every subscriber: built once for older stores)
// Each atomic step of the HssStore interface is one LMDB write transaction; a write resolves
// after its commit is on disk.
import type { Database, RootDatabase } from "lmdb";
import { DEFAULT_IND_BITS, joinSqn, nextSqn, resyncSeqHe, splitSqn, sqnToHex } from "../../milenage/sqn.js";
import { nfDataDir, openNfStore, StoreError } from "../common/store.js";
import { loadMasterKey } from "./master-key.js";
import { SubscriberSecrets } from "./sealed.js";
import { SqnJournal } from "./sqn-journal.js";
import {
  AUTH_FAILURES_KEPT,
  IMPU_FORM,
  type AuthFailure,
  ExistsError,
  type HssStore,
  type SqnAdvance,
  type SqnAdvanced,
  type UpdateOutcome,
} from "./store.js";
import type { SubscriberData, SubscriberRecord, Validated } from "./subscriber.js";

export interface LmdbHssStoreOptions {
  /** IND length of SQN (cfg.hss.indBits); a store keeps the one it was created with */
  indBits?: number;
  env?: NodeJS.ProcessEnv;
  clock?: () => number;
}

type Layout = { indBits: number };

export class LmdbHssStore implements HssStore {
  readonly dir: string;
  readonly indBits: number;
  readonly secrets: SubscriberSecrets;
  private readonly root: RootDatabase;
  private readonly subs: Database<SubscriberRecord, string>;
  private readonly sqn: Database<number, number>;
  private readonly journal: SqnJournal;
  private readonly imsi: Database<string, string>;
  private readonly msisdn: Database<string, string>;
  private readonly impu: Database<string, string>;
  private readonly failures: Database<AuthFailure[], string>;
  private readonly meta: Database<unknown, string>;

  private constructor(dataRoot: string, opts: LmdbHssStoreOptions) {
    this.dir = nfDataDir(dataRoot, "hss");
    this.root = openNfStore(dataRoot, "hss");
    this.subs = this.root.openDB({ name: "subscribers" });
    this.sqn = this.root.openDB({ name: "sqnById", keyEncoding: "uint32" });
    this.imsi = this.root.openDB({ name: "imsi" });
    this.msisdn = this.root.openDB({ name: "msisdn" });
    this.impu = this.root.openDB({ name: "impu", dupSort: true });
    this.failures = this.root.openDB({ name: "authFailures" });
    this.meta = this.root.openDB({ name: "meta" });
    this.journal = new SqnJournal(this.sqn, this.root.openDB({ name: "sqnLog" }), this.meta);
    try {
      const checkRecord = this.meta.get("keyCheck") as Uint8Array | undefined;
      const master = loadMasterKey(this.dir, checkRecord === undefined && this.entryCount() === 0, opts.env);
      this.secrets = new SubscriberSecrets(master.key, master.source, opts.clock);
      this.indBits = this.settle(opts.indBits);
    } catch (err) {
      this.root.close();
      throw err;
    }
  }

  /** Opens <data>/hss/, loading (or on first use creating) the master key and proving it against the store. */
  static open(dataRoot: string, opts: LmdbHssStoreOptions = {}): LmdbHssStore {
    return new LmdbHssStore(dataRoot, opts);
  }

  /** Writes the key check and layout on first use (once, even with two processes racing); checks them after. */
  private settle(wantIndBits: number | undefined): number {
    const stored = this.root.transactionSync(() => {
      let check = this.meta.get("keyCheck") as Uint8Array | undefined;
      if (check === undefined) {
        check = this.secrets.keyCheck();
        this.meta.put("keyCheck", check);
      }
      let layout = this.meta.get("layout") as Layout | undefined;
      if (layout === undefined) {
        layout = { indBits: wantIndBits ?? DEFAULT_IND_BITS };
        this.meta.put("layout", layout);
      }
      if (this.meta.get("impuIndex") === undefined) {
        // a store written before the impu index existed: index every subscriber once
        for (const { value } of this.subs.getRange()) for (const u of value.impus) this.impu.put(u, value.impi);
        this.meta.put("impuIndex", true);
      }
      return { check, layout };
    });
    if (!this.secrets.provesKey(stored.check)) {
      throw new StoreError(`master key does not match this store (${this.dir}; key from ${this.secrets.source})`);
    }
    if (wantIndBits !== undefined && stored.layout.indBits !== wantIndBits) {
      throw new StoreError(
        `the store in ${this.dir} was created with hss.indBits ${stored.layout.indBits}, the configuration says ${wantIndBits}`,
      );
    }
    return stored.layout.indBits;
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }

  // ---------------------------------------------------------------- reads

  private entryCount(): number {
    return (this.subs.getStats() as { entryCount: number }).entryCount;
  }

  /** Makes the next read see what other processes committed (lmdb-js renews its snapshot per event turn). */
  refreshReads(): void {
    this.root.resetReadTxn();
  }

  async count(): Promise<number> {
    this.refreshReads();
    return this.entryCount();
  }

  /** A subscriber missing from this process's snapshot is looked up again in a fresh one. */
  async get(impi: string): Promise<SubscriberRecord | undefined> {
    const r = this.subs.get(impi);
    if (r !== undefined) return r;
    this.refreshReads();
    return this.subs.get(impi);
  }

  async resolveUeId(ueId: string): Promise<string | undefined> {
    const impi = this.ueIdOwner(ueId);
    if (impi !== undefined) return impi;
    // provisioned a moment ago by another process (`gba provision`)?
    this.refreshReads();
    return this.ueIdOwner(ueId);
  }

  private ueIdOwner(ueId: string): string | undefined {
    if (this.subs.doesExist(ueId)) return ueId;
    const m = /^(imsi|msisdn)-([0-9]{5,15})$/.exec(ueId);
    if (m) return m[1] === "imsi" ? this.imsi.get(m[2]) : this.msisdn.get(m[2]);
    // TS 29.562 UeId may be an IMPU; one shared by several subscribers names none of them
    if (!IMPU_FORM.test(ueId)) return undefined;
    const owners = [...this.impu.getValues(ueId)];
    return owners.length === 1 ? owners[0] : undefined;
  }

  async seqHe(r: Pick<SubscriberRecord, "sqnId">): Promise<number> {
    return this.journal.seqHe(r.sqnId);
  }

  async list(limit: number, after?: string): Promise<{ items: SubscriberRecord[]; next?: string }> {
    this.refreshReads();
    const items: SubscriberRecord[] = [];
    for (const { key, value } of this.subs.getRange({ start: after, limit: limit + 2 })) {
      if (key === after) continue;
      if (items.length === limit) return { items, next: items[items.length - 1].impi };
      items.push(value);
    }
    return { items };
  }

  async authFailures(impi: string): Promise<AuthFailure[]> {
    return this.failures.get(impi) ?? [];
  }

  async conflictsOf(r: Pick<SubscriberRecord, "impi" | "imsi" | "msisdn">, self?: string): Promise<string[]> {
    return this.conflictsNow(r, self);
  }

  /** conflictsOf for a caller inside a write transaction. */
  private conflictsNow(r: Pick<SubscriberRecord, "impi" | "imsi" | "msisdn">, self?: string): string[] {
    const out: string[] = [];
    if (self === undefined && this.subs.doesExist(r.impi)) out.push(`impi: ${r.impi} is already provisioned`);
    if (r.imsi !== undefined) {
      const owner = this.imsi.get(r.imsi);
      if (owner !== undefined && owner !== self) out.push(`imsi: ${r.imsi} belongs to ${owner}`);
    }
    if (r.msisdn !== undefined) {
      const owner = this.msisdn.get(r.msisdn);
      if (owner !== undefined && owner !== self) out.push(`msisdn: ${r.msisdn} belongs to ${owner}`);
    }
    return out;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Runs `fn` inside one LMDB write transaction and resolves after the commit is flushed to disk.
   * Callbacks check before they write: a throw after a put would not roll the put back.
   */
  private async write<T>(fn: () => T): Promise<T> {
    const result = await this.root.transaction(fn);
    await this.root.flushed;
    return result;
  }

  /** Runs inside the write transaction: it sees the latest committed SEQ_HE of every process. */
  advanceSqn(impi: string, a: SqnAdvance): Promise<SqnAdvanced> {
    return this.write((): SqnAdvanced => {
      const record = this.subs.get(impi);
      if (!record) return { kind: "not-found" };
      if (a.expectRev !== undefined && record.rev !== a.expectRev) return { kind: "changed" };
      let seqHe = this.journal.seqHe(record.sqnId);
      let entry: AuthFailure | undefined;
      if (a.resync) {
        // TS 33.102 §6.3.5: keep SEQ_HE when its next SQN is acceptable to the USIM, else adopt SEQ_MS
        const adopted = resyncSeqHe(seqHe, a.resync.sqnMs, this.indBits);
        entry = {
          at: a.resync.at,
          check: "MAC-S",
          sqnMs: sqnToHex(a.resync.sqnMs),
          sqnHe: sqnToHex(joinSqn(seqHe, a.ind, this.indBits)),
          rand: a.resync.rand,
          outcome: adopted === seqHe ? "sqn-he-kept" : "sqn-ms-adopted",
        };
        seqHe = adopted;
      }
      let next: { sqn: number; seqHe: number };
      try {
        next = nextSqn(seqHe, a.ind, this.indBits);
      } catch (err) {
        if (err instanceof RangeError) return { kind: "sqn-exhausted" };
        throw err;
      }
      if (entry) {
        entry.nextSqn = sqnToHex(next.sqn);
        this.appendFailureNow(impi, entry);
      }
      this.journal.append(record.sqnId, next.seqHe);
      return { kind: "ok", record, sqn: next.sqn, resync: entry };
    });
  }

  appendAuthFailure(impi: string, f: AuthFailure): Promise<void> {
    return this.write(() => this.appendFailureNow(impi, f));
  }

  private appendFailureNow(impi: string, f: AuthFailure): void {
    const list = [...(this.failures.get(impi) ?? []), f].slice(-AUTH_FAILURES_KEPT);
    this.failures.put(impi, list);
  }

  /** SEQ_HE entries written since the last checkpoint (LMDB maintenance). */
  get sqnLogLength(): number {
    return this.journal.pending;
  }

  /**
   * Folds up to `max` of the oldest SEQ_HE log entries into the per-subscriber table (one
   * durable commit); resolves to how many were folded (LMDB maintenance).
   */
  checkpointSqn(max: number): Promise<number> {
    return this.write(() => this.journal.fold(max));
  }

  private seqOf(sqn: number): number {
    return splitSqn(sqn, this.indBits).seq;
  }

  private putRecord(r: SubscriberRecord, prev?: SubscriberRecord): void {
    if (prev?.imsi !== undefined && prev.imsi !== r.imsi) this.imsi.remove(prev.imsi);
    if (prev?.msisdn !== undefined && prev.msisdn !== r.msisdn) this.msisdn.remove(prev.msisdn);
    for (const u of prev?.impus ?? []) if (!r.impus.includes(u)) this.impu.remove(u, r.impi);
    this.subs.put(r.impi, r);
    if (r.imsi !== undefined) this.imsi.put(r.imsi, r.impi);
    if (r.msisdn !== undefined) this.msisdn.put(r.msisdn, r.impi);
    for (const u of r.impus) this.impu.put(u, r.impi);
  }

  async create(
    records: SubscriberRecord[],
    sqns: Array<number | undefined>,
    progress?: (written: number) => void,
  ): Promise<void> {
    await this.write(() => {
      const conflicts = records.flatMap((r) => this.conflictsNow(r));
      if (conflicts.length > 0) throw new ExistsError(conflicts);
      let id = (this.meta.get("nextSqnId") as number | undefined) ?? 1;
      records.forEach((r, i) => {
        r.sqnId = id++;
        this.putRecord(r);
        this.sqn.put(r.sqnId, sqns[i] === undefined ? 0 : this.seqOf(sqns[i]!));
        if (progress && (i + 1) % 1000 === 0) progress(i + 1);
      });
      this.meta.put("nextSqnId", id);
      progress?.(records.length);
    });
  }

  update(
    impi: string,
    change: (r: SubscriberRecord, secrets: { k: Uint8Array; opc: Uint8Array }) => Validated<SubscriberData>,
  ): Promise<UpdateOutcome> {
    return this.write((): UpdateOutcome => {
      const prev = this.subs.get(impi);
      if (!prev) return { kind: "not-found" };
      const v = change(prev, this.secrets.open(prev));
      if (!v.ok) return { kind: "invalid", errors: v.errors };
      const record = this.secrets.seal(v.value, prev);
      const conflicts = this.conflictsNow(record, impi);
      if (conflicts.length > 0) throw new ExistsError(conflicts);
      this.putRecord(record, prev);
      if (v.value.sqn !== undefined) this.journal.append(record.sqnId, this.seqOf(v.value.sqn));
      return { kind: "ok", record };
    });
  }

  remove(impi: string): Promise<boolean> {
    return this.write(() => {
      const prev = this.subs.get(impi);
      if (!prev) return false;
      if (prev.imsi !== undefined) this.imsi.remove(prev.imsi);
      if (prev.msisdn !== undefined) this.msisdn.remove(prev.msisdn);
      for (const u of prev.impus) this.impu.remove(u, impi);
      this.subs.remove(impi);
      this.sqn.remove(prev.sqnId);
      this.failures.remove(impi);
      return true;
    });
  }
}
