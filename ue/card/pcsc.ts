// A Card in a PC/SC reader, through pcscd, with the `smartcard` package (an optional
// dependency loaded on first use; `pcsclite` / `@pokusew/pcsclite` hang on close, this one does
// not). Responses are returned raw: '61 xx' / '6C xx' handling is UsimClient.exchange's job.
import { UeError } from "../errors.js";
import { type Card, CardError, RemovalNotifier, SerialQueue } from "./card.js";

/** The part of the `smartcard` API used here (declared locally: the package is optional). */
interface ScReader {
  readonly name: string;
  readonly state: number;
  connect(shareMode?: number, protocol?: number): Promise<ScCard>;
}
interface ScCard {
  transmit(command: Buffer, options?: { maxRecvLength?: number }): Promise<Buffer>;
  getStatus(): { state: number; protocol: number; atr: Buffer };
  disconnect(disposition?: number): void;
  reconnect(shareMode?: number, protocol?: number, initialization?: number): Promise<number>;
}
interface ScContext {
  listReaders(): ScReader[];
  waitForChange(readers?: ScReader[], timeout?: number): Promise<{ name: string; state: number }[] | null>;
  close(): void;
}
interface ScMonitor {
  start(callback: (event: { type: string; reader: string; state: number }) => void): void;
  stop(): void;
}
interface ScModule {
  Context: new () => ScContext;
  ReaderMonitor: new () => ScMonitor;
  SCARD_SHARE_SHARED: number;
  SCARD_SHARE_EXCLUSIVE: number;
  SCARD_PROTOCOL_T0: number;
  SCARD_PROTOCOL_T1: number;
  SCARD_LEAVE_CARD: number;
  SCARD_RESET_CARD: number;
  SCARD_UNPOWER_CARD: number;
  SCARD_STATE_PRESENT: number;
}

/** pcscd polls card presence a few times a second (every 400 ms in pcsc-lite 1.9): allow two polls and slack */
const REMOVAL_GRACE_MS = 1000;

export type PcscErrorCode = "UNAVAILABLE" | "NO_READER" | "NO_CARD";

/** Opening a PC/SC card failed; the message is one line meant for the user. */
export class PcscError extends UeError<PcscErrorCode> {}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split("\n")[0];

async function loadSmartcard(): Promise<ScModule> {
  try {
    return (await import("smartcard" as string)) as ScModule;
  } catch (err) {
    throw new PcscError("UNAVAILABLE", `PC/SC unavailable: cannot load the optional package "smartcard" (${firstLine(err)})`);
  }
}

function openContext(sc: ScModule): ScContext {
  try {
    return new sc.Context();
  } catch (err) {
    throw new PcscError("UNAVAILABLE", `PC/SC unavailable: ${firstLine(err)} (is pcscd running?)`);
  }
}

export interface PcscReaderInfo {
  name: string;
  cardPresent: boolean;
}

/** The readers pcscd knows, in its order (the index used by `reader: number`). */
export async function listPcscReaders(): Promise<PcscReaderInfo[]> {
  const sc = await loadSmartcard();
  const ctx = openContext(sc);
  try {
    return ctx.listReaders().map((r) => ({ name: r.name, cardPresent: (r.state & sc.SCARD_STATE_PRESENT) !== 0 }));
  } finally {
    ctx.close();
  }
}

export interface PcscOptions {
  /** reader index, or a substring of its name (an exact name wins); default: the first reader with a card */
  reader?: string | number;
  /** SCARD_SHARE_EXCLUSIVE instead of SCARD_SHARE_SHARED */
  exclusive?: boolean;
  /** wait this long for a card to be inserted into the chosen reader (default 0: fail at once) */
  waitForCardMs?: number;
}

function pickReader(sc: ScModule, readers: ScReader[], want: string | number | undefined): ScReader {
  const names = readers.map((r) => `"${r.name}"`).join(", ") || "none";
  if (readers.length === 0) throw new PcscError("NO_READER", "PC/SC: no reader attached to pcscd");
  if (typeof want === "number") {
    const r = readers[want];
    if (!r) throw new PcscError("NO_READER", `PC/SC: no reader with index ${want} (readers: ${names})`);
    return r;
  }
  if (want === undefined) return readers.find((r) => (r.state & sc.SCARD_STATE_PRESENT) !== 0) ?? readers[0];
  const exact = readers.find((r) => r.name === want);
  if (exact) return exact;
  const lower = want.toLowerCase();
  const match = readers.find((r) => r.name.toLowerCase().includes(lower));
  if (!match) throw new PcscError("NO_READER", `PC/SC: no reader name contains "${want}" (readers: ${names})`);
  return match;
}

async function waitForCard(sc: ScModule, ctx: ScContext, reader: ScReader, ms: number): Promise<ScReader> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = ctx.listReaders().find((r) => r.name === reader.name);
    if (!now) throw new PcscError("NO_READER", `PC/SC: reader "${reader.name}" went away`);
    if ((now.state & sc.SCARD_STATE_PRESENT) !== 0) return now;
    const left = deadline - Date.now();
    if (left <= 0) throw new PcscError("NO_CARD", `PC/SC: no card in reader "${reader.name}"`);
    await ctx.waitForChange([now], Math.min(left, 1000));
  }
}

