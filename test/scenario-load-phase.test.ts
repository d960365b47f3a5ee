// The load phase's arrival schedule (even, ramped, Poisson), its bounded scheduler over a device
// pool, the percentile arithmetic of the report, and how OBUs are shared among device groups.
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { driveLoad, type LoadPlan } from "../scenarios/load/driver.js";
import { arrivalOffsets, expectedArrivals, seededRandom, timeOfArrival } from "../scenarios/load/schedule.js";
import { groupCounts } from "../scenarios/plan.js";
import { percentile, StepSamples } from "../scenarios/stats.js";

const plan = (p: Partial<LoadPlan>): LoadPlan => ({
  mode: "rate",
  rate: 10,
  poisson: false,
  rampSeconds: 0,
  graceSeconds: 5,
  ...p,
});

describe("arrival schedule", () => {
  it("Λ⁻¹ inverts Λ, with and without a ramp", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 30, noNaN: true }),
        fc.double({ min: 0, max: 60, noNaN: true }),
        (rate, ramp, t) => {
          const s = { rate, rampSeconds: ramp };
          expect(timeOfArrival(s, expectedArrivals(s, t))).toBeCloseTo(t, 6);
        },
      ),
    );
  });

  it("evenly spaced: rate × duration arrivals, 1/rate apart", () => {
    const at = [...arrivalOffsets({ rate: 10, rampSeconds: 0, poisson: false, durationSeconds: 2 })];
    expect(at).toHaveLength(20);
    expect(at[0]).toBeCloseTo(50, 6);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeCloseTo(100, 6);
  });

  it("a linear ramp: half the rate's arrivals during the ramp, then the full rate", () => {
    const at = [...arrivalOffsets({ rate: 12, rampSeconds: 2, poisson: false, durationSeconds: 5 })];
    // Λ(t) = 12·t²/4 during the ramp: Λ(1) = 3, Λ(2) = 12; then 12 per second: Λ(5) = 48
    expect(at).toHaveLength(48);
    const inSecond = (s: number) => at.filter((t) => t >= s * 1000 && t < (s + 1) * 1000).length;
    expect([0, 1, 2, 3, 4].map(inSecond)).toEqual([3, 9, 12, 12, 12]);
  });

  it("stops at count before the duration", () => {
    expect([...arrivalOffsets({ rate: 10, rampSeconds: 0, poisson: false, durationSeconds: 100, count: 7 })]).toHaveLength(7);
  });

  it("Poisson: the mean rate holds and gaps vary like an exponential (coefficient of variation ≈ 1)", () => {
    const at = [...arrivalOffsets({ rate: 50, rampSeconds: 0, poisson: true, durationSeconds: 100 }, seededRandom(7))];
    // 5000 expected, σ = √5000 ≈ 71
    expect(Math.abs(at.length - 5000)).toBeLessThan(300);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
    expect(mean).toBeGreaterThan(18);
    expect(mean).toBeLessThan(22);
    expect(sd / mean).toBeGreaterThan(0.9);
    expect(sd / mean).toBeLessThan(1.1);
    // the same seed gives the same arrivals
    expect([...arrivalOffsets({ rate: 50, rampSeconds: 0, poisson: true, durationSeconds: 1 }, seededRandom(7))]).toEqual(
      at.filter((t) => t < 1000),
    );
  });

  it("needs a duration or a count", () => {
    expect(() => [...arrivalOffsets({ rate: 1, rampSeconds: 0, poisson: false })]).toThrow("a duration or a count");
  });
});

