// Diameter (RFC 6733) for Zh and Zn (TS 29.109): pure codec, dictionary as data, messages.
export * from "./base.js";
export * from "./codec.js";
export * from "./dictionary.js";
export * from "./guss.js";
export * from "./validate.js";
export * from "./zh.js";
export * from "./zn.js";
export * from "./redact.js";
