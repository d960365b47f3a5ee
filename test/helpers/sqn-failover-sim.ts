// A simulated deployment for the SQN schemes: HSS replicas issue vectors through one shared
// SEQ_HE store that replicates asynchronously (a primary and its replica, like a Redis Cluster
// shard); a failover promotes the replica and so loses every write not yet replicated; a
// `durable` step is replicated before its vector leaves (what WAIT does). Each subscriber's USIM
// receives every issued SQN in issue order, lost ones included (they left the HSS, the UE may
// have used them), and judges it with the Annex C check of milenage/sqn.ts; a refusal is
// answered with the HE's resynchronisation (§6.3.5), as the BSF would after an AUTS.
import {
  acceptSqn,
  checkFreshness,
  highestSqn,
  joinSqn,
  newSqnArray,
  nextSqn,
  resyncSeqHe,
  type UsimSqnArray,
} from "../../milenage/sqn.js";
import { clockTicks, nextTimeSeq, resyncTimeSeq, type TimeSeqParams, type TimeSeqState } from "../../milenage/sqn-time.js";

export interface SimOptions {
  scheme: "time" | "counter";
  params: TimeSeqParams;
  seed: number;
  subscribers: number;
  steps: number;
  /** probability that a step is a failover */
  failoverRate: number;
  /** a failover takes this long (ms): from the last write the old primary took to the first on the new one */
  failoverMs: [number, number];
  /** a new primary's clock is off by up to this many ms (either way) */
  skewMs: number;
  /** probability that a step is a burst of vectors for one subscriber in the same ms */
  burstRate: number;
  burstSize: number;
  /** probability that a step makes a USIM jump ahead (it accepted a higher SQN elsewhere) */
  usimAheadRate: number;
  /** probability per step that the replica catches up with the primary */
  replicateRate: number;
  /** ms the clock may advance between steps */
  maxGapMs: number;
  /** starting time (ms) */
  t0: number;
  ind: number;
  /** negative control: durable steps are not replicated first */
  ignoreDurable?: boolean;
}

export interface SimResult {
  issued: number;
  lostWrites: number;
  failovers: number;
  /** refusals the USIMs made that no injected USIM jump explains */
  staleRefusals: number;
  injectedRefusals: number;
  /** an SQN handed out twice to one subscriber */
  reused: number;
  rules: Record<string, number>;
  firstProblem?: string;
}

/** xorshift32: pinned randomness for reproducible histories */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

interface Write {
  sub: number;
  value: TimeSeqState;
}

