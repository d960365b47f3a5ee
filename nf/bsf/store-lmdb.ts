// The BSF store on LMDB: one environment in <data>/bsf/ (nf/common/store.ts), shared by the BSF
// processes of a host (`gba bsf --workers N`), so a Ub answer may reach another process than its
// challenge and a Zn request another than the bootstrap. Named databases:
//   ub-challenges         nonce → pending challenge, or a tombstone without key material once
//                         answered (so a replayed nonce is recognised until the tombstone is swept)
//   ub-challenges-expiry  [removeAt, nonce] → true (the sweep's index)
//   sessions              B-TID → BsfSession     sessions-by-impi  IMPI → its current B-TID
//   sessions-expiry       [expiresAt, B-TID] → true
//   tmpi                  TMPI → IMPI            tmpi-by-impi  IMPI → its current TMPI
// Each atomic step of the BsfStore interface is one LMDB write transaction (one writer across
// all processes).
import type { Database, RootDatabase } from "lmdb";
import { openNfStore } from "../common/store.js";
import type { BsfSession, BsfStore, ChallengeLookup, ChallengeSpent, PendingChallenge } from "./store.js";

type StoredChallenge = ({ state: "pending" } & PendingChallenge) | { state: "spent"; impi: string; expiresAt: number };

type ExpiryKey = [number, string];

export class LmdbBsfStore implements BsfStore {
  private readonly challenges: Database<StoredChallenge, string>;
  private readonly challengeExpiry: Database<true, ExpiryKey>;
  private readonly sessions: Database<BsfSession, string>;
  private readonly byImpi: Database<string, string>;
  private readonly sessionExpiry: Database<true, ExpiryKey>;
  private readonly tmpis: Database<string, string>;
  private readonly tmpiByImpi: Database<string, string>;

  /** @param keepSpentMs how long a challenge's tombstone outlives the nonce's expiry */
  constructor(
    private readonly root: RootDatabase,
    private readonly keepSpentMs: number,
  ) {
    this.challenges = root.openDB<StoredChallenge, string>({ name: "ub-challenges" });
    this.challengeExpiry = root.openDB<true, ExpiryKey>({ name: "ub-challenges-expiry" });
    this.sessions = root.openDB<BsfSession, string>({ name: "sessions" });
    this.byImpi = root.openDB<string, string>({ name: "sessions-by-impi" });
    this.sessionExpiry = root.openDB<true, ExpiryKey>({ name: "sessions-expiry" });
    this.tmpis = root.openDB<string, string>({ name: "tmpi" });
    this.tmpiByImpi = root.openDB<string, string>({ name: "tmpi-by-impi" });
  }

  /** Opens <data>/bsf/. */
  static open(dataRoot: string, keepSpentMs: number): LmdbBsfStore {
    return new LmdbBsfStore(openNfStore(dataRoot, "bsf"), keepSpentMs);
  }

  async close(): Promise<void> {
    await this.root.close();
  }

  // ---------------------------------------------------------------- challenges

  async putChallenge(nonce: string, c: PendingChallenge): Promise<void> {
    const record: StoredChallenge = { state: "pending", ...c };
    await Promise.all([
      this.challenges.put(nonce, record),
      this.challengeExpiry.put([c.expiresAt + this.keepSpentMs, nonce], true),
    ]);
  }

  async challenge(_impi: string, nonce: string): Promise<ChallengeLookup> {
    const s = this.challenges.get(nonce);
    if (s === undefined) return { kind: "unknown" };
    if (s.state === "spent") return { kind: "spent" };
    const { state: _state, ...challenge } = s;
    return { kind: "pending", challenge };
  }

  spendChallenge(_impi: string, nonce: string, now: number, session?: BsfSession): Promise<ChallengeSpent> {
    return this.challenges.transaction((): ChallengeSpent => {
      const s = this.challenges.get(nonce);
      if (s === undefined) return { kind: "unknown" };
      if (s.state === "spent") return { kind: "spent" };
      this.challenges.put(nonce, { state: "spent", impi: s.impi, expiresAt: s.expiresAt });
      const { state: _state, ...challenge } = s;
      if (s.expiresAt <= now) return { kind: "stale", challenge };
      return { kind: "fresh", challenge, superseded: session && this.createSessionNow(session) };
    });
  }

