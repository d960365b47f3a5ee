// File Control Parameters returned by SELECT with P2 = '04' (ETSI TS 102 221 §11.1.1.3).

export type FileStructure =
  | { kind: "df"; aid?: Uint8Array }
  | { kind: "transparent"; size: number }
  | { kind: "linear-fixed"; recordLength: number; recordCount: number };

export interface FileControl {
  fid: number;
  structure: FileStructure;
  /** TS 102 221 §11.1.1.4.9: EF_ARR record holding this file's access rules */
  arrRecord: number;
}

const u16 = (v: number): number[] => [v >>> 8, v & 0xff];

function tlv(tag: number, value: number[]): number[] {
  if (value.length > 0x7f) throw new RangeError("FCP data object too long");
  return [tag, value.length, ...value];
}

/**
 * TS 102 221 §11.1.1.3: FCP template '62' with file descriptor '82' (§11.1.1.4.3), file id
 * '83', DF name '84' (ADF), life cycle status '8A' = 05 (operational, activated), security
 * attributes '8B' (reference to EF_ARR '2F06' / '6F06'), file size '80' (EF) and, for a DF, the
 * PIN status template 'C6' (§11.1.1.4.10: PS_DO '90' = 00, PIN1 disabled, key reference '01').
 */
export function encodeFcp(f: FileControl): Uint8Array {
  const s = f.structure;
  const body: number[] = [];
  if (s.kind === "df") body.push(...tlv(0x82, [0x78, 0x21]));
  else if (s.kind === "transparent") body.push(...tlv(0x82, [0x41, 0x21]));
  else body.push(...tlv(0x82, [0x42, 0x21, ...u16(s.recordLength), s.recordCount]));
  body.push(...tlv(0x83, u16(f.fid)));
  if (s.kind === "df" && s.aid) body.push(...tlv(0x84, [...s.aid]));
  body.push(...tlv(0x8a, [0x05]));
  body.push(...tlv(0x8b, [...u16(s.kind === "df" && !s.aid ? 0x2f06 : 0x6f06), f.arrRecord]));
  if (s.kind === "transparent") body.push(...tlv(0x80, u16(s.size)));
  if (s.kind === "linear-fixed") body.push(...tlv(0x80, u16(s.recordLength * s.recordCount)));
  if (s.kind === "df") body.push(...tlv(0xc6, [0x90, 0x01, 0x00, 0x83, 0x01, 0x01]));
  return Uint8Array.from(tlv(0x62, body));
}

export class FcpError extends Error {
  constructor(message: string) {
    super(`FCP: ${message}`);
    this.name = "FcpError";
  }
}

/** Reads the parts of an FCP template the client needs: file id, structure, sizes. */
export function decodeFcp(fcp: Uint8Array): Omit<FileControl, "arrRecord"> {
  if (fcp[0] !== 0x62 || fcp.length < 2) throw new FcpError("not an FCP template (tag 62)");
  let len = fcp[1];
  let off = 2;
  if (len === 0x81) {
    len = fcp[2];
    off = 3;
  }
  if (off + len > fcp.length) throw new FcpError("template runs past the end of the response");
  const end = off + len;
  const dos = new Map<number, Uint8Array>();
  while (off < end) {
    const tag = fcp[off];
    const n = fcp[off + 1];
    if (n === undefined || off + 2 + n > end) throw new FcpError(`data object ${tag.toString(16)} runs past the template`);
    dos.set(tag, fcp.slice(off + 2, off + 2 + n));
    off += 2 + n;
  }
  const desc = dos.get(0x82);
  const fidBytes = dos.get(0x83);
  if (!desc || desc.length < 2) throw new FcpError("missing file descriptor (82)");
  const fid = fidBytes && fidBytes.length === 2 ? (fidBytes[0] << 8) | fidBytes[1] : 0;
  const size = dos.get(0x80);
  const type = desc[0] & 0x3f;
  if (type === 0x38) return { fid, structure: { kind: "df", aid: dos.get(0x84) } };
  const isEf = (type & 0x38) !== 0x38; // b6..b4 = 111 is a DF or a BER-TLV EF (TS 102 221 table 11.5)
  if (isEf && (type & 0x07) === 0x01) {
    if (!size) throw new FcpError("transparent EF without file size (80)");
    return { fid, structure: { kind: "transparent", size: size.reduce((a, b) => a * 256 + b, 0) } };
  }
  if (isEf && (type & 0x07) === 0x02) {
    if (desc.length < 5) throw new FcpError("linear fixed EF descriptor without record length and count");
    return { fid, structure: { kind: "linear-fixed", recordLength: (desc[2] << 8) | desc[3], recordCount: desc[4] } };
  }
  throw new FcpError(`unsupported file descriptor byte ${desc[0].toString(16)}`);
}
