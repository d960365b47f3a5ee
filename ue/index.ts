// ue/: the UE side of GBA. Card layer (SimulatedUsim, PcscCard, UsimClient), device middleware
// (GbaMiddleware), Ub client, and the client application API (GbaClient: getKsNaf, gbaFetch,
// tlsPskConnect). Never imports nf/.
export { type Card, CardError } from "./card/card.js";
export { openPcscCard, PcscError } from "./card/pcsc.js";
export type { Clock, RandomBytes } from "../wire/deps.js";
export { systemUeDeps, type UeDeps } from "./deps.js";
export { UeError } from "./errors.js";
export { bsfFqdnFromImsi, IdentityError, impiFromImsi } from "./impi.js";
export {
  type AkaInsight,
  type BootstrapInfo,
  type DeletionReason,
  GbaMiddleware,
  type GbaMode,
  MiddlewareError,
  type MiddlewareOptions,
  type NafKey,
} from "./middleware/gba-middleware.js";
export { type CardSource, openUe, type Ue, type UeOptions } from "./open-ue.js";
export { TextTracer, noTrace, type Tracer } from "./trace.js";
export { GbaClient } from "./ua/client.js";
export { type GbaRequestInit, UaClient, type UaClientOptions, UaError } from "./ua/gba-fetch.js";
export {
  DEFAULT_TLS12_PSK_SUITES,
  type GbaTlsSocket,
  httpOverTls,
  TlsPskError,
  type TlsPskOptions,
  tlsPskConnect,
} from "./ua/tls-psk.js";
export { type AkaRunner, runUbBootstrap } from "./ub/client.js";
export {
  type AkaOutcome,
  type HttpAnswer,
  type UbChallenge,
  type UbDeviation,
  UbError,
  type UbRequest,
  type UbResult,
  UbRun,
  type UbStep,
  ubHeaders,
} from "./ub/run.js";
export { SimulatedUsim } from "./usim/simulated-usim.js";
export { CardStatusError, UsimClient } from "./usim/usim-client.js";
