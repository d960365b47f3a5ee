// The file system of the simulated UICC (ETSI TS 102 221 §8, TS 31.102 §4): the MF and the
// USIM ADF with the EFs this project needs. EF contents are views on UsimState.
import { hexToBytes } from "../../wire/bytes.js";
import { encodeAd, encodeGbanlRecord, encodeImsi } from "./ef-codec.js";
import type { FileControl } from "./fcp.js";
import type { UsimState } from "./usim-state.js";

/**
 * USIM AID: RID A000000087 (3GPP) ‖ application code 1002 (USIM) ‖ country, provider and
 * provider field as on many issued cards (TS 101 220 Annex E). SELECT by a truncated DF name
 * (ISO/IEC 7816-4 partial AID) works with the first 5 (RID) or more bytes.
 */
export const USIM_AID: Uint8Array = hexToBytes("a0000000871002ffffffff8907090000", "USIM AID");
/** the shortest partial AID the card accepts: the RID (ISO/IEC 7816-5) */
export const MIN_PARTIAL_AID = 5;

export const FID_MF = 0x3f00;
/** TS 102 221 §8.3: '7FFF' selects the ADF of the active application */
export const FID_CURRENT_ADF = 0x7fff;

export const EF = {
  IMSI: 0x6f07,
  AD: 0x6fad,
  UST: 0x6f38,
  GBABP: 0x6fd6,
  GBANL: 0x6fda,
} as const;

export interface EfDef {
  fid: number;
  name: string;
  structure: "transparent" | "linear-fixed";
  /** TS 31.102 §4.2 access condition for UPDATE: PIN (PIN1 is disabled here) or ADM (never granted) */
  update: "pin" | "adm";
  /** EF_ARR record referenced from the FCP */
  arrRecord: number;
  /** present only with service n°68 (GBA) */
  gbaOnly: boolean;
}

export const EF_DEFS: readonly EfDef[] = [
  // TS 31.102 §4.2.2: READ PIN, UPDATE ADM
  { fid: EF.IMSI, name: "EF_IMSI", structure: "transparent", update: "adm", arrRecord: 2, gbaOnly: false },
  // TS 31.102 §4.2.18: READ ALW, UPDATE ADM
  { fid: EF.AD, name: "EF_AD", structure: "transparent", update: "adm", arrRecord: 1, gbaOnly: false },
  // TS 31.102 §4.2.8: READ PIN, UPDATE ADM
  { fid: EF.UST, name: "EF_UST", structure: "transparent", update: "adm", arrRecord: 2, gbaOnly: false },
  // TS 31.102 §4.2.79: READ PIN, UPDATE PIN
  { fid: EF.GBABP, name: "EF_GBABP", structure: "transparent", update: "pin", arrRecord: 3, gbaOnly: true },
  // TS 31.102 §4.2.83: READ PIN, UPDATE ADM
  { fid: EF.GBANL, name: "EF_GBANL", structure: "linear-fixed", update: "adm", arrRecord: 2, gbaOnly: true },
];

export function findEf(state: UsimState, fid: number): EfDef | undefined {
  return EF_DEFS.find((d) => d.fid === fid && (state.gbaU || !d.gbaOnly));
}

/** Content of a transparent EF. */
export function transparentContent(state: UsimState, ef: EfDef): Uint8Array {
  switch (ef.fid) {
    case EF.IMSI:
      return encodeImsi(state.imsi);
    case EF.AD:
      return encodeAd(state.mncLength);
    case EF.UST:
      return state.ust;
    case EF.GBABP:
      return state.gbabp;
    default:
      throw new Error(`${ef.name} is not transparent`);
  }
}

/** Record n (1-based) of EF_GBANL: the stored entry or an empty 'FF' record. */
export function gbanlRecord(state: UsimState, n: number): Uint8Array {
  const slot = state.gbanl.slots[n - 1];
  if (!slot) return new Uint8Array(state.gbanl.recordLength).fill(0xff);
  return encodeGbanlRecord(slot, state.gbanl.recordLength);
}

export function efControl(state: UsimState, ef: EfDef): FileControl {
  if (ef.structure === "linear-fixed") {
    return {
      fid: ef.fid,
      arrRecord: ef.arrRecord,
      structure: { kind: "linear-fixed", recordLength: state.gbanl.recordLength, recordCount: state.gbanl.slots.length },
    };
  }
  return { fid: ef.fid, arrRecord: ef.arrRecord, structure: { kind: "transparent", size: transparentContent(state, ef).length } };
}

export const MF_CONTROL: FileControl = { fid: FID_MF, arrRecord: 1, structure: { kind: "df" } };
export const ADF_USIM_CONTROL: FileControl = { fid: FID_CURRENT_ADF, arrRecord: 1, structure: { kind: "df", aid: USIM_AID } };
