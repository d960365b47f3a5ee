// GBA key material: Ks (TS 33.220 §4.5.2), NAF_Id (B.3, H.1) and the NAF-specific keys (B.3).
import { concatBytes } from "../wire/bytes.js";
import { kdf, utf8 } from "./kdf.js";
import { UA_ID_LENGTH, type UaId } from "./ua-id.js";

/** TS 33.220 B.3: FC for Ks_NAF, Ks_ext_NAF, Ks_int_NAF (and TMPI, B.4). */
export const FC_GBA_NAF = 0x01;
/** TS 33.220 B.3: P0 for Ks_NAF / Ks_ext_NAF: "gba-me" (67 62 61 2d 6d 65). */
export const P0_GBA_ME: Uint8Array = utf8("gba-me");
/** TS 33.220 B.3: P0 for Ks_int_NAF: "gba-u" (67 62 61 2d 75). */
export const P0_GBA_U: Uint8Array = utf8("gba-u");

export const KS_LENGTH = 32;
export const RAND_LENGTH = 16;

function requireLength(what: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new RangeError(`${what} must be ${n} octets, got ${b instanceof Uint8Array ? b.length : typeof b}`);
  }
}

/** TS 33.220 §4.5.2 (and §5.3.2 for GBA_U): Ks = CK || IK, CK first. */
export function ksFromCkIk(ck: Uint8Array, ik: Uint8Array): Uint8Array {
  requireLength("CK", ck, 16);
  requireLength("IK", ik, 16);
  return concatBytes(ck, ik);
}

/** TS 33.220 B.3 / H.1: NAF_Id = FQDN of the NAF (UTF-8) || Ua security protocol identifier (5 octets). */
export function nafId(fqdn: string, uaId: UaId): Uint8Array {
  if (typeof fqdn !== "string" || fqdn === "") throw new RangeError("NAF FQDN must be a non-empty string");
  requireLength("Ua security protocol id", uaId, UA_ID_LENGTH);
  return concatBytes(utf8(fqdn), uaId);
}

/** Splits a NAF_Id into its FQDN and the trailing 5-octet Ua security protocol id (TS 33.220 H.1). */
export function splitNafId(id: Uint8Array): { fqdn: string; uaId: UaId } {
  if (id.length <= UA_ID_LENGTH) throw new RangeError(`NAF_Id must be longer than ${UA_ID_LENGTH} octets`);
  const cut = id.length - UA_ID_LENGTH;
  return { fqdn: new TextDecoder().decode(id.subarray(0, cut)), uaId: id.slice(cut) };
}

function deriveNafKey(p0: Uint8Array, ks: Uint8Array, rand: Uint8Array, impi: string, naf: Uint8Array): Uint8Array {
  requireLength("Ks", ks, KS_LENGTH);
  requireLength("RAND", rand, RAND_LENGTH);
  if (typeof impi !== "string" || impi === "") throw new RangeError("IMPI must be a non-empty string");
  // TS 33.220 B.3: FC = 0x01, P0, P1 = RAND, P2 = IMPI (UTF-8), P3 = NAF_Id; 32-octet output.
  return kdf(ks, FC_GBA_NAF, p0, rand, utf8(impi), naf);
}

/**
 * TS 33.220 B.3: Ks_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id) (GBA_ME, clause 4); the same
 * function gives Ks_ext_NAF for GBA_U (clause 5).
 */
export function deriveKsNaf(ks: Uint8Array, rand: Uint8Array, impi: string, naf: Uint8Array): Uint8Array {
  return deriveNafKey(P0_GBA_ME, ks, rand, impi, naf);
}

/** TS 33.220 B.3: Ks_ext_NAF (GBA_U, clause 5) is derived exactly as Ks_NAF. */
export const deriveKsExtNaf = deriveKsNaf;

/** TS 33.220 B.3: Ks_int_NAF = KDF(Ks, "gba-u", RAND, IMPI, NAF_Id) (GBA_U, stays in the UICC). */
export function deriveKsIntNaf(ks: Uint8Array, rand: Uint8Array, impi: string, naf: Uint8Array): Uint8Array {
  return deriveNafKey(P0_GBA_U, ks, rand, impi, naf);
}
