// gba/: the GBA protocol shared by the UE and the network functions. Imports milenage/ only.
export * from "./bootstrapping-info.js";
export * from "./btid.js";
export * from "./digest/index.js";
export * from "./gba-u.js";
export * from "./kdf.js";
export * from "./keys.js";
export * from "./ua-id.js";
