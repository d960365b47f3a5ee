// Captures of the reference points as pcapng, for Wireshark.
export * from "./capture.js";
export * from "./pcapng.js";
