// Pending Ub challenges (nonce → what the answer is checked against), kept in the BSF's LMDB
// environment rather than in memory, so the answer may reach another BSF process on the host.
// A challenge is taken exactly once: the take runs inside one LMDB write transaction (one
// writer across all processes), and leaves a tombstone without key material behind, so a
// replayed nonce is recognised as such until the tombstone is swept.
import type { Database, RootDatabase } from "lmdb";
import type { Guss } from "../../../wire/zh.js";

export type UbAlgorithm = "AKAv1-MD5" | "AKAv2-MD5";

export interface PendingChallenge {
  impi: string;
  rand: Uint8Array;
  /** secrets: XRES is the AKAv1 password, CK and IK make Ks */
  xres: Uint8Array;
  ck: Uint8Array;
  ik: Uint8Array;
  algorithm: UbAlgorithm;
  opaque: string;
  guss: Guss;
  /** ms since the epoch after which the nonce is stale */
  expiresAt: number;
  /** a challenge for an IMPI the HSS does not know: random values, no answer succeeds */
  decoy?: true;
}

type Stored = ({ state: "pending" } & PendingChallenge) | { state: "spent"; impi: string; expiresAt: number };

export type TakeResult<R = never> =
  | { kind: "fresh"; challenge: PendingChallenge; outcome?: R }
  | { kind: "stale"; challenge: PendingChallenge }
  | { kind: "spent" }
  | { kind: "unknown" };

type ExpiryKey = [number, string];

export class ChallengeStore {
  private readonly db: Database<Stored, string>;
  private readonly expiry: Database<true, ExpiryKey>;

  /** @param keepSpentMs how long a tombstone outlives the nonce's expiry */
  constructor(
    root: RootDatabase,
    private readonly keepSpentMs: number,
  ) {
    this.db = root.openDB<Stored, string>({ name: "ub-challenges" });
    this.expiry = root.openDB<true, ExpiryKey>({ name: "ub-challenges-expiry" });
  }

  /** Resolves once the challenge is committed, i.e. visible to every process, before the 401 goes out. */
  async put(nonce: string, c: PendingChallenge): Promise<void> {
    const record: Stored = { state: "pending", ...c };
    await Promise.all([this.db.put(nonce, record), this.expiry.put([this.removeAt(c.expiresAt), nonce], true)]);
  }

  /**
   * Atomically marks the nonce spent and returns what it was. `whenFresh` runs inside the same
   * write transaction for a fresh challenge (its writes to this environment commit together with
   * the spend, e.g. the new bootstrap session); it must be quick and must not await.
   */
  take<R = never>(nonce: string, now: number, whenFresh?: (c: PendingChallenge) => R): Promise<TakeResult<R>> {
    return this.db.transaction((): TakeResult<R> => {
      const s = this.db.get(nonce);
      if (s === undefined) return { kind: "unknown" };
      if (s.state === "spent") return { kind: "spent" };
      this.db.put(nonce, { state: "spent", impi: s.impi, expiresAt: s.expiresAt });
      const { state: _state, ...challenge } = s;
      if (s.expiresAt <= now) return { kind: "stale", challenge };
      return { kind: "fresh", challenge, outcome: whenFresh?.(challenge) };
    });
  }

  /** Periodic sweep of expired challenges and old tombstones; returns how many were removed. */
  purgeExpired(now: number): Promise<number> {
    return this.db.transaction(() => {
      const due = [...this.expiry.getKeys({ end: [now, "\uffff"] })];
      for (const key of due) {
        this.expiry.remove(key);
        this.db.remove(key[1]);
      }
      return due.length;
    });
  }

  private removeAt(expiresAt: number): number {
    return expiresAt + this.keepSpentMs;
  }
}