/** Connects to the card in a PC/SC reader. Errors are PcscError with a one-line message. */
export async function openPcscCard(options: PcscOptions = {}): Promise<PcscCard> {
  const sc = await loadSmartcard();
  const ctx = openContext(sc);
  try {
    const reader = await waitForCard(sc, ctx, pickReader(sc, ctx.listReaders(), options.reader), options.waitForCardMs ?? 0);
    const share = options.exclusive ? sc.SCARD_SHARE_EXCLUSIVE : sc.SCARD_SHARE_SHARED;
    let card: ScCard;
    try {
      card = await reader.connect(share, sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1);
    } catch (err) {
      throw new PcscError("NO_CARD", `PC/SC: cannot connect to the card in "${reader.name}": ${firstLine(err)}`);
    }
    return new PcscCard(sc, ctx, reader.name, card, share);
  } catch (err) {
    ctx.close();
    throw err;
  }
}

export class PcscCard implements Card {
  readonly description: string;
  private readonly queue = new SerialQueue();
  private readonly removal = new RemovalNotifier();
  private readonly monitor: ScMonitor;
  private card: ScCard | undefined;
  private closed = false;
  private rejectPending: ((err: CardError) => void) | undefined;

  /** Use openPcscCard(). */
  constructor(
    private readonly sc: ScModule,
    private readonly ctx: ScContext,
    readonly readerName: string,
    card: ScCard,
    private readonly share: number,
  ) {
    this.card = card;
    this.description = `PC/SC reader "${readerName}"`;
    this.monitor = new sc.ReaderMonitor();
    this.monitor.start((e) => {
      if (e.reader !== readerName) return;
      if (e.type === "card-removed") this.removed("card removed from the reader");
      else if (e.type === "reader-detached") this.removed("reader detached");
    });
  }

  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    return this.queue.run(async () => {
      const card = this.connected();
      const removed = new Promise<never>((_, reject) => {
        this.rejectPending = reject;
      });
      try {
        const r = await Promise.race([card.transmit(Buffer.from(apdu), { maxRecvLength: 258 }), removed]);
        if (r.length >= 2) return new Uint8Array(r);
        // no status word: the card went mute (vpcd answers so when its card side disconnects);
        // pcscd notices a removal at its next presence poll, so wait for that before deciding
        const gone = await this.removedWithin(REMOVAL_GRACE_MS);
        const why = `answered ${r.length} byte(s), no status word`;
        throw new CardError(
          gone ? "REMOVED" : "TRANSPORT",
          `${this.description}: ${gone ? `${this.removal.removalReason} (${why})` : why}`,
        );
      } catch (err) {
        if (err instanceof CardError) throw err;
        if (/removed|no smart card/i.test(firstLine(err))) this.removed(firstLine(err));
        if (this.removal.removed) throw new CardError("REMOVED", `${this.description}: ${this.removal.removalReason}`);
        throw new CardError("TRANSPORT", `${this.description}: ${firstLine(err)}`);
      } finally {
        this.rejectPending = undefined;
        removed.catch(() => undefined);
      }
    });
  }

  reset(): Promise<Uint8Array> {
    return this.queue.run(async () => {
      this.assertUsable();
      const protocols = this.sc.SCARD_PROTOCOL_T0 | this.sc.SCARD_PROTOCOL_T1;
      try {
        if (this.card) await this.card.reconnect(this.share, protocols, this.sc.SCARD_RESET_CARD);
        else {
          const reader = this.ctx.listReaders().find((r) => r.name === this.readerName);
          if (!reader) throw new Error("reader went away");
          this.card = await reader.connect(this.share, protocols);
        }
        return new Uint8Array(this.card.getStatus().atr);
      } catch (err) {
        throw new CardError("TRANSPORT", `${this.description}: reset failed: ${firstLine(err)}`);
      }
    });
  }

  powerOff(): Promise<void> {
    return this.queue.run(async () => {
      const card = this.connected();
      this.card = undefined;
      try {
        card.disconnect(this.sc.SCARD_UNPOWER_CARD);
      } catch (err) {
        throw new CardError("TRANSPORT", `${this.description}: power off failed: ${firstLine(err)}`);
      }
    });
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.monitor.stop();
      try {
        this.card?.disconnect(this.sc.SCARD_LEAVE_CARD);
      } catch {
        // the card may be gone already; the context is released below either way
      }
      this.card = undefined;
      this.ctx.close();
    });
  }

  onRemoved(listener: (reason: string) => void): () => void {
    return this.removal.on(listener);
  }

  private removedWithin(ms: number): Promise<boolean> {
    if (this.removal.removed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(false);
      }, ms);
      const off = this.removal.on(() => {
        clearTimeout(timer);
        off();
        resolve(true);
      });
    });
  }

  private removed(reason: string): void {
    this.removal.fire(reason);
    this.rejectPending?.(new CardError("REMOVED", `${this.description}: ${reason}`));
  }

  private assertUsable(): void {
    if (this.closed) throw new CardError("CLOSED", `${this.description} is closed`);
    if (this.removal.removed) throw new CardError("REMOVED", `${this.description}: ${this.removal.removalReason}`);
  }

  private connected(): ScCard {
    this.assertUsable();
    if (!this.card) throw new CardError("NOT_POWERED", `${this.description} is powered off; reset() it first`);
    return this.card;
  }
}
