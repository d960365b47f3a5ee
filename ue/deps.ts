// The UE's sources of time and randomness (types in wire/deps.ts): tests pin cnonces and clocks.
import { randomBytes as nodeRandomBytes } from "node:crypto";
import type { Clock, RandomBytes } from "../wire/deps.js";

export interface UeDeps {
  clock: Clock;
  randomBytes: RandomBytes;
}

export const systemUeDeps: UeDeps = {
  clock: () => Date.now(),
  randomBytes: (n) => new Uint8Array(nodeRandomBytes(n)),
};

export function withUeDeps(partial?: Partial<UeDeps>): UeDeps {
  return { ...systemUeDeps, ...partial };
}
