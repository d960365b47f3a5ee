// Injectable sources of time and randomness (DESIGN.md: tests pin RAND, nonces, clocks).
import { randomBytes as nodeRandomBytes } from "node:crypto";

export type Clock = () => number;
export type RandomBytes = (n: number) => Uint8Array;

export interface NfDeps {
  /** milliseconds since the epoch */
  clock: Clock;
  randomBytes: RandomBytes;
}

export const systemDeps: NfDeps = {
  clock: () => Date.now(),
  randomBytes: (n) => new Uint8Array(nodeRandomBytes(n)),
};

export function withDeps(partial?: Partial<NfDeps>): NfDeps {
  return { ...systemDeps, ...partial };
}
