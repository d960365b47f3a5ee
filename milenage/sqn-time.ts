// Time-based SEQ for HSS replicas that share SEQ_HE in a store whose failover may lose the last
// writes (a Redis Cluster replicates asynchronously).
//
// TS 33.102 Annex C.1.1.1 gives every user a counter SEQ_HE (item 2) and lets SEQ follow "a
// global counter, e.g. a clock giving universal time", GLC (item 3), SEQ = SEQ1 ‖ SEQ2 with SEQ2
// taken from GLC mod p. We keep its principle — SEQ follows a clock, SEQ_HE + 1 when one clock
// value has to serve several vectors — and anchor the clock per subscriber with an offset OFF,
// so a subscriber provisioned with a small SQN (or resynchronised to one) keeps small steps:
//
//   state per subscriber: SEQ_HE, OFF, U (the SEQ of a durable write not yet confirmed, or none)
//   C = OFF + T   (T: the clock in 1 ms ticks, the whole clock, not reduced mod p)
//   C > SEQ_HE, C − SEQ_HE < H_d   → SEQ = C                                         "clock"
//   C > SEQ_HE, otherwise          → SEQ = SEQ_HE + min(C − SEQ_HE, H_c), OFF := SEQ − T  "idle"
//   C ≤ SEQ_HE, SEQ_HE − C < R     → SEQ = SEQ_HE + 1                                "increment"
//   C ≤ SEQ_HE, otherwise          → SEQ = SEQ_HE + 1, OFF := SEQ − T                "rebase"
//
// A step that moves OFF ("idle", "rebase", "anchor", an adopted SQN_MS) is durable: the store
// holds its vector back until the write is on the replica (Redis: WAIT 1), and sets U := SEQ.
// While U is set every step is durable too, since it builds on a write that may not survive;
// a step whose wait succeeded confirms it (U ≤ its SEQ ⇒ U cleared).
//
// Why a failover that loses writes does no harm. Every vector that left was either durable
// (its write, and all before it, survived) or built on a confirmed OFF: lost non-durable steps
// keep the surviving OFF and stay ≤ OFF + T_lost + R. The first step after the failover, at
// T_new on the new primary, has C = OFF + T_new: above all of them when T_new − T_lost > R —
// Redis Cluster needs at least its 500 ms election delay after the old primary stops taking
// writes, so this holds while the primaries' clocks agree within about 400 ms (NTP keeps them
// within milliseconds). If that step is capped ("idle"), SEQ_HE + H_c is still above them, as
// H_c − H_d (2^26 ms, 18.6 h) exceeds any replication lag a promoted replica may have.
//
// Toward the USIM: each step is at most H_c = 2^27 above SEQ_HE, below Δ = 2^28 (Annex C.2.1:
// accept only SEQ − SEQ_MS ≤ Δ), and every SQN is above every SQN issued before it, so the
// array check of Annex C.2.2 (SEQ > SEQ_MS(IND)) accepts it whatever IND the consumer uses
// (C.1.2). Known limit: vectors issued and never used accumulate their steps, so a subscriber
// whose vectors go unused over several days (each step is the elapsed time) can drift more than
// Δ above the card's SEQ_MS; the USIM then answers with AUTS and one resynchronisation
// (§6.3.5) recovers, as with the counter of C.1.1.1 after 2^28 unused vectors.
import { DEFAULT_DELTA, DEFAULT_IND_BITS, SQN_MAX, splitSqn } from "./sqn.js";

export interface TimeSeqParams {
  /** IND length in bits (Annex C.1.2 array index); SEQ has 48 − indBits bits */
  indBits: number;
  /** one clock tick in ms */
  tickMs: number;
  /** R: how far SEQ_HE may run ahead of C before a durable rebase, in ticks; below a failover's duration */
  maxAhead: number;
  /** H_d: a step of this many ticks or more moves OFF (durable) */
  durableStep: number;
  /** H_c: the largest step, below the USIM's Δ (Annex C.2.1) */
  maxStep: number;
}

/** 1 ms ticks; R = 100 ms; H_d = 2^26 ticks (18.6 h idle); H_c = 2^27 ticks (37.3 h), half of Δ = 2^28. */
export const DEFAULT_TIME_SEQ: Readonly<TimeSeqParams> = Object.freeze({
  indBits: DEFAULT_IND_BITS,
  tickMs: 1,
  maxAhead: 100,
  durableStep: 2 ** 26,
  maxStep: 2 ** 27,
});

export interface TimeSeqState {
  seqHe: number;
  /** OFF; undefined for a SEQ_HE that was never anchored (a new store, a counter-scheme subscriber) */
  offset?: number;
  /** U: the SEQ of a durable write no step has confirmed yet */
  unconfirmed?: number;
}

