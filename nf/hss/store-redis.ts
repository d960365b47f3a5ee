// The HSS store on a Redis Cluster, for HSS replicas on several hosts. Keys (nf/common/store/
// redis-keys.ts), every atomic step on one hash slot:
//   {<impi>}:hss:sub     hash: rec (the SubscriberRecord, JSON, K ‖ OPc sealed), rev, imsi, msisdn,
//                        and the SQN state of milenage/sqn-time.ts: seq (SEQ_HE), off (OFF), unc (U)
//   {<impi>}:hss:fail    list: the last AUTH_FAILURES_KEPT AUTS diagnostics (JSON)
//   {imsi:<d>}:hss:imsi, {msisdn:<d>}:hss:msisdn   → IMPI (TS 29.562 ueId forms)
//   {impu:<uri>}:hss:impu  set of the IMPIs listing that IMPU (an IMPU may be shared): written
//                        before the record, pruned after it, each member checked against its record
//   {hss}:hss:meta       hash: keyCheck (proves the master key), indBits, sqnScheme
//   {hss}:hss:impis      sorted set of IMPIs (listing in IMPI order, count)
// The AuC's step (advanceSqn) is one Lua script on the subscriber's slot: record, revision
// check, AUTS adoption, the time-based SEQ rule, the diagnostics entry. A durable step (one that
// moves OFF, milenage/sqn-time.ts) waits for the replica (WAIT 1) before its vector leaves.
// Provisioning spans slots (record, index keys, the IMPI list): identities are claimed first with
// a lease (SET NX), so a conflict writes nothing; then the records are written, the claims made
// permanent, and every primary waits for its replica. Index keys are hints: a reader checks that
// the record still lists the identity, so a key left by a process that died mid-way misleads no one
// and is taken over by the next claim. A process dying in the middle of a batch may leave part of
// it written (LMDB writes a batch in one transaction); claims it held expire with their lease.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { DEFAULT_DELTA, DEFAULT_IND_BITS, joinSqn, SQN_MAX, splitSqn, sqnToHex } from "../../milenage/sqn.js";
import { DEFAULT_TIME_SEQ, type TimeSeqParams, type TimeSeqRule } from "../../milenage/sqn-time.js";
import { base64ToBytes, bytesToBase64 } from "../../wire/bytes.js";
import { nfDataDir, StoreError } from "../common/store.js";
import type { RedisStore } from "../common/store/redis.js";
import { loadMasterKey } from "./master-key.js";
import { SubscriberSecrets } from "./sealed.js";
import {
  AUTH_FAILURES_KEPT,
  IMPU_FORM,
  type AuthFailure,
  ExistsError,
  type HssStore,
  type SqnAdvance,
  type SqnAdvanced,
  type UpdateOutcome,
} from "./store.js";
import type { SubscriberData, SubscriberRecord, Validated } from "./subscriber.js";

export interface RedisHssStoreOptions {
  /** IND length of SQN (cfg.hss.indBits); a store keeps the one it was created with */
  indBits?: number;
  env?: NodeJS.ProcessEnv;
  clock?: () => number;
  /** the SEQ clock in ms (tests pin it); default the TIME of the primary owning the subscriber's slot */
  seqClock?: () => number;
  /** how long a durable step or a provisioning write waits for the replica (ms) */
  durableWaitMs?: number;
  /** lease of a provisioning claim (ms): a writer that dies leaves claims for this long */
  claimLeaseMs?: number;
  time?: TimeSeqParams;
}

const DEFAULT_DURABLE_WAIT_MS = 1000;
const DEFAULT_CLAIM_LEASE_MS = 60_000;
/** a claim's value: never an IMPI (an IMPI has no NUL) */
const CLAIM = "\u0000claim:";
const TOKEN_HEX = 24;
const claimValue = (token: string, impi: string) => `${CLAIM}${token}:${impi}`;
/** the IMPI a claim value is for */
const claimant = (value: string) => value.slice(CLAIM.length + TOKEN_HEX + 1);
const newToken = () => randomBytes(TOKEN_HEX / 2).toString("hex");
const CHUNK = 1000;
const UPDATE_ATTEMPTS = 5;

