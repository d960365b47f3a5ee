// The default randomness of the NFs: the OS CSPRNG drawn through a pool (nf/common/deps.ts).
import { describe, expect, it } from "vitest";
import { systemDeps } from "../nf/common/deps.js";

describe("systemDeps.randomBytes", () => {
  it("gives the asked length, also across pool refills and above the pool size", () => {
    for (const n of [0, 1, 16, 32, 4095, 4096, 4097, 10_000]) expect(systemDeps.randomBytes(n)).toHaveLength(n);
  });

  it("never repeats a draw and hands out independent arrays", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const r = systemDeps.randomBytes(16);
      const hex = Buffer.from(r).toString("hex");
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
      r.fill(0);
    }
    expect(seen.size).toBe(2000);
  });

  it("looks uniform: each byte value within 5 sigma over 256 KiB", () => {
    const counts = new Array(256).fill(0);
    for (let i = 0; i < 16_384; i++) for (const b of systemDeps.randomBytes(16)) counts[b]++;
    const mean = (16_384 * 16) / 256;
    const sigma = Math.sqrt(mean * (1 - 1 / 256));
    for (const c of counts) expect(Math.abs(c - mean)).toBeLessThan(5 * sigma);
  });
});
