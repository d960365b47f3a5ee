// The run's temporary directory (data root, USIM state files with K, configs, logs). Named after
// the runner's pid, so a later run removes the ones a killed runner could not (unless --keep
// marked them to stay).
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "gba-scenario-";
const KEPT_MARK = "KEPT";

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes directories of runs whose process is gone and that were not kept; returns their names. */
export async function sweepStaleWorkDirs(base = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || alive(Number(m[1])) || existsSync(join(base, name, KEPT_MARK))) continue;
    await rm(join(base, name), { recursive: true, force: true }).then(
      () => removed.push(name),
      () => undefined,
    );
  }
  return removed;
}

export function makeWorkDir(base = tmpdir()): Promise<string> {
  return mkdtemp(join(base, `${PREFIX}${process.pid}-`));
}

/** Keeps the directory past this run: later sweeps leave it alone. */
export async function markKept(dir: string): Promise<void> {
  await writeFile(join(dir, KEPT_MARK), "kept with gba scenario run --keep; delete this directory when done (it holds K)\n");
}