/** helpers shared by the scripts: exact integers, 48-bit hex (Lua formats %x as a 32-bit int), the clock */
const LUA_PRELUDE = `
local function s(n) return string.format('%.0f', n) end
local function hex48(n) return string.format('%06x%06x', math.floor(n / 16777216), n % 16777216) end
local function ticks(arg, tick)
  if arg ~= '' then return tonumber(arg) end
  local now = redis.call('TIME')
  return math.floor((tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)) / tick)
end`;

// The AuC's step. KEYS: sub, fail. ARGV: [1] T in ticks or "" (TIME) [2] tick ms [3] R [4] H_d
// [5] H_c [6] largest SEQ [7] expected rev or "" [8] SEQ_MS of a verified AUTS or "" [9] Δ
// [10] IND [11] 2^indBits [12] diagnostics "at" [13] RAND hex [14] SQN_MS hex [15] entries kept.
// Returns {status, rec, seq, rule, durable, entry}; status ok | missing | changed | exhausted.
// The rule is nextTimeSeq / resyncTimeSeq of milenage/sqn-time.ts (a differential test runs both).
const ADVANCE_LUA = `${LUA_PRELUDE}
local h = redis.call('HMGET', KEYS[1], 'rec', 'rev', 'seq', 'off', 'unc')
if not h[1] then return {'missing'} end
if ARGV[7] ~= '' and h[2] ~= ARGV[7] then return {'changed'} end
local t = ticks(ARGV[1], tonumber(ARGV[2]))
local R, HD, HC, MAX = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local seqHe, off, unc = tonumber(h[3]) or 0, tonumber(h[4]), tonumber(h[5])
local function step(sh, o)
  if not o then return sh + 1, sh + 1 - t, 'anchor', true end
  local c = o + t
  if c > sh then
    local gap = c - sh
    if gap < HD then return c, o, 'clock', false end
    local seq = sh + math.min(gap, HC)
    return seq, seq - t, 'idle', true
  end
  if sh - c < R then return sh + 1, o, 'increment', false end
  return sh + 1, sh + 1 - t, 'rebase', true
end
local before, adopted = seqHe, false
if ARGV[8] ~= '' then
  local seqMs = tonumber(ARGV[8])
  local nseq = step(seqHe, off)
  if not (nseq <= MAX and nseq > seqMs and nseq - seqMs <= tonumber(ARGV[9])) then
    seqHe, off, unc, adopted = seqMs, seqMs - t, seqMs, true
  end
end
local seq, o, rule, moves = step(seqHe, off)
if seq > MAX then return {'exhausted'} end
if moves then unc = seq end
if unc then
  redis.call('HSET', KEYS[1], 'seq', s(seq), 'off', s(o), 'unc', s(unc))
else
  redis.call('HSET', KEYS[1], 'seq', s(seq), 'off', s(o))
end
local entry = ''
if ARGV[8] ~= '' then
  local a, ind = tonumber(ARGV[11]), tonumber(ARGV[10])
  entry = '{"at":"' .. ARGV[12] .. '","check":"MAC-S","sqnMs":"' .. ARGV[14] .. '","sqnHe":"' .. hex48(before * a + ind) ..
    '","rand":"' .. ARGV[13] .. '","outcome":"' .. (adopted and 'sqn-ms-adopted' or 'sqn-he-kept') ..
    '","nextSqn":"' .. hex48(seq * a + ind) .. '"}'
  redis.call('RPUSH', KEYS[2], entry)
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[15]), -1)
end
return {'ok', h[1], s(seq), rule, unc and 1 or 0, entry}`;

// confirmTimeSeq: after a durable step's WAIT, U at or below its SEQ is cleared. KEYS: sub. ARGV: SEQ.
const CONFIRM_LUA = `
local u = tonumber(redis.call('HGET', KEYS[1], 'unc'))
if u and u <= tonumber(ARGV[1]) then redis.call('HDEL', KEYS[1], 'unc') return 1 end
return 0`;

