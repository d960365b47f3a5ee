// Time-based SEQ for HSS replicas that share SEQ_HE in a store whose failover may lose the last
// writes (a Redis Cluster replicates asynchronously). TS 33.102 Annex C.1.1.1 lets SEQ follow a
// global counter GLC, "e.g. a clock giving universal time" (item 3), handing out SEQ_HE + 1 while
// more than one SEQ is needed per GLC value (item 5 b). We keep that principle and anchor each
// subscriber's SEQ to the clock by an offset:
//
//   state per subscriber: SEQ_HE and OFF;  C = OFF + T  (T: the clock in ticks, not reduced mod p)
//   C > SEQ_HE, C − SEQ_HE < H_d   → SEQ = C                             "clock"
//   C > SEQ_HE, otherwise          → SEQ = SEQ_HE + min(C − SEQ_HE, H_c), OFF := SEQ − T   "idle"
//   C ≤ SEQ_HE, SEQ_HE − C < R     → SEQ = SEQ_HE + 1                    "increment"
//   C ≤ SEQ_HE, otherwise          → SEQ = SEQ_HE + 1, OFF := SEQ − T    "rebase"
//
// (C.1.1.1 writes SEQ = SEQ1 ‖ SEQ2 with SEQ2 = GLC mod p and bumps SEQ1 on a wrap; a SEQ_HE
// read back after a lost write cannot tell how many wraps it missed, so we keep the clock whole
// and cap each step at H_c instead of at p. Project decision.)
//
// Why a lost write does no harm. A step that keeps OFF ("clock", "increment") gives
// SEQ ≤ OFF + T + R. Steps that move OFF ("idle", "rebase", a resynchronisation, an operator's
// set) say `durable: true`: the store makes them survive a failover (Redis: WAIT for the replica)
// before the vector leaves. So everything lost in a failover shares the OFF of the replicated
// SEQ_HE and is ≤ OFF + T_lost + R. The first step after the failover, from that SEQ_HE at T_new,
// gives C = OFF + T_new, above all of it when T_new − T_lost > R — a failover takes longer than
// R (Redis Cluster: at least the 500 ms election delay after a primary stops taking writes), less
// the clock skew between the old and the new primary. If that step is capped ("idle"), it is
// SEQ_HE + H_c, still above everything lost as long as H_c > H_d + 2R + the replication lag a
// promoted replica may have (Redis: cluster-node-timeout × cluster-replica-validity-factor).
//
// Toward the USIM every step is above SEQ_HE by at most H_c < Δ (Annex C.2.1, SEQ − SEQ_MS ≤ Δ)
// and SEQ is one per (subscriber, step), so the array check of C.2.2 accepts it whatever IND the
// consumer uses (C.1.2). A subscriber gets vectors at any rate; above one per tick the extra ones
// cost a durable "rebase" every R vectors.
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
}

export type TimeSeqRule = "clock" | "idle" | "increment" | "rebase" | "anchor";

export type TimeSeqStep =
  | { kind: "ok"; seq: number; offset: number; rule: TimeSeqRule; durable: boolean }
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

function step(seq: number, offset: number, rule: TimeSeqRule, durable: boolean, p: TimeSeqParams): TimeSeqStep {
  if (seq > Math.floor(SQN_MAX / 2 ** p.indBits)) return { kind: "exhausted" };
  return { kind: "ok", seq, offset, rule, durable };
}

/** The SEQ after `state` at clock T (ticks), and the OFF to store with it. */
export function nextTimeSeq(state: TimeSeqState, t: number, p: TimeSeqParams = DEFAULT_TIME_SEQ): TimeSeqStep {
  const { seqHe } = state;
  if (state.offset === undefined) return step(seqHe + 1, seqHe + 1 - t, "anchor", true, p);
  const c = state.offset + t;
  if (c > seqHe) {
    const gap = c - seqHe;
    if (gap < p.durableStep) return step(c, state.offset, "clock", false, p);
    const seq = seqHe + Math.min(gap, p.maxStep);
    return step(seq, seq - t, "idle", true, p);
  }
  if (seqHe - c < p.maxAhead) return step(seqHe + 1, state.offset, "increment", false, p);
  return step(seqHe + 1, seqHe + 1 - t, "rebase", true, p);
}

/**
 * HE reaction to a verified AUTS (TS 33.102 §6.3.5): keep SEQ_HE when the SEQ it yields next is
 * acceptable to the USIM — above SEQ_MS, the highest SEQ in its array (Annex C.2.2), and at most
 * Δ above it (C.2.1) — else continue from SEQ_HE := SEQ_MS, anchored at T (the next step is
 * SEQ_MS + 1). `adopted` states must be stored durably.
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
  return { state: { seqHe: seqMs, offset: seqMs - t }, adopted: true };
}
