// Typed USIM operations over any Card (simulated or PC/SC): what the device middleware uses.
// Every method sends standard APDUs (TS 102 221, TS 31.102), so a real USIM answers the same.
import { concatBytes } from "../../wire/bytes.js";
import { UeError } from "../errors.js";
import { type CommandApdu, encodeCommandApdu, parseResponseApdu, type ResponseApdu } from "../card/apdu.js";
import type { Card } from "../card/card.js";
import { describeSw, SW, SW1_MORE_DATA, SW1_WRONG_LE } from "../card/sw.js";
import {
  decodeGbabp,
  decodeGbanlRecord,
  decodeImsi,
  decodeMncLength,
  encodeGbabp,
  type Gbabp,
  type GbanlEntry,
  ustHasService,
} from "./ef-codec.js";
import { decodeFcp, type FileStructure } from "./fcp.js";
import { EF, USIM_AID } from "./usim-files.js";

/** The card answered a status word the operation does not expect. */
export class CardStatusError extends UeError<"CARD_STATUS"> {
  constructor(
    readonly sw: number,
    readonly operation: string,
    detail?: string,
  ) {
    super("CARD_STATUS", `${operation}: card answered ${describeSw(sw)}${detail ? ` (${detail})` : ""}`);
  }
}

/** The card answered 9000 with data that does not follow the specified coding. */
export class CardResponseError extends UeError<"CARD_RESPONSE"> {
  constructor(
    readonly operation: string,
    message: string,
  ) {
    super("CARD_RESPONSE", `${operation}: ${message}`);
  }
}

/**
 * What AUTHENTICATE can answer besides success, as results rather than status words (TS 31.102
 * §7.1.2, §7.3.1): '9862' MAC failure, 'DC' ‖ AUTS synchronisation failure, '9864' no such
 * security context on this card. A refusal carries the error to throw when the caller cannot go on.
 */
export type AkaRefusal =
  | { kind: "sync-failure"; auts: Uint8Array }
  | { kind: "mac-failure" }
  | { kind: "context-not-supported"; error: CardStatusError };

export type Authenticate3gResult = { kind: "success"; res: Uint8Array; ck: Uint8Array; ik: Uint8Array } | AkaRefusal;

export type GbaBootstrapResult = { kind: "success"; res: Uint8Array } | AkaRefusal;

/**
 * AUTHENTICATE in GBA NAF derivation mode (TS 31.102 §7.1.2 tag 'DE', TS 33.220 G.2): Ks_ext_NAF,
 * or '6985' no bootstrapped Ks on the card (G.2 NOTE: the ME bootstraps again), or '9864' a card
 * without the GBA context (no service n°68).
 */
export type GbaNafDerivationResult =
  | { kind: "success"; ksExtNaf: Uint8Array }
  | { kind: "no-ks"; error: CardStatusError }
  | { kind: "context-not-supported"; error: CardStatusError };

export interface GbanlRecord extends GbanlEntry {
  /** record number in EF_GBANL, from 1 */
  record: number;
}

/** TS 31.102 §7.1.2: P2 of AUTHENTICATE, specific reference data + context. */
const P2_3G = 0x81;
const P2_GBA = 0x84;
/** the partial USIM AID every USIM answers to: RID ‖ application code 1002 (TS 101 220 Annex E) */
const USIM_AID_PREFIX = USIM_AID.subarray(0, 7);
const MAX_CHAINED_RESPONSES = 64;

export class UsimClient {
  private usimSelected = false;
  private ust: Uint8Array | undefined;

  constructor(readonly card: Card) {}

