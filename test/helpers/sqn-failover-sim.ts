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
import {
  clockTicks,
  confirmTimeSeq,
  nextTimeSeq,
  resyncTimeSeq,
  type TimeSeqParams,
  type TimeSeqState,
} from "../../milenage/sqn-time.js";

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
  /** negative control: a step that builds on an unconfirmed durable write is not durable itself */
  ignoreUnconfirmed?: boolean;
  /**
   * probability that a durable step's WAIT returns only at the next replication: its vector is
   * held until then (and withheld when a failover comes first) while other steps go on
   */
  slowWaitRate?: number;
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
  /** vectors held back because their durable write was lost in a failover */
  withheld: number;
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
  /** the highest SEQ an injected USIM jump put in the array: refusals of SQNs up to it are explained */
  const injectedUpTo = new Array<number>(o.subscribers).fill(-1);
  const r: SimResult = {
    issued: 0,
    lostWrites: 0,
    failovers: 0,
    staleRefusals: 0,
    injectedRefusals: 0,
    reused: 0,
    withheld: 0,
    rules: {},
  };
  const problem = (why: string) => {
    r.firstProblem ??= `seed ${o.seed} t=${t}: ${why}`;
  };

  // The USIM uses vectors in the order the HSS issued them: a durable step whose WAIT has not
  // returned holds its vector, and the vectors issued after it queue behind it.
  let queue: Array<{ sub: number; sqn: number; seq: number; durable: boolean; afterResync: boolean }> = [];
  /** Releases the queue in order; what leaves meanwhile (a resync's vector) queues behind the rest. */
  const flush = () => {
    while (queue.length > 0) {
      const v = queue.shift()!;
      leave(v.sub, v.sqn, v.seq, v.durable, v.afterResync);
    }
  };
  const replicate = () => {
    for (const w of pending) replica.set(w.sub, w.value);
    pending = [];
    flush();
  };
  const now = () => clockTicks(t + clockOffset, o.params);

  /** A vector leaves the HSS; after a durable step's WAIT, its write confirms U (itself not durable). */
  const leave = (sub: number, sqn: number, seq: number, durable: boolean, afterResync = false) => {
    if (durable) {
      const cur = primary.get(sub);
      if (cur) {
        const confirmed = confirmTimeSeq(cur, seq);
        if (confirmed !== cur) {
          primary.set(sub, confirmed);
          pending.push({ sub, value: confirmed });
        }
      }
    }
    deliver(sub, sqn, afterResync);
  };

  /** One atomic store step for `sub`, after an optional resynchronisation; its vector leaves now, later (WAIT) or never. */
  const issue = (sub: number, sqnMs?: number): void => {
    const afterResync = sqnMs !== undefined;
    // provisioned at t0 with SQN 0, anchored to the clock then
    let state = primary.get(sub) ?? { seqHe: 0, offset: -clockTicks(o.t0, o.params) };
    if (o.scheme === "counter") {
      let seqHe = state.seqHe;
      if (sqnMs !== undefined) seqHe = resyncSeqHe(seqHe, sqnMs, o.params.indBits);
      const next = nextSqn(seqHe, o.ind, o.params.indBits);
      primary.set(sub, { seqHe: next.seqHe });
      pending.push({ sub, value: { seqHe: next.seqHe } });
      deliver(sub, next.sqn, afterResync);
      return;
    }
    if (sqnMs !== undefined) state = resyncTimeSeq(state, sqnMs, now(), o.params).state;
    if (o.ignoreUnconfirmed) state = { seqHe: state.seqHe, offset: state.offset };
    const step = nextTimeSeq(state, now(), o.params);
    if (step.kind === "exhausted") throw new Error(`SEQ exhausted for subscriber ${sub}`);
    r.rules[step.rule] = (r.rules[step.rule] ?? 0) + 1;
    const value: TimeSeqState = { seqHe: step.seq, offset: step.offset, unconfirmed: step.unconfirmed };
    primary.set(sub, value);
    pending.push({ sub, value });
    const sqn = joinSqn(step.seq, o.ind, o.params.indBits);
    const durable = step.durable && !o.ignoreDurable;
    if (queue.length > 0 || (durable && rand() < (o.slowWaitRate ?? 0))) {
      queue.push({ sub, sqn, seq: step.seq, durable, afterResync });
      return;
    }
    // WAIT 1 returns at once: the replica acknowledged everything up to this write
    if (durable) replicate();
    leave(sub, sqn, step.seq, durable, afterResync);
  };

  /** The USIM judges the SQN (Annex C.2); a refusal leads to a resync and one more vector. */
  const deliver = (sub: number, sqn: number, afterResync: boolean) => {
    r.issued++;
    if (issuedBy[sub].has(sqn)) {
      r.reused++;
      problem(`SQN ${sqn} issued twice to subscriber ${sub}`);
    }
    issuedBy[sub].add(sqn);
    const verdict = checkFreshness(usims[sub], sqn);
    if (verdict.fresh) {
      usims[sub] = acceptSqn(usims[sub], sqn);
      return;
    }
    if (Math.floor(sqn / 2 ** o.params.indBits) <= injectedUpTo[sub]) r.injectedRefusals++;
    else {
      r.staleRefusals++;
      problem(
        `subscriber ${sub}: SQN ${sqn} refused${afterResync ? " after a resync" : ""} (${verdict.reason}), USIM at ${highestSqn(usims[sub])}`,
      );
      if (afterResync) return;
    }
    // the AUTS goes back to the HE, which resynchronises and issues the next vector
    issue(sub, highestSqn(usims[sub]));
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
      // WAITs in flight fail: their vectors are withheld (the BSF answers 503); the others left already
      r.withheld += queue.filter((v) => v.durable).length;
      queue = queue.filter((v) => !v.durable);
      flush();
      r.failovers++;
      continue;
    }
    if (x < o.failoverRate + o.usimAheadRate) {
      const sub = between(0, o.subscribers - 1);
      const arr = usims[sub];
      const top = Math.floor(highestSqn(arr) / 2 ** arr.indBits);
      // refused in the array entry of our IND (Annex C.2.2); another entry would not be checked
      arr.seq[o.ind] = top + between(1, 2 ** 20);
      injectedUpTo[sub] = Math.max(injectedUpTo[sub], arr.seq[o.ind]);
      continue;
    }
    if (rand() < o.replicateRate) replicate();
    const sub = between(0, o.subscribers - 1);
    const n = rand() < o.burstRate ? o.burstSize : 1;
    for (let i = 0; i < n; i++) issue(sub);
  }
  return r;
}