  // ---------------------------------------------------------------- sessions

  createSession(s: BsfSession): Promise<string | undefined> {
    return this.sessions.transaction(() => this.createSessionNow(s));
  }

  /** createSession inside a write transaction of this environment. */
  private createSessionNow(s: BsfSession): string | undefined {
    const previous = this.byImpi.get(s.impi);
    if (previous !== undefined && previous !== s.btid) this.removeSessionNow(previous);
    this.sessions.put(s.btid, s);
    this.byImpi.put(s.impi, s.btid);
    this.sessionExpiry.put([s.expiresAt, s.btid], true);
    // a new bootstrapping ends the IMPI's previous TMPI, whether or not it makes a new one
    const oldTmpi = this.tmpiByImpi.get(s.impi);
    if (oldTmpi !== undefined) this.tmpis.remove(oldTmpi);
    if (s.tmpi !== undefined) {
      this.tmpis.put(s.tmpi, s.impi);
      this.tmpiByImpi.put(s.impi, s.tmpi);
    } else if (oldTmpi !== undefined) this.tmpiByImpi.remove(s.impi);
    return previous !== undefined && previous !== s.btid ? previous : undefined;
  }

  async impiOfTmpi(tmpi: string): Promise<string | undefined> {
    return this.tmpis.get(tmpi);
  }

  async session(btid: string, now: number): Promise<BsfSession | undefined> {
    return this.live(btid, now);
  }

  private live(btid: string, now: number): BsfSession | undefined {
    const s = this.sessions.get(btid);
    if (s === undefined) return undefined;
    if (s.expiresAt <= now) {
      // best effort: the periodic sweep removes it otherwise
      this.sessions.transaction(() => this.removeSessionIfExpired(btid, now)).catch(() => {});
      return undefined;
    }
    return s;
  }

  /**
   * The version is the stored record's bytes (it holds Ks), copied. Both reads run in one
   * synchronous step, so in one read transaction: the version is the session's.
   */
  async versionedSession(btid: string, now: number): Promise<{ session: BsfSession; version: Buffer } | undefined> {
    const view = this.recordView(btid);
    const session = this.live(btid, now);
    return view === undefined || session === undefined ? undefined : { session, version: Buffer.from(view) };
  }

  async isSessionVersion(btid: string, version: Buffer): Promise<boolean> {
    return this.recordView(btid)?.equals(version) === true;
  }

  /**
   * The B-TID's record as stored, neither decoded nor copied: a view the next read of this
   * environment overwrites, so it is compared or copied at once.
   */
  private recordView(btid: string): Buffer | undefined {
    const b = this.sessions.getBinaryFast(btid);
    // lmdb-js hands out its reusable read buffer with `length` set to the value's size
    return b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.length);
  }

  private removeSessionIfExpired(btid: string, now: number): boolean {
    const s = this.sessions.get(btid);
    if (s === undefined || s.expiresAt > now) return false;
    this.removeSessionNow(btid);
    return true;
  }

  private removeSessionNow(btid: string): void {
    const s = this.sessions.get(btid);
    if (s === undefined) return;
    this.sessions.remove(btid);
    this.sessionExpiry.remove([s.expiresAt, btid]);
    if (this.byImpi.get(s.impi) === btid) this.byImpi.remove(s.impi);
  }

  // ---------------------------------------------------------------- maintenance

  /** The periodic sweep: expired sessions, challenges and old tombstones; resolves to how many of each. */
  async purgeExpired(now: number): Promise<{ sessions: number; challenges: number }> {
    const [sessions, challenges] = await Promise.all([
      this.sessions.transaction(() => {
        let n = 0;
        const due = [...this.sessionExpiry.getKeys({ end: [now, "\uffff"] })];
        for (const key of due) {
          this.sessionExpiry.remove(key);
          if (this.removeSessionIfExpired(key[1], now)) n++;
        }
        return n;
      }),
      this.challenges.transaction(() => {
        const due = [...this.challengeExpiry.getKeys({ end: [now, "\uffff"] })];
        for (const key of due) {
          this.challengeExpiry.remove(key);
          this.challenges.remove(key[1]);
        }
        return due.length;
      }),
    ]);
    return { sessions, challenges };
  }
}
