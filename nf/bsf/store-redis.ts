// The BSF store on a Redis Cluster, for BSF replicas on several hosts: a Ub answer may reach
// another replica than its challenge, a Zn request another than the bootstrap. Keys
// (nf/common/store/redis-keys.ts):
//   {<impi>}:bsf:ch:<nonce>   the pending challenge ("p<expiresAt>|<JSON>"), then a tombstone "s"
//                             until one nonce lifetime after its expiry (a replay reads as spent)
//   {<impi>}:bsf:sess         hash: the IMPI's current session (btid, rev, exp, data), PEXPIREAT
//   {btid:<B-TID>}:bsf:btid   → IMPI, PEXPIREAT the session's end
//   {<impi>}:bsf:tmpi         the IMPI's current TMPI (TS 33.220 §4.5.2), no expiry: it outlives
//                             the session and goes with the IMPI's next bootstrapping
//   {tmpi:<TMPI>}:bsf:tmpi    → IMPI, a hint the IMPI's current TMPI must confirm
// Spending a nonce and storing the session it creates are one script on the IMPI's slot, as is
// the supersede-by-IMPI of TS 33.220 §4.5.2 (the session key holds one session per IMPI). The
// B-TID key is another slot: written before the session, it only points to the IMPI, and a read
// believes it only while the IMPI's session carries that B-TID, so a superseded or half-written
// bootstrap reads as absent. Expiry is Redis's (PEXPIREAT): no sweep.
import { randomBytes } from "node:crypto";
import { base64ToBytes, bytesToBase64 } from "../../wire/bytes.js";
import { StoreError } from "../common/store.js";
import type { RedisStore } from "../common/store/redis.js";
import type { BsfSession, BsfStore, ChallengeLookup, ChallengeSpent, PendingChallenge } from "./store.js";

// KEYS: challenge, session, the IMPI's TMPI. ARGV: [1] now [2] ms a tombstone outlives the
// nonce's expiry [3] B-TID or "" (no session) [4] rev [5] expiresAt [6] session JSON [7] TMPI or "".
// Returns {0} unknown, {2} spent, {3, challenge} stale,
// {1, challenge, superseded B-TID or "", replaced TMPI or ""}.
const SPEND_LUA = `
local cur = redis.call('GET', KEYS[1])
if not cur then return {0} end
if cur == 's' then return {2} end
local exp = tonumber(string.match(cur, '^p(%d+)|'))
redis.call('SET', KEYS[1], 's', 'PXAT', string.format('%.0f', exp + tonumber(ARGV[2])))
if exp <= tonumber(ARGV[1]) then return {3, cur} end
local prev, oldTmpi = '', ''
if ARGV[3] ~= '' then
  prev = redis.call('HGET', KEYS[2], 'btid') or ''
  if prev == ARGV[3] then prev = '' end
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'btid', ARGV[3], 'rev', ARGV[4], 'exp', ARGV[5], 'data', ARGV[6])
  redis.call('PEXPIREAT', KEYS[2], ARGV[5])
  oldTmpi = redis.call('GET', KEYS[3]) or ''
  if ARGV[7] ~= '' then redis.call('SET', KEYS[3], ARGV[7]) else redis.call('DEL', KEYS[3]) end
end
return {1, cur, prev, oldTmpi}`;

// KEYS: session, the IMPI's TMPI. ARGV: B-TID, rev, expiresAt, session JSON, TMPI or "".
// Returns {superseded B-TID or "", replaced TMPI or ""}.
const SUPERSEDE_LUA = `
local prev = redis.call('HGET', KEYS[1], 'btid') or ''
if prev == ARGV[1] then prev = '' end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'btid', ARGV[1], 'rev', ARGV[2], 'exp', ARGV[3], 'data', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
local oldTmpi = redis.call('GET', KEYS[2]) or ''
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], ARGV[5]) else redis.call('DEL', KEYS[2]) end
return {prev, oldTmpi}`;

