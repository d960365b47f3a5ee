export * from "./aes.js";
export * from "./aka.js";
export * from "./milenage.js";
export * from "./sqn.js";
