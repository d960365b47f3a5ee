// One LMDB environment per NF under <data>/<nf>/ (DESIGN.md "Keys and data at rest").
// LMDB is safe for several processes on one host, so the CLI can write while an NF runs.
import { accessSync, constants, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { open, type RootDatabase } from "lmdb";

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

export interface StoreOptions {
  /** open without write access (e.g. `gba provision list`) */
  readOnly?: boolean;
  /** LMDB map size in bytes; grows automatically, this is the initial size */
  mapSize?: number;
}

export function nfDataDir(dataRoot: string, nf: string): string {
  return join(resolve(dataRoot), nf);
}

/**
 * Opens (creating if needed) the NF's LMDB environment. Fails with a StoreError that names
 * the directory and the cause (read-only, no space, permission) instead of a raw errno.
 */
export function openNfStore(dataRoot: string, nf: string, options: StoreOptions = {}): RootDatabase {
  const dir = nfDataDir(dataRoot, nf);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, options.readOnly ? constants.R_OK : constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new StoreError(`data directory ${dir} is not usable: ${describeFsError(err)}`);
  }
  try {
    return open({
      path: join(dir, "store.mdb"),
      readOnly: options.readOnly,
      mapSize: options.mapSize,
      // durability: every committed transaction is on disk before the commit promise resolves
      noSync: false,
      compression: false,
    });
  } catch (err) {
    throw new StoreError(`cannot open store in ${dir}: ${describeFsError(err)}`);
  }
}

export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "read-only file system";
    case "ENOSPC":
      return "no space left on device";
    case "ENOENT":
      return "does not exist";
    default:
      return e?.message ?? String(err);
  }
}
