// The BSF (TS 33.220 §4.2, §4.5): Ub towards the UE, Zh towards the HSS, Zn towards the NAFs.
// Public exports only.
export { type BsfConfig, bsfConfigSection, type ZnClientConfig } from "./config.js";
export { type RunningBsf, startBsf, SWEEP_INTERVAL_MS } from "./start.js";
export type { BsfSession, BsfStore, PendingChallenge } from "./store.js";
export { LmdbBsfStore } from "./store-lmdb.js";
