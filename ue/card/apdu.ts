// Short command and response APDUs, ISO/IEC 7816-4 §5.1 / ETSI TS 102 221 §10.1 (header
// CLA INS P1 P2, optional Lc + data, optional Le) and §10.2 (response data ‖ SW1 SW2).
// Extended-length APDUs are not used by TS 31.102 commands and are rejected as malformed.

export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  /** command data (Lc = data.length, 0..255) */
  data: Uint8Array;
  /** Ne, the number of response bytes expected: 1..256 (Le '00' = 256); undefined = no Le field */
  ne?: number;
}

export interface ResponseApdu {
  data: Uint8Array;
  /** SW1 << 8 | SW2 */
  sw: number;
}

function byte(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${name} must be a byte, got ${v}`);
  return v;
}

/** Encodes a short APDU (cases 1 to 4). */
export function encodeCommandApdu(c: CommandApdu): Uint8Array {
  if (c.data.length > 255) throw new RangeError(`command data is ${c.data.length} bytes; a short APDU carries at most 255`);
  if (c.ne !== undefined && (!Number.isInteger(c.ne) || c.ne < 1 || c.ne > 256)) {
    throw new RangeError(`Ne must be 1..256, got ${c.ne}`);
  }
  const out: number[] = [byte("CLA", c.cla), byte("INS", c.ins), byte("P1", c.p1), byte("P2", c.p2)];
  if (c.data.length > 0) out.push(c.data.length, ...c.data);
  if (c.ne !== undefined) out.push(c.ne & 0xff);
  return Uint8Array.from(out);
}

/** Parses a short APDU; undefined when its length fields are inconsistent (the card answers 6700). */
export function parseCommandApdu(b: Uint8Array): CommandApdu | undefined {
  if (b.length < 4) return undefined;
  const head = { cla: b[0], ins: b[1], p1: b[2], p2: b[3] };
  if (b.length === 4) return { ...head, data: new Uint8Array(0) };
  if (b.length === 5) return { ...head, data: new Uint8Array(0), ne: b[4] || 256 };
  const lc = b[4];
  if (lc === 0) return undefined; // extended length, not supported
  if (b.length === 5 + lc) return { ...head, data: b.slice(5, 5 + lc) };
  if (b.length === 6 + lc) return { ...head, data: b.slice(5, 5 + lc), ne: b[5 + lc] || 256 };
  return undefined;
}

export function encodeResponseApdu(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data);
  out[data.length] = sw >>> 8;
  out[data.length + 1] = sw & 0xff;
  return out;
}

export function parseResponseApdu(r: Uint8Array): ResponseApdu {
  if (r.length < 2) throw new RangeError(`response APDU must end with SW1 SW2, got ${r.length} byte(s)`);
  return { data: r.slice(0, r.length - 2), sw: (r[r.length - 2] << 8) | r[r.length - 1] };
}