export function simulate(o: SimOptions): SimResult {
  const rand = rng(o.seed);
  const between = (a: number, b: number) => a + Math.floor(rand() * (b - a + 1));
  const primary = new Map<number, TimeSeqState>();
  const replica = new Map<number, TimeSeqState>();
  let pending: Write[] = [];
  let t = o.t0;
  let clockOffset = 0;
  const usims: UsimSqnArray[] = Array.from({ length: o.subscribers }, () => newSqnArray(o.params.indBits));
  const issuedBy: Array<Set<number>> = Array.from({ length: o.subscribers }, () => new Set());
  const aheadInjected = new Array<boolean>(o.subscribers).fill(false);
  const r: SimResult = { issued: 0, lostWrites: 0, failovers: 0, staleRefusals: 0, injectedRefusals: 0, reused: 0, rules: {} };
  const problem = (why: string) => {
    r.firstProblem ??= `seed ${o.seed} t=${t}: ${why}`;
  };

  const write = (sub: number, value: TimeSeqState, durable: boolean) => {
    primary.set(sub, value);
    pending.push({ sub, value });
    if (durable && !o.ignoreDurable) replicate(); // WAIT: the replica acknowledged everything up to this write
  };
  const replicate = () => {
    for (const w of pending) replica.set(w.sub, w.value);
    pending = [];
  };
  const now = () => clockTicks(t + clockOffset, o.params);

  /** One atomic store step: the next SEQ for `sub`, after an optional resynchronisation. */
  const issue = (sub: number, sqnMs?: number): number => {
    // provisioned at t0 with SQN 0, anchored to the clock then
    let state = primary.get(sub) ?? { seqHe: 0, offset: -clockTicks(o.t0, o.params) };
    if (o.scheme === "counter") {
      let seqHe = state.seqHe;
      if (sqnMs !== undefined) seqHe = resyncSeqHe(seqHe, sqnMs, o.params.indBits);
      const next = nextSqn(seqHe, o.ind, o.params.indBits);
      write(sub, { seqHe: next.seqHe }, false);
      return next.sqn;
    }
    let durable = false;
    if (sqnMs !== undefined) {
      const rs = resyncTimeSeq(state, sqnMs, now(), o.params);
      state = rs.state;
      durable = rs.adopted;
    }
    const step = nextTimeSeq(state, now(), o.params);
    if (step.kind === "exhausted") throw new Error(`SEQ exhausted for subscriber ${sub}`);
    r.rules[step.rule] = (r.rules[step.rule] ?? 0) + 1;
    write(sub, { seqHe: step.seq, offset: step.offset }, durable || step.durable);
    return joinSqn(step.seq, o.ind, o.params.indBits);
  };

  /** The USIM judges the SQN (Annex C.2); a refusal leads to a resync and one more vector. */
  const deliver = (sub: number, sqn: number) => {
    r.issued++;
    if (issuedBy[sub].has(sqn)) {
      r.reused++;
      problem(`SQN ${sqn} issued twice to subscriber ${sub}`);
    }
    issuedBy[sub].add(sqn);
    const verdict = checkFreshness(usims[sub], sqn);
    if (verdict.fresh) {
      usims[sub] = acceptSqn(usims[sub], sqn);
      aheadInjected[sub] = false;
      return;
    }
    if (aheadInjected[sub]) r.injectedRefusals++;
    else {
      r.staleRefusals++;
      problem(`subscriber ${sub}: SQN ${sqn} refused (${verdict.reason}), USIM at ${highestSqn(usims[sub])}`);
    }
    aheadInjected[sub] = false;
    const again = issue(sub, highestSqn(usims[sub]));
    r.issued++;
    if (issuedBy[sub].has(again)) {
      r.reused++;
      problem(`SQN ${again} issued twice to subscriber ${sub} after a resync`);
    }
    issuedBy[sub].add(again);
    const second = checkFreshness(usims[sub], again);
    if (!second.fresh) {
      r.staleRefusals++;
      problem(`subscriber ${sub}: SQN ${again} refused after a resync (${second.reason})`);
      return;
    }
    usims[sub] = acceptSqn(usims[sub], again);
  };

  for (let step = 0; step < o.steps; step++) {
    t += between(0, o.maxGapMs);
    const x = rand();
    if (x < o.failoverRate) {
      // the primary dies with its unreplicated writes; the replica serves after the failover time
      r.lostWrites += pending.length;
      pending = [];
      primary.clear();
      for (const [k, v] of replica) primary.set(k, v);
      t += between(o.failoverMs[0], o.failoverMs[1]);
      clockOffset = between(-o.skewMs, o.skewMs);
      r.failovers++;
      continue;
    }
    if (x < o.failoverRate + o.usimAheadRate) {
      const sub = between(0, o.subscribers - 1);
      const arr = usims[sub];
      const top = Math.floor(highestSqn(arr) / 2 ** arr.indBits);
      // refused in the array entry of our IND (Annex C.2.2); another entry would not be checked
      arr.seq[o.ind] = top + between(1, 2 ** 20);
      aheadInjected[sub] = true;
      continue;
    }
    if (rand() < o.replicateRate) replicate();
    const sub = between(0, o.subscribers - 1);
    const n = rand() < o.burstRate ? o.burstSize : 1;
    for (let i = 0; i < n; i++) deliver(sub, issue(sub));
  }
  return r;
}
