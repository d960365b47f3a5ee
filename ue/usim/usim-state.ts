// Everything a simulated USIM remembers, and its JSON form (the "card memory" file).
// The file holds K and OPc: state-file.ts writes it with mode 0600.
import { UeError } from "../errors.js";
import { bytesToHex, HexError, hexToBytes } from "../../wire/bytes.js";
import { DEFAULT_IND_BITS, newSqnArray, type UsimSqnArray } from "../../milenage/sqn.js";
import { EfCodingError, encodeGbabp, encodeImsi, SERVICE_GBA, ustHasService, ustWithService } from "./ef-codec.js";

export const STATE_VERSION = 1;
/** Size of EF_GBABP: RAND (16) + B-TID + lifetime + 3 length bytes must fit (TS 31.102 §4.2.79). */
export const DEFAULT_GBABP_SIZE = 255;
export const DEFAULT_GBANL_RECORD_LENGTH = 255;
export const DEFAULT_GBANL_RECORD_COUNT = 5;
const UST_BYTES = 16;

/** One EF_GBANL record and the Ks_int_NAF the card keeps with it (TS 33.220 G.2). */
export interface GbanlSlot {
  nafId: Uint8Array;
  btid: string;
  ksIntNaf: Uint8Array;
  /** value of UsimState.lruClock when the entry was last derived (LRU replacement, G.2) */
  lastUsed: number;
}

export interface UsimState {
  k: Uint8Array;
  opc: Uint8Array;
  imsi: string;
  mncLength: 2 | 3;
  /** EF_UST; service n°68 (GBA) is available exactly when gbaU is true */
  ust: Uint8Array;
  /** GBA_U capable: AUTHENTICATE in GBA context, EF_GBABP and EF_GBANL present */
  gbaU: boolean;
  /** GBA bootstrapping takes AUTN* (MAC* = MAC ⊕ first8(SHA-1(IK)), project reading of TS 33.220 §5.3.2) */
  autnStar: boolean;
  /** TS 33.102 Annex C array of SEQ_MS per IND */
  sqn: UsimSqnArray;
  /** raw content of EF_GBABP (fixed size, 'FF' padded) */
  gbabp: Uint8Array;
  gbanl: { recordLength: number; slots: (GbanlSlot | null)[] };
  /** Ks = CK ‖ IK and RAND of the last GBA_U bootstrapping (TS 33.220 G.1); never leaves the card */
  gbaUKeys: { ks: Uint8Array; rand: Uint8Array } | null;
  lruClock: number;
}

export interface NewUsimOptions {
  k: Uint8Array;
  opc: Uint8Array;
  imsi: string;
  mncLength?: 2 | 3;
  /** highest SQN already accepted (SQN_MS), as a number; default 0 */
  sqn?: number;
  indBits?: number;
  gbaU?: boolean;
  autnStar?: boolean;
  gbanlRecordCount?: number;
}

export class UsimStateError extends UeError<"USIM_STATE"> {
  constructor(message: string) {
    super("USIM_STATE", message);
  }
}

export function emptyGbabp(size = DEFAULT_GBABP_SIZE): Uint8Array {
  const out = new Uint8Array(size).fill(0xff);
  out.set(encodeGbabp({ rand: new Uint8Array(0), btid: "", lifetime: "" }));
  return out;
}

export function newUsimState(o: NewUsimOptions): UsimState {
  if (o.k.length !== 16) throw new UsimStateError(`K must be 16 bytes, got ${o.k.length}`);
  if (o.opc.length !== 16) throw new UsimStateError(`OPc must be 16 bytes, got ${o.opc.length}`);
  try {
    encodeImsi(o.imsi);
  } catch (err) {
    throw new UsimStateError((err as Error).message);
  }
  const gbaU = o.gbaU ?? false;
  const records = o.gbanlRecordCount ?? DEFAULT_GBANL_RECORD_COUNT;
  if (!Number.isInteger(records) || records < 1 || records > 254) throw new UsimStateError("EF_GBANL needs 1..254 records");
  return {
    k: o.k.slice(),
    opc: o.opc.slice(),
    imsi: o.imsi,
    mncLength: o.mncLength ?? 2,
    ust: ustWithService(new Uint8Array(UST_BYTES), SERVICE_GBA, gbaU),
    gbaU,
    autnStar: o.autnStar ?? true,
    sqn: newSqnArray(o.indBits ?? DEFAULT_IND_BITS, o.sqn ?? 0),
    gbabp: emptyGbabp(),
    gbanl: { recordLength: DEFAULT_GBANL_RECORD_LENGTH, slots: new Array(records).fill(null) },
    gbaUKeys: null,
    lruClock: 0,
  };
}

// ---------------------------------------------------------------- JSON form

const hex = bytesToHex;

export function stateToJson(s: UsimState): Record<string, unknown> {
  return {
    version: STATE_VERSION,
    k: hex(s.k),
    opc: hex(s.opc),
    imsi: s.imsi,
    mncLength: s.mncLength,
    ust: hex(s.ust),
    gbaU: s.gbaU,
    autnStar: s.autnStar,
    sqn: { indBits: s.sqn.indBits, seq: s.sqn.seq.slice() },
    gbabp: hex(s.gbabp),
    gbanl: {
      recordLength: s.gbanl.recordLength,
      slots: s.gbanl.slots.map((e) =>
        e === null ? null : { nafId: hex(e.nafId), btid: e.btid, ksIntNaf: hex(e.ksIntNaf), lastUsed: e.lastUsed },
      ),
    },
    gbaUKeys: s.gbaUKeys === null ? null : { ks: hex(s.gbaUKeys.ks), rand: hex(s.gbaUKeys.rand) },
    lruClock: s.lruClock,
  };
}

