// Command dispatcher of the simulated UICC with its USIM application: one C-APDU in, one
// R-APDU out, on an in-memory UsimState (ETSI TS 102 221 §10-§12, TS 31.102 §7).
//
// Response length handling (decided for this simulator, applied to every command):
// the card answers the way an application sees a T=0 UICC behind an APDU-level reader.
//  - Commands with response data (SELECT with P2 '04', AUTHENTICATE): with Le present and
//    Le = '00' or Le >= the data length, the answer is data ‖ 9000. With Le absent, or smaller
//    than the data, the answer is '61 xx' (xx = data length) and the data waits for one
//    GET RESPONSE (INS 'C0', TS 102 221 §12.1.1), which must be the very next command.
//  - READ BINARY: Le '00' reads to the end of the file (at most 256 bytes, ISO/IEC 7816-4
//    READ BINARY); a larger Le than what is left gives the rest with '62 82'.
//  - READ RECORD: Le '00' or the record length; any other Le gives '6C xx' (xx = record length).
// Only the basic logical channel (CLA '00') is supported; PIN1 is disabled, ADM never granted.
import { Milenage } from "../../milenage/milenage.js";
import { type CommandApdu, encodeResponseApdu, parseCommandApdu } from "../card/apdu.js";
import { SW, SW1_MORE_DATA, SW1_WRONG_LE } from "../card/sw.js";
import { authenticate } from "./authenticate.js";
import { encodeFcp, type FileControl } from "./fcp.js";
import {
  ADF_USIM_CONTROL,
  type EfDef,
  efControl,
  FID_CURRENT_ADF,
  FID_MF,
  findEf,
  gbanlRecord,
  MF_CONTROL,
  MIN_PARTIAL_AID,
  transparentContent,
  USIM_AID,
} from "./usim-files.js";
import type { UsimState } from "./usim-state.js";

export interface AppletResult {
  response: Uint8Array;
  /** the non-volatile state changed and must be persisted before the response is released */
  changed: boolean;
}

const INS = {
  SELECT: 0xa4,
  READ_BINARY: 0xb0,
  UPDATE_BINARY: 0xd6,
  READ_RECORD: 0xb2,
  UPDATE_RECORD: 0xdc,
  AUTHENTICATE: 0x88,
  GET_RESPONSE: 0xc0,
} as const;

/** TS 102 221 §11.1.1.2: P2 '04' return FCP template, '0C' no data returned (first occurrence). */
const P2_RETURN_FCP = 0x04;
const P2_NO_DATA = 0x0c;
/** TS 102 221 §11.1.5: P2 '04' absolute / current mode, record number in P1. */
const P2_ABSOLUTE = 0x04;

const status = (sw: number): AppletResult => ({ response: encodeResponseApdu(new Uint8Array(0), sw), changed: false });

export class UsimApplet {
  private readonly milenage: Milenage;
  private df: "MF" | "ADF" = "MF";
  private ef: EfDef | undefined;
  private adfActive = false;
  private pending: Uint8Array | undefined;

  constructor(readonly state: UsimState) {
    this.milenage = new Milenage(state.k, state.opc);
  }

  /** Power-on or reset: the volatile state goes (TS 102 221 §8.2: the MF is selected). */
  reset(): void {
    this.df = "MF";
    this.ef = undefined;
    this.adfActive = false;
    this.pending = undefined;
  }

  process(apdu: Uint8Array): AppletResult {
    const pending = this.pending; // GET RESPONSE data lives only until the next command
    this.pending = undefined;
    const cmd = parseCommandApdu(apdu);
    if (!cmd) return status(SW.WRONG_LENGTH);
    if (cmd.cla !== 0x00) {
      // TS 102 221 §10.1.1: '01'-'03', '4X', '6X' address logical channels 1..19
      const channel = (cmd.cla >= 0x01 && cmd.cla <= 0x03) || (cmd.cla & 0xe0) === 0x40 || (cmd.cla & 0xf0) === 0x60;
      return status(channel ? SW.LOGICAL_CHANNEL_NOT_SUPPORTED : SW.CLA_NOT_SUPPORTED);
    }
    switch (cmd.ins) {
      case INS.SELECT:
        return this.select(cmd);
      case INS.READ_BINARY:
        return this.readBinary(cmd);
      case INS.UPDATE_BINARY:
        return this.updateBinary(cmd);
      case INS.READ_RECORD:
        return this.readRecord(cmd);
      case INS.UPDATE_RECORD:
        return this.updateRecord();
      case INS.AUTHENTICATE:
        return this.authenticate(cmd);
      case INS.GET_RESPONSE:
        return this.getResponse(cmd, pending);
      default:
        return status(SW.INS_NOT_SUPPORTED);
    }
  }

