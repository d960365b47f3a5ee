// The Diameter node every NF uses for its Diameter reference points (RFC 6733 over TCP).
export * from "./connection.js";
export * from "./node.js";
export * from "./config.js";
export * from "./nf-node.js";
