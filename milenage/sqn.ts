// Sequence numbers, TS 33.102 §6.3.2 and Annex C: SQN (48 bits) = SEQ ‖ IND.
// SEQ stays below 2^48 so a JS number holds it exactly.

export const SQN_BYTES = 6;
export const SQN_MAX = 2 ** 48 - 1;

export interface SqnLayout {
  /** Bits of IND, the array index (Annex C.1.2); default 5 (a = 32). */
  indBits: number;
}

export const DEFAULT_IND_BITS = 5;

/** Δ = 2^28 as suggested in TS 33.102 Annex C.2.1 */
export const DEFAULT_DELTA = 2 ** 28;

export function sqnToBytes(sqn: number): Uint8Array {
  if (!Number.isSafeInteger(sqn) || sqn < 0 || sqn > SQN_MAX) throw new RangeError(`SQN ${sqn} out of 0..2^48-1`);
  const out = new Uint8Array(6);
  let v = sqn;
  for (let i = 5; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

export function bytesToSqn(b: Uint8Array): number {
  if (b.length !== 6) throw new RangeError(`SQN must be 6 bytes, got ${b.length}`);
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + b[i];
  return v;
}

/** SQN as 12 hex digits (the six octets of TS 33.102 §6.3.2, most significant first), as logs and the admin API show it. */
export function sqnToHex(sqn: number): string {
  if (!Number.isSafeInteger(sqn) || sqn < 0 || sqn > SQN_MAX) throw new RangeError(`SQN ${sqn} out of 0..2^48-1`);
  return sqn.toString(16).padStart(2 * SQN_BYTES, "0");
}

function checkIndBits(indBits: number): void {
  if (!Number.isInteger(indBits) || indBits < 0 || indBits > 16) throw new RangeError(`IND length ${indBits} out of 0..16`);
}

/** Splits SQN into SEQ (high bits) and IND (low indBits bits), Annex C.1.2 / C.3.2. */
export function splitSqn(sqn: number, indBits = DEFAULT_IND_BITS): { seq: number; ind: number } {
  checkIndBits(indBits);
  const a = 2 ** indBits;
  return { seq: Math.floor(sqn / a), ind: sqn % a };
}

export function joinSqn(seq: number, ind: number, indBits = DEFAULT_IND_BITS): number {
  checkIndBits(indBits);
  const a = 2 ** indBits;
  if (!Number.isInteger(ind) || ind < 0 || ind >= a) throw new RangeError(`IND ${ind} out of 0..${a - 1}`);
  const sqn = seq * a + ind;
  if (!Number.isSafeInteger(seq) || seq < 0 || sqn > SQN_MAX) throw new RangeError(`SEQ ${seq} out of range`);
  return sqn;
}

// ---------------------------------------------------------------- HE / AuC side (Annex C.1.1, C.3)

/**
 * Next SQN for a vector (Annex C.1.1 non time-based SEQ, C.3.2 IND per consumer):
 * SEQ_HE := SEQ_HE + 1, SQN = SEQ_HE ‖ IND. Returns the new SEQ_HE to persist.
 */
export function nextSqn(seqHe: number, ind: number, indBits = DEFAULT_IND_BITS): { sqn: number; seqHe: number } {
  const seq = seqHe + 1;
  return { sqn: joinSqn(seq, ind, indBits), seqHe: seq };
}

/**
 * HE reaction to a synchronisation failure (TS 33.102 §6.3.5): with SQN_MS recovered from a
 * verified AUTS, the HE keeps SQN_HE if the next sequence number generated from it would be
 * accepted by the USIM, otherwise it resets SQN_HE to SQN_MS (next vector: SEQ_MS + 1).
 * "Accepted" (Annex C.2.1, C.2.2) as far as the HE can tell from SQN_MS alone: the next SEQ is
 * above SEQ_MS (so above every array entry) and at most Δ above it. Returns the SEQ_HE to persist.
 */
export function resyncSeqHe(seqHe: number, sqnMs: number, indBits = DEFAULT_IND_BITS, delta = DEFAULT_DELTA): number {
  const { seq: seqMs } = splitSqn(sqnMs, indBits);
  const next = seqHe + 1;
  return next > seqMs && next - seqMs <= delta ? seqHe : seqMs;
}

// ---------------------------------------------------------------- USIM side (Annex C.2)

export interface FreshnessPolicy {
  indBits: number;
  /** Δ: maximum accepted jump SEQ − SEQ_MS (Annex C.2.1); undefined disables the check. */
  delta?: number;
  /** L: age limit, reject when SEQ_MS − SEQ ≥ L (Annex C.2.2, optional); undefined disables it. */
  ageLimit?: number;
}

export const DEFAULT_FRESHNESS: FreshnessPolicy = Object.freeze({ indBits: DEFAULT_IND_BITS, delta: DEFAULT_DELTA });

/** The USIM's array of the highest accepted SEQ per IND value (Annex C.1.2, C.2.2). */
export interface UsimSqnArray {
  indBits: number;
  seq: number[];
}

export function newSqnArray(indBits = DEFAULT_IND_BITS, initialSqn = 0): UsimSqnArray {
  checkIndBits(indBits);
  const arr: UsimSqnArray = { indBits, seq: new Array(2 ** indBits).fill(0) };
  if (initialSqn > 0) {
    const { seq, ind } = splitSqn(initialSqn, indBits);
    arr.seq[ind] = seq;
  }
  return arr;
}

/**
 * SQN_MS: "the highest previously accepted sequence number anywhere in the array" (Annex C.2.2),
 * SEQ_MS ‖ its IND; of entries sharing the highest SEQ the highest IND gives the highest SQN.
 * 0 while nothing has been accepted.
 */
export function highestSqn(arr: UsimSqnArray): number {
  let best = 0;
  let bestInd = 0;
  for (let i = 0; i < arr.seq.length; i++) {
    if (arr.seq[i] > 0 && arr.seq[i] >= best) {
      best = arr.seq[i];
      bestInd = i;
    }
  }
  return joinSqn(best, bestInd, arr.indBits);
}

export type FreshnessVerdict =
  | { fresh: true }
  | { fresh: false; reason: "not-newer-than-array" | "delta-exceeded" | "age-limit" };

/** Annex C.2.2: is SQN acceptable given the array? Pure check, the array is not touched. */
export function checkFreshness(arr: UsimSqnArray, sqn: number, policy: FreshnessPolicy = DEFAULT_FRESHNESS): FreshnessVerdict {
  const { seq, ind } = splitSqn(sqn, arr.indBits);
  const seqMs = splitSqn(highestSqn(arr), arr.indBits).seq;
  if (policy.delta !== undefined && seq - seqMs > policy.delta) return { fresh: false, reason: "delta-exceeded" };
  if (policy.ageLimit !== undefined && seqMs - seq >= policy.ageLimit) return { fresh: false, reason: "age-limit" };
  if (seq <= arr.seq[ind]) return { fresh: false, reason: "not-newer-than-array" };
  return { fresh: true };
}

/** Returns a copy of the array with SEQ_MS(IND) := SEQ (only after MAC-A verified). */
export function acceptSqn(arr: UsimSqnArray, sqn: number): UsimSqnArray {
  const { seq, ind } = splitSqn(sqn, arr.indBits);
  const next = { indBits: arr.indBits, seq: arr.seq.slice() };
  next.seq[ind] = seq;
  return next;
}