// KEYS: fail. ARGV: entry, entries kept.
const APPEND_FAILURE_LUA = `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
return 1`;

// A new subscriber's key, claimed for a batch. KEYS: sub. ARGV: token, lease ms. 1 claimed, 0 taken.
const CLAIM_SUB_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'claim', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// Releases a claim that was not used. KEYS: sub. ARGV: token.
const RELEASE_SUB_LUA = `
if redis.call('HGET', KEYS[1], 'claim') == ARGV[1] and redis.call('HEXISTS', KEYS[1], 'rec') == 0 then
  redis.call('DEL', KEYS[1])
end
return 1`;

// Writes a record. KEYS: sub. ARGV: [1] claim token (create) or "" [2] expected rev (update) or ""
// [3] rec [4] rev [5] imsi or "" [6] msisdn or "" [7] SEQ_HE to set or "" [8] T or "" [9] tick ms.
// A set SEQ_HE is anchored at T and unconfirmed when it replaces a state (update). Returns 1,
// 0 (claim lost), or -1 (rev changed / record gone).
const WRITE_SUB_LUA = `${LUA_PRELUDE}
if ARGV[1] ~= '' then
  if redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return 0 end
  redis.call('HDEL', KEYS[1], 'claim')
  redis.call('PERSIST', KEYS[1])
elseif redis.call('HGET', KEYS[1], 'rev') ~= ARGV[2] then
  return -1
end
redis.call('HSET', KEYS[1], 'rec', ARGV[3], 'rev', ARGV[4])
for i, f in ipairs({'imsi', 'msisdn'}) do
  if ARGV[4 + i] ~= '' then redis.call('HSET', KEYS[1], f, ARGV[4 + i]) else redis.call('HDEL', KEYS[1], f) end
end
if ARGV[7] ~= '' then
  local seq = tonumber(ARGV[7])
  redis.call('HSET', KEYS[1], 'seq', ARGV[7], 'off', s(seq - ticks(ARGV[8], tonumber(ARGV[9]))))
  if ARGV[1] == '' then redis.call('HSET', KEYS[1], 'unc', ARGV[7]) else redis.call('HDEL', KEYS[1], 'unc') end
end
return 1`;

// KEYS: sub, fail. Returns {0} or {1, imsi, msisdn}.
const REMOVE_SUB_LUA = `
local h = redis.call('HMGET', KEYS[1], 'rec', 'imsi', 'msisdn')
if not h[1] then return {0} end
redis.call('DEL', KEYS[1], KEYS[2])
return {1, h[2] or '', h[3] or ''}`;

// KEYS: meta. ARGV: keyCheck (base64), indBits, scheme. Writes what is missing, returns what is stored.
const SETTLE_LUA = `
redis.call('HSETNX', KEYS[1], 'keyCheck', ARGV[1])
redis.call('HSETNX', KEYS[1], 'indBits', ARGV[2])
redis.call('HSETNX', KEYS[1], 'sqnScheme', ARGV[3])
return redis.call('HMGET', KEYS[1], 'keyCheck', 'indBits', 'sqnScheme')`;

/** The SQN scheme this backend writes (milenage/sqn-time.ts with 1 ms ticks). */
const SQN_SCHEME = "time-ms-v1";

type StoredRecord = Omit<SubscriberRecord, "secret"> & { secret: string };

function encodeRecord(r: SubscriberRecord): string {
  return JSON.stringify({ ...r, secret: bytesToBase64(r.secret) } satisfies StoredRecord);
}

function decodeRecord(text: string | Buffer): SubscriberRecord {
  const o = JSON.parse(String(text)) as StoredRecord;
  const secret = base64ToBytes(o.secret);
  if (secret === undefined) throw new StoreError(`the record of ${o.impi} in the Redis store is damaged (secret)`);
  return { ...o, secret };
}

export type SqnStepResult =
  | {
      kind: "ok";
      record: SubscriberRecord;
      seq: number;
      sqn: number;
      rule: TimeSeqRule;
      durable: boolean;
      resync?: AuthFailure;
    }
  | Exclude<SqnAdvanced, { kind: "ok" }>;

