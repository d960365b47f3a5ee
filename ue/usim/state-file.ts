// The simulated USIM's memory on disk: one JSON file, replaced atomically (write a temporary
// file in the same directory, fsync, rename) and created with mode 0600 because it holds K.
// A card in use writes it in groups through state-writer.ts; reading a file first replays the
// journals a killed process left in its directory, so a reader never sees a state older than
// what was journaled.
import { randomBytes } from "node:crypto";
import { link, open, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { recoverJournals } from "./state-writer.js";
import { stateFromJson, stateToJson, type UsimState, UsimStateError } from "./usim-state.js";

export const STATE_FILE_MODE = 0o600;

export async function loadUsimStateFile(path: string): Promise<UsimState> {
  await recoverJournals(dirname(path));
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsimStateError(
      `cannot read USIM state file ${path}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsimStateError(`USIM state file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return stateFromJson(json, `USIM state file ${path}`);
}

/**
 * Replaces the file atomically: readers see the old or the new content, never a mix, and a
 * crash leaves at worst a stray temporary file. With `exclusive`, fails if the file exists.
 */
export async function saveUsimStateFile(path: string, state: UsimState, options: { exclusive?: boolean } = {}): Promise<void> {
  const text = `${JSON.stringify(stateToJson(state), null, 2)}\n`;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", STATE_FILE_MODE);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    // link() fails with EEXIST instead of replacing: an exclusive create that is still atomic
    if (options.exclusive) await link(tmp, path);
    else await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (options.exclusive) await unlink(tmp);
}

/**
 * Creates a new state file (fails if it exists) in one write, without the temporary file and
 * without fsync: for a directory that nothing reads before its writer is done and that is worth
 * nothing after a crash, as a scenario run's USIMs (the run's work directory is removed with it).
 * 100,000 cards cost 100,000 fsyncs otherwise.
 */
export async function createUsimStateFile(path: string, state: UsimState): Promise<void> {
  await writeFile(path, `${JSON.stringify(stateToJson(state), null, 2)}\n`, { flag: "wx", mode: STATE_FILE_MODE });
}
