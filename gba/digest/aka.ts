// Passwords and nonces of HTTP Digest AKA: RFC 3310 (AKAv1), RFC 4169 (AKAv2), and the Ua
// password of GBA (TS 24.109 §5.2, TS 33.222 §5.3).
import { createHmac } from "node:crypto";
import { base64ToBytes, bytesToBase64, concatBytes } from "../../wire/bytes.js";
import { DigestParseError } from "./errors.js";

function check(what: string, b: Uint8Array, min: number, max = min): void {
  if (!(b instanceof Uint8Array) || b.length < min || b.length > max) {
    const want = min === max ? `${min}` : `${min}..${max}`;
    throw new RangeError(`${what} must be ${want} octets`);
  }
}

/** RFC 3310 §3.2: the AKAv1-MD5 password is RES itself, as raw octets (not hex). RES is 4..16 octets. */
export function akav1Password(res: Uint8Array): Uint8Array {
  check("RES", res, 4, 16);
  return new Uint8Array(res);
}

const AKAV2_LABEL = new TextEncoder().encode("http-digest-akav2-password");

/** RFC 4169 §3: password = base64( HMAC-MD5( key = RES || IK || CK, "http-digest-akav2-password" ) ). */
export function akav2Password(res: Uint8Array, ik: Uint8Array, ck: Uint8Array): string {
  check("RES", res, 4, 16);
  check("IK", ik, 16);
  check("CK", ck, 16);
  return createHmac("md5", concatBytes(res, ik, ck))
    .update(AKAV2_LABEL)
    .digest("base64");
}

/** Ua HTTP Digest (TS 24.109 §5.2, TS 33.222 §5.3): password = base64(Ks_(ext)_NAF), 44 characters. */
export function ksNafPassword(ksNaf: Uint8Array): string {
  check("Ks_NAF", ksNaf, 32);
  return bytesToBase64(ksNaf);
}

const AKA_PART = 16;

/** RFC 3310 §3.2 (TS 24.109 A.3): nonce = base64( RAND || AUTN || optional server data ). */
export function buildAkaNonce(rand: Uint8Array, autn: Uint8Array, serverData?: Uint8Array): string {
  check("RAND", rand, AKA_PART);
  check("AUTN", autn, AKA_PART);
  return bytesToBase64(concatBytes(rand, autn, serverData ?? new Uint8Array(0)));
}

/** Splits an AKA nonce into RAND, AUTN and server data. Throws DigestParseError (BAD_PARAM). */
export function parseAkaNonce(nonce: string): { rand: Uint8Array; autn: Uint8Array; serverData: Uint8Array } {
  const raw = base64ToBytes(nonce);
  if (raw === undefined) throw new DigestParseError("BAD_PARAM", 'parameter "nonce": not base64 (RFC 3310 §3.2)', "nonce");
  if (raw.length < 2 * AKA_PART) {
    throw new DigestParseError(
      "BAD_PARAM",
      `parameter "nonce": ${raw.length} octets, AKA needs at least RAND and AUTN (32)`,
      "nonce",
    );
  }
  return {
    rand: raw.slice(0, AKA_PART),
    autn: raw.slice(AKA_PART, 2 * AKA_PART),
    serverData: raw.slice(2 * AKA_PART),
  };
}
