// The card interface of the UE (docs/architecture.md "The UE"): the device middleware talks to a UICC
// only through APDUs, so the simulated USIM and a PC/SC card are interchangeable.
import { UeError } from "../errors.js";

/**
 * A UICC reached through APDUs (ETSI TS 102 221 §10). Implementations: SimulatedUsim
 * (in-process, ue/usim/simulated-usim.ts) and PcscCard (a reader through pcscd, ue/card/pcsc.ts).
 *
 * Calls are serialised by the implementation: a transmit issued while another is pending
 * waits for it (one APDU at a time, as on the wire).
 */
export interface Card {
  /** for logs and error messages, e.g. "PC/SC reader Virtual PCD 00 00" */
  readonly description: string;
  /**
   * Sends one command APDU and resolves with the response APDU: response data ‖ SW1 SW2.
   * Status words are returned, not thrown; transport trouble (card removed, closed, not
   * powered, reader error) rejects with a CardError.
   */
  transmit(apdu: Uint8Array): Promise<Uint8Array>;
  /** Resets the card (powers it on first if needed) and resolves with its ATR. */
  reset(): Promise<Uint8Array>;
  /** Removes power; transmit then rejects with CardError "NOT_POWERED" until reset(). */
  powerOff(): Promise<void>;
  /** Releases the card and its resources; later calls reject with CardError "CLOSED". */
  close(): Promise<void>;
  /**
   * Registers a listener for card removal (the card left the reader, the reader went away,
   * or the simulator was removed). Pending and later transmits reject with CardError
   * "REMOVED". Returns a function that unregisters the listener.
   */
  onRemoved(listener: (reason: string) => void): () => void;
}

export type CardErrorCode = "REMOVED" | "CLOSED" | "NOT_POWERED" | "TRANSPORT";

export class CardError extends UeError<CardErrorCode> {}

/** Removal bookkeeping shared by the Card implementations: fires listeners once. */
export class RemovalNotifier {
  private readonly listeners = new Set<(reason: string) => void>();
  private reason: string | undefined;

  get removed(): boolean {
    return this.reason !== undefined;
  }

  get removalReason(): string | undefined {
    return this.reason;
  }

  on(listener: (reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  fire(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    for (const l of [...this.listeners]) l(reason);
  }
}

/** Runs tasks one after the other (APDUs are strictly sequential on a card). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
