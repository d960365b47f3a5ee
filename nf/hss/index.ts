// The HSS (TS 33.220 §4.2; TS 29.562 Zh): encrypted subscriber store, AuC with durable SQN, Zh and
// the provisioning API, each on its own listener. Public exports only.
export { type HssConfig, hssConfigSection } from "./config.js";
export { CHECKPOINT_CHUNK, hssStarter, startHss } from "./start.js";
export { type AuthFailure, ExistsError, type HssStore, viewOf } from "./store.js";
export { LmdbHssStore } from "./store-lmdb.js";
