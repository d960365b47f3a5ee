// NAF keys recomputed with node:crypto (TS 33.220 B.2, B.3), independently of gba/keys.
import { createHmac } from "node:crypto";

/** TS 33.220 B.2/B.3 written out: HMAC-SHA-256(Ks, FC ‖ P0 ‖ L0 ‖ RAND ‖ 0010 ‖ IMPI ‖ L2 ‖ NAF_Id ‖ L3). */
export function nafKey(
  label: "gba-me" | "gba-u",
  ks: Uint8Array,
  rand: Uint8Array,
  impi: string,
  fqdn: string,
  uaHex: string,
): string {
  const param = (b: Buffer) => Buffer.concat([b, Buffer.from([b.length >> 8, b.length & 0xff])]);
  const s = Buffer.concat([
    Buffer.from([0x01]),
    param(Buffer.from(label, "utf8")),
    param(Buffer.from(rand)),
    param(Buffer.from(impi, "utf8")),
    param(Buffer.concat([Buffer.from(fqdn, "utf8"), Buffer.from(uaHex, "hex")])),
  ]);
  return createHmac("sha256", ks).update(s).digest("hex");
}