  /**
   * One command with the T=0 conveniences a real card may need: '6C xx' is answered by
   * repeating the command with Le = xx, '61 xx' by GET RESPONSE until the data is complete.
   */
  async exchange(cmd: CommandApdu): Promise<ResponseApdu> {
    let r = parseResponseApdu(await this.card.transmit(encodeCommandApdu(cmd)));
    if (r.sw >>> 8 === SW1_WRONG_LE) {
      r = parseResponseApdu(await this.card.transmit(encodeCommandApdu({ ...cmd, ne: r.sw & 0xff || 256 })));
    }
    let data = r.data;
    for (let i = 0; r.sw >>> 8 === SW1_MORE_DATA; i++) {
      if (i === MAX_CHAINED_RESPONSES) throw new CardResponseError("GET RESPONSE", "card keeps answering 61xx");
      const getResponse = { cla: cmd.cla, ins: 0xc0, p1: 0, p2: 0, data: new Uint8Array(0), ne: r.sw & 0xff || 256 };
      r = parseResponseApdu(await this.card.transmit(encodeCommandApdu(getResponse)));
      data = concatBytes(data, r.data);
    }
    return { data, sw: r.sw };
  }

  /** Resets the card and forgets what this client cached (selection, EF_UST). Returns the ATR. */
  async reset(): Promise<Uint8Array> {
    this.usimSelected = false;
    this.ust = undefined;
    return this.card.reset();
  }

  /** SELECT the USIM ADF by partial AID, P1 '04' P2 '04' (TS 102 221 §11.1.1). */
  async selectUsim(): Promise<void> {
    const r = await this.exchange({ cla: 0, ins: 0xa4, p1: 0x04, p2: 0x04, data: USIM_AID_PREFIX, ne: 256 });
    if (r.sw !== SW.OK) throw new CardStatusError(r.sw, "SELECT USIM");
    this.usimSelected = true;
  }

  /** TS 31.102 §4.2.2 */
  async readImsi(): Promise<string> {
    return decodeImsiOrThrow(await this.readTransparent(EF.IMSI, "EF_IMSI"));
  }

  /** TS 31.102 §4.2.18 byte 4: number of MNC digits in the IMSI (2 or 3). */
  async readMncLength(): Promise<2 | 3> {
    const ad = await this.readTransparent(EF.AD, "EF_AD");
    try {
      return decodeMncLength(ad);
    } catch (err) {
      throw new CardResponseError("READ EF_AD", (err as Error).message);
    }
  }

  /** TS 31.102 §4.2.8 (read once per client / reset). */
  async readUst(): Promise<Uint8Array> {
    this.ust ??= await this.readTransparent(EF.UST, "EF_UST");
    return this.ust.slice();
  }

  /** Service n of EF_UST, e.g. 68 (GBA: the card does GBA_U). */
  async hasService(n: number): Promise<boolean> {
    return ustHasService(await this.readUst(), n);
  }

  /** AUTHENTICATE, 3G context (TS 31.102 §7.1.2, P2 '81'): RES, CK, IK, or AUTS, or MAC failure. */
  async authenticate3g(rand: Uint8Array, autn: Uint8Array): Promise<Authenticate3gResult> {
    const what = "AUTHENTICATE (3G)";
    const r = await this.authenticate(what, P2_3G, concatBytes(lv(rand, "RAND"), lv(autn, "AUTN")));
    if (r.kind !== "success") return r;
    const [res, ck, ik] = readLvs(what, r.data, 3);
    return { kind: "success", res, ck, ik };
  }

  /**
   * AUTHENTICATE, GBA context, bootstrapping mode (TS 31.102 §7.1.2 tag 'DD', TS 33.220 G.1):
   * the card keeps Ks and RAND and returns RES only. Give AUTN* when the network applies the
   * GBA_U MAC modification (gbaU.autnStar), plain AUTN otherwise.
   */
  async gbaBootstrap(rand: Uint8Array, autnStar: Uint8Array): Promise<GbaBootstrapResult> {
    const what = "AUTHENTICATE (GBA bootstrapping)";
    const r = await this.authenticate(what, P2_GBA, concatBytes(Uint8Array.of(0xdd), lv(rand, "RAND"), lv(autnStar, "AUTN*")));
    if (r.kind !== "success") return r;
    const [res] = readLvs(what, r.data, 1);
    return { kind: "success", res };
  }

