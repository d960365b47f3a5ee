// Status words SW1 SW2 used by the card layer, with their meaning.
// Sources: ETSI TS 102 221 §10.2.1 (UICC, all applications) and 3GPP TS 31.102 §7.3.1 (USIM
// security management); the same table is in osmocom pySim (ts_102_221.py, ts_31_102.py sw_usim).

export const SW = {
  /** TS 102 221 §10.2.1.1 normal ending of the command */
  OK: 0x9000,
  /** TS 102 221 §10.2.1.3 end of file/record reached before reading Le bytes */
  END_OF_FILE: 0x6282,
  /** TS 102 221 §10.2.1.4 wrong length */
  WRONG_LENGTH: 0x6700,
  /** TS 102 221 §10.2.1.4 (functions in CLA not supported) logical channel not supported */
  LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
  /** TS 102 221 §10.2.1.5 command incompatible with file structure */
  INCOMPATIBLE_FILE_STRUCTURE: 0x6981,
  /** TS 102 221 §10.2.1.5 security status not satisfied */
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  /** TS 102 221 §10.2.1.5 conditions of use not satisfied */
  CONDITIONS_OF_USE_NOT_SATISFIED: 0x6985,
  /** TS 102 221 §10.2.1.5 command not allowed (no EF selected) */
  NO_EF_SELECTED: 0x6986,
  /** TS 102 221 §10.2.1.5 incorrect parameters in the data field */
  INCORRECT_DATA: 0x6a80,
  /** TS 102 221 §10.2.1.5 file not found */
  FILE_NOT_FOUND: 0x6a82,
  /** TS 102 221 §10.2.1.5 record not found */
  RECORD_NOT_FOUND: 0x6a83,
  /** TS 102 221 §10.2.1.5 incorrect parameters P1 to P2 */
  INCORRECT_P1_P2: 0x6a86,
  /** TS 102 221 §10.2.1.4 wrong parameter(s) P1-P2 (used for an offset outside the EF) */
  WRONG_P1_P2: 0x6b00,
  /** TS 102 221 §10.2.1.4 instruction code not supported or invalid */
  INS_NOT_SUPPORTED: 0x6d00,
  /** TS 102 221 §10.2.1.4 class not supported */
  CLA_NOT_SUPPORTED: 0x6e00,
  /** TS 102 221 §10.2.1.4 technical problem, no precise diagnosis */
  TECHNICAL_PROBLEM: 0x6f00,
  /** TS 31.102 §7.3.1 authentication error, incorrect MAC */
  AUTH_INCORRECT_MAC: 0x9862,
  /** TS 31.102 §7.3.1 authentication error, security context not supported */
  SECURITY_CONTEXT_NOT_SUPPORTED: 0x9864,
  /** TS 31.102 §7.3.1 authentication error, no memory space available */
  NO_MEMORY_SPACE: 0x9866,
} as const;

/** ISO/IEC 7816-4 / TS 102 221 §10.2.1: '61 xx' response bytes still available (xx = count, 00 = 256). */
export const SW1_MORE_DATA = 0x61;
/** ISO/IEC 7816-4: '6C xx' wrong Le field, xx = exact number of available data bytes. */
export const SW1_WRONG_LE = 0x6c;

const NAMES = new Map<number, string>([
  [SW.OK, "normal ending of the command"],
  [SW.END_OF_FILE, "end of file/record reached before reading Le bytes"],
  [SW.WRONG_LENGTH, "wrong length"],
  [SW.LOGICAL_CHANNEL_NOT_SUPPORTED, "logical channel not supported"],
  [SW.INCOMPATIBLE_FILE_STRUCTURE, "command incompatible with file structure"],
  [SW.SECURITY_STATUS_NOT_SATISFIED, "security status not satisfied"],
  [SW.CONDITIONS_OF_USE_NOT_SATISFIED, "conditions of use not satisfied"],
  [SW.NO_EF_SELECTED, "command not allowed (no EF selected)"],
  [SW.INCORRECT_DATA, "incorrect parameters in the data field"],
  [SW.FILE_NOT_FOUND, "file not found"],
  [SW.RECORD_NOT_FOUND, "record not found"],
  [SW.INCORRECT_P1_P2, "incorrect parameters P1 to P2"],
  [SW.WRONG_P1_P2, "wrong parameter(s) P1-P2"],
  [SW.INS_NOT_SUPPORTED, "instruction code not supported or invalid"],
  [SW.CLA_NOT_SUPPORTED, "class not supported"],
  [SW.TECHNICAL_PROBLEM, "technical problem, no precise diagnosis"],
  [SW.AUTH_INCORRECT_MAC, "authentication error, incorrect MAC"],
  [SW.SECURITY_CONTEXT_NOT_SUPPORTED, "authentication error, security context not supported"],
  [SW.NO_MEMORY_SPACE, "authentication error, no memory space available"],
]);

export function swHex(sw: number): string {
  return sw.toString(16).padStart(4, "0");
}

/** "6a82 (file not found)"; 61xx and 6Cxx are described with their count. */
export function describeSw(sw: number): string {
  const sw1 = sw >>> 8;
  const sw2 = sw & 0xff;
  let name = NAMES.get(sw);
  if (name === undefined && sw1 === SW1_MORE_DATA) name = `${sw2 || 256} response bytes still available`;
  if (name === undefined && sw1 === SW1_WRONG_LE) name = `wrong Le, ${sw2 || 256} bytes available`;
  return `${swHex(sw)} (${name ?? "unknown status"})`;
}
