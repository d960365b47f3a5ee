// Character classes of the HTTP header grammar (RFC 9110 §5.6), as lookup tables.

export const COMMA = 0x2c;
export const EQUALS = 0x3d;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const SP = 0x20;
export const HTAB = 0x09;

function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of chars) t[ch.charCodeAt(0)] = 1;
  return t;
}

// RFC 9110 §5.6.2 tchar
const TCHAR = table("!#$%&'*+-.^_`|~");
// RFC 7235 §2.1 token68 (without the trailing "=" padding)
export const TOKEN68 = table("-._~+/");

export const isTchar = (c: number): boolean => c < 128 && TCHAR[c] === 1;
// RFC 9110 §5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text; DQUOTE and backslash are
// told apart by the callers before this test.
export const isQdtext = (c: number): boolean => c === HTAB || (c >= 0x20 && c !== 0x7f) || c >= 0x80;

export function isTokenString(v: string): boolean {
  if (v === "") return false;
  for (let i = 0; i < v.length; i++) if (!isTchar(v.charCodeAt(i))) return false;
  return true;
}
