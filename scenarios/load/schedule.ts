// When load-phase arrivals happen: a fixed rate (evenly spaced or Poisson) with an optional
// linear ramp, as offsets from the start of the phase. Arrivals are placed by inverting the
// cumulative arrival count Λ(t) = ∫ rate, so a ramp never drifts and a Poisson process stays
// exact under the ramp (a unit-rate Poisson process in Λ-space).

export interface RateSchedule {
  /** target arrivals per second once the ramp is over */
  rate: number;
  /** seconds of linear ramp from 0 to rate */
  rampSeconds: number;
  poisson: boolean;
  /** stop after this many seconds (arrivals at t ≥ duration are not made) */
  durationSeconds?: number;
  /** stop after this many arrivals */
  count?: number;
}

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleError";
  }
}

/** Λ(t): expected arrivals by t seconds. */
export function expectedArrivals(s: Pick<RateSchedule, "rate" | "rampSeconds">, t: number): number {
  if (t <= 0) return 0;
  const { rate, rampSeconds: ramp } = s;
  if (ramp <= 0) return rate * t;
  if (t < ramp) return (rate * t * t) / (2 * ramp);
  return (rate * ramp) / 2 + rate * (t - ramp);
}

/** Λ⁻¹(n): the time in seconds at which n arrivals are expected. */
export function timeOfArrival(s: Pick<RateSchedule, "rate" | "rampSeconds">, n: number): number {
  const { rate, rampSeconds: ramp } = s;
  if (n <= 0) return 0;
  if (ramp <= 0) return n / rate;
  const atRampEnd = (rate * ramp) / 2;
  if (n < atRampEnd) return Math.sqrt((2 * ramp * n) / rate);
  return ramp + (n - atRampEnd) / rate;
}

/**
 * Arrival offsets in ms. Evenly spaced: the k-th arrival (k = 0, 1, ...) at Λ⁻¹(k + ½) so the
 * count by any time t is Λ(t) rounded. Poisson: Λ⁻¹ of the partial sums of Exp(1) draws.
 * `random` returns uniform numbers in [0, 1).
 */
export function* arrivalOffsets(s: RateSchedule, random: () => number = Math.random): Generator<number> {
  if (!(s.rate > 0)) throw new ScheduleError("rate must be > 0");
  if (s.durationSeconds === undefined && s.count === undefined)
    throw new ScheduleError("a load phase needs a duration or a count");
  let cumulative = 0;
  for (let k = 0; s.count === undefined || k < s.count; k++) {
    if (s.poisson) cumulative += -Math.log(1 - random());
    else cumulative = k + 0.5;
    const t = timeOfArrival(s, cumulative);
    if (s.durationSeconds !== undefined && t >= s.durationSeconds) return;
    yield t * 1000;
  }
}

/** A deterministic uniform generator (mulberry32) for reproducible Poisson arrivals. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
