// Where the NAF keeps the highest nonce-count of each Ua nonce in use (RFC 7616 §3.4, §5.4), so
// a Digest answer cannot be replayed. One process keeps them in memory (store-memory.ts); NAF
// workers on one host share an LMDB environment (store-lmdb.ts); a store across hosts implements
// the same interface.
import type { NonceCheck } from "../../gba/digest/nonce.js";

export type NonceUse = "ok" | "replay" | "stale";

/** A nonce-count store shared by several NAF processes: each atomic step is one method. */
export interface NonceCountStore {
  /**
   * One atomic read-and-raise: "ok" and records nc when it is above every nc seen with this
   * nonce, "replay" when it is not, "stale" when the nonce is past its lifetime.
   */
  use(nonce: string, issuedAt: number, nc: number): Promise<NonceUse>;
  close(): Promise<void>;
}

/** What the GBA plugin asks: a NonceCountStore, or the in-process NonceCounter that answers without a promise. */
export interface NonceCounts {
  use(nonce: string, issuedAt: number, nc: number): NonceUse | Promise<NonceUse>;
  /** The check result for a nonce already in use (its HMAC was verified on first use), else undefined. */
  known?(nonce: string): NonceCheck | undefined;
}