  /**
   * AUTHENTICATE, GBA context, NAF derivation mode (TS 31.102 §7.1.2 tag 'DE', TS 33.220 G.2):
   * returns Ks_ext_NAF (32 bytes); Ks_int_NAF stays on the card. NAF_Id = FQDN ‖ Ua id; the
   * IMPI is the one used for the bootstrapping. '6985' (no bootstrapped Ks) is the result "no-ks".
   */
  async gbaNafDerivation(nafId: Uint8Array, impi: string): Promise<GbaNafDerivationResult> {
    const what = "AUTHENTICATE (GBA NAF derivation)";
    const impiBytes = new TextEncoder().encode(impi.normalize("NFKC"));
    await this.ensureUsim();
    const r = await this.exchange({
      cla: 0,
      ins: 0x88,
      p1: 0,
      p2: P2_GBA,
      data: concatBytes(Uint8Array.of(0xde), lv(nafId, "NAF_Id"), lv(impiBytes, "IMPI")),
      ne: 256,
    });
    if (r.sw === SW.CONDITIONS_OF_USE_NOT_SATISFIED)
      return { kind: "no-ks", error: new CardStatusError(r.sw, what, "no GBA_U bootstrapping on the card") };
    if (r.sw === SW.SECURITY_CONTEXT_NOT_SUPPORTED) return contextNotSupported(what);
    if (r.sw !== SW.OK) throw new CardStatusError(r.sw, what);
    if (r.data[0] !== 0xdb) throw new CardResponseError(what, "response does not start with tag DB");
    const [ksExtNaf] = readLvs(what, r.data.subarray(1), 1);
    if (ksExtNaf.length !== 32) throw new CardResponseError(what, `Ks_ext_NAF is ${ksExtNaf.length} bytes, expected 32`);
    return { kind: "success", ksExtNaf };
  }

  /** TS 31.102 §4.2.79 */
  async readGbabp(): Promise<Gbabp> {
    const ef = await this.readTransparent(EF.GBABP, "EF_GBABP");
    try {
      return decodeGbabp(ef);
    } catch (err) {
      throw new CardResponseError("READ EF_GBABP", (err as Error).message);
    }
  }

  /** TS 31.102 §4.2.79: writes RAND, B-TID and key lifetime from the start of the file, 'FF' after. */
  async writeGbabp(v: Gbabp): Promise<void> {
    const size = await this.selectTransparent(EF.GBABP, "EF_GBABP");
    const content = encodeGbabp(v);
    if (content.length > size)
      throw new RangeError(`EF_GBABP holds ${size} bytes; RAND, B-TID and lifetime need ${content.length}`);
    const padded = new Uint8Array(size).fill(0xff);
    padded.set(content);
    for (let off = 0; off < size; off += 255) {
      const chunk = padded.subarray(off, Math.min(size, off + 255));
      const r = await this.exchange({ cla: 0, ins: 0xd6, p1: off >>> 8, p2: off & 0xff, data: chunk });
      if (r.sw !== SW.OK) throw new CardStatusError(r.sw, "UPDATE BINARY EF_GBABP");
    }
  }

  /** TS 31.102 §4.2.83: the used records of EF_GBANL (NAF_Id and B-TID; never the keys). */
  async readGbanl(): Promise<GbanlRecord[]> {
    const s = await this.selectEf(EF.GBANL, "EF_GBANL");
    if (s.kind !== "linear-fixed") throw new CardResponseError("SELECT EF_GBANL", "EF_GBANL is not a linear fixed file");
    const out: GbanlRecord[] = [];
    for (let n = 1; n <= s.recordCount; n++) {
      const r = await this.exchange({ cla: 0, ins: 0xb2, p1: n, p2: 0x04, data: new Uint8Array(0), ne: s.recordLength });
      if (r.sw !== SW.OK) throw new CardStatusError(r.sw, `READ RECORD ${n} of EF_GBANL`);
      let entry: GbanlEntry | undefined;
      try {
        entry = decodeGbanlRecord(r.data);
      } catch (err) {
        throw new CardResponseError(`READ RECORD ${n} of EF_GBANL`, (err as Error).message);
      }
      if (entry) out.push({ record: n, ...entry });
    }
    return out;
  }

  // ---------------------------------------------------------------- helpers

