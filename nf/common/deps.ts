// The NFs' sources of time and randomness (types in wire/deps.ts): tests pin RAND, nonces, clocks.
// And the dashboard's event bus, when one listens: without it an NF's route layer skips the
// event (an optional call whose argument is never built).
import { randomFillSync } from "node:crypto";
import type { Clock, RandomBytes } from "../../wire/deps.js";
import type { EventBus } from "./events.js";
import type { Capture } from "./capture/capture.js";

export interface NfDeps {
  /** milliseconds since the epoch */
  clock: Clock;
  randomBytes: RandomBytes;
  /** the event bus of `gba up --dashboard` and the scenario runner (nf/common/events.ts) */
  events?: EventBus;
  /** `--pcap`: the process's capture of Ub, Ua, Zh and Zn, which every listener and client taps */
  capture?: Capture;
}

const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;

/** The OS CSPRNG, drawn 4 KiB at a time: one call per RAND costs ~3 µs, a copy from the pool ~0.1 µs. */
function pooledRandomBytes(n: number): Uint8Array {
  if (n > POOL_BYTES) return randomFillSync(new Uint8Array(n));
  if (used + n > pool.length) {
    pool = randomFillSync(new Uint8Array(POOL_BYTES));
    used = 0;
  }
  const out = pool.slice(used, used + n);
  pool.fill(0, used, used + n);
  used += n;
  return out;
}

export const systemDeps: NfDeps = {
  clock: () => Date.now(),
  randomBytes: pooledRandomBytes,
};

export function withDeps(partial?: Partial<NfDeps>): NfDeps {
  return { ...systemDeps, ...partial };
}