type Identity = "imsi" | "msisdn";
type Claim = { key: string; value: string; id: Identity | "impi"; label: string };

export class RedisHssStore implements HssStore {
  readonly indBits: number;
  private readonly time: TimeSeqParams;
  private readonly durableWaitMs: number;
  private readonly claimLeaseMs: number;

  private constructor(
    private readonly redis: RedisStore,
    readonly secrets: SubscriberSecrets,
    indBits: number,
    private readonly opts: RedisHssStoreOptions,
  ) {
    this.indBits = indBits;
    this.time = { ...(opts.time ?? DEFAULT_TIME_SEQ), indBits };
    this.durableWaitMs = opts.durableWaitMs ?? DEFAULT_DURABLE_WAIT_MS;
    this.claimLeaseMs = opts.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
  }

  /**
   * The HSS store in the cluster `redis` (closed with the store). The master key comes from
   * GBA_MASTER_KEY or <data>/hss/master.key, created only while the cluster holds no key check:
   * every HSS replica must be given the same key.
   */
  static async open(redis: RedisStore, dataRoot: string, opts: RedisHssStoreOptions = {}): Promise<RedisHssStore> {
    try {
      const meta = redis.keys.key("hss", "hss", "meta");
      const dir = nfDataDir(dataRoot, "hss");
      const stored = await redis.call("HGET", (c) => c.hget(meta, "keyCheck"));
      // a new store: the key may be created in <data>/hss/
      if (stored === null) mkdirSync(dir, { recursive: true, mode: 0o700 });
      const master = loadMasterKey(dir, stored === null, opts.env);
      const secrets = new SubscriberSecrets(master.key, master.source, opts.clock);
      const want = opts.indBits ?? DEFAULT_IND_BITS;
      const r = (await redis.evalScript(
        "gbaHssSettle",
        SETTLE_LUA,
        [meta],
        [bytesToBase64(secrets.keyCheck()), String(want), SQN_SCHEME],
      )) as [Buffer, Buffer, Buffer];
      const check = base64ToBytes(String(r[0]));
      const where = `the Redis Cluster at ${redis.url}, key prefix ${redis.keys.prefix}`;
      if (check === undefined || !secrets.provesKey(check))
        throw new StoreError(`master key does not match this store (${where}; key from ${master.source})`);
      const indBits = Number(String(r[1]));
      if (opts.indBits !== undefined && indBits !== opts.indBits) {
        throw new StoreError(
          `the store (${where}) was created with hss.indBits ${indBits}, the configuration says ${opts.indBits}`,
        );
      }
      if (String(r[2]) !== SQN_SCHEME)
        throw new StoreError(`the store (${where}) uses SQN scheme ${String(r[2])}, this HSS knows ${SQN_SCHEME}`);
      return new RedisHssStore(redis, secrets, indBits, opts);
    } catch (err) {
      await redis.close();
      throw err;
    }
  }

  close(): Promise<void> {
    return this.redis.close();
  }

  // ---------------------------------------------------------------- keys

  private sub(impi: string): string {
    return this.redis.keys.key(impi, "hss", "sub");
  }
  private fail(impi: string): string {
    return this.redis.keys.key(impi, "hss", "fail");
  }
  private identityKey(id: Identity, digits: string): string {
    return this.redis.keys.key(`${id}:${digits}`, "hss", id);
  }
  private impuKey(impu: string): string {
    return this.redis.keys.key(`impu:${impu}`, "hss", "impu");
  }
  /** SADD or SREM of each subscriber's IMPI on the hint sets of its IMPUs, CHUNK commands in flight */
  private async indexImpus(op: "sadd" | "srem", subs: ReadonlyArray<{ impi: string; impus: readonly string[] }>): Promise<void> {
    const pairs = subs.flatMap((s) => s.impus.map((u) => [this.impuKey(u), s.impi] as const));
    for (let i = 0; i < pairs.length; i += CHUNK) {
      await Promise.all(
        pairs.slice(i, i + CHUNK).map(([key, impi]) => this.redis.call(op.toUpperCase(), (c) => c[op](key, impi))),
      );
    }
  }
  private get impis(): string {
    return this.redis.keys.key("hss", "hss", "impis");
  }