  /** Response data for a case-4 command: data ‖ 9000 when Le allows, else '61 xx' and GET RESPONSE. */
  private outgoing(cmd: CommandApdu, data: Uint8Array, changed: boolean): AppletResult {
    if (cmd.ne !== undefined && cmd.ne >= data.length) return { response: encodeResponseApdu(data, SW.OK), changed };
    this.pending = data;
    return { response: encodeResponseApdu(new Uint8Array(0), (SW1_MORE_DATA << 8) | (data.length & 0xff)), changed };
  }

  // ---------------------------------------------------------------- SELECT, TS 102 221 §11.1.1

  private select(cmd: CommandApdu): AppletResult {
    if (cmd.p2 !== P2_RETURN_FCP && cmd.p2 !== P2_NO_DATA) return status(SW.INCORRECT_P1_P2);
    let target: FileControl;
    if (cmd.p1 === 0x00) {
      // select by file id: MF, the current ADF ('7FFF') or an EF of the current ADF
      if (cmd.data.length !== 2) return status(SW.WRONG_LENGTH);
      const fid = (cmd.data[0] << 8) | cmd.data[1];
      if (fid === FID_MF) {
        this.df = "MF";
        this.ef = undefined;
        target = MF_CONTROL;
      } else if (fid === FID_CURRENT_ADF && this.adfActive) {
        this.df = "ADF";
        this.ef = undefined;
        target = ADF_USIM_CONTROL;
      } else {
        const ef = this.df === "ADF" ? findEf(this.state, fid) : undefined;
        if (!ef) return status(SW.FILE_NOT_FOUND);
        this.ef = ef;
        target = efControl(this.state, ef);
      }
    } else if (cmd.p1 === 0x04) {
      // select by DF name (AID), first occurrence, partial AID allowed
      if (cmd.data.length < 1 || cmd.data.length > 16) return status(SW.WRONG_LENGTH);
      const n = cmd.data.length;
      if (n < MIN_PARTIAL_AID || cmd.data.some((b, i) => b !== USIM_AID[i])) return status(SW.FILE_NOT_FOUND);
      this.df = "ADF";
      this.ef = undefined;
      this.adfActive = true;
      target = ADF_USIM_CONTROL;
    } else {
      return status(SW.INCORRECT_P1_P2); // child DF, parent DF and path selection are not implemented
    }
    if (cmd.p2 === P2_NO_DATA) return status(SW.OK);
    return this.outgoing(cmd, encodeFcp(target), false);
  }

  // ---------------------------------------------------------------- transparent EFs, §11.1.3 / §11.1.4

  private currentEf(structure: EfDef["structure"]): EfDef | AppletResult {
    if (!this.ef) return status(SW.NO_EF_SELECTED);
    if (this.ef.structure !== structure) return status(SW.INCOMPATIBLE_FILE_STRUCTURE);
    return this.ef;
  }

  private readBinary(cmd: CommandApdu): AppletResult {
    const ef = this.currentEf("transparent");
    if (!("fid" in ef)) return ef;
    if (cmd.p1 & 0x80) return status(SW.INCORRECT_P1_P2); // short file id addressing is not implemented
    if (cmd.data.length > 0 || cmd.ne === undefined) return status(SW.WRONG_LENGTH);
    const content = transparentContent(this.state, ef);
    const offset = (cmd.p1 << 8) | cmd.p2;
    if (offset >= content.length) return status(SW.WRONG_P1_P2);
    const rest = content.length - offset;
    if (cmd.ne === 256) return { response: encodeResponseApdu(content.subarray(offset, offset + 256), SW.OK), changed: false };
    if (cmd.ne > rest) return { response: encodeResponseApdu(content.subarray(offset), SW.END_OF_FILE), changed: false };
    return { response: encodeResponseApdu(content.subarray(offset, offset + cmd.ne), SW.OK), changed: false };
  }

