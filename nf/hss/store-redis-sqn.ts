// SEQ_HE on a Redis Cluster: the clock-anchored SEQ of milenage/sqn-time.ts as ONE Lua script on
// the subscriber's hash slot (read SEQ_HE and OFF, apply the rule, write both), with the clock
// taken from the primary that owns the slot (TIME), so HSS replicas on different hosts share
// one clock per subscriber. A step that moves OFF is `durable`: before its vector may leave, the
// write must be on the replica (WAIT 1), else a failover could lose it (TS 33.102 Annex C.2.2
// would then see a stale SQN). The script mirrors nextTimeSeq / resyncTimeSeq step for step; a
// differential test runs both over the same inputs.
import { joinSqn, splitSqn } from "../../milenage/sqn.js";
import { DEFAULT_TIME_SEQ, type TimeSeqParams, type TimeSeqRule } from "../../milenage/sqn-time.js";
import type { RedisStore } from "../common/store/redis.js";

// KEYS[1]: hash {seq, off}. ARGV: [1] T in ticks, or "" for the primary's clock (TIME) /
// [2] tick ms / [3] R / [4] H_d / [5] H_c / [6] largest SEQ / [7] SEQ_MS of a verified AUTS or "" /
// [8] Δ / [9] SEQ_HE of a subscriber without state (provisioned), or "" (then: not found).
// Returns {status, seq, off, rule, durable, adopted}: status "ok" | "missing" | "exhausted".
export const SEQ_STEP_LUA = `
local function s(n) return string.format('%.0f', n) end
local t
if ARGV[1] ~= '' then t = tonumber(ARGV[1]) else
  local now = redis.call('TIME')
  t = math.floor((tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)) / tonumber(ARGV[2]))
end
local R, HD, HC, MAX = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local st = redis.call('HMGET', KEYS[1], 'seq', 'off')
local seqHe, off = tonumber(st[1]), tonumber(st[2])
if not seqHe then
  if ARGV[9] == '' then return {'missing'} end
  seqHe = tonumber(ARGV[9])
end
local function step(sh, o)
  if not o then return sh + 1, sh + 1 - t, 'anchor', 1 end
  local c = o + t
  if c > sh then
    local gap = c - sh
    if gap < HD then return c, o, 'clock', 0 end
    local seq = sh + math.min(gap, HC)
    return seq, seq - t, 'idle', 1
  end
  if sh - c < R then return sh + 1, o, 'increment', 0 end
  return sh + 1, sh + 1 - t, 'rebase', 1
end
local adopted = 0
if ARGV[7] ~= '' then
  local seqMs = tonumber(ARGV[7])
  local nseq = step(seqHe, off)
  if not (nseq <= MAX and nseq > seqMs and nseq - seqMs <= tonumber(ARGV[8])) then
    seqHe, off, adopted = seqMs, seqMs - t, 1
  end
end
local seq, o, rule, durable = step(seqHe, off)
if seq > MAX then return {'exhausted'} end
if adopted == 1 then durable = 1 end
redis.call('HSET', KEYS[1], 'seq', s(seq), 'off', s(o))
return {'ok', s(seq), s(o), rule, durable, adopted}`;

export type RedisSeqOutcome =
  | { kind: "ok"; sqn: number; seq: number; offset: number; rule: TimeSeqRule; durable: boolean; adopted: boolean }
  | { kind: "not-found" }
  | { kind: "sqn-exhausted" };

export interface SeqStepOptions {
  /** IND of the consumer (Annex C.3.2) */
  ind: number;
  /** SQN_MS from a verified AUTS (§6.3.5) */
  sqnMs?: number;
  /** SQN to start from when the key does not exist yet (provisioning); without it a missing key is not-found */
  initialSqn?: number;
  /** clock override in ms (tests pin it); default the primary's TIME */
  nowMs?: number;
  /** how long a durable step waits for its replica */
  durableWaitMs?: number;
  params?: TimeSeqParams;
  delta?: number;
}

/** The SEQ_HE step, durable when it must be; throws StoreError when a durable step cannot be replicated. */
export async function advanceSeqOnRedis(store: RedisStore, key: string, o: SeqStepOptions): Promise<RedisSeqOutcome> {
  const p = o.params ?? DEFAULT_TIME_SEQ;
  const seqMax = Math.floor((2 ** 48 - 1) / 2 ** p.indBits);
  const r = (await store.evalScript(
    "gbaSeqStep",
    SEQ_STEP_LUA,
    [key],
    [
      o.nowMs === undefined ? "" : String(Math.floor(o.nowMs / p.tickMs)),
      String(p.tickMs),
      String(p.maxAhead),
      String(p.durableStep),
      String(p.maxStep),
      String(seqMax),
      o.sqnMs === undefined ? "" : String(splitSqn(o.sqnMs, p.indBits).seq),
      String(o.delta ?? 2 ** 28),
      o.initialSqn === undefined ? "" : String(splitSqn(o.initialSqn, p.indBits).seq),
    ],
  )) as Array<Buffer | number>;
  const status = String(r[0]);
  if (status === "missing") return { kind: "not-found" };
  if (status === "exhausted") return { kind: "sqn-exhausted" };
  const seq = Number(String(r[1]));
  const durable = Number(r[4]) === 1;
  if (durable) await store.awaitReplica(key, o.durableWaitMs ?? 500, (stored) => Number(stored) >= seq, "seq");
  return {
    kind: "ok",
    sqn: joinSqn(seq, o.ind, p.indBits),
    seq,
    offset: Number(String(r[2])),
    rule: String(r[3]) as TimeSeqRule,
    durable,
    adopted: Number(r[5]) === 1,
  };
}
