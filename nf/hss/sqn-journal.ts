// SEQ_HE per subscriber (TS 33.102 Annex C.1.1), written as a journal. Every new SEQ_HE is
// appended to `sqnLog` (key: the next log position) in the transaction that issues the vector,
// instead of rewriting the subscriber's own entry in `sqnById`: an append dirties the same
// right-most pages whoever the subscriber is, so a commit costs the same with 1,000 or
// 1,000,000 subscribers. A checkpoint folds the oldest entries into `sqnById` in one sorted
// write and deletes them; `meta.sqnLogFolded` records how far.
// Each process holds the entries not yet folded in memory (sqnId → latest) and, before it
// reads, applies what other processes (`gba provision`, another HSS) appended since.
import type { Database } from "lmdb";

const FOLDED = "sqnLogFolded";

type LogEntry = [sqnId: number, seqHe: number];

export class SqnJournal {
  /** sqnId → SEQ_HE and log position of its latest unfolded entry (two maps of numbers: no object per entry) */
  private readonly tailSeq = new Map<number, number>();
  private readonly tailPos = new Map<number, number>();
  /** the last log position applied to tailSeq / tailPos */
  private seen = 0;
  private folded = 0;

  constructor(
    private readonly base: Database<number, number>,
    private readonly log: Database<LogEntry, number>,
    private readonly meta: Database<unknown, string>,
  ) {}

  /** Entries appended and not yet folded (as far as this process has seen). */
  get pending(): number {
    return this.seen - this.folded;
  }

  /** Applies checkpoints and appends of every process, as the current transaction sees them. */
  catchUp(): void {
    const folded = (this.meta.get(FOLDED) as number | undefined) ?? 0;
    if (folded > this.folded) {
      this.dropFolded(folded);
      this.folded = folded;
      if (this.seen < folded) this.seen = folded;
    }
    // positions are consecutive: point reads until the first gap (cheaper than a cursor)
    for (let next = this.log.get(this.seen + 1); next !== undefined; next = this.log.get(this.seen + 1)) {
      this.seen++;
      this.tailSeq.set(next[0], next[1]);
      this.tailPos.set(next[0], this.seen);
    }
  }

  seqHe(sqnId: number): number {
    this.catchUp();
    return this.tailSeq.get(sqnId) ?? this.base.get(sqnId) ?? 0;
  }

  /** Inside a write transaction: the subscriber's new SEQ_HE (an advance, a resync or an operator's set). */
  append(sqnId: number, seqHe: number): void {
    this.catchUp();
    // a commit that failed (disk full) left `seen` past the log's end: continue from the end
    if (this.seen > this.folded && this.log.get(this.seen) === undefined) this.seen = this.lastPosition();
    const pos = this.seen + 1;
    this.log.put(pos, [sqnId, seqHe]);
    this.tailSeq.set(sqnId, seqHe);
    this.tailPos.set(sqnId, pos);
    this.seen = pos;
  }

  /** Forgets the entries a checkpoint up to `folded` moved into the per-subscriber table. */
  private dropFolded(folded: number): void {
    for (const [id, pos] of this.tailPos) {
      if (pos <= folded) {
        this.tailPos.delete(id);
        this.tailSeq.delete(id);
      }
    }
  }

  private lastPosition(): number {
    for (const key of this.log.getKeys({ reverse: true, limit: 1 })) return key;
    return this.folded;
  }

  /**
   * Inside a write transaction: folds up to `max` of the oldest entries into `sqnById` (an entry
   * of a removed subscriber is dropped) and deletes them. Returns how many were folded.
   */
  fold(max: number): number {
    this.catchUp();
    const latest = new Map<number, number>();
    let last = this.folded;
    let n = 0;
    for (const { key, value } of this.log.getRange({ start: this.folded + 1, limit: max })) {
      latest.set(value[0], value[1]);
      last = key;
      n++;
    }
    if (n === 0) return 0;
    for (const id of [...latest.keys()].sort((a, b) => a - b)) {
      if (this.base.doesExist(id)) this.base.put(id, latest.get(id) as number);
    }
    for (let pos = this.folded + 1; pos <= last; pos++) this.log.remove(pos);
    this.meta.put(FOLDED, last);
    this.dropFolded(last);
    this.folded = last;
    return n;
  }
}