  private updateBinary(cmd: CommandApdu): AppletResult {
    const ef = this.currentEf("transparent");
    if (!("fid" in ef)) return ef;
    if (ef.update === "adm") return status(SW.SECURITY_STATUS_NOT_SATISFIED);
    if (cmd.p1 & 0x80) return status(SW.INCORRECT_P1_P2);
    if (cmd.data.length === 0) return status(SW.WRONG_LENGTH);
    // the only transparent EF updatable with PIN is EF_GBABP (TS 31.102 §4.2.79)
    const content = this.state.gbabp;
    const offset = (cmd.p1 << 8) | cmd.p2;
    if (offset >= content.length) return status(SW.WRONG_P1_P2);
    if (offset + cmd.data.length > content.length) return status(SW.WRONG_LENGTH);
    const next = content.slice();
    next.set(cmd.data, offset);
    this.state.gbabp = next;
    return { response: encodeResponseApdu(new Uint8Array(0), SW.OK), changed: true };
  }

  // ---------------------------------------------------------------- linear fixed EFs, §11.1.5 / §11.1.6

  private readRecord(cmd: CommandApdu): AppletResult {
    const ef = this.currentEf("linear-fixed");
    if (!("fid" in ef)) return ef;
    if (cmd.p2 !== P2_ABSOLUTE) return status(SW.INCORRECT_P1_P2); // next/previous and SFI are not implemented
    if (cmd.p1 < 1 || cmd.p1 > this.state.gbanl.slots.length) return status(SW.RECORD_NOT_FOUND);
    if (cmd.data.length > 0 || cmd.ne === undefined) return status(SW.WRONG_LENGTH);
    const record = gbanlRecord(this.state, cmd.p1);
    if (cmd.ne !== 256 && cmd.ne !== record.length) return status((SW1_WRONG_LE << 8) | (record.length & 0xff));
    return { response: encodeResponseApdu(record, SW.OK), changed: false };
  }

  private updateRecord(): AppletResult {
    const ef = this.currentEf("linear-fixed");
    if (!("fid" in ef)) return ef;
    // EF_GBANL, the only linear fixed EF, is UPDATE ADM (TS 31.102 §4.2.83): the card fills it itself
    return status(SW.SECURITY_STATUS_NOT_SATISFIED);
  }

  // ---------------------------------------------------------------- AUTHENTICATE, TS 31.102 §7.1

  private authenticate(cmd: CommandApdu): AppletResult {
    // the USIM application must be active (selected by AID) for its keys to be addressed
    if (!this.adfActive) return status(SW.CONDITIONS_OF_USE_NOT_SATISFIED);
    const r = authenticate(this.state, this.milenage, cmd.p1, cmd.p2, cmd.data);
    if (!r.data) return status(r.sw);
    return this.outgoing(cmd, r.data, r.changed);
  }

  // ---------------------------------------------------------------- GET RESPONSE, TS 102 221 §12.1.1

  private getResponse(cmd: CommandApdu, pending: Uint8Array | undefined): AppletResult {
    if (cmd.p1 !== 0 || cmd.p2 !== 0) return status(SW.INCORRECT_P1_P2);
    if (cmd.data.length > 0 || cmd.ne === undefined) return status(SW.WRONG_LENGTH);
    // §12.1.1: GET RESPONSE not right after the command it belongs to
    if (!pending) return status(SW.TECHNICAL_PROBLEM);
    if (cmd.ne >= pending.length) return { response: encodeResponseApdu(pending, SW.OK), changed: false };
    this.pending = pending.slice(cmd.ne);
    return {
      response: encodeResponseApdu(pending.subarray(0, cmd.ne), (SW1_MORE_DATA << 8) | (this.pending.length & 0xff)),
      changed: false,
    };
  }
}
