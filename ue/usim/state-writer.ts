// Simulated USIM state kept in memory and written durably in groups (group commit), so that a
// load generator running thousands of cards does not open, write, fsync and rename a file on
// every AUTHENTICATE.
//
// One writer per directory of state files and per thread (files <dir>/<card>.json):
// - A change marks the card dirty; the answer leaves the card at once.
// - flush (at most flushDelayMs after the first change, or at once when maxBatch cards are
//   dirty): the current state of every dirty card is appended to the writer's journal
//   <dir>/.usim-journal-<pid>-<thread>.jsonl in one write and made durable with ONE fsync.
// - refresh (every refreshMs while cards change): the state files themselves are rewritten
//   atomically (temporary file + rename) without fsync, so a reader of a file (`gba usim show`)
//   is at most refreshMs behind; the journal, not the file, is what is durable meanwhile. A card
//   registered as `current` has its file rewritten with each group instead.
// - compact (the journal passed maxJournalBytes): every file written since the journal was
//   last emptied is fsync'd, then the journal is emptied.
// - close of a card: its state file is written and fsync'd before close() resolves (a
//   `gba usim` / `gba ue` command that exits normally leaves a durable, current file); close of
//   the writer's last card (or writer.close()) also removes the journal.
// - recovery: the first open of a state file in a directory replays the journals left there by
//   processes that no longer run (SIGKILL, power loss): for each card the last journaled state
//   is written to its file (fsync), then the journal is removed. A torn last line (a write cut
//   short) is ignored: it was never fsync'd.
//
// What a kill -9 (or a power loss) loses: the changes of the last flushDelayMs (default 20 ms,
// fewer when maxBatch cards changed first) whose batch was not yet fsync'd. For a USIM that loss
// is an SQN array (TS 33.102 Annex C) that moved less far than the answers that left the card:
// after the restart the card would accept those SQNs once more. The HSS never issues an SQN
// twice, so no genuine challenge is affected; a recorded challenge replayed at the restarted
// card within that window would be accepted, which a real USIM (EEPROM write before the
// response) would refuse. The emulator accepts this window for load; the card path that must
// be exact (`persist` option of SimulatedUsim) still writes before it answers.
import { randomBytes } from "node:crypto";
import * as nodeFs from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { threadId } from "node:worker_threads";
import { STATE_FILE_MODE } from "./state-file.js";
import { stateFromJson, stateToJson, type UsimState } from "./usim-state.js";

/** The file system calls the writer makes: injectable, so tests can count fsyncs and fail writes. */
export type StateFs = Pick<typeof nodeFs, "open" | "rename" | "unlink" | "readdir" | "readFile">;

export interface UsimStateWriterOptions {
  /** longest time a change waits before its group is journaled and fsync'd (ms) */
  flushDelayMs?: number;
  /** a group is flushed at once when this many cards are dirty */
  maxBatch?: number;
  /** state files are rewritten (no fsync) at most this often while cards change (ms) */
  refreshMs?: number;
  /** the journal is compacted beyond this size */
  maxJournalBytes?: number;
  fs?: StateFs;
  /** is this process still running? (recovery leaves the journals of live processes alone) */
  alive?: (pid: number) => boolean;
}

export const DEFAULT_WRITER_OPTIONS = {
  flushDelayMs: 20,
  maxBatch: 256,
  refreshMs: 1000,
  maxJournalBytes: 64 * 1024 * 1024,
} as const;

const JOURNAL = /^\.usim-journal-(\d+)-(\d+)\.jsonl$/;

interface Card {
  path: string;
  state: () => UsimState;
  /** the writer could not save this card's state: the card must stop answering */
  onFailure: (err: Error) => void;
  /** its file is rewritten with every group that holds it, not only at refresh */
  current: boolean;
}

/** What a card holds: mark() after each change, close() when the card is closed. */
export interface StateHandle {
  /**
   * Records a change; resolves once the group holding it is journaled and fsync'd. Urgent: the
   * group is flushed as soon as the one before it is done, without waiting for flushDelayMs.
   */
  mark(urgent?: boolean): Promise<void>;
  close(): Promise<void>;
}

interface Group {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // nobody may wait for a group (cards that answer before the commit)
  done.catch(() => undefined);
  return { done, resolve, reject };
}

function defaultAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Atomic replace of a state file through `fs`: temporary file, optional fsync, rename. */
export async function writeStateFile(fs: StateFs, path: string, state: UsimState, sync: boolean): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fh = await fs.open(tmp, "wx", STATE_FILE_MODE);
  try {
    await fh.writeFile(`${JSON.stringify(stateToJson(state), null, 2)}\n`);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function syncPath(fs: StateFs, path: string): Promise<void> {
  const fh = await fs.open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const writers = new Map<string, UsimStateWriter>();
/** directory → its recovery (callers racing for one directory all wait for the same one) */
const recovered = new Map<string, Promise<string[]>>();

export class UsimStateWriter {
  private readonly o: Required<Omit<UsimStateWriterOptions, "fs" | "alive">>;
  private readonly fs: StateFs;
  private readonly journalPath: string;
  private readonly cards = new Set<Card>();
  private readonly dirty = new Set<Card>();
  /** written since the last refresh (stale files) */
  private readonly stale = new Set<Card>();
  /** files rewritten without fsync since the journal was last emptied */
  private readonly unsynced = new Set<string>();
  private journal: nodeFs.FileHandle | undefined;
  private journalBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** the group the dirty cards will be journaled in */
  private group: Group | undefined;
  /** an urgent change waits: flush as soon as no group is in flight */
  private urgent = false;
  private inFlight = 0;
  /** the flushes, one after another */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly dir: string,
    o: UsimStateWriterOptions = {},
  ) {
    this.o = { ...DEFAULT_WRITER_OPTIONS, ...o } as typeof this.o;
    this.fs = o.fs ?? nodeFs;
    this.journalPath = join(dir, `.usim-journal-${process.pid}-${threadId}.jsonl`);
  }

  /**
   * The shared writer of a directory in this thread, after the journals that dead processes left
   * there were replayed (once per directory and process).
   */
  static async forDirectory(dir: string, o: UsimStateWriterOptions = {}): Promise<UsimStateWriter> {
    const key = resolve(dir);
    await recoverJournals(key, o);
    let w = writers.get(key);
    if (!w || w.closed) {
      w = new UsimStateWriter(key, o);
      writers.set(key, w);
    }
    return w;
  }

  /**
   * A card's state file. `current`: the file is rewritten (no fsync) with every group holding a
   * change of the card, before the group resolves, so other readers of the file see each answer's
   * state; otherwise at refresh.
   */
  register(path: string, state: () => UsimState, onFailure: (err: Error) => void, o: { current?: boolean } = {}): StateHandle {
    if (this.closed) throw new Error(`USIM state writer for ${this.dir} is closed`);
    const card: Card = { path, state, onFailure, current: o.current ?? false };
    this.cards.add(card);
    return {
      mark: (urgent = false) => this.mark(card, urgent),
      close: () => this.release(card),
    };
  }

  /** Journals the cards dirty now as one group (one write, one fsync), after the groups before it. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.urgent = false;
    const batch = [...this.dirty];
    const group = this.group;
    this.dirty.clear();
    this.group = undefined;
    this.inFlight++;
    const run = this.chain
      .then(() => this.journalGroup(batch))
      .finally(() => {
        this.inFlight--;
        // urgent changes that came while this group was written go next, as one group
        if (this.urgent && this.inFlight === 0) void this.flush().catch(() => undefined);
      });
    run.then(
      () => group?.resolve(),
      (err: Error) => group?.reject(err),
    );
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Flushes, writes every card's file durably and removes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (writers.get(this.dir) === this) writers.delete(this.dir);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    await this.flush().catch(() => undefined);
    const run = this.chain.then(async () => {
      for (const c of this.cards) await writeStateFile(this.fs, c.path, c.state(), true);
      await syncPath(this.fs, this.dir);
      await this.emptyJournal(true);
    });
    this.chain = run.catch(() => undefined);
    await run;
  }

  private mark(card: Card, urgent: boolean): Promise<void> {
    this.dirty.add(card);
    this.stale.add(card);
    this.group ??= newGroup();
    const done = this.group.done;
    if (urgent && !this.urgent) {
      this.urgent = true;
      // the changes of this event-loop turn join the group; one in flight takes them when done
      if (this.inFlight === 0) setImmediate(() => this.urgent && this.inFlight === 0 && void this.flush().catch(() => undefined));
    }
    if (this.dirty.size >= this.o.maxBatch) void this.flush().catch(() => undefined);
    else this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.o.flushDelayMs);
    // unref'd: a process that ends without closing its cards is not held up by it
    this.refreshTimer ??= setTimeout(() => {
      this.refreshTimer = undefined;
      this.chain = this.chain.then(() => this.refresh()).catch(() => undefined);
    }, this.o.refreshMs).unref();
    return done;
  }

  private async release(card: Card): Promise<void> {
    // its last change journaled, then its file written and fsync'd
    await this.flush().catch(() => undefined);
    const run = this.chain.then(async () => {
      this.stale.delete(card);
      this.cards.delete(card);
      await writeStateFile(this.fs, card.path, card.state(), true);
    });
    this.chain = run.catch(() => undefined);
    try {
      await run;
    } catch (err) {
      card.onFailure(err as Error);
      throw err;
    }
    if (this.cards.size === 0) await this.close();
  }

  private async journalGroup(batch: Card[]): Promise<void> {
    if (batch.length === 0) return;
    const text = batch.map((c) => `${JSON.stringify({ file: basename(c.path), state: stateToJson(c.state()) })}\n`).join("");
    try {
      this.journal ??= await this.fs.open(this.journalPath, "a", STATE_FILE_MODE);
      await this.journal.write(text);
      await this.journal.sync();
      this.journalBytes += Buffer.byteLength(text);
      for (const c of batch) {
        if (!c.current) continue;
        await writeStateFile(this.fs, c.path, c.state(), false);
        this.unsynced.add(c.path);
        this.stale.delete(c);
      }
      if (this.journalBytes > this.o.maxJournalBytes) await this.compact();
    } catch (err) {
      for (const c of batch) c.onFailure(err as Error);
      throw err;
    }
  }

  /** Rewrites the stale state files, without fsync: the journal holds their durable state. */
  private async refresh(): Promise<void> {
    const cards = [...this.stale];
    this.stale.clear();
    for (const c of cards) {
      await writeStateFile(this.fs, c.path, c.state(), false);
      this.unsynced.add(c.path);
    }
  }

  /** Makes the files durable (fsync) and empties the journal. */
  private async compact(): Promise<void> {
    await this.refresh();
    for (const path of this.unsynced) await syncPath(this.fs, path);
    // the renames too (a directory entry is made durable by an fsync of the directory)
    await syncPath(this.fs, this.dir);
    await this.emptyJournal(false);
  }

  private async emptyJournal(remove: boolean): Promise<void> {
    this.unsynced.clear();
    this.journalBytes = 0;
    if (remove) {
      await this.journal?.close();
      this.journal = undefined;
      await this.fs.unlink(this.journalPath).catch(() => undefined);
    } else if (this.journal) {
      await this.journal.truncate(0);
      await this.journal.sync();
    }
  }
}

/**
 * Replays the journals that processes no longer running left in `dir`: the last state of each
 * card is written to its file (fsync), then the journal is removed. Once per directory and process.
 */
export function recoverJournals(dir: string, o: UsimStateWriterOptions = {}): Promise<string[]> {
  const key = resolve(dir);
  let r = recovered.get(key);
  if (!r) {
    r = replayDeadJournals(key, o);
    recovered.set(key, r);
  }
  return r;
}

async function replayDeadJournals(key: string, o: UsimStateWriterOptions): Promise<string[]> {
  const fs = o.fs ?? nodeFs;
  const alive = o.alive ?? defaultAlive;
  let names: string[];
  try {
    names = await fs.readdir(key);
  } catch {
    return [];
  }
  const replayed: string[] = [];
  for (const name of names) {
    const m = JOURNAL.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const last = new Map<string, UsimState>();
    const text = await fs.readFile(join(key, name), "utf8");
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        const r = JSON.parse(line) as { file: string; state: unknown };
        if (basename(r.file) !== r.file) continue;
        last.set(r.file, stateFromJson(r.state, `${name}: ${r.file}`));
      } catch {
        // a torn last line: its batch was never fsync'd, so nothing was promised for it
      }
    }
    for (const [file, state] of last) await writeStateFile(fs, join(key, file), state, true);
    await fs.unlink(join(key, name));
    replayed.push(name);
  }
  return replayed;
}
