// AUTHENTICATE (INS '88', even) of the USIM, TS 31.102 §7.1: 3G context (P2 = '81') and GBA
// context (P2 = '84': bootstrapping mode tag 'DD', NAF derivation mode tag 'DE'; TS 33.220
// Annex G). Pure functions on UsimState; the caller persists the state when `changed`.
import { deriveKsExtNaf, deriveKsIntNaf, ksFromCkIk } from "../../gba/keys.js";
import { fromAutnStar } from "../../gba/gba-u.js";
import { bytesToHex, concatBytes } from "../../wire/bytes.js";
import { checkAutn } from "../../milenage/aka.js";
import type { Milenage } from "../../milenage/milenage.js";
import { SW } from "../card/sw.js";
import { decodeGbabp, EfCodingError, encodeGbabp, encodeGbanlRecord } from "./ef-codec.js";
import type { UsimState } from "./usim-state.js";

export interface AuthOutcome {
  data?: Uint8Array;
  sw: number;
  changed: boolean;
}

const fail = (sw: number): AuthOutcome => ({ sw, changed: false });
const ok = (data: Uint8Array, changed: boolean): AuthOutcome => ({ data, sw: SW.OK, changed });

/** TS 31.102 §7.1.2 table 1: P2 = b8 '1' (specific reference data) ‖ b3..b1 authentication context. */
const CONTEXT_GSM = 0;
const CONTEXT_3G = 1;
const CONTEXT_VGCS = 2;
const CONTEXT_GBA = 4;

const TAG_SUCCESS = 0xdb;
const TAG_SYNC_FAILURE = 0xdc;
const TAG_GBA_BOOTSTRAP = 0xdd;
const TAG_GBA_NAF = 0xde;

export function authenticate(state: UsimState, m: Milenage, p1: number, p2: number, data: Uint8Array): AuthOutcome {
  if (p1 !== 0x00 || (p2 & 0x80) === 0 || (p2 & 0x78) !== 0) return fail(SW.INCORRECT_P1_P2);
  const context = p2 & 0x07;
  if (context === CONTEXT_3G) return auth3g(state, m, data);
  if (context === CONTEXT_GBA) {
    // TS 31.102 §7.3.1 '9864': a card without service n°68 (no GBA_U) has no GBA context
    if (!state.gbaU) return fail(SW.SECURITY_CONTEXT_NOT_SUPPORTED);
    if (data[0] === TAG_GBA_BOOTSTRAP) return gbaBootstrap(state, m, data);
    if (data[0] === TAG_GBA_NAF) return gbaNafDerivation(state, data);
    return fail(data.length === 0 ? SW.WRONG_LENGTH : SW.INCORRECT_DATA);
  }
  // GSM context needs service n°27, VGCS/VBS services n°57/58: not on this card
  if (context === CONTEXT_GSM || context === CONTEXT_VGCS) return fail(SW.SECURITY_CONTEXT_NOT_SUPPORTED);
  return fail(SW.INCORRECT_P1_P2); // RFU contexts, and MBMS / local key (odd INS only)
}

/** Parses `L1 ‖ RAND ‖ L2 ‖ AUTN` with both lengths 16 starting at `at`, exactly filling the data. */
function randAutn(data: Uint8Array, at: number): { rand: Uint8Array; autn: Uint8Array } | undefined {
  if (data.length !== at + 34 || data[at] !== 16 || data[at + 17] !== 16) return undefined;
  return { rand: data.slice(at + 1, at + 17), autn: data.slice(at + 18, at + 34) };
}

/** TS 31.102 §7.1.2: 3G context, data `10 RAND 10 AUTN` → `DB 08 RES 10 CK 10 IK` or `DC 0E AUTS`. */
function auth3g(state: UsimState, m: Milenage, data: Uint8Array): AuthOutcome {
  const p = randAutn(data, 0);
  if (!p) return fail(SW.WRONG_LENGTH);
  const { result, array } = checkAutn(m, state.sqn, p.rand, p.autn);
  if (result.kind === "mac-failure") return fail(SW.AUTH_INCORRECT_MAC);
  if (result.kind === "sync-failure") return ok(concatBytes(Uint8Array.of(TAG_SYNC_FAILURE, 14), result.auts), false);
  state.sqn = array;
  return ok(
    concatBytes(Uint8Array.of(TAG_SUCCESS, 8), result.res, Uint8Array.of(16), result.ck, Uint8Array.of(16), result.ik),
    true,
  );
}

