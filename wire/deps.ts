// Injectable sources of time and randomness, one definition for the NFs (nf/common/deps.ts) and
// the UE (ue/deps.ts): tests pin RAND, nonces, cnonces and clocks through them.

/** milliseconds since the epoch */
export type Clock = () => number;

/** n bytes from a CSPRNG (or a pinned sequence in tests) */
export type RandomBytes = (n: number) => Uint8Array;
