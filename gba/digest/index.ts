export * from "./aka.js";
export * from "./compute.js";
export * from "./errors.js";
export * from "./format.js";
export * from "./parse.js";
export * from "./nonce.js";
export * from "./server.js";