/**
 * TS 31.102 §7.1.2 GBA bootstrapping mode and TS 33.220 G.1: data `DD 10 RAND 10 AUTN*`.
 * The card recovers AUTN from AUTN* with its own IK (TS 33.220 §5.3.2, project reading, when
 * autnStar is on), runs the 3G check, keeps Ks = CK ‖ IK and RAND, writes RAND into EF_GBABP
 * and answers `DB 08 RES` only; `DC 0E AUTS` on a synchronisation failure; '9862' on MAC failure.
 */
function gbaBootstrap(state: UsimState, m: Milenage, data: Uint8Array): AuthOutcome {
  const p = randAutn(data, 1);
  if (!p) return fail(SW.WRONG_LENGTH);
  const autn = state.autnStar ? fromAutnStar(p.autn, m.f2345(p.rand).ik) : p.autn;
  const { result, array } = checkAutn(m, state.sqn, p.rand, autn);
  if (result.kind === "mac-failure") return fail(SW.AUTH_INCORRECT_MAC);
  if (result.kind === "sync-failure") return ok(concatBytes(Uint8Array.of(TAG_SYNC_FAILURE, 14), result.auts), false);
  state.sqn = array;
  state.gbaUKeys = { ks: ksFromCkIk(result.ck, result.ik), rand: p.rand };
  // TS 33.220 G.1: a new bootstrapping replaces RAND; B-TID and lifetime follow from the ME
  const gbabp = new Uint8Array(state.gbabp.length).fill(0xff);
  gbabp.set(encodeGbabp({ rand: p.rand, btid: "", lifetime: "" }));
  state.gbabp = gbabp;
  return ok(concatBytes(Uint8Array.of(TAG_SUCCESS, 8), result.res), true);
}

/**
 * TS 31.102 §7.1.2 GBA NAF derivation mode and TS 33.220 G.2: data `DE L NAF_Id L IMPI`.
 * Ks_ext_NAF goes to the ME (`DB 20 Ks_ext_NAF`); Ks_int_NAF stays on the card with B-TID and
 * NAF_Id as an EF_GBANL record, replacing the least recently used record when all are taken.
 * No Ks on the card: '6985' (project decision, gba-digest §7.2).
 */
function gbaNafDerivation(state: UsimState, data: Uint8Array): AuthOutcome {
  const nafLen = data[1];
  if (data.length < 3 || 2 + nafLen >= data.length) return fail(SW.WRONG_LENGTH);
  const impiLen = data[2 + nafLen];
  if (data.length !== 3 + nafLen + impiLen) return fail(SW.WRONG_LENGTH);
  const nafId = data.slice(2, 2 + nafLen);
  let impi: string;
  try {
    impi = new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(3 + nafLen));
  } catch {
    return fail(SW.INCORRECT_DATA);
  }
  // NAF_Id = FQDN (at least one octet) ‖ 5-octet Ua security protocol id (TS 33.220 H.1)
  if (nafId.length <= 5 || impi === "") return fail(SW.INCORRECT_DATA);
  if (!state.gbaUKeys) return fail(SW.CONDITIONS_OF_USE_NOT_SATISFIED);

  let btid = "";
  try {
    btid = decodeGbabp(state.gbabp).btid;
  } catch (err) {
    if (!(err instanceof EfCodingError)) throw err; // the ME wrote something unreadable: no B-TID
  }
  try {
    encodeGbanlRecord({ nafId, btid }, state.gbanl.recordLength);
  } catch (err) {
    if (err instanceof EfCodingError) return fail(SW.NO_MEMORY_SPACE);
    throw err;
  }
  const { ks, rand } = state.gbaUKeys;
  const ksExtNaf = deriveKsExtNaf(ks, rand, impi, nafId);
  const ksIntNaf = deriveKsIntNaf(ks, rand, impi, nafId);

  const slots = state.gbanl.slots;
  const key = bytesToHex(nafId);
  let index = slots.findIndex((s) => s !== null && bytesToHex(s.nafId) === key);
  if (index < 0) index = slots.indexOf(null);
  if (index < 0) {
    index = 0;
    for (let i = 1; i < slots.length; i++) if (slots[i]!.lastUsed < slots[index]!.lastUsed) index = i;
  }
  state.lruClock += 1;
  slots[index] = { nafId, btid, ksIntNaf, lastUsed: state.lruClock };
  return ok(concatBytes(Uint8Array.of(TAG_SUCCESS, 32), ksExtNaf), true);
}
