// The HSS store: one LMDB environment in <data>/hss/ (nf/common/store.ts), shared by the HSS
// process and `gba provision` (LMDB is multi-process). Named databases:
//   subscribers  IMPI → SubscriberRecord (K ‖ OPc sealed, nf/hss/sealed.ts)
//   sqnById      sqnId (uint32) → SEQ_HE as of the last checkpoint (TS 33.102 Annex C.1.1)
//   sqnLog       log position → [sqnId, SEQ_HE]: every SEQ_HE written since (nf/hss/sqn-journal.ts)
//   imsi         IMSI → IMPI      msisdn  MSISDN → IMPI  (TS 29.562 ueId forms)
//   authFailures IMPI → the last AUTH_FAILURES_KEPT failures (diagnostics)
//   meta         "keyCheck" (proves the master key), "layout" (SQN IND length),
//                "nextSqnId" (never reused, so a removed subscriber's SQN cannot leak to a new one),
//                "sqnLogFolded" (the last log position folded into sqnById)
import { randomBytes } from "node:crypto";
import type { Database, RootDatabase } from "lmdb";
import { bytesToHex, concatBytes, constantTimeEqual } from "../../wire/bytes.js";
import { Milenage } from "../../milenage/milenage.js";
import { DEFAULT_IND_BITS, joinSqn, splitSqn, sqnToBytes } from "../../milenage/sqn.js";
import { nfDataDir, openNfStore, StoreError } from "../common/store.js";
import { Lru } from "./lru.js";
import { loadMasterKey } from "./master-key.js";
import { aadOf, seal, unseal } from "./sealed.js";
import { SqnJournal } from "./sqn-journal.js";
import {
  constantsOf,
  type SubscriberData,
  type SubscriberRecord,
  type SubscriberView,
  toView,
  type Validated,
} from "./subscriber.js";

export const AUTH_FAILURES_KEPT = 20;
const KEY_CHECK_AAD = aadOf("gba-emu hss master key check v1");
const KEY_CHECK_PLAIN = new TextEncoder().encode("gba-emu hss master key check v1.");

export interface AuthFailure {
  at: string;
  /** the check that failed: MAC-S of the AUTS (TS 33.102 §6.3.5) */
  check: "MAC-S";
  /** rejected: MAC-S wrong, no resync; adopted: SEQ_HE := SEQ_MS; kept: SEQ_HE already above SEQ_MS */
  outcome: "rejected" | "sqn-ms-adopted" | "sqn-he-kept";
  /** SQN_MS from the AUTS (unverified when rejected), 12 hex digits */
  sqnMs: string;
  /** SQN_HE before: SEQ_HE ‖ IND of this consumer, 12 hex digits */
  sqnHe: string;
  /** the next SQN this consumer gets (not for rejected) */
  nextSqn?: string;
  rand: string;
}

/** An IMPI, IMSI or MSISDN that belongs to another subscriber already. */
export class ExistsError extends Error {
  constructor(readonly conflicts: string[]) {
    super(conflicts.join("; "));
    this.name = "ExistsError";
  }
}

export interface HssStoreOptions {
  /** IND length of SQN (cfg.hss.indBits); a store keeps the one it was created with */
  indBits?: number;
  /** decrypted MILENAGE instances kept in memory */
  cacheSize?: number;
  env?: NodeJS.ProcessEnv;
  clock?: () => number;
}

interface CachedKeys {
  rev: string;
  milenage: Milenage;
}

