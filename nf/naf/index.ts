// The NAF: Ua authentication as a Fastify plugin, the Zn client, the TLS-PSK listener and the
// authenticating reverse proxy.
export * from "./errors.js";
export { NonceCounter, type NonceCounts } from "./nonce.js";
export type { GbaIdentity, GbaKeyKind } from "./identity.js";
export { type GbaNafOptions, gbaNaf } from "./plugin.js";
export { ASSERTED_IDENTITY_HEADER, IMPI_HEADER, INTENDED_IDENTITY_HEADER, registerGbaProxy } from "./proxy.js";
export { installGbaErrorHandler, type NafWorkerOptions, registerWhoami, startNaf } from "./server.js";
export { SharedNonceCounts } from "./shared-nonce-counts.js";
export {
  createTlsPskListener,
  TLS12_PSK_SUITES,
  type TlsPskListener,
  type TlsPskListenerOptions,
  tlsPskSessionOf,
} from "./tls-psk.js";
export {
  BsfUnavailable,
  BtidUnknown,
  createZnClient,
  NafNotAuthorized,
  type ZnAnswer,
  type ZnClient,
  type ZnClientHandle,
  type ZnClientOptions,
} from "./zn-client.js";
