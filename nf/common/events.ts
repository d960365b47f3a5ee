// The event bus behind `gba up --dashboard` (issue 21): one event per request outcome the NFs'
// route layers decide (Ub challenge / bootstrap / refusal, Zh vector and GUSS, Zn lookup, Ua
// request, enrolment), per-second counters, and a bounded ring of the recent events.
//
// Cost: counting is a few array writes per event and always on. While a dashboard records, the
// ring keeps each event's fields in preallocated columns (typed arrays for the numbers, the
// strings that repeat — IMPI, NAF, cause, peer — interned), so a recorded event allocates no
// object that outlives the request: per-event objects kept for seconds would all be promoted
// out of V8's young generation and collected there, which cost the NFs' process ~15 % of its
// CPU per bootstrap under load (`gba bench dashboard`). Event objects are built when asked for
// (a query, the live stream's tick) and for subscribers only. NFs hold the bus as an optional
// dependency, so without one an emit is a skipped optional call.
//
// No key material: an event has exactly the fields of EVENT_FIELDS (checked below at compile
// time against FORBIDDEN_FIELD_NAMES, and in test/events.test.ts); emit() copies those fields
// only, so a caller's object with extra properties cannot carry a key through.
import type { Clock } from "../../wire/deps.js";

export const EVENT_NFS = ["hss", "bsf", "naf", "eca"] as const;
export type EventNf = (typeof EVENT_NFS)[number];

/**
 * The exchange an event reports (its reference point and operation): "ua" is one HTTP request on
 * Ua (Digest, or over a TLS-PSK connection), "ua-psk" one TLS-PSK handshake (TS 33.222 §5.4).
 */
