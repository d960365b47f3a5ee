// One LMDB environment per NF under <data>/<nf>/ (docs/architecture.md "Data at rest").
// LMDB is safe for several processes on one host, so the CLI can write while an NF runs.
import { accessSync, constants, existsSync, mkdirSync, statfsSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { dirname, join, resolve } from "node:path";
import { open, type RootDatabase } from "lmdb";

export class StoreError extends Error {
  constructor(
    message: string,
    /** errno name of the file-system cause (ENOSPC, EROFS, ...), when there is one */
    readonly code?: string,
  ) {
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

/** No store of this NF under the data root (read-only commands never create one). */
export class NoStoreError extends StoreError {
  constructor(
    readonly dataRoot: string,
    readonly nf: string,
  ) {
    super(`no ${nf.toUpperCase()} store in ${resolve(dataRoot)} (no ${join(nfDataDir(dataRoot, nf), "store.mdb")})`, "ENOENT");
    this.name = "NoStoreError";
  }
}

/** Throws NoStoreError unless the NF's store exists: for commands that only read or change an existing one. */
export function requireExistingStore(dataRoot: string, nf: string): void {
  if (!existsSync(join(nfDataDir(dataRoot, nf), "store.mdb"))) throw new NoStoreError(dataRoot, nf);
}

/**
 * Opens (creating if needed) the NF's LMDB environment. Fails with a StoreError that names
 * the directory and the cause (read-only, no space, permission) instead of a raw errno.
 */
export function openNfStore(dataRoot: string, nf: string, options: StoreOptions = {}): RootDatabase {
  const dir = nfDataDir(dataRoot, nf);
  try {
    makeDir(dir);
    accessSync(dir, options.readOnly ? constants.R_OK : constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new StoreError(`data directory ${dir} is not usable: ${describeFsError(err)}`, errnoName(err));
  }
  if (!options.readOnly && !existsSync(join(dir, "store.mdb-lock"))) requireFreeSpace(dir);
  try {
    return open({
      path: join(dir, "store.mdb"),
      readOnly: options.readOnly,
      mapSize: options.mapSize,
      // durability: every committed transaction is on disk before the commit promise resolves
      noSync: false,
      compression: false,
      // lmdb-js leaves the promise of an event-turn batch without a handler: a failed commit
      // (disk full) would end the process with an unhandled rejection
      eventTurnBatching: false,
    });
  } catch (err) {
    throw new StoreError(`cannot open store in ${dir}: ${describeFsError(err)}`, errnoName(err));
  }
}

/** mkdir -p; an ancestor that cannot be written is reported as such (recursive mkdir says ENOENT). */
function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if (errnoName(err) !== "ENOENT") throw err;
    let existing = dirname(dir);
    while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
    accessSync(existing, constants.W_OK);
    throw err;
  }
}

/**
 * Below this much free space an NF does not create its store: LMDB writes its new lock file
 * through a memory map, and a page that cannot be allocated there ends the process with SIGBUS.
 */
export const MIN_FREE_BYTES = 1024 * 1024;

function requireFreeSpace(dir: string): void {
  const s = statfsSync(dir);
  const free = s.bavail * s.bsize;
  if (free < MIN_FREE_BYTES) {
    throw new StoreError(
      `data directory ${dir} is not usable: no space left on device (${Math.floor(free / 1024)} KiB free, ${MIN_FREE_BYTES / 1024} KiB needed)`,
      "ENOSPC",
    );
  }
}

/** errno name of an fs error (code "ENOSPC") or of an lmdb-js one (code 28). */
function errnoName(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  if (typeof code !== "number") return undefined;
  return Object.entries(osConstants.errno).find(([, n]) => n === code)?.[0];
}

/**
 * The StoreError behind a failed LMDB write: lmdb-js rejects every write of a failed commit
 * with "Commit failed" and the cause (e.g. ENOSPC) in the promise `commitError`. Undefined for
 * errors that are not about the store.
 */
export async function storeWriteFailure(err: unknown): Promise<StoreError | undefined> {
  if (err instanceof StoreError) return err;
  const pending = (err as { commitError?: unknown } | null)?.commitError;
  if (!(pending instanceof Promise)) return undefined;
  const cause = await pending.then(
    () => undefined,
    (e: unknown) => e,
  );
  const code = errnoName(cause);
  return new StoreError(`cannot write to the store: ${describeFsError(code ? { code } : cause)}`, code);
}

export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (errnoName(e)) {
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