export type TimeSeqRule = "clock" | "idle" | "increment" | "rebase" | "anchor";

export type TimeSeqStep =
  | {
      kind: "ok";
      seq: number;
      offset: number;
      /** U to store with the step */
      unconfirmed?: number;
      rule: TimeSeqRule;
      /** the vector may leave only once the write is on the replica (then confirmTimeSeq) */
      durable: boolean;
    }
  /** SEQ would leave its 48 − indBits bits */
  | { kind: "exhausted" };

/** Refuses parameters under which the guarantees above do not hold. */
export function checkTimeSeqParams(p: TimeSeqParams, delta = DEFAULT_DELTA): void {
  const int = (v: number) => Number.isSafeInteger(v) && v > 0;
  if (!Number.isInteger(p.indBits) || p.indBits < 0 || p.indBits > 16)
    throw new RangeError(`IND length ${p.indBits} out of 0..16`);
  if (!(p.tickMs > 0)) throw new RangeError(`clock tick ${p.tickMs} ms must be positive`);
  if (!int(p.maxAhead)) throw new RangeError(`maxAhead ${p.maxAhead} must be a positive integer`);
  if (!int(p.maxStep) || p.maxStep >= delta)
    throw new RangeError(`maxStep ${p.maxStep} must be a positive integer below Δ = ${delta}`);
  if (!int(p.durableStep) || p.durableStep + 2 * p.maxAhead >= p.maxStep) {
    throw new RangeError(`durableStep ${p.durableStep} + 2 × maxAhead must stay below maxStep ${p.maxStep}`);
  }
}

/** T: the clock in ticks. */
export function clockTicks(nowMs: number, p: TimeSeqParams = DEFAULT_TIME_SEQ): number {
  return Math.floor(nowMs / p.tickMs);
}

/** The SEQ after `state` at clock T (ticks), and what to store with it. */
export function nextTimeSeq(state: TimeSeqState, t: number, p: TimeSeqParams = DEFAULT_TIME_SEQ): TimeSeqStep {
  const { seqHe } = state;
  const step = (seq: number, offset: number, rule: TimeSeqRule, moves: boolean): TimeSeqStep => {
    if (seq > Math.floor(SQN_MAX / 2 ** p.indBits)) return { kind: "exhausted" };
    const unconfirmed = moves ? seq : state.unconfirmed;
    return { kind: "ok", seq, offset, unconfirmed, rule, durable: unconfirmed !== undefined };
  };
  if (state.offset === undefined) return step(seqHe + 1, seqHe + 1 - t, "anchor", true);
  const c = state.offset + t;
  if (c > seqHe) {
    const gap = c - seqHe;
    if (gap < p.durableStep) return step(c, state.offset, "clock", false);
    const seq = seqHe + Math.min(gap, p.maxStep);
    return step(seq, seq - t, "idle", true);
  }
  if (seqHe - c < p.maxAhead) return step(seqHe + 1, state.offset, "increment", false);
  return step(seqHe + 1, seqHe + 1 - t, "rebase", true);
}

/** After a durable step's write reached the replica: U at or below its SEQ is confirmed. */
export function confirmTimeSeq(state: TimeSeqState, seq: number): TimeSeqState {
  if (state.unconfirmed === undefined || state.unconfirmed > seq) return state;
  return { seqHe: state.seqHe, offset: state.offset };
}

/**
 * HE reaction to a verified AUTS (TS 33.102 §6.3.5): keep SEQ_HE when the SEQ it yields next is
 * acceptable to the USIM — above SEQ_MS, the highest SEQ in its array (Annex C.2.2), and at most
 * Δ above it (C.2.1) — else continue from SEQ_HE := SEQ_MS, anchored at T (the next step is
 * SEQ_MS + 1). An adopted state moves OFF: it is marked unconfirmed, so the step that follows
 * is durable.
 */
export function resyncTimeSeq(
  state: TimeSeqState,
  sqnMs: number,
  t: number,
  p: TimeSeqParams = DEFAULT_TIME_SEQ,
  delta = DEFAULT_DELTA,
): { state: TimeSeqState; adopted: boolean } {
  const { seq: seqMs } = splitSqn(sqnMs, p.indBits);
  const next = nextTimeSeq(state, t, p);
  if (next.kind === "ok" && next.seq > seqMs && next.seq - seqMs <= delta) return { state, adopted: false };
  return { state: { seqHe: seqMs, offset: seqMs - t, unconfirmed: seqMs }, adopted: true };
}
