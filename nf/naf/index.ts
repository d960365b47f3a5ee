// The NAF: Ua authentication as a Fastify plugin (a library for NAF applications), the Zn client,
// the TLS-PSK listener, the authenticating reverse proxy, and the NAF as a running NF.
export { BSF_RETRY_AFTER_SECONDS, isGbaError, NAF_CAUSES, type NafCause, nafProblem } from "./causes.js";
export { checkZnBinding, NAF_PORTS, type NafConfig, nafConfigSection, type ZnBinding, znDiameterDefaults } from "./config.js";
export type { GbaIdentity, GbaKeyKind } from "./identity.js";
export { type GbaNafOptions, gbaNaf, installGbaErrorHandler } from "./plugin.js";
export {
  ASSERTED_IDENTITY_HEADER,
  IMPI_HEADER,
  INTENDED_IDENTITY_HEADER,
  type ProxyRoutesOptions,
  proxyRoutes,
} from "./routes/proxy.js";
export { whoamiRoutes } from "./routes/whoami.js";
export { type NafWorkerOptions, startNaf } from "./start.js";
export type { NonceCountStore, NonceCounts, NonceUse } from "./store.js";
export { LmdbNonceCountStore } from "./store-lmdb.js";
export { NonceCounter } from "./store-memory.js";
export { openNonceCounts, type SharedNonces } from "./store-open.js";
export {
  createTlsPskListener,
  TLS12_PSK_SUITES,
  type TlsPskListener,
  type TlsPskListenerOptions,
  tlsPskSessionOf,
  uaTap,
} from "./tls-psk.js";
export { startZnClient, type ZnSettings, type ZnStartOptions } from "./zn-binding.js";
export { createDiameterZnClient, type DiameterZnClientHandle, type DiameterZnClientOptions } from "./zn-client-diameter.js";
export {
  BsfUnavailable,
  BtidUnknown,
  cachingZnClient,
  createZnClient,
  NafNotAuthorized,
  type ZnAnswer,
  type ZnClient,
  type ZnClientHandle,
  type ZnAsk,
  type ZnClientOptions,
  ZnFailure,
  type ZnFailureCode,
} from "./zn-client.js";