  // ---------------------------------------------------------------- reads

  count(): Promise<number> {
    return this.redis.call("ZCARD", (c) => c.zcard(this.impis));
  }

  async get(impi: string): Promise<SubscriberRecord | undefined> {
    const rec = await this.redis.call("HGET", (c) => c.hgetBuffer(this.sub(impi), "rec"));
    return rec === null ? undefined : decodeRecord(rec);
  }

  async resolveUeId(ueId: string): Promise<string | undefined> {
    const m = /^(imsi|msisdn)-([0-9]{5,15})$/.exec(ueId);
    if (!m) {
      const exists = await this.redis.call("HEXISTS", (c) => c.hexists(this.sub(ueId), "rec"));
      if (exists === 1) return ueId;
      return IMPU_FORM.test(ueId) ? this.ownerOfImpu(ueId) : undefined;
    }
    return this.ownerOf(m[1] as Identity, m[2]);
  }

  /** TS 29.562 UeId as an IMPU: the one subscriber listing it; one shared by several names none. */
  private async ownerOfImpu(impu: string): Promise<string | undefined> {
    const candidates = await this.redis.call("SMEMBERS", (c) => c.smembers(this.impuKey(impu)));
    const records = await Promise.all(candidates.map((impi) => this.get(impi)));
    const owners = records.filter((r) => r?.impus.includes(impu));
    return owners.length === 1 ? owners[0]?.impi : undefined;
  }

  /** The IMPI an index key names, if its record still lists that identity (index keys are hints). */
  private async ownerOf(id: Identity, digits: string): Promise<string | undefined> {
    const owner = await this.redis.get(this.identityKey(id, digits));
    if (owner === null) return undefined;
    const impi = String(owner);
    if (impi.startsWith(CLAIM)) return undefined;
    const listed = await this.redis.call("HGET", (c) => c.hget(this.sub(impi), id));
    return listed === digits ? impi : undefined;
  }

  async seqHe(r: Pick<SubscriberRecord, "impi">): Promise<number> {
    const v = await this.redis.call("HGET", (c) => c.hget(this.sub(r.impi), "seq"));
    return v === null ? 0 : Number(v);
  }

  async list(limit: number, after?: string): Promise<{ items: SubscriberRecord[]; next?: string }> {
    const names = await this.redis.call("ZRANGEBYLEX", (c) =>
      c.zrangebylex(this.impis, after === undefined ? "-" : `(${after}`, "+", "LIMIT", 0, limit + 1),
    );
    const page = names.slice(0, limit);
    const records = await Promise.all(page.map((impi) => this.get(impi)));
    const items = records.filter((r): r is SubscriberRecord => r !== undefined);
    return names.length > limit ? { items, next: page[page.length - 1] } : { items };
  }

  async authFailures(impi: string): Promise<AuthFailure[]> {
    const list = await this.redis.call("LRANGE", (c) => c.lrange(this.fail(impi), 0, -1));
    return list.map((e) => JSON.parse(e) as AuthFailure);
  }

  async conflictsOf(r: Pick<SubscriberRecord, "impi" | "imsi" | "msisdn">, self?: string): Promise<string[]> {
    const [exists, imsiOwner, msisdnOwner] = await Promise.all([
      self === undefined ? this.redis.call("HEXISTS", (c) => c.hexists(this.sub(r.impi), "rec")) : 0,
      r.imsi === undefined ? undefined : this.ownerOf("imsi", r.imsi),
      r.msisdn === undefined ? undefined : this.ownerOf("msisdn", r.msisdn),
    ]);
    const out: string[] = [];
    if (exists === 1) out.push(`impi: ${r.impi} is already provisioned`);
    if (imsiOwner !== undefined && imsiOwner !== self) out.push(`imsi: ${r.imsi} belongs to ${imsiOwner}`);
    if (msisdnOwner !== undefined && msisdnOwner !== self) out.push(`msisdn: ${r.msisdn} belongs to ${msisdnOwner}`);
    return out;
  }