describe("load scheduler", () => {
  it("holds the arrival rate, and never gives one device two flows at once", async () => {
    const devices = ["a", "b", "c"];
    const busy = new Set<string>();
    let overlap = false;
    const o = await driveLoad(plan({ rate: 20, durationSeconds: 1 }), devices, async (d) => {
      if (busy.has(d)) overlap = true;
      busy.add(d);
      await sleep(30);
      busy.delete(d);
    });
    expect(overlap).toBe(false);
    expect(o.arrivals).toBe(20);
    expect(o.started).toBe(20);
    expect(o.completed).toBe(20);
    expect(o.notStarted).toBe(0);
    expect(o.unfinished).toBe(0);
    expect(o.maxInFlight).toBeLessThanOrEqual(3);
    expect(o.arrivalWindowMs).toBeGreaterThan(950);
    expect(o.arrivalWindowMs).toBeLessThan(1300);
  });

  it("arrivals still waiting for a device when the phase ends are not started", async () => {
    // arrivals at 50, 150, 250, 350, 450 ms; one device busy 300 ms per flow
    const o = await driveLoad(plan({ rate: 10, durationSeconds: 0.5 }), ["only"], () => sleep(300));
    expect(o.arrivals).toBe(5);
    expect(o.started).toBe(2);
    expect(o.completed).toBe(2);
    expect(o.notStarted).toBe(3);
  });

  it("a flow that never ends is left after the grace period, counted as unfinished", async () => {
    const t0 = performance.now();
    const o = await driveLoad(plan({ rate: 10, count: 1, graceSeconds: 0.2 }), ["x"], () => new Promise(() => undefined));
    expect(o.unfinished).toBe(1);
    expect(o.completed).toBe(0);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("concurrency mode keeps N flows running back to back", async () => {
    let running = 0;
    let peak = 0;
    const o = await driveLoad(plan({ mode: "concurrency", concurrency: 2, count: 10 }), ["a", "b", "c"], async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(10);
      running--;
    });
    expect(o.arrivals).toBe(10);
    expect(o.completed).toBe(10);
    expect(peak).toBe(2);
  });

  it("the in-flight bound: arrivals beyond maxInFlight admitted flows are shed (counted, with their time), never queued", async () => {
    // 40 arrivals/s for 1 s; flows take 400 ms on any of 10 devices; at most 5 admitted at once
    let admittedPeak = 0;
    let running = 0;
    const o = await driveLoad(
      plan({ rate: 40, durationSeconds: 1, maxInFlight: 5 }),
      Array.from({ length: 10 }, (_, i) => i),
      async () => {
        running++;
        admittedPeak = Math.max(admittedPeak, running);
        await sleep(400);
        running--;
      },
    );
    expect(o.arrivals).toBe(40);
    expect(o.arrivalAtMs).toHaveLength(40);
    expect(admittedPeak).toBe(5);
    expect(o.inFlightBound).toBe(5);
    expect(o.started + o.shed).toBe(40);
    expect(o.shed).toBeGreaterThanOrEqual(25);
    expect(o.shedAtMs).toHaveLength(o.shed);
    // the first five arrivals are admitted, the sixth (at 137.5 ms) finds the bound
    expect(o.shedAtMs[0]).toBeGreaterThan(100);
    expect(o.notStarted).toBe(0);
  });

  it("arrivals waiting for a device count against the bound", async () => {
    // arrivals at 25, 75, ..., 475 ms; one device busy 300 ms per flow; bound 2 (one running, one
    // waiting): 125-275 shed, 325 shed or admitted as the first flow ends, 375 waits, 425 and 475
    // shed; the waiting one is dropped when the arrivals end
    const o = await driveLoad(plan({ rate: 20, durationSeconds: 0.5, maxInFlight: 2, graceSeconds: 2 }), ["only"], () =>
      sleep(300),
    );
    expect(o.arrivals).toBe(10);
    expect(o.started).toBe(2);
    expect(o.started + o.notStarted + o.shed).toBe(10);
    expect(o.shed).toBeGreaterThanOrEqual(6);
  });

  it("an abort stops the arrivals", async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const o = await driveLoad(plan({ rate: 20, durationSeconds: 10 }), ["a", "b"], () => sleep(5), stop.signal);
    expect(o.arrivals).toBeGreaterThan(1);
    expect(o.arrivals).toBeLessThan(8);
  });
});

describe("report arithmetic", () => {
  it("nearest-rank percentiles", () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([50, 90, 95, 99, 100].map((p) => percentile(s, p))).toEqual([50, 90, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });

  it("failed samples are counted, not timed", () => {
    const s = new StepSamples();
    for (const ms of [10, 20, 30]) s.add(ms, true);
    s.add(5000, false);
    expect(s.figures()).toMatchObject({ count: 4, ok: 3, failed: 1, p50: 20, max: 30, mean: 20 });
  });
});

describe("OBUs per device group", () => {
  it("groups without a count share deviceCount; fixed counts and subscriber groups stay", () => {
    const free = (name: string) => ({ name });
    expect(
      groupCounts([free("a"), free("b"), free("c"), free("d"), { name: "x", count: 1 }, { name: "y", subscriber: "s" }], 20),
    ).toEqual([5, 5, 5, 5, 1, 1]);
    expect(groupCounts([free("a"), free("b"), free("c"), free("d")], 10)).toEqual([3, 3, 2, 2]);
    expect(groupCounts([free("a"), free("b")], 1)).toEqual([1, 0]);
  });
});