// KEYS: an IMPI's session. ARGV: B-TID. Removes the session if it is that B-TID's.
const DROP_BTID_LUA = `
if redis.call('HGET', KEYS[1], 'btid') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type Stored<T, K extends keyof T> = Omit<T, K> & { [P in K]: string };
type StoredChallenge = Stored<PendingChallenge, "rand" | "xres" | "ck" | "ik">;
type StoredSession = Stored<BsfSession, "ks" | "rand">;

function bytesOf(b64: string, what: string): Uint8Array {
  const b = base64ToBytes(b64);
  if (b === undefined) throw new StoreError(`a ${what} in the Redis store is damaged`);
  return b;
}

function encodeChallenge(c: PendingChallenge): string {
  const o: StoredChallenge = {
    ...c,
    rand: bytesToBase64(c.rand),
    xres: bytesToBase64(c.xres),
    ck: bytesToBase64(c.ck),
    ik: bytesToBase64(c.ik),
  };
  return `p${c.expiresAt}|${JSON.stringify(o)}`;
}

function decodeChallenge(stored: string): PendingChallenge {
  const o = JSON.parse(stored.slice(stored.indexOf("|") + 1)) as StoredChallenge;
  const b = (v: string) => bytesOf(v, "challenge");
  return { ...o, rand: b(o.rand), xres: b(o.xres), ck: b(o.ck), ik: b(o.ik) };
}

function encodeSession(s: BsfSession): string {
  return JSON.stringify({ ...s, ks: bytesToBase64(s.ks), rand: bytesToBase64(s.rand) } satisfies StoredSession);
}

function decodeSession(text: string): BsfSession {
  const o = JSON.parse(text) as StoredSession;
  return { ...o, ks: bytesOf(o.ks, "session"), rand: bytesOf(o.rand, "session") };
}

/** B-TID → IMPI answers kept in memory: a B-TID key never changes its IMPI but for a pinned RAND */
const BTID_CACHE = 65_536;

export class RedisBsfStore implements BsfStore {
  private readonly impiOf = new Map<string, string>();

  /** @param keepSpentMs how long a challenge's tombstone outlives the nonce's expiry */
  constructor(
    private readonly redis: RedisStore,
    private readonly keepSpentMs: number,
  ) {}

  close(): Promise<void> {
    return this.redis.close();
  }

  private challengeKey(impi: string, nonce: string): string {
    return this.redis.keys.key(impi, "bsf", "ch", nonce);
  }
  private sessionKey(impi: string): string {
    return this.redis.keys.key(impi, "bsf", "sess");
  }
  private btidKey(btid: string): string {
    return this.redis.keys.key(`btid:${btid}`, "bsf", "btid");
  }
  private tmpiOfImpiKey(impi: string): string {
    return this.redis.keys.key(impi, "bsf", "tmpi");
  }
  private tmpiKey(tmpi: string): string {
    return this.redis.keys.key(`tmpi:${tmpi}`, "bsf", "tmpi");
  }

  // ---------------------------------------------------------------- challenges

  async putChallenge(nonce: string, c: PendingChallenge): Promise<void> {
    await this.redis.set(this.challengeKey(c.impi, nonce), encodeChallenge(c), c.expiresAt + this.keepSpentMs);
  }

  async challenge(impi: string, nonce: string): Promise<ChallengeLookup> {
    const v = await this.redis.get(this.challengeKey(impi, nonce));
    if (v === null) return { kind: "unknown" };
    const text = String(v);
    return text === "s" ? { kind: "spent" } : { kind: "pending", challenge: decodeChallenge(text) };
  }

  async spendChallenge(impi: string, nonce: string, now: number, session?: BsfSession): Promise<ChallengeSpent> {
    const args = [String(now), String(this.keepSpentMs), ...(session ? this.sessionArgs(session) : ["", "", "", "", ""])];
    const keys = [this.challengeKey(impi, nonce), this.sessionKey(impi), this.tmpiOfImpiKey(impi)];
    const [r] = await Promise.all([
      this.redis.evalScript("gbaBsfSpend", SPEND_LUA, keys, args) as Promise<Array<number | Buffer>>,
      session && this.indexSession(session),
    ]);
    switch (r[0]) {
      case 0:
        return { kind: "unknown" };
      case 2:
        return { kind: "spent" };
      case 3:
        return { kind: "stale", challenge: decodeChallenge(String(r[1])) };
    }
    const superseded = String(r[2]);
    if (session) await this.dropTmpiHint(String(r[3]), session.tmpi);
    return { kind: "fresh", challenge: decodeChallenge(String(r[1])), ...(superseded !== "" && { superseded }) };
  }

  /**
   * The replaced TMPI's hint key: removed once the IMPI names another TMPI. A removal lost to a
   * crash leaves a hint that the IMPI's TMPI no longer confirms, so it still reads as absent.
   */
  private async dropTmpiHint(replaced: string, current: string | undefined): Promise<void> {
    if (replaced !== "" && replaced !== current) await this.redis.call("DEL", (c) => c.del(this.tmpiKey(replaced)));
  }

  async impiOfTmpi(tmpi: string): Promise<string | undefined> {
    const impi = await this.redis.get(this.tmpiKey(tmpi));
    if (impi === null) return undefined;
    const current = await this.redis.get(this.tmpiOfImpiKey(String(impi)));
    return current !== null && String(current) === tmpi ? String(impi) : undefined;
  }

  // ---------------------------------------------------------------- sessions

  private sessionArgs(s: BsfSession): string[] {
    return [s.btid, randomBytes(8).toString("hex"), String(s.expiresAt), encodeSession(s), s.tmpi ?? ""];
  }

  /**
   * The B-TID key (and the TMPI's), written before (or with) the session it points to. A B-TID
   * that named another IMPI (a pinned RAND gives two IMPIs one B-TID) is taken from that IMPI's
   * session: one session per B-TID, as on LMDB, so no replica that remembers the old IMPI serves
   * the old session under it.
   */
  private async indexSession(s: BsfSession): Promise<void> {
    const [previous] = await Promise.all([
      this.redis.swap(this.btidKey(s.btid), s.impi, s.expiresAt),
      s.tmpi === undefined ? undefined : this.redis.set(this.tmpiKey(s.tmpi), s.impi),
    ]);
    this.remember(s.btid, s.impi);
    const was = previous === null ? undefined : previous.toString();
    if (was !== undefined && was !== s.impi)
      await this.redis.evalScript("gbaBsfDropBtid", DROP_BTID_LUA, [this.sessionKey(was)], [s.btid]);
  }

  async createSession(s: BsfSession): Promise<string | undefined> {
    const [r] = await Promise.all([
      this.redis.evalScript(
        "gbaBsfSupersede",
        SUPERSEDE_LUA,
        [this.sessionKey(s.impi), this.tmpiOfImpiKey(s.impi)],
        this.sessionArgs(s),
      ) as Promise<Array<string | Buffer>>,
      this.indexSession(s),
    ]);
    await this.dropTmpiHint(String(r[1]), s.tmpi);
    const superseded = String(r[0]);
    return superseded === "" ? undefined : superseded;
  }

  private remember(btid: string, impi: string): void {
    this.impiOf.delete(btid);
    this.impiOf.set(btid, impi);
    if (this.impiOf.size > BTID_CACHE) this.impiOf.delete(this.impiOf.keys().next().value as string);
  }

  /**
   * The IMPI's session fields when it is the B-TID's: the IMPI from memory or the B-TID key,
   * checked against the session (a remembered IMPI that does not hold the B-TID is asked again).
   */
  private async current(btid: string, fields: string[]): Promise<{ impi: string; values: Array<string | null> } | undefined> {
    for (const fromMemory of [true, false]) {
      let impi = fromMemory ? this.impiOf.get(btid) : undefined;
      if (impi === undefined) {
        if (fromMemory) continue;
        const v = await this.redis.get(this.btidKey(btid));
        if (v === null) return undefined;
        impi = String(v);
        this.remember(btid, impi);
      }
      const key = this.sessionKey(impi);
      const got = await this.redis.call("HMGET", (c) => c.hmget(key, "btid", ...fields));
      if (got[0] === btid) return { impi, values: got.slice(1) };
      if (!fromMemory) return undefined;
    }
    return undefined;
  }

  async session(btid: string, now: number): Promise<BsfSession | undefined> {
    return (await this.versionedSession(btid, now))?.session;
  }

  /** The version is the IMPI and the session's rev (a new bootstrap ⇒ a new rev), from the same HMGET. */
  async versionedSession(btid: string, now: number): Promise<{ session: BsfSession; version: Buffer } | undefined> {
    const cur = await this.current(btid, ["exp", "data", "rev"]);
    if (cur === undefined) return undefined;
    const [exp, data, rev] = cur.values;
    if (Number(exp) <= now || data === null || rev === null) return undefined;
    return { session: decodeSession(data), version: Buffer.from(`${cur.impi}\n${rev}`) };
  }

  async isSessionVersion(btid: string, version: Buffer): Promise<boolean> {
    const text = version.toString();
    const cut = text.lastIndexOf("\n");
    if (cut < 0) return false;
    const got = await this.redis.call("HMGET", (c) => c.hmget(this.sessionKey(text.slice(0, cut)), "btid", "rev"));
    return got[0] === btid && got[1] === text.slice(cut + 1);
  }
}