type Layout = { indBits: number };

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export class HssStore {
  readonly dir: string;
  readonly indBits: number;
  /** where the master key came from (for the start-up log; never the key) */
  readonly keySource: string;
  private readonly root: RootDatabase;
  private readonly subs: Database<SubscriberRecord, string>;
  private readonly sqn: Database<number, number>;
  private readonly journal: SqnJournal;
  private readonly imsi: Database<string, string>;
  private readonly msisdn: Database<string, string>;
  private readonly failures: Database<AuthFailure[], string>;
  private readonly meta: Database<unknown, string>;
  private readonly key: Uint8Array;
  private readonly cache: Lru<string, CachedKeys>;
  /** IMPIs that missed the cache once since the doorkeeper was last cleared */
  private readonly missedOnce = new Set<string>();
  private readonly clock: () => number;

  private constructor(dataRoot: string, opts: HssStoreOptions) {
    this.dir = nfDataDir(dataRoot, "hss");
    this.root = openNfStore(dataRoot, "hss");
    this.subs = this.root.openDB({ name: "subscribers" });
    this.sqn = this.root.openDB({ name: "sqnById", keyEncoding: "uint32" });
    this.imsi = this.root.openDB({ name: "imsi" });
    this.msisdn = this.root.openDB({ name: "msisdn" });
    this.failures = this.root.openDB({ name: "authFailures" });
    this.meta = this.root.openDB({ name: "meta" });
    this.journal = new SqnJournal(this.sqn, this.root.openDB({ name: "sqnLog" }), this.meta);
    this.cache = new Lru(opts.cacheSize ?? 10_000);
    this.clock = opts.clock ?? Date.now;
    try {
      const checkRecord = this.meta.get("keyCheck") as Uint8Array | undefined;
      const master = loadMasterKey(this.dir, checkRecord === undefined && this.count() === 0, opts.env);
      this.key = master.key;
      this.keySource = master.source;
      this.indBits = this.settle(opts.indBits);
    } catch (err) {
      this.root.close();
      throw err;
    }
  }

  /** Opens <data>/hss/, loading (or on first use creating) the master key and proving it against the store. */
  static open(dataRoot: string, opts: HssStoreOptions = {}): HssStore {
    return new HssStore(dataRoot, opts);
  }

  /** Writes the key check and layout on first use (once, even with two processes racing); checks them after. */
  private settle(wantIndBits: number | undefined): number {
    const stored = this.root.transactionSync(() => {
      let check = this.meta.get("keyCheck") as Uint8Array | undefined;
      if (check === undefined) {
        check = seal(this.key, KEY_CHECK_AAD, KEY_CHECK_PLAIN);
        this.meta.put("keyCheck", check);
      }
      let layout = this.meta.get("layout") as Layout | undefined;
      if (layout === undefined) {
        layout = { indBits: wantIndBits ?? DEFAULT_IND_BITS };
        this.meta.put("layout", layout);
      }
      return { check, layout };
    });
    const plain = unseal(this.key, KEY_CHECK_AAD, stored.check);
    if (!plain || !constantTimeEqual(plain, KEY_CHECK_PLAIN)) {
      throw new StoreError(`master key does not match this store (${this.dir}; key from ${this.keySource})`);
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

  count(): number {
    return (this.subs.getStats() as { entryCount: number }).entryCount;
  }

  get(impi: string): SubscriberRecord | undefined {
    return this.subs.get(impi);
  }

  seqHe(r: Pick<SubscriberRecord, "sqnId">): number {
    return this.journal.seqHe(r.sqnId);
  }

  /** What the admin API and the CLI show (never K or OPc). */
  view(r: SubscriberRecord): SubscriberView {
    return toView(r, this.seqHe(r), this.indBits);
  }

  imsiOwner(imsi: string): string | undefined {
    return this.imsi.get(imsi);
  }

  msisdnOwner(msisdn: string): string | undefined {
    return this.msisdn.get(msisdn);
  }

  /** TS 29.562 UeId: the IMPI itself, `imsi-<digits>` or `msisdn-<digits>`. */
  resolveUeId(ueId: string): string | undefined {
    if (this.subs.doesExist(ueId)) return ueId;
    const m = /^(imsi|msisdn)-([0-9]{5,15})$/.exec(ueId);
    if (!m) return undefined;
    return m[1] === "imsi" ? this.imsi.get(m[2]) : this.msisdn.get(m[2]);
  }

  /** Makes the next read see what other processes committed (lmdb-js renews its snapshot per event turn). */
  refreshReads(): void {
    this.root.resetReadTxn();
  }

  /** Subscribers in IMPI order after `after` (exclusive); `next` is the cursor of the following page. */
  list(limit: number, after?: string): { items: SubscriberRecord[]; next?: string } {
    const items: SubscriberRecord[] = [];
    for (const { key, value } of this.subs.getRange({ start: after, limit: limit + 2 })) {
      if (key === after) continue;
      if (items.length === limit) return { items, next: items[items.length - 1].impi };
      items.push(value);
    }
    return { items };
  }

  authFailures(impi: string): AuthFailure[] {
    return this.failures.get(impi) ?? [];
  }

  // ---------------------------------------------------------------- secrets

  /** K and OPc in the clear; a record that does not decrypt was tampered with or moved. */
  secretsOf(r: SubscriberRecord): { k: Uint8Array; opc: Uint8Array } {
    const plain = unseal(this.key, aadOf(r.impi), r.secret);
    if (plain?.length !== 32) throw new StoreError(`the keys of subscriber ${r.impi} do not decrypt: the record was altered`);
    return { k: plain.subarray(0, 16), opc: plain.subarray(16, 32) };
  }

  /**
   * The subscriber's MILENAGE instance, cached per (IMPI, rev) so another process's update is
   * seen. A subscriber enters the cache on its second miss (a TinyLFU-style doorkeeper): with
   * requests spread over far more subscribers than the cache holds, instances built for a
   * single vector then die young instead of churning the cache and the old generation.
   */
  milenageOf(r: SubscriberRecord): Milenage {
    const hit = this.cache.get(r.impi);
    if (hit && hit.rev === r.rev) return hit.milenage;
    const { k, opc } = this.secretsOf(r);
    const milenage = new Milenage(k, opc, { constants: constantsOf(r.milenage) });
    if (hit || this.missedOnce.delete(r.impi)) this.cache.set(r.impi, { rev: r.rev, milenage });
    else {
      if (this.missedOnce.size >= this.cache.capacity) this.missedOnce.clear();
      this.missedOnce.add(r.impi);
    }
    return milenage;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Runs `fn` inside one LMDB write transaction (lmdb-js batches the callbacks queued in one
   * event turn into one commit) and resolves after the commit is flushed to disk. Callbacks
   * check before they write: a throw after a put would not roll the put back.
   */
  async write<T>(fn: () => T): Promise<T> {
    const result = await this.root.transaction(fn);
    await this.root.flushed;
    return result;
  }

  /** Inside write(): the new SEQ_HE of one subscriber. */
  putSeqHe(r: Pick<SubscriberRecord, "sqnId">, seqHe: number): void {
    this.journal.append(r.sqnId, seqHe);
  }

  /** SEQ_HE entries written since the last checkpoint. */
  get sqnLogLength(): number {
    return this.journal.pending;
  }

  /**
   * Folds up to `max` of the oldest SEQ_HE log entries into the per-subscriber table (one
   * durable commit); resolves to how many were folded.
   */
  checkpointSqn(max: number): Promise<number> {
    return this.write(() => this.journal.fold(max));
  }

  /** Inside write(): one more diagnostics entry, the oldest dropped beyond AUTH_FAILURES_KEPT. */
  appendFailure(impi: string, f: AuthFailure): void {
    const list = [...this.authFailures(impi), f].slice(-AUTH_FAILURES_KEPT);
    this.failures.put(impi, list);
  }

  sqnHex(seq: number, ind: number): string {
    return bytesToHex(sqnToBytes(joinSqn(seq, ind, this.indBits)));
  }

  seqOf(sqn: number): number {
    return splitSqn(sqn, this.indBits).seq;
  }

  /** A record from validated data: K ‖ OPc sealed with the IMPI as AAD, a fresh rev. */
  seal(d: SubscriberData, prev?: SubscriberRecord): SubscriberRecord {
    const now = new Date(this.clock()).toISOString();
    return stripUndefined({
      impi: d.impi,
      imsi: d.imsi,
      msisdn: d.msisdn,
      impus: d.impus,
      secret: seal(this.key, aadOf(d.impi), concatBytes(d.k, d.opc)),
      keyInput: d.keyInput,
      amf: d.amf,
      milenage: d.milenage,
      uiccType: d.uiccType,
      lifeTime: d.lifeTime,
      guss: d.guss,
      sqnId: prev?.sqnId ?? 0,
      rev: randomBytes(8).toString("hex"),
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    });
  }

  /** Which of IMPI / IMSI / MSISDN already belong to someone else (read inside or outside a transaction). */
  conflictsOf(r: Pick<SubscriberRecord, "impi" | "imsi" | "msisdn">, self?: string): string[] {
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

  private putRecord(r: SubscriberRecord, prev?: SubscriberRecord): void {
    if (prev?.imsi !== undefined && prev.imsi !== r.imsi) this.imsi.remove(prev.imsi);
    if (prev?.msisdn !== undefined && prev.msisdn !== r.msisdn) this.msisdn.remove(prev.msisdn);
    this.subs.put(r.impi, r);
    if (r.imsi !== undefined) this.imsi.put(r.imsi, r.impi);
    if (r.msisdn !== undefined) this.msisdn.put(r.msisdn, r.impi);
    this.cache.delete(r.impi);
    this.missedOnce.delete(r.impi);
  }

  /** Adds subscribers, all or none: any IMPI/IMSI/MSISDN already taken fails the whole batch (ExistsError). */
  async create(
    records: SubscriberRecord[],
    sqns: Array<number | undefined>,
    progress?: (written: number) => void,
  ): Promise<void> {
    await this.write(() => {
      const conflicts = records.flatMap((r) => this.conflictsOf(r));
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

  /**
   * Read-validate-write of one subscriber in one transaction: `change` sees the current record
   * and its secrets and returns the new data (or validation errors, then nothing is written).
   */
  async update(
    impi: string,
    change: (r: SubscriberRecord, secrets: { k: Uint8Array; opc: Uint8Array }) => Validated<SubscriberData>,
  ): Promise<{ kind: "not-found" } | { kind: "invalid"; errors: string[] } | { kind: "ok"; record: SubscriberRecord }> {
    return this.write(() => {
      const prev = this.subs.get(impi);
      if (!prev) return { kind: "not-found" as const };
      const v = change(prev, this.secretsOf(prev));
      if (!v.ok) return { kind: "invalid" as const, errors: v.errors };
      const record = this.seal(v.value, prev);
      const conflicts = this.conflictsOf(record, impi);
      if (conflicts.length > 0) throw new ExistsError(conflicts);
      this.putRecord(record, prev);
      if (v.value.sqn !== undefined) this.journal.append(record.sqnId, this.seqOf(v.value.sqn));
      return { kind: "ok" as const, record };
    });
  }

  async remove(impi: string): Promise<boolean> {
    return this.write(() => {
      const prev = this.subs.get(impi);
      if (!prev) return false;
      if (prev.imsi !== undefined) this.imsi.remove(prev.imsi);
      if (prev.msisdn !== undefined) this.msisdn.remove(prev.msisdn);
      this.subs.remove(impi);
      this.sqn.remove(prev.sqnId);
      this.failures.remove(impi);
      this.cache.delete(impi);
      return true;
    });
  }
}
