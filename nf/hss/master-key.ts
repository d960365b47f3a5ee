// The master key that seals K and OPc (docs/architecture.md "Data at rest"): GBA_MASTER_KEY
// (64 hex digits) or <data>/hss/master.key, created with mode 0600 on first start.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bytesToHex, HexError, hexToBytes } from "../../wire/bytes.js";
import { ConfigError } from "../common/config.js";
import { describeFsError, StoreError } from "../common/store.js";

export const MASTER_KEY_ENV = "GBA_MASTER_KEY";
export const MASTER_KEY_FILE = "master.key";
const KEY_BYTES = 32;

export interface MasterKey {
  key: Uint8Array;
  /** where it came from, for the start-up log line (never the key itself) */
  source: string;
}

function parseKey(text: string, where: string, ErrorType: typeof ConfigError | typeof StoreError): Uint8Array {
  try {
    return hexToBytes(text.trim(), where, KEY_BYTES);
  } catch (err) {
    if (err instanceof HexError) throw new ErrorType(`${err.message}: the master key is 64 hex digits (32 bytes)`);
    throw err;
  }
}

function readKeyFile(path: string): Uint8Array | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StoreError(`cannot read master key ${path}: ${describeFsError(err)}`);
  }
  return parseKey(text, path, StoreError);
}

/**
 * The environment wins over the file. Without either, a new key is written to the file only
 * when `mayCreate` (an empty store); a store that already holds secrets never gets a fresh key.
 */
export function loadMasterKey(hssDir: string, mayCreate: boolean, env: NodeJS.ProcessEnv = process.env): MasterKey {
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "")
    return { key: parseKey(fromEnv, MASTER_KEY_ENV, ConfigError), source: MASTER_KEY_ENV };
  const path = join(hssDir, MASTER_KEY_FILE);
  const existing = readKeyFile(path);
  if (existing) return { key: existing, source: path };
  if (!mayCreate) {
    throw new StoreError(
      `the store in ${hssDir} holds encrypted subscribers but there is no master key: set ${MASTER_KEY_ENV} or restore ${path}`,
    );
  }
  const key = new Uint8Array(randomBytes(KEY_BYTES));
  try {
    // "wx": two processes starting at once must not both create (and the loser overwrite) a key
    writeFileSync(path, `${bytesToHex(key)}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return { key: readKeyFile(path)!, source: path };
    throw new StoreError(`cannot create master key ${path}: ${describeFsError(err)}`);
  }
  return { key, source: `${path} (created)` };
}
