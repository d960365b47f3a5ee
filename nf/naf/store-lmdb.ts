// Nonce-counts shared by every NAF worker process on a host (`gba naf --workers N`). A nonce
// issued by one worker may come back on a connection that another worker accepted, so the
// replay check (RFC 7616 §3.4, §5.4: each nc above the last one seen with that nonce) must see
// every use, whichever worker made it: the highest nc per nonce lives in an LMDB environment
// under <data>/naf/, read and raised in one write transaction (one writer across processes).
// It is not synced to disk: it must outlive a worker, not the host. A NAF restarted as a whole
// draws a new nonce secret, so no nonce from before the restart verifies anyway.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Database, open, type RootDatabase } from "lmdb";
import type { Clock } from "../../wire/deps.js";
import { describeFsError, nfDataDir, StoreError } from "../common/store.js";
import type { NonceCountStore, NonceUse } from "./store.js";

type Key = [issuedAt: number, nonce: string];

export class LmdbNonceCountStore implements NonceCountStore {
  private readonly db: Database<number, Key>;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly root: RootDatabase,
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {
    this.db = root.openDB<number, Key>({ name: "nonce-counts" });
    this.timer = setInterval(() => this.sweep(), Math.max(1000, ttlMs));
    this.timer.unref();
  }

  /** Opens (creating if needed) <data>/naf/nonce-counts.mdb. */
  static open(dataRoot: string, ttlSeconds: number, clock: Clock): LmdbNonceCountStore {
    const dir = nfDataDir(dataRoot, "naf");
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const root = open({ path: join(dir, "nonce-counts.mdb"), noSync: true, compression: false });
      return new LmdbNonceCountStore(root, ttlSeconds * 1000, clock);
    } catch (err) {
      throw new StoreError(`cannot open the shared nonce-count store in ${dir}: ${describeFsError(err)}`);
    }
  }

  /**
   * Read and raise in one write transaction. Asynchronous: lmdb-js runs the transactions queued
   * in one event turn together, so a burst of requests takes the cross-process write lock once
   * and the event loop never waits for another worker's transaction.
   */
  use(nonce: string, issuedAt: number, nc: number): Promise<NonceUse> {
    if (this.clock() - issuedAt > this.ttlMs) return Promise.resolve("stale");
    const key: Key = [issuedAt, nonce];
    return this.db.transaction((): NonceUse => {
      const seen = this.db.get(key);
      if (seen !== undefined && nc <= seen) return "replay";
      this.db.put(key, nc);
      return "ok";
    });
  }

  /** Removes the counts of nonces past their lifetime; returns how many. */
  sweep(): number {
    const cutoff = this.clock() - this.ttlMs;
    return this.db.transactionSync(() => {
      const due = [...this.db.getKeys({ end: [cutoff] })];
      for (const key of due) this.db.removeSync(key);
      return due.length;
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.root.close();
  }
}
