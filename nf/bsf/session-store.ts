// Bootstrap sessions (TS 33.220 §4.5.2): B-TID → IMPI, Ks, RAND, lifetime, GUSS, kept in the
// BSF's LMDB environment so several BSF processes on one host share them. Ks stays here: it
// is never logged and no API returns it (Zn hands out only NAF-specific keys).
import type { Database, RootDatabase } from "lmdb";
import type { Guss } from "../../wire/zh.js";

export interface BootstrapSession {
  btid: string;
  impi: string;
  /** Ks = CK ‖ IK (TS 33.220 §4.5.2); secret */
  ks: Uint8Array;
  rand: Uint8Array;
  /** ms since the epoch */
  createdAt: number;
  /** ms since the epoch, whole seconds (TS 24.109 C.1 lifetime is an xs:dateTime) */
  expiresAt: number;
  uiccType: Guss["bsfInfo"]["uiccType"];
  guss: Guss;
}

type ExpiryKey = [number, string];

export class SessionStore {
  private readonly sessions: Database<BootstrapSession, string>;
  private readonly byImpi: Database<string, string>;
  private readonly expiry: Database<true, ExpiryKey>;

  constructor(root: RootDatabase) {
    this.sessions = root.openDB<BootstrapSession, string>({ name: "sessions" });
    this.byImpi = root.openDB<string, string>({ name: "sessions-by-impi" });
    this.expiry = root.openDB<true, ExpiryKey>({ name: "sessions-expiry" });
  }

  /**
   * Stores a new session and, atomically with it, removes the IMPI's previous one: a new
   * bootstrapping run replaces the old Ks and B-TID (TS 33.220 §4.5.2, §4.4.x "key lifetime").
   * Resolves to the superseded B-TID, if any.
   */
  create(s: BootstrapSession): Promise<string | undefined> {
    return this.sessions.transaction(() => this.createInTxn(s));
  }

  /** As create(), for a caller already inside a write transaction of this environment. */
  createInTxn(s: BootstrapSession): string | undefined {
    const previous = this.byImpi.get(s.impi);
    if (previous !== undefined && previous !== s.btid) this.removeInTxn(previous);
    this.sessions.put(s.btid, s);
    this.byImpi.put(s.impi, s.btid);
    this.expiry.put([s.expiresAt, s.btid], true);
    return previous !== undefined && previous !== s.btid ? previous : undefined;
  }

  /** The live session for a B-TID; expired ones read as absent (and are removed). */
  get(btid: string, now: number): BootstrapSession | undefined {
    const s = this.sessions.get(btid);
    if (s === undefined) return undefined;
    if (s.expiresAt <= now) {
      // best effort: the periodic sweep removes it otherwise
      this.sessions.transaction(() => this.removeIfExpired(btid, now)).catch(() => {});
      return undefined;
    }
    return s;
  }

  /** Periodic sweep: removes every session whose lifetime ended; returns how many. */
  purgeExpired(now: number): Promise<number> {
    return this.sessions.transaction(() => {
      let n = 0;
      const due = [...this.expiry.getKeys({ end: [now, "\uffff"] })];
      for (const key of due) {
        this.expiry.remove(key);
        if (this.removeIfExpired(key[1], now)) n++;
      }
      return n;
    });
  }

  private removeIfExpired(btid: string, now: number): boolean {
    const s = this.sessions.get(btid);
    if (s === undefined || s.expiresAt > now) return false;
    this.removeInTxn(btid);
    return true;
  }

  private removeInTxn(btid: string): void {
    const s = this.sessions.get(btid);
    if (s === undefined) return;
    this.sessions.remove(btid);
    this.expiry.remove([s.expiresAt, btid]);
    if (this.byImpi.get(s.impi) === btid) this.byImpi.remove(s.impi);
  }

  /**
   * The B-TID's record as stored (encoded; it holds Ks), neither decoded nor copied: a view the next
   * read of this environment overwrites, so compare it at once or copy it. Equal bytes from two reads
   * mean the same session is still stored (neither replaced nor removed).
   */
  storedRecordView(btid: string): Buffer | undefined {
    const b = this.sessions.getBinaryFast(btid);
    // lmdb-js hands out its reusable read buffer with `length` set to the value's size
    return b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.length);
  }
}