type Obj = Record<string, unknown>;

class Reader {
  constructor(private readonly source: string) {}

  fail(field: string, what: string): never {
    throw new UsimStateError(`${this.source}: field "${field}" ${what}`);
  }

  obj(v: unknown, field: string): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(field, "must be an object");
    return v as Obj;
  }

  hex(o: Obj, field: string, path: string, bytes?: number): Uint8Array {
    const v = o[field];
    if (typeof v !== "string") this.fail(path, "must be a hex string");
    try {
      return hexToBytes(v, path, bytes);
    } catch (err) {
      if (err instanceof HexError) this.fail(path, `is not valid: ${err.message}`);
      throw err;
    }
  }

  int(o: Obj, field: string, path: string, min: number, max: number): number {
    const v = o[field];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max)
      this.fail(path, `must be an integer in ${min}..${max}`);
    return v;
  }

  bool(o: Obj, field: string): boolean {
    const v = o[field];
    if (typeof v !== "boolean") this.fail(field, "must be true or false");
    return v;
  }

  str(o: Obj, field: string, path: string): string {
    const v = o[field];
    if (typeof v !== "string") this.fail(path, "must be a string");
    return v;
  }
}

/** Validates a parsed state file; every problem is a UsimStateError naming the field. */
export function stateFromJson(json: unknown, source: string): UsimState {
  const r: Reader = new Reader(source);
  const o = r.obj(json, "(top level)");
  if (o.version !== STATE_VERSION) r.fail("version", `must be ${STATE_VERSION}, got ${JSON.stringify(o.version)}`);
  const imsi = r.str(o, "imsi", "imsi");
  try {
    encodeImsi(imsi);
  } catch (err) {
    if (err instanceof EfCodingError) r.fail("imsi", "must be 6 to 15 decimal digits");
    throw err;
  }
  const mncLength = r.int(o, "mncLength", "mncLength", 2, 3) as 2 | 3;
  const ust = r.hex(o, "ust", "ust");
  if (ust.length < 1 || ust.length > 32) r.fail("ust", "must be 1 to 32 bytes");
  const gbaU = r.bool(o, "gbaU");
  if (ust.length * 8 < SERVICE_GBA || ustHasService(ust, SERVICE_GBA) !== gbaU) {
    r.fail("ust", `must have service n°${SERVICE_GBA} (GBA) ${gbaU ? "set" : "clear"} to match "gbaU": ${gbaU}`);
  }
  const sqnObj = r.obj(o.sqn, "sqn");
  const indBits = r.int(sqnObj, "indBits", "sqn.indBits", 0, 16);
  if (!Array.isArray(sqnObj.seq) || sqnObj.seq.length !== 2 ** indBits)
    r.fail("sqn.seq", `must be an array of ${2 ** indBits} numbers`);
  const seqMax = 2 ** (48 - indBits) - 1;
  const seq = (sqnObj.seq as unknown[]).map((v, i) => r.int({ v }, "v", `sqn.seq[${i}]`, 0, seqMax));
  const gbabp = r.hex(o, "gbabp", "gbabp");
  if (gbabp.length < 3 || gbabp.length > 1024) r.fail("gbabp", "must be 3 to 1024 bytes");
  const gbanlObj = r.obj(o.gbanl, "gbanl");
  const recordLength = r.int(gbanlObj, "recordLength", "gbanl.recordLength", 4, 255);
  if (!Array.isArray(gbanlObj.slots) || gbanlObj.slots.length < 1 || gbanlObj.slots.length > 254) {
    r.fail("gbanl.slots", "must be an array of 1 to 254 entries");
  }
  const slots = (gbanlObj.slots as unknown[]).map((v, i): GbanlSlot | null => {
    if (v === null) return null;
    const p = `gbanl.slots[${i}]`;
    const e = r.obj(v, p);
    return {
      nafId: r.hex(e, "nafId", `${p}.nafId`),
      btid: r.str(e, "btid", `${p}.btid`),
      ksIntNaf: r.hex(e, "ksIntNaf", `${p}.ksIntNaf`, 32),
      lastUsed: r.int(e, "lastUsed", `${p}.lastUsed`, 0, Number.MAX_SAFE_INTEGER),
    };
  });
  let gbaUKeys: UsimState["gbaUKeys"] = null;
  if (o.gbaUKeys !== null) {
    const g = r.obj(o.gbaUKeys, "gbaUKeys");
    gbaUKeys = { ks: r.hex(g, "ks", "gbaUKeys.ks", 32), rand: r.hex(g, "rand", "gbaUKeys.rand", 16) };
  }
  return {
    k: r.hex(o, "k", "k", 16),
    opc: r.hex(o, "opc", "opc", 16),
    imsi,
    mncLength,
    ust,
    gbaU,
    autnStar: r.bool(o, "autnStar"),
    sqn: { indBits, seq },
    gbabp,
    gbanl: { recordLength, slots },
    gbaUKeys,
    lruClock: r.int(o, "lruClock", "lruClock", 0, Number.MAX_SAFE_INTEGER),
  };
}
