// Key names on a Redis Cluster. Every key is `<prefix>:{<tag>}:<nf>:<kind>[:<id>]`: Redis
// Cluster hashes only the part between the first "{" and the next "}" (the hash tag), so all
// keys that one atomic step touches carry the same tag (a subscriber's record and SEQ_HE: the
// IMPI) and land in one hash slot, where one Lua script can change them together.
// Identifiers are escaped inside the tag ("%", "{", "}" as %25 %7B %7D): an IMPI holding a
// brace can then neither end the tag early nor make two identifiers share a key.

export const SLOTS = 16384;

const CRC16_TABLE = (() => {
  // CRC-16/XMODEM (polynomial 0x1021, initial value 0), the key hash of the Redis Cluster
  // specification ("Key distribution model": HASH_SLOT = CRC16(key) mod 16384)
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ b) & 0xff];
  return crc;
}

/** The cluster slot of a key, hash tags applied as Redis does (an empty tag "{}" hashes the whole key). */
export function keySlot(key: string | Uint8Array): number {
  const bytes = typeof key === "string" ? new TextEncoder().encode(key) : key;
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(bytes) % SLOTS;
}

/** An identifier as hash-tag content: never empty, never containing a brace. */
export function tagOf(id: string): string {
  if (id.length === 0) throw new RangeError("a Redis key tag cannot be empty");
  return id.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

/** What a key prefix may be (it is not escaped). */
export const KEY_PREFIX_RULE = /^[A-Za-z0-9_.-]{1,32}$/;

export type NfName = "hss" | "bsf" | "naf" | "eca";

/** Builds the keys of one deployment (`prefix` separates deployments sharing a cluster). */
export class KeySpace {
  constructor(readonly prefix = "gba") {
    if (!KEY_PREFIX_RULE.test(prefix)) {
      throw new RangeError(`Redis key prefix "${prefix}" must be 1 to 32 of A-Z a-z 0-9 _ . -`);
    }
  }

  /** `<prefix>:{<tag>}:<nf>:<kind>[:<id>]`; `id` is outside the tag, so it may repeat across tags. */
  key(tag: string, nf: NfName, kind: string, id?: string): string {
    const base = `${this.prefix}:{${tagOf(tag)}}:${nf}:${kind}`;
    return id === undefined ? base : `${base}:${tagOf(id)}`;
  }
}