  // ---------------------------------------------------------------- the AuC's step

  async advanceSqn(impi: string, a: SqnAdvance): Promise<SqnAdvanced> {
    const r = await this.sqnStep(impi, a);
    if (r.kind !== "ok") return r;
    if (r.durable) await this.durable(impi, r.seq);
    return { kind: "ok", record: r.record, sqn: r.sqn, ...(r.resync && { resync: r.resync }) };
  }

  /**
   * The step's script alone, with what it decided (the rule of milenage/sqn-time.ts, whether it
   * must be durable): advanceSqn then waits for the replica when it must. `nowMs` pins the clock.
   */
  async sqnStep(impi: string, a: SqnAdvance, nowMs?: number): Promise<SqnStepResult> {
    const p = this.time;
    const seqMax = Math.floor(SQN_MAX / 2 ** p.indBits);
    const sqnMs = a.resync?.sqnMs;
    const r = (await this.redis.evalScript(
      "gbaHssAdvance",
      ADVANCE_LUA,
      [this.sub(impi), this.fail(impi)],
      [
        nowMs === undefined ? this.ticksArg() : String(Math.floor(nowMs / p.tickMs)),
        String(p.tickMs),
        String(p.maxAhead),
        String(p.durableStep),
        String(p.maxStep),
        String(seqMax),
        a.expectRev ?? "",
        sqnMs === undefined ? "" : String(splitSqn(sqnMs, p.indBits).seq),
        String(DEFAULT_DELTA),
        String(a.ind),
        String(2 ** p.indBits),
        a.resync?.at ?? "",
        a.resync?.rand ?? "",
        sqnMs === undefined ? "" : sqnToHex(sqnMs),
        String(AUTH_FAILURES_KEPT),
      ],
    )) as Array<Buffer | number>;
    const status = String(r[0]);
    if (status === "missing") return { kind: "not-found" };
    if (status === "changed") return { kind: "changed" };
    if (status === "exhausted") return { kind: "sqn-exhausted" };
    const seq = Number(String(r[2]));
    const entry = String(r[5]);
    return {
      kind: "ok",
      record: decodeRecord(r[1] as Buffer),
      seq,
      sqn: joinSqn(seq, a.ind, p.indBits),
      rule: String(r[3]) as TimeSeqRule,
      durable: Number(r[4]) === 1,
      ...(entry !== "" && { resync: JSON.parse(entry) as AuthFailure }),
    };
  }

  /** SEQ_HE written for ticks from the pinned clock, or "" for the primary's TIME. */
  private ticksArg(): string {
    const c = this.opts.seqClock;
    return c === undefined ? "" : String(Math.floor(c() / this.time.tickMs));
  }

  /**
   * A durable step: its write must be on the replica before the vector leaves (else a failover
   * could lose the OFF it moved); then it confirms U, without waiting for the answer.
   */
  private async durable(impi: string, seq: number): Promise<void> {
    const key = this.sub(impi);
    await this.redis.awaitReplica(key, this.durableWaitMs, (stored) => stored !== null && Number(stored) >= seq, "seq");
    this.redis.evalScript("gbaHssConfirm", CONFIRM_LUA, [key], [String(seq)]).catch(() => {
      // the next durable step confirms it
    });
  }

  async appendAuthFailure(impi: string, f: AuthFailure): Promise<void> {
    await this.redis.evalScript(
      "gbaHssAppendFailure",
      APPEND_FAILURE_LUA,
      [this.fail(impi)],
      [JSON.stringify(f), String(AUTH_FAILURES_KEPT)],
    );
  }

  // ---------------------------------------------------------------- provisioning

