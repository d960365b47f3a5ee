// Injectable sources of time and randomness for the UE (DESIGN.md: tests pin cnonces and clocks).
// ue/ never imports nf/, so the two injectables are defined here as well.
import { randomBytes as nodeRandomBytes } from "node:crypto";

/** milliseconds since the epoch */
export type Clock = () => number;
export type RandomBytes = (n: number) => Uint8Array;

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
