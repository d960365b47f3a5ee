// The Redis Cluster connection every NF's Redis backend shares: opened from the `store`
// config, with the few atomic steps the backends are built from. Each step is one command or
// one Lua script on ONE hash slot (the keys it gets share a hash tag, nf/common/store/
// redis-keys.ts), so it is atomic on the primary that owns the slot. The client (ioredis)
// follows MOVED / ASK redirections, refreshes the slot map and reconnects after a failover;
// a command without an answer within commandTimeoutMs fails as a StoreError (the NF answers 503).
import { Cluster, type ClusterOptions, ReplyError } from "ioredis";
import { StoreError } from "../store.js";
import { type RedisStoreConfig, storeUrl } from "./redis-config.js";
import { KeySpace, keySlot, tagOf } from "./redis-keys.js";

export type Bytes = Buffer | string;

// KEYS[1] value; ARGV[1] "1" when a value is expected (ARGV[2] is it), ARGV[3] "1" to delete,
// else ARGV[4] new value, ARGV[5] absolute expiry in ms or "0". Returns {1} or {0, current}.
const COMPARE_AND_SET = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return {0, cur} end
elseif cur then
  return {0, cur}
end
if ARGV[3] == '1' then redis.call('DEL', KEYS[1])
elseif ARGV[5] ~= '0' then redis.call('SET', KEYS[1], ARGV[4], 'PXAT', ARGV[5])
else redis.call('SET', KEYS[1], ARGV[4]) end
return {1}`;

// Single use: the value is returned once and replaced by a tombstone (ARGV[1], kept until
// ARGV[2] ms), so a second take says "spent" instead of "unknown". {0} absent, {1, value}
// taken, {2} already spent.
const TAKE_ONCE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return {0} end
if cur == ARGV[1] then return {2} end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return {1, cur}`;

// Raises the number in KEYS[1] to ARGV[1] if it is greater (expiry ARGV[2] ms or "0"); 1 when
// raised, 0 when the stored number is already ≥ (a replayed nonce count, RFC 7616 §3.4).
const RAISE_TO = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')
local n = tonumber(ARGV[1])
if n <= cur then return 0 end
if ARGV[2] ~= '0' then redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2]) else redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

// new = max(current + 1, floor), stored and returned as a string (exact up to 2^53);
// ARGV[2] expiry ms or "0".
const INCREMENT_WITH_FLOOR = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
local n = cur + 1
if floor > n then n = floor end
local s = string.format('%.0f', n)
if ARGV[2] ~= '0' then redis.call('SET', KEYS[1], s, 'PXAT', ARGV[2]) else redis.call('SET', KEYS[1], s) end
return s`;

// Supersede by index: KEYS[1] holds the id of the current record, KEYS[2] is the new record's
// key, ARGV[1] the key base of records (same hash tag, so the old record is in this slot too),
// ARGV[2] the new id, ARGV[3] the record, ARGV[4] expiry ms or "0". The old record goes, the
// index names the new one. Returns the previous id or false.
const SUPERSEDE = `
local prev = redis.call('GET', KEYS[1])
if prev and prev ~= ARGV[2] then
  local esc = string.gsub(prev, '[%%{}]', function(c) return string.format('%%%02X', string.byte(c)) end)
  redis.call('DEL', ARGV[1] .. esc)
end
if ARGV[4] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[4])
  redis.call('SET', KEYS[2], ARGV[3], 'PXAT', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3])