export const EVENT_KINDS = ["ub", "zh-av", "zh-guss", "zn", "ua", "ua-psk", "enrol"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** challenge: a 401 that asks for (more) authentication as the protocol intends (Ub first GET, Ua first request). */
export const EVENT_OUTCOMES = ["challenge", "ok", "refused"] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

export const EVENT_FIELDS = [
  "seq",
  "time",
  "nf",
  "kind",
  "outcome",
  "impi",
  "btid",
  "nafFqdn",
  "cause",
  "status",
  "peer",
  "latencyMs",
  "resync",
  "auth",
] as const;
export type EventField = (typeof EVENT_FIELDS)[number];

/** Names no event field may have (compared lower-case, without '_' and '-'): TS 33.220 key material and secrets. */
export const FORBIDDEN_FIELD_NAMES = [
  "k",
  "op",
  "opc",
  "res",
  "xres",
  "ck",
  "ik",
  "ks",
  "ksnaf",
  "ksextnaf",
  "ksintnaf",
  "autn",
  "auts",
  "rand",
  "password",
  "secret",
  "token",
  "key",
] as const;

export interface GbaEvent {
  /** position in the bus, increasing by one per recorded event */
  seq: number;
  /** ms since the epoch, from the bus clock */
  time: number;
  nf: EventNf;
  kind: EventKind;
  outcome: EventOutcome;
  impi?: string;
  btid?: string;
  /** the NAF the exchange is for (Zn request, Ua realm) */
  nafFqdn?: string;
  /** application cause of a refusal (ProblemDetails cause, FST_GBA_* code) */
  cause?: string;
  /** HTTP status sent */
  status?: number;
  /** the other side: a remote address or a configured NAF id */
  peer?: string;
  /** time the NF spent on the exchange */
  latencyMs?: number;
  /** the exchange carried a resynchronisation (AUTS) */
  resync?: boolean;
  /** how a Ua request was authenticated: HTTP Digest, or the TLS-PSK connection it came over */
  auth?: UaAuth;
}

export type UaAuth = "digest" | "tls-psk";

/** What an NF passes to emit(): the bus adds seq and (unless given) time. */
export type EventInput = Omit<GbaEvent, "seq" | "time"> & { time?: number };

// Compile-time guards: GbaEvent has exactly EVENT_FIELDS, and none of them is a forbidden name.
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Normalised<S extends string> = S extends `${infer A}_${infer B}`
  ? Normalised<`${A}${B}`>
  : S extends `${infer A}-${infer B}`
    ? Normalised<`${A}${B}`>
    : Lowercase<S>;
const exactFields: Equal<keyof GbaEvent, EventField> = true;
const noKeyFields: Equal<Extract<Normalised<EventField>, (typeof FORBIDDEN_FIELD_NAMES)[number]>, never> = true;
void exactFields;
void noKeyFields;

/** Longest string kept in an event field (IMPIs are ≤ 253, B-TIDs ≤ 279 characters). */
const MAX_TEXT = 300;

// ------------------------------------------------------------------ per-second counters

/** Seconds of per-second counts kept (10 minutes). */
export const HISTORY_SECONDS = 600;
/** Distinct refusal causes counted separately; later ones count as "other". */
export const MAX_CAUSES = 48;
const FIXED_SLOTS = EVENT_KINDS.length * EVENT_OUTCOMES.length;
const SLOTS = FIXED_SLOTS + MAX_CAUSES + 1;
const OTHER_CAUSE = "other";

const kindIndex = new Map<string, number>(EVENT_KINDS.map((k, i) => [k, i]));
const outcomeIndex = new Map<string, number>(EVENT_OUTCOMES.map((o, i) => [o, i]));

export interface SeriesSnapshot {
  /** epoch seconds, oldest first, one per row */
  seconds: number[];
  /** "ub.ok", "zn.refused", ... → count per second */
  counts: Record<string, number[]>;
  /** "<kind> <cause>" → refusals per second */
  refusals: Record<string, number[]>;
}

/** Counts per second for the last HISTORY_SECONDS, per kind × outcome and per refusal cause. */
class SecondCounters {
  private readonly rows = new Uint32Array(HISTORY_SECONDS * SLOTS);
  private readonly rowSecond = new Float64Array(HISTORY_SECONDS).fill(-1);
  readonly totals = new Float64Array(SLOTS);
  private readonly causes = new Map<string, number>();
  private readonly causeNames: string[] = [];

  add(timeMs: number, kind: number, outcome: number, causeKey: string | undefined): void {
    const sec = Math.floor(timeMs / 1000);
    const row = sec % HISTORY_SECONDS;
    if (this.rowSecond[row] !== sec) {
      this.rows.fill(0, row * SLOTS, (row + 1) * SLOTS);
      this.rowSecond[row] = sec;
    }
    const fixed = kind * EVENT_OUTCOMES.length + outcome;
    this.rows[row * SLOTS + fixed]++;
    this.totals[fixed]++;
    if (causeKey !== undefined) {
      const slot = this.causeSlot(causeKey);
      this.rows[row * SLOTS + slot]++;
      this.totals[slot]++;
    }
  }

  private causeSlot(key: string): number {
    let slot = this.causes.get(key);
    if (slot === undefined) {
      if (this.causeNames.length < MAX_CAUSES) {
        slot = FIXED_SLOTS + this.causeNames.length;
        this.causeNames.push(key);
      } else slot = FIXED_SLOTS + MAX_CAUSES;
      this.causes.set(key, slot);
    }
    return slot;
  }

  /** The last `seconds` whole seconds up to and including `nowSec`. */
  snapshot(nowSec: number, seconds: number): SeriesSnapshot {
    const n = Math.max(1, Math.min(HISTORY_SECONDS, Math.floor(seconds)));
    const secs: number[] = [];
    for (let s = nowSec - n + 1; s <= nowSec; s++) secs.push(s);
    const column = (slot: number) =>
      secs.map((s) => {
        const row = s % HISTORY_SECONDS;
        return this.rowSecond[row] === s ? this.rows[row * SLOTS + slot] : 0;
      });
    const counts: Record<string, number[]> = {};
    EVENT_KINDS.forEach((kind, k) => {
      EVENT_OUTCOMES.forEach((outcome, o) => {
        counts[`${kind}.${outcome}`] = column(k * EVENT_OUTCOMES.length + o);
      });
    });
    const refusals: Record<string, number[]> = {};
    this.causeNames.forEach((name, i) => {
      refusals[name] = column(FIXED_SLOTS + i);
    });
    if (this.causes.size > MAX_CAUSES) refusals[OTHER_CAUSE] = column(FIXED_SLOTS + MAX_CAUSES);
    return { seconds: secs, counts, refusals };
  }

  totalsByKey(): Record<string, number> {
    const out: Record<string, number> = {};
    EVENT_KINDS.forEach((kind, k) => {
      EVENT_OUTCOMES.forEach((outcome, o) => {
        out[`${kind}.${outcome}`] = this.totals[k * EVENT_OUTCOMES.length + o];
      });
    });
    return out;
  }
}

// ------------------------------------------------------------------ the ring

const AUTHS: readonly UaAuth[] = ["digest", "tls-psk"];
const nfIndex = new Map<string, number>(EVENT_NFS.map((n, i) => [n, i]));
/** Distinct strings kept interned before the table starts afresh (IMPIs of a large test bed). */
const MAX_INTERNED = 16_384;

/**
 * The newest `capacity` events as columns: numbers in typed arrays (NaN: absent), the codes of
 * nf, kind, outcome and auth in bytes, strings in arrays. Strings that repeat are interned, so the
 * ring holds one copy of an IMPI however often it bootstraps, not the request's own string.
 */
class EventRing {
  private readonly seq: Float64Array;
  private readonly time: Float64Array;
  private readonly status: Float64Array;
  private readonly latency: Float64Array;
  /** nf, kind, outcome, flags (bit 0 resync, bits 1–2 auth: 0 none, 1 digest, 2 tls-psk) per slot */
  private readonly codes: Uint8Array;
  private readonly impi: Array<string | undefined>;
  private readonly btid: Array<string | undefined>;
  private readonly nafFqdn: Array<string | undefined>;
  private readonly cause: Array<string | undefined>;
  private readonly peer: Array<string | undefined>;
  private readonly interned = new Map<string, string>();

  constructor(readonly capacity: number) {
    this.seq = new Float64Array(capacity);
    this.time = new Float64Array(capacity);
    this.status = new Float64Array(capacity);
    this.latency = new Float64Array(capacity);
    this.codes = new Uint8Array(capacity * 4);
    this.impi = new Array(capacity).fill(undefined);
    this.btid = new Array(capacity).fill(undefined);
    this.nafFqdn = new Array(capacity).fill(undefined);
    this.cause = new Array(capacity).fill(undefined);
    this.peer = new Array(capacity).fill(undefined);
  }

  private intern(v: string | undefined): string | undefined {
    if (v === undefined) return undefined;
    const known = this.interned.get(v);
    if (known !== undefined) return known;
    if (this.interned.size >= MAX_INTERNED) this.interned.clear();
    this.interned.set(v, v);
    return v;
  }

  /** Stores the event of `seq`, its fields already checked by emit(). */
  put(seq: number, time: number, nf: number, kind: number, outcome: number, f: EventInput): void {
    const i = seq % this.capacity;
    this.seq[i] = seq;
    this.time[i] = time;
    this.status[i] = num(f.status) ?? Number.NaN;
    const latency = num(f.latencyMs);
    this.latency[i] = latency === undefined ? Number.NaN : Math.round(latency * 1000) / 1000;
    const c = i * 4;
    this.codes[c] = nf;
    this.codes[c + 1] = kind;
    this.codes[c + 2] = outcome;
    this.codes[c + 3] = (f.resync === true ? 1 : 0) | ((AUTHS.indexOf(f.auth as UaAuth) + 1) << 1);
    this.impi[i] = this.intern(text(f.impi));
    this.btid[i] = text(f.btid);
    this.nafFqdn[i] = this.intern(text(f.nafFqdn));
    this.cause[i] = this.intern(text(f.cause));
    this.peer[i] = this.intern(text(f.peer));
  }

  /** The event of `seq` as an object, if the ring still holds it. */
  get(seq: number): GbaEvent | undefined {
    const i = seq % this.capacity;
    if (this.seq[i] !== seq) return undefined;
    const c = i * 4;
    const e: GbaEvent = {
      seq,
      time: this.time[i],
      nf: EVENT_NFS[this.codes[c]],
      kind: EVENT_KINDS[this.codes[c + 1]],
      outcome: EVENT_OUTCOMES[this.codes[c + 2]],
    };
    const impi = this.impi[i];
    if (impi !== undefined) e.impi = impi;
    const btid = this.btid[i];
    if (btid !== undefined) e.btid = btid;
    const nafFqdn = this.nafFqdn[i];
    if (nafFqdn !== undefined) e.nafFqdn = nafFqdn;
    const cause = this.cause[i];
    if (cause !== undefined) e.cause = cause;
    if (!Number.isNaN(this.status[i])) e.status = this.status[i];
    const peer = this.peer[i];
    if (peer !== undefined) e.peer = peer;
    if (!Number.isNaN(this.latency[i])) e.latencyMs = this.latency[i];
    const flags = this.codes[c + 3];
    if (flags & 1) e.resync = true;
    if (flags >> 1) e.auth = AUTHS[(flags >> 1) - 1];
    return e;
  }
}

// ------------------------------------------------------------------ the bus

export interface EventBusOptions {
  /** events kept in the ring (default 10,000) */
  capacity?: number;
  /** default: epoch milliseconds to the microsecond (preciseNow) */
  clock?: Clock;
}

/**
 * Epoch milliseconds with a fraction, from the monotonic clock: an event's start (time minus
 * latencyMs) then orders against another NF's in this process even when both fall within one
 * millisecond (a Zh exchange inside the Ub request that asked for it).
 */
export const preciseNow: Clock = () => Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;

export type EventListener = (e: GbaEvent) => void;

/** What a ladder or a table asks for: the events of one B-TID or one IMPI, or the latest ones. */
export interface EventQuery {
  btid?: string;
  impi?: string;
  /** most events returned, newest kept (default 200) */
  limit?: number;
  /** only events with seq above this */
  afterSeq?: number;
}

function text(v: unknown): string | undefined {
  return typeof v === "string" ? (v.length > MAX_TEXT ? v.slice(0, MAX_TEXT) : v) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export class EventBus {
  private readonly ring: EventRing;
  private readonly unrecorded = new EventRing(1);
  private readonly clock: Clock;
  private readonly counters = new SecondCounters();
  private readonly listeners = new Set<EventListener>();
  private recorders = 0;
  private nextSeq = 1;
  /** true while event objects are built: a recorder is attached or someone subscribed */
  wanted = false;

  constructor(o: EventBusOptions = {}) {
    this.ring = new EventRing(Math.max(1, o.capacity ?? 10_000));
    this.clock = o.clock ?? preciseNow;
  }

  /** Counts the event; builds, keeps and hands it out only while wanted. */
  emit(input: EventInput): void {
    const k = kindIndex.get(input.kind);
    const o = outcomeIndex.get(input.outcome);
    if (k === undefined || o === undefined) return;
    const time = input.time ?? this.clock();
    const cause = input.outcome === "refused" ? `${input.kind} ${text(input.cause) ?? "unknown"}` : undefined;
    this.counters.add(time, k, o, cause);
    if (!this.wanted) return;
    const nf = nfIndex.get(input.nf);
    if (nf === undefined) return;
    const seq = this.nextSeq++;
    // field by field: nothing but EVENT_FIELDS reaches the ring or a listener, whatever the caller's object holds
    // without a recorder a listener's event goes through a one-slot ring
    const ring = this.recorders > 0 ? this.ring : this.unrecorded;
    ring.put(seq, time, nf, k, o, input);
    if (this.listeners.size === 0) return;
    const e = ring.get(seq) as GbaEvent;
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a failing listener must not break the NF that emitted
      }
    }
  }

  /** Keeps events in the ring until the returned function is called (a dashboard attached). */
  record(): () => void {
    this.recorders++;
    this.update();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.recorders--;
      this.update();
    };
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    this.update();
    return () => this.unsubscribe(listener);
  }

  unsubscribe(listener: EventListener): void {
    this.listeners.delete(listener);
    this.update();
  }

  private update(): void {
    this.wanted = this.recorders > 0 || this.listeners.size > 0;
  }

  /** seq of the newest recorded event (0 before the first) */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Events in the ring matching the query, oldest first (the newest `limit` of them). */
  query(q: EventQuery = {}): GbaEvent[] {
    const limit = Math.max(1, q.limit ?? 200);
    const after = q.afterSeq ?? 0;
    const out: GbaEvent[] = [];
    const match = q.btid !== undefined ? this.btidMatcher(q.btid) : q.impi !== undefined ? this.impiMatcher(q.impi) : () => true;
    for (const e of this.newestFirst()) {
      if (e.seq <= after) break;
      if (match(e)) {
        out.push(e);
        if (out.length >= limit) break;
      }
    }
    return out.reverse();
  }

  /**
   * The events of one B-TID: those naming it, and the Ub exchanges and Zh vector of its IMPI that
   * led to it (they carry no B-TID yet): after the IMPI's previous bootstrap, up to this one.
   */
  private btidMatcher(btid: string): (e: GbaEvent) => boolean {
    const born = this.newest((x) => x.btid === btid && x.kind === "ub" && x.outcome === "ok");
    if (born?.impi === undefined) return (e) => e.btid === btid;
    const from = this.newest((x) => x.seq < born.seq && x.impi === born.impi && x.kind === "ub" && x.outcome === "ok")?.seq ?? 0;
    return (e) => e.btid === btid || (e.btid === undefined && e.impi === born.impi && e.seq > from && e.seq < born.seq);
  }

  /** The events of one IMPI: those naming it, and those naming one of its B-TIDs (a NAF may know the B-TID only). */
  private impiMatcher(impi: string): (e: GbaEvent) => boolean {
    const btids = new Set<string>();
    for (const e of this.newestFirst()) if (e.impi === impi && e.btid !== undefined) btids.add(e.btid);
    return (e) => e.impi === impi || (e.btid !== undefined && btids.has(e.btid));
  }

  private newest(pred: (e: GbaEvent) => boolean): GbaEvent | undefined {
    for (const e of this.newestFirst()) if (pred(e)) return e;
    return undefined;
  }

  private *newestFirst(): Generator<GbaEvent> {
    const oldest = Math.max(1, this.nextSeq - this.ring.capacity);
    for (let seq = this.nextSeq - 1; seq >= oldest; seq--) {
      const e = this.ring.get(seq);
      if (e === undefined) return;
      yield e;
    }
  }

  /** Per-second counts of the last `seconds` seconds, ending with the current one. */
  series(seconds: number): SeriesSnapshot {
    return this.counters.snapshot(Math.floor(this.clock() / 1000), seconds);
  }

  /** Events counted since the bus started, by "<kind>.<outcome>". */
  totals(): Record<string, number> {
    return this.counters.totalsByKey();
  }
}
