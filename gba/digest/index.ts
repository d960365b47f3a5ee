export * from "./aka.js";
export * from "./compute.js";
export * from "./errors.js";
export * from "./format.js";
export * from "./parse.js";