  /** SET NX of an identity's index key for `impi` under a lease; a stale key (its owner no longer lists it) is taken over. */
  private async claimIdentity(id: Identity, digits: string, impi: string, token: string): Promise<Claim | string> {
    const key = this.identityKey(id, digits);
    const value = claimValue(token, impi);
    const claim: Claim = { key, value, id, label: digits };
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = Date.now() + this.claimLeaseMs;
      if (await this.redis.setIfAbsent(key, value, lease)) return claim;
      const cur = await this.redis.get(key);
      if (cur === null) continue;
      const holder = String(cur);
      if (holder.startsWith(CLAIM)) return `${id}: ${digits} is being provisioned for ${claimant(holder)}`;
      if (holder === impi) return claim;
      const listed = await this.redis.call("HGET", (c) => c.hget(this.sub(holder), id));
      if (listed === digits) return `${id}: ${digits} belongs to ${holder}`;
      if ((await this.redis.compareAndSet(key, cur, value, lease)).ok) return claim;
    }
    return `${id}: ${digits} is being changed by another writer`;
  }

  private async release(claims: Claim[], token: string): Promise<void> {
    await Promise.all(
      claims.map((c) =>
        c.id === "impi"
          ? this.redis.evalScript("gbaHssReleaseSub", RELEASE_SUB_LUA, [c.key], [token])
          : this.redis.compareAndSet(c.key, c.value, null),
      ),
    );
  }

  /** Claims of a subscriber's new identities; the conflicts, if any (nothing claimed is kept then). */
  private async claimAll(
    wanted: Array<{ impi: string; sub?: true; imsi?: string; msisdn?: string }>,
    token: string,
  ): Promise<{ claims: Claim[]; conflicts: string[] }> {
    const claims: Claim[] = [];
    const conflicts: string[] = [];
    for (let i = 0; i < wanted.length; i += CHUNK) {
      await Promise.all(
        wanted.slice(i, i + CHUNK).map(async (w) => {
          if (w.sub) {
            const key = this.sub(w.impi);
            const ok = await this.redis.evalScript("gbaHssClaimSub", CLAIM_SUB_LUA, [key], [token, String(this.claimLeaseMs)]);
            if (ok === 1) claims.push({ key, value: token, id: "impi", label: w.impi });
            else conflicts.push(`impi: ${w.impi} is already provisioned`);
          }
          for (const id of ["imsi", "msisdn"] as const) {
            const digits = w[id];
            if (digits === undefined) continue;
            const c = await this.claimIdentity(id, digits, w.impi, token);
            if (typeof c === "string") conflicts.push(c);
            else claims.push(c);
          }
        }),
      );
    }
    if (conflicts.length > 0) await this.release(claims, token);
    return { claims, conflicts };
  }

  /** Index claims become permanent: the key names the IMPI. */
  private async commit(claims: Claim[], impiOf: (c: Claim) => string): Promise<void> {
    for (let i = 0; i < claims.length; i += CHUNK) {
      await Promise.all(
        claims
          .slice(i, i + CHUNK)
          .filter((c) => c.id !== "impi")
          .map((c) => this.redis.compareAndSet(c.key, c.value, impiOf(c))),
      );
    }
  }

  private writeArgs(r: SubscriberRecord, token: string, expectRev: string, sqn: number | undefined): string[] {
    return [
      token,
      expectRev,
      encodeRecord(r),
      r.rev,
      r.imsi ?? "",
      r.msisdn ?? "",
      sqn === undefined ? "" : String(splitSqn(sqn, this.indBits).seq),
      this.ticksArg(),
      String(this.time.tickMs),
    ];
  }

  async create(
    records: SubscriberRecord[],
    sqns: Array<number | undefined>,
    progress?: (written: number) => void,
  ): Promise<void> {
    const token = newToken();
    const { claims, conflicts } = await this.claimAll(
      records.map((r) => ({ impi: r.impi, sub: true as const, imsi: r.imsi, msisdn: r.msisdn })),
      token,
    );
    if (conflicts.length > 0) throw new ExistsError(conflicts);
    try {
      await this.indexImpus("sadd", records);
      for (let i = 0; i < records.length; i += CHUNK) {
        const written = await Promise.all(
          records
            .slice(i, i + CHUNK)
            .map((r, j) =>
              this.redis.evalScript(
                "gbaHssWrite",
                WRITE_SUB_LUA,
                [this.sub(r.impi)],
                this.writeArgs(r, token, "", sqns[i + j] ?? 0),
              ),
            ),
        );
        const lost = written.findIndex((w) => w !== 1);
        if (lost >= 0) throw new StoreError(`the claim on ${records[i + lost].impi} expired before it was written: import again`);
        progress?.(Math.min(i + CHUNK, records.length));
      }
      await this.commit(claims, (c) => claimant(c.value));
      for (let i = 0; i < records.length; i += CHUNK) {
        const chunk = records.slice(i, i + CHUNK);
        await this.redis.call("ZADD", (c) => c.zadd(this.impis, ...chunk.flatMap((r) => [0, r.impi])));
      }
    } catch (err) {
      await this.release(claims, token).catch(() => {});
      throw err;
    }
    await this.redis.awaitReplicas(this.durableWaitMs);
  }

  async update(
    impi: string,
    change: (r: SubscriberRecord, secrets: { k: Uint8Array; opc: Uint8Array }) => Validated<SubscriberData>,
  ): Promise<UpdateOutcome> {
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const prev = await this.get(impi);
      if (!prev) return { kind: "not-found" };
      const v = change(prev, this.secrets.open(prev));
      if (!v.ok) return { kind: "invalid", errors: v.errors };
      const record = this.secrets.seal(v.value, prev);
      const token = newToken();
      const { claims, conflicts } = await this.claimAll(
        [
          {
            impi,
            imsi: record.imsi !== prev.imsi ? record.imsi : undefined,
            msisdn: record.msisdn !== prev.msisdn ? record.msisdn : undefined,
          },
        ],
        token,
      );
      if (conflicts.length > 0) throw new ExistsError(conflicts);
      await this.indexImpus("sadd", [record]);
      const w = await this.redis.evalScript(
        "gbaHssWrite",
        WRITE_SUB_LUA,
        [this.sub(impi)],
        this.writeArgs(record, "", prev.rev, v.value.sqn),
      );
      if (w !== 1) {
        await this.release(claims, token);
        continue;
      }
      await this.commit(claims, () => impi);
      await Promise.all(
        (["imsi", "msisdn"] as const)
          .filter((id) => prev[id] !== undefined && prev[id] !== record[id])
          .map((id) => this.redis.compareAndSet(this.identityKey(id, prev[id] as string), impi, null)),
      );
      await this.indexImpus("srem", [{ impi, impus: prev.impus.filter((u) => !record.impus.includes(u)) }]);
      await this.redis.awaitReplicas(this.durableWaitMs);
      if (v.value.sqn !== undefined) {
        const seq = splitSqn(v.value.sqn, this.indBits).seq;
        await this.redis.evalScript("gbaHssConfirm", CONFIRM_LUA, [this.sub(impi)], [String(seq)]);
      }
      return { kind: "ok", record };
    }
    throw new StoreError(`subscriber ${impi} changed ${UPDATE_ATTEMPTS} times during one update: try again`);
  }

  async remove(impi: string): Promise<boolean> {
    const impus = (await this.get(impi))?.impus ?? [];
    const r = (await this.redis.evalScript("gbaHssRemove", REMOVE_SUB_LUA, [this.sub(impi), this.fail(impi)], [])) as Array<
      number | Buffer
    >;
    if (r[0] !== 1) return false;
    const [imsi, msisdn] = [String(r[1]), String(r[2])];
    await Promise.all([
      imsi === "" ? undefined : this.redis.compareAndSet(this.identityKey("imsi", imsi), impi, null),
      msisdn === "" ? undefined : this.redis.compareAndSet(this.identityKey("msisdn", msisdn), impi, null),
      this.redis.call("ZREM", (c) => c.zrem(this.impis, impi)),
      this.indexImpus("srem", [{ impi, impus }]),
    ]);
    await this.redis.awaitReplicas(this.durableWaitMs);
    return true;
  }
}