end
if prev == ARGV[2] then return false end
return prev`;

type Script = { lua: string; keys: number };
const SCRIPTS = {
  gbaCompareAndSet: { lua: COMPARE_AND_SET, keys: 1 },
  gbaTakeOnce: { lua: TAKE_ONCE, keys: 1 },
  gbaRaiseTo: { lua: RAISE_TO, keys: 1 },
  gbaIncrementWithFloor: { lua: INCREMENT_WITH_FLOOR, keys: 1 },
  gbaSupersede: { lua: SUPERSEDE, keys: 2 },
} satisfies Record<string, Script>;

type ScriptName = keyof typeof SCRIPTS;
type ScriptCaller = (...args: Array<string | Buffer | number>) => Promise<unknown>;

export type CasResult = { ok: true } | { ok: false; current: Buffer | null };
export type TakeResult = { kind: "taken"; value: Buffer } | { kind: "spent" } | { kind: "absent" };

export interface RedisStoreOptions {
  /** passed to the ioredis Cluster (tests: natMap, short retry delays) */
  clusterOptions?: ClusterOptions;
  /** how long open() waits for the cluster to be ready */
  connectTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

function expiryArg(expireAtMs: number | undefined): string {
  if (expireAtMs === undefined) return "0";
  if (!Number.isSafeInteger(expireAtMs) || expireAtMs <= 0) throw new RangeError(`expiry ${expireAtMs} is not a time in ms`);
  return String(expireAtMs);
}

/** Any failed command as a StoreError that says what did not work (no key contents, no secrets). */
function storeFailure(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof ReplyError) return new StoreError(`Redis refused ${what}: ${msg.split("\n")[0]}`);
  return new StoreError(`Redis Cluster unavailable during ${what}: ${msg}`);
}

export class RedisStore {
  readonly keys: KeySpace;
  private closed = false;
  /** backend scripts defined on the client so far */
  private readonly defined = new Map<string, number>();

  private constructor(
    readonly client: Cluster,
    readonly cfg: RedisStoreConfig,
  ) {
    this.keys = new KeySpace(cfg.prefix);
  }

  /** Connects to the cluster and waits until it reports every slot served (CLUSTER INFO ok). */
  static async open(cfg: RedisStoreConfig, o: RedisStoreOptions = {}): Promise<RedisStore> {
    const env = o.env ?? process.env;
    const client = new Cluster(cfg.nodes, {
      enableAutoPipelining: true,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      // a node that went away is found again through the refreshed slot map (MOVED)
      slotsRefreshTimeout: 1000,
      ...o.clusterOptions,
      redisOptions: {
        username: env.GBA_REDIS_USERNAME || undefined,
        password: env.GBA_REDIS_PASSWORD || undefined,
        commandTimeout: cfg.commandTimeoutMs,
        connectTimeout: Math.min(cfg.commandTimeoutMs, 5000),
        maxRetriesPerRequest: 2,
        ...o.clusterOptions?.redisOptions,
      },
    });
    for (const [name, s] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: s.keys, lua: s.lua });
    const store = new RedisStore(client, cfg);
    const timeoutMs = o.connectTimeoutMs ?? 10_000;
    let lastError = "";
    const onError = (err: Error) => {
      lastError = err.message;
    };
    client.on("error", onError);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new StoreError(
                `the Redis Cluster at ${storeUrl(cfg)} was not ready within ${timeoutMs / 1000} s${lastError ? `: ${lastError}` : ""}`,
              ),
            ),
          timeoutMs,
        );
        client.once("ready", () => {
          clearTimeout(timer);
          resolve();
        });
        client.once("end", () => {
          clearTimeout(timer);
          reject(new StoreError(`cannot connect to the Redis Cluster at ${storeUrl(cfg)}${lastError ? `: ${lastError}` : ""}`));
        });
      });
    } catch (err) {
      client.disconnect();
      throw err;
    }
    return store;
  }

  private script(name: ScriptName | string): ScriptCaller {
    return (this.client as unknown as Record<string, ScriptCaller>)[`${name}Buffer`].bind(this.client);
  }

  /** Any command of the client, failures as StoreError naming `what`. */
  call<T>(what: string, fn: (client: Cluster) => Promise<T>): Promise<T> {
    return this.run(what, () => fn(this.client));
  }

  /**
   * WAIT 1 on every primary's connection: resolves once each has one replica holding every write
   * this client made there (a step that must survive a failover, e.g. a provisioned subscriber).
   */
  async awaitReplicas(timeoutMs: number): Promise<void> {
    const acks = await this.run("WAIT", () =>
      Promise.all(
        this.client
          .nodes("master")
          .map((n) => n.wait(1, timeoutMs).then((k) => ({ k, at: `${n.options.host}:${n.options.port}` }))),
      ),
    );
    const short = acks.filter((a) => a.k < 1).map((a) => a.at);
    if (short.length > 0) {
      throw new StoreError(
        `no replica of ${short.join(", ")} acknowledged the writes within ${timeoutMs} ms: they may not survive a failover`,
      );
    }
  }

  private async run<T>(what: string, p: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError(`the Redis store is closed (${what})`);
    try {
      return await p();
    } catch (err) {
      throw storeFailure(err, what);
    }
  }

  /** The seed nodes as a redis:// URL (no credentials), for messages. */
  get url(): string {
    return storeUrl(this.cfg);
  }

  /** The slot a key hashes to (what the cluster routes on). */
  slotOf(key: string): number {
    return keySlot(key);
  }

  get(key: string): Promise<Buffer | null> {
    return this.run("GET", () => this.client.getBuffer(key));
  }

  /** SET, with an absolute expiry (PXAT) when given. */
  async set(key: string, value: Bytes, expireAtMs?: number): Promise<void> {
    await this.run("SET", () =>
      expireAtMs === undefined ? this.client.set(key, value) : this.client.set(key, value, "PXAT", expiryArg(expireAtMs)),
    );
  }

  /** SET … GET: writes the value (with an absolute expiry when given) and returns what the key held. */
  async swap(key: string, value: Bytes, expireAtMs?: number): Promise<Buffer | null> {
    return this.run("SET GET", () =>
      expireAtMs === undefined
        ? this.client.setBuffer(key, value, "GET")
        : this.client.setBuffer(key, value, "PXAT", expiryArg(expireAtMs), "GET"),
    );
  }

  /** SET NX: true when the key was absent and now holds the value. */
  async setIfAbsent(key: string, value: Bytes, expireAtMs?: number): Promise<boolean> {
    const r = await this.run("SET NX", () =>
      expireAtMs === undefined
        ? this.client.set(key, value, "NX")
        : this.client.set(key, value, "PXAT", expiryArg(expireAtMs), "NX"),
    );
    return r === "OK";
  }

  async del(key: string): Promise<boolean> {
    return (await this.run("DEL", () => this.client.del(key))) === 1;
  }

  /** GETDEL: the value, gone from the store in the same step (a single-use token). */
  getDel(key: string): Promise<Buffer | null> {
    return this.run("GETDEL", () => this.client.getdelBuffer(key));
  }

  /**
   * Compare-and-set: writes `next` (or deletes it, `next` null) only if the key holds exactly
   * `expected` (null: only if absent). Otherwise nothing changes and the current value comes back.
   */
  async compareAndSet(key: string, expected: Bytes | null, next: Bytes | null, expireAtMs?: number): Promise<CasResult> {
    const r = (await this.run("compare-and-set", () =>
      this.script("gbaCompareAndSet")(
        key,
        expected === null ? "0" : "1",
        expected ?? "",
        next === null ? "1" : "0",
        next ?? "",
        expiryArg(expireAtMs),
      ),
    )) as [number, Buffer | null | undefined];
    return r[0] === 1 ? { ok: true } : { ok: false, current: r[1] ?? null };
  }

  /**
   * Takes a single-use value: returns it and leaves `tombstone` in its place until
   * `tombstoneExpireAtMs`, so a second take reports "spent" (a replayed Ub nonce).
   */
  async takeOnce(key: string, tombstone: Bytes, tombstoneExpireAtMs: number): Promise<TakeResult> {
    const r = (await this.run("take-once", () => this.script("gbaTakeOnce")(key, tombstone, expiryArg(tombstoneExpireAtMs)))) as [
      number,
      Buffer?,
    ];
    if (r[0] === 1 && r[1] !== undefined) return { kind: "taken", value: r[1] };
    return r[0] === 2 ? { kind: "spent" } : { kind: "absent" };
  }

  /** Raises a stored integer to `n` if n is greater; false when it was already ≥ n (a replay). */
  async raiseTo(key: string, n: number, expireAtMs?: number): Promise<boolean> {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`raiseTo: ${n} is not a non-negative integer`);
    return (await this.run("raise-to", () => this.script("gbaRaiseTo")(key, String(n), expiryArg(expireAtMs)))) === 1;
  }

  /** Stores and returns max(current + 1, floor) (current 0 when absent). */
  async incrementWithFloor(key: string, floor: number, expireAtMs?: number): Promise<number> {
    if (!Number.isSafeInteger(floor) || floor < 0)
      throw new RangeError(`incrementWithFloor: ${floor} is not a non-negative integer`);
    const r = await this.run("increment-with-floor", () =>
      this.script("gbaIncrementWithFloor")(key, String(floor), expiryArg(expireAtMs)),
    );
    return Number(String(r));
  }

  /**
   * Supersede by index, in one slot: `indexKey` names the current record (its id); the new
   * record goes to `recordBase + id`, the previous record is deleted, the index names the new
   * id. `recordBase` must end with ":" and share the index's hash tag. Returns the previous id.
   */
  async supersede(
    indexKey: string,
    recordBase: string,
    id: string,
    record: Bytes,
    expireAtMs?: number,
  ): Promise<string | undefined> {
    const recordKey = `${recordBase}${tagOf(id)}`;
    if (keySlot(indexKey) !== keySlot(recordKey)) {
      throw new RangeError(`supersede: ${indexKey} and ${recordKey} are in different slots (give them one hash tag)`);
    }
    const prev = await this.run("supersede", () =>
      this.script("gbaSupersede")(indexKey, recordKey, recordBase, id, record, expiryArg(expireAtMs)),
    );
    return prev === null || prev === undefined ? undefined : String(prev);
  }

  /**
   * Runs a Lua script of a backend (EVALSHA, loaded on first use per node). All `keys` must share
   * one hash tag: a script is atomic only on one slot.
   */
  async evalScript(name: string, lua: string, keys: string[], args: Bytes[]): Promise<unknown> {
    if (keys.length > 0 && keys.some((k) => keySlot(k) !== keySlot(keys[0]))) {
      throw new RangeError(`script ${name}: keys ${keys.join(", ")} are in different slots (give them one hash tag)`);
    }
    const known = this.defined.get(name);
    if (known === undefined) {
      if (name in SCRIPTS || typeof (this.client as unknown as Record<string, unknown>)[name] !== "undefined") {
        throw new RangeError(`script name ${name} is taken`);
      }
      // a fixed key count: the client routes (and auto-pipelines) by the first key
      this.client.defineCommand(name, { lua, numberOfKeys: keys.length });
      this.defined.set(name, keys.length);
    } else if (known !== keys.length) {
      throw new RangeError(`script ${name} takes ${known} keys, got ${keys.length}`);
    }
    return this.run(name, () => this.script(name)(...keys, ...args));
  }

  /**
   * Waits until one replica of the slot's primary has every write this client made there
   * (WAIT 1), then checks that `field` of hash `key` still satisfies `check` — on the same
   * connection, so a failover in between is noticed. Throws StoreError otherwise: the caller
   * must not hand out what depends on the write (it may not survive a failover).
   */
  async awaitReplica(key: string, timeoutMs: number, check: (value: string | null) => boolean, field: string): Promise<void> {
    const replies = await this.run("WAIT", () => this.client.pipeline().wait(1, timeoutMs).hget(key, field).exec());
    const [waited, read] = replies ?? [];
    if (waited?.[0] || read?.[0]) throw storeFailure(waited?.[0] ?? read?.[0], "WAIT");
    if (Number(waited?.[1]) < 1) {
      throw new StoreError(
        `no replica acknowledged a write within ${timeoutMs} ms (slot ${keySlot(key)}): withheld until one is in sync`,
      );
    }
    if (!check((read?.[1] as string | null) ?? null)) {
      throw new StoreError(`a write to slot ${keySlot(key)} did not survive a failover: retry`);
    }
  }

  /** Closes the connections (QUIT; dropped if the cluster does not answer within a second). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.race([this.client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.client.disconnect();
  }
}