  private async authenticate(
    what: string,
    p2: number,
    data: Uint8Array,
  ): Promise<{ kind: "success"; data: Uint8Array } | AkaRefusal> {
    await this.ensureUsim();
    const r = await this.exchange({ cla: 0, ins: 0x88, p1: 0, p2, data, ne: 256 });
    if (r.sw === SW.AUTH_INCORRECT_MAC) return { kind: "mac-failure" };
    if (r.sw === SW.SECURITY_CONTEXT_NOT_SUPPORTED) return contextNotSupported(what);
    if (r.sw !== SW.OK) throw new CardStatusError(r.sw, what);
    if (r.data[0] === 0xdb) return { kind: "success", data: r.data.subarray(1) };
    if (r.data[0] === 0xdc) {
      const [auts] = readLvs(what, r.data.subarray(1), 1);
      if (auts.length !== 14) throw new CardResponseError(what, `AUTS is ${auts.length} bytes, expected 14`);
      return { kind: "sync-failure", auts };
    }
    throw new CardResponseError(what, "response starts with neither tag DB nor DC");
  }

  private async ensureUsim(): Promise<void> {
    if (!this.usimSelected) await this.selectUsim();
  }

  /** SELECT an EF of the USIM by file id with P2 '04' and decode its FCP. */
  private async selectEf(fid: number, name: string): Promise<FileStructure> {
    await this.ensureUsim();
    const r = await this.exchange({ cla: 0, ins: 0xa4, p1: 0x00, p2: 0x04, data: Uint8Array.of(fid >>> 8, fid & 0xff), ne: 256 });
    if (r.sw !== SW.OK) throw new CardStatusError(r.sw, `SELECT ${name}`);
    try {
      return decodeFcp(r.data).structure;
    } catch (err) {
      throw new CardResponseError(`SELECT ${name}`, (err as Error).message);
    }
  }

  private async selectTransparent(fid: number, name: string): Promise<number> {
    const s = await this.selectEf(fid, name);
    if (s.kind !== "transparent") throw new CardResponseError(`SELECT ${name}`, `${name} is not a transparent file`);
    return s.size;
  }

  /** READ BINARY of a whole transparent EF, 256 bytes at a time. */
  private async readTransparent(fid: number, name: string): Promise<Uint8Array> {
    const size = await this.selectTransparent(fid, name);
    const parts: Uint8Array[] = [];
    for (let off = 0; off < size; ) {
      const n = Math.min(256, size - off);
      const r = await this.exchange({ cla: 0, ins: 0xb0, p1: off >>> 8, p2: off & 0xff, data: new Uint8Array(0), ne: n });
      if (r.sw !== SW.OK && r.sw !== SW.END_OF_FILE) throw new CardStatusError(r.sw, `READ BINARY ${name}`);
      parts.push(r.data);
      off += r.data.length;
      if (r.sw === SW.END_OF_FILE || r.data.length === 0) break;
    }
    return concatBytes(...parts);
  }
}

/** TS 31.102 §7.3.1 '9864': the card has no such security context (a GBA context on a GBA_ME card). */
function contextNotSupported(what: string): { kind: "context-not-supported"; error: CardStatusError } {
  const error = new CardStatusError(SW.SECURITY_CONTEXT_NOT_SUPPORTED, what, "the card does not support this context");
  return { kind: "context-not-supported", error };
}

function lv(v: Uint8Array, what: string): Uint8Array {
  if (v.length > 255) throw new RangeError(`${what} is ${v.length} bytes; at most 255 fit one length byte`);
  return concatBytes(Uint8Array.of(v.length), v);
}

/** Reads `count` length-value fields (one-byte lengths) from the start of `data`. */
function readLvs(what: string, data: Uint8Array, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    const n = data[off];
    if (n === undefined || off + 1 + n > data.length) throw new CardResponseError(what, "response data is truncated");
    out.push(data.slice(off + 1, off + 1 + n));
    off += 1 + n;
  }
  return out;
}

function decodeImsiOrThrow(ef: Uint8Array): string {
  try {
    return decodeImsi(ef);
  } catch (err) {
    throw new CardResponseError("READ EF_IMSI", (err as Error).message);
  }
}
