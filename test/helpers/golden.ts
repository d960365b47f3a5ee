// Pinning for the golden traces (test/golden/, Osmocom .ok style): one clock, the TS 35.208
// test set 1 RAND given by the HSS, counter bytes for every other random source, the volatile
// text (ports, Date) normalised, and the comparison with UPDATE_GOLDEN=1 to regenerate.
import { readFileSync, writeFileSync } from "node:fs";
import { expect } from "vitest";
import { hexToBytes } from "../../wire/bytes.js";
import { IMPI } from "./ue-fake-network.js";
import type { Network } from "./ue-network.js";

export const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
export const clock = () => T0;
/** 35.208 test set 1 */
export const RAND = hexToBytes("23553cbe9637a89d218ae64dae47bf35");
/** SEQ_HE / SQN_MS one below test set 1's SQN ff9bb4d0b607 (IND 7) */
export const SQN_BEFORE = 0xff9bb4d0b5e7;

/** Bytes n, n+1, ... for every call: deterministic and different per call site. */
export function counterBytes(start: number) {
  let next = start;
  return (n: number) => Uint8Array.from({ length: n }, () => next++ & 0xff);
}

/** The HSS's random source: test set 1's RAND for the first vector, counter bytes after. */
export function hssRandom() {
  const fallback = counterBytes(0x40);
  let randGiven = false;
  return (n: number) => {
    if (n === 16 && !randGiven) {
      randGiven = true;
      return RAND.slice();
    }
    return fallback(n);
  };
}

/** AMF b9b9 as in test set 1 (the HSS default is 0000). */
export async function patchAmf(n: Network): Promise<void> {
  const res = await fetch(`${n.hss.urls.admin}/subscribers/${encodeURIComponent(IMPI)}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ amf: "b9b9" }),
  });
  if (res.status !== 200) throw new Error(`PATCH amf: ${res.status} ${await res.text()}`);
}

export function normalise(trace: string): string {
  return trace.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>").replace(/^date: .*$/gim, "date: <date>");
}

/** Compares with test/golden/NAME (UPDATE_GOLDEN=1 writes it first; review the diff). */
export function expectGolden(name: string, trace: string): void {
  const file = new URL(`../golden/${name}`, import.meta.url);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, trace);
  expect(trace).toBe(readFileSync(file, "utf8"));
}
