// GBA_U: the modified authentication token AUTN* (TS 33.220 §5.3.2).
import { createHash } from "node:crypto";
import { xorBytes } from "../wire/bytes.js";

const MAC_OFFSET = 8;
const AUTN_LENGTH = 16;

/**
 * TS 33.220 §5.3.2 (GBA_U bootstrapping): the BSF replaces MAC in AUTN by MAC* = MAC ⊕ mask and
 * the UICC, in the GBA security context (bootstrapping mode), recovers MAC from MAC* with the IK
 * it computes itself, so an ME that only sees AUTN* cannot run the same challenge as plain 3G AKA.
 *
 * The formula mask = first 8 octets of SHA-1(IK) is THIS PROJECT'S READING of §5.3.2: no public
 * copy of the clause text was available to confirm it. It sits behind the config switch
 * `gbaU.autnStar` (default on), shared by the BSF and the simulated USIM; RES/XRES are unchanged.
 */
export function gbaUMacMask(ik: Uint8Array): Uint8Array {
  if (!(ik instanceof Uint8Array) || ik.length !== 16) throw new RangeError("IK must be 16 octets");
  return new Uint8Array(createHash("sha1").update(ik).digest().subarray(0, 8));
}

function applyMask(autn: Uint8Array, ik: Uint8Array): Uint8Array {
  if (!(autn instanceof Uint8Array) || autn.length !== AUTN_LENGTH) throw new RangeError("AUTN must be 16 octets");
  const out = new Uint8Array(autn);
  out.set(xorBytes(autn.subarray(MAC_OFFSET), gbaUMacMask(ik)), MAC_OFFSET);
  return out;
}

/** TS 33.220 §5.3.2 (project reading): AUTN* = SQN⊕AK || AMF || MAC*, MAC* = MAC ⊕ first8(SHA-1(IK)). */
export function toAutnStar(autn: Uint8Array, ik: Uint8Array): Uint8Array {
  return applyMask(autn, ik);
}

/** Inverse of toAutnStar: recovers AUTN (with the original MAC) from AUTN* in the UICC. */
export function fromAutnStar(autnStar: Uint8Array, ik: Uint8Array): Uint8Array {
  return applyMask(autnStar, ik);
}
