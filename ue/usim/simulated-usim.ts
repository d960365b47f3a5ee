// The simulated USIM as a Card: the UICC + USIM applet of usim-applet.ts, in process, with its
// non-volatile memory in a JSON state file (written in groups by state-writer.ts) or only in
// memory.
import { dirname } from "node:path";
import { type Card, CardError, RemovalNotifier, SerialQueue } from "../card/card.js";
import { UICC_ATR } from "./atr.js";
import { loadUsimStateFile } from "./state-file.js";
import { type StateHandle, UsimStateWriter, type UsimStateWriterOptions } from "./state-writer.js";
import { UsimApplet } from "./usim-applet.js";
import { stateFromJson, stateToJson, type UsimState } from "./usim-state.js";

export interface SimulatedUsimOptions {
  /** called with the new state after every command that changed it, before the response is released */
  persist?: (state: UsimState) => Promise<void>;
  description?: string;
}

export interface SimulatedUsimFileOptions extends UsimStateWriterOptions {
  /**
   * true (default): an answer that changed the card leaves once its group is journaled and
   * fsync'd and its file rewritten, as a real card writes its EEPROM before it answers; a
   * SIGKILL loses nothing answered, and a reader of the file sees the answered state. false: the answer leaves at once and a SIGKILL may lose the last flushDelayMs of
   * changes (state-writer.ts says what that means for SQN freshness): for load generators.
   */
  answerAfterCommit?: boolean;
}

export class SimulatedUsim implements Card {
  readonly description: string;
  private readonly applet: UsimApplet;
  private readonly persist: ((state: UsimState) => Promise<void>) | undefined;
  private file: StateHandle | undefined;
  private answerAfterCommit = true;
  private readonly queue = new SerialQueue();
  private readonly removal = new RemovalNotifier();
  private powered = true;
  private closed = false;

  /** A card inserted and powered: the first APDU may follow without reset(). */
  constructor(state: UsimState, options: SimulatedUsimOptions = {}) {
    this.applet = new UsimApplet(cloneState(state));
    this.persist = options.persist;
    this.description = options.description ?? "simulated USIM";
  }

  /**
   * Loads a state file and writes every change back to it in groups (state-writer.ts: journaled
   * and fsync'd within flushDelayMs, the file itself rewritten atomically with mode 0600, durable
   * when close() resolves). Journals a killed process left in the directory are replayed first.
   */
  static async fromFile(path: string, o: SimulatedUsimFileOptions = {}): Promise<SimulatedUsim> {
    const writer = await UsimStateWriter.forDirectory(dirname(path), o);
    const state = await loadUsimStateFile(path);
    const card = new SimulatedUsim(state, { description: `simulated USIM (${path})` });
    card.answerAfterCommit = o.answerAfterCommit ?? true;
    card.file = writer.register(
      path,
      () => card.applet.state,
      (err) => card.removal.fire(`state not saved: ${err.message}`),
      // a card answering after commit keeps its file current too: another process reading it sees each answer's state
      { current: card.answerAfterCommit },
    );
    return card;
  }

  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    return this.queue.run(async () => {
      this.assertUsable();
      if (!this.powered) throw new CardError("NOT_POWERED", `${this.description} is not powered; reset() it first`);
      const { response, changed } = this.applet.process(apdu);
      if (changed && this.file) {
        const committed = this.file.mark(this.answerAfterCommit);
        if (this.answerAfterCommit) {
          try {
            await committed;
          } catch (err) {
            throw new CardError("REMOVED", `${this.description}: state not saved: ${(err as Error).message}`);
          }
        }
      }
      if (changed && this.persist) {
        try {
          await this.persist(this.applet.state);
        } catch (err) {
          // the answer must not leave the card unless its new SQN / keys are on disk
          this.removal.fire(`state not saved: ${(err as Error).message}`);
          throw new CardError("REMOVED", `${this.description}: state not saved: ${(err as Error).message}`);
        }
      }
      return response;
    });
  }

  reset(): Promise<Uint8Array> {
    return this.queue.run(async () => {
      this.assertUsable();
      this.powered = true;
      this.applet.reset();
      return UICC_ATR.slice();
    });
  }

  powerOff(): Promise<void> {
    return this.queue.run(async () => {
      this.assertUsable();
      this.powered = false;
      this.applet.reset();
    });
  }

  /** Closes the card; with a state file, resolves once the file holds the last state durably. */
  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.file?.close();
    });
  }

  onRemoved(listener: (reason: string) => void): () => void {
    return this.removal.on(listener);
  }

  /** Simulates pulling the card out: listeners fire, later commands reject with "REMOVED". */
  remove(reason = "card removed"): void {
    this.removal.fire(reason);
  }

  /** TEST ONLY: a copy of the card memory, K and all. Never reachable through an APDU. */
  debugState(): UsimState {
    return cloneState(this.applet.state);
  }

  /** TEST ONLY: the Ks_int_NAF stored for a NAF_Id (TS 33.220 G.2), which no APDU returns. */
  debugKsIntNaf(nafId: Uint8Array): Uint8Array | undefined {
    const slot = this.applet.state.gbanl.slots.find(
      (s) => s !== null && s.nafId.length === nafId.length && s.nafId.every((b, i) => b === nafId[i]),
    );
    return slot?.ksIntNaf.slice();
  }

  private assertUsable(): void {
    if (this.closed) throw new CardError("CLOSED", `${this.description} is closed`);
    if (this.removal.removed) throw new CardError("REMOVED", `${this.description}: ${this.removal.removalReason}`);
  }
}

function cloneState(s: UsimState): UsimState {
  return stateFromJson(stateToJson(s), "state copy");
}
