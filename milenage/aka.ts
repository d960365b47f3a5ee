// UMTS AKA around MILENAGE, TS 33.102 §6.3: authentication vectors (network side), AUTN
// verification and AUTS (USIM side), AUTS verification (HE side).
import { concatOctets, constantTimeEqual, xorOctets } from "./octets.js";
import type { Milenage } from "./milenage.js";
import {
  acceptSqn,
  bytesToSqn,
  checkFreshness,
  DEFAULT_FRESHNESS,
  type FreshnessPolicy,
  type FreshnessVerdict,
  highestSqn,
  sqnToBytes,
  type UsimSqnArray,
} from "./sqn.js";

export interface AuthVector {
  rand: Uint8Array;
  xres: Uint8Array;
  ck: Uint8Array;
  ik: Uint8Array;
  /** AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A (16 bytes) */
  autn: Uint8Array;
}

/** TS 33.102 §6.3.2: AV = RAND ‖ XRES ‖ CK ‖ IK ‖ AUTN. */
export function generateAuthVector(m: Milenage, rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): AuthVector {
  const v = m.vector(rand, sqn, amf);
  return { rand: rand.slice(), xres: v.res, ck: v.ck, ik: v.ik, autn: buildAutn(sqn, v.ak, amf, v.macA) };
}

/** AUTN = SQN ⊕ AK ‖ AMF ‖ MAC-A (TS 33.102 §6.3.2). */
export function buildAutn(sqn: Uint8Array, ak: Uint8Array, amf: Uint8Array, macA: Uint8Array): Uint8Array {
  if (sqn.length !== 6) throw new RangeError(`SQN must be 6 bytes, got ${sqn.length}`);
  if (ak.length !== 6) throw new RangeError(`AK must be 6 bytes, got ${ak.length}`);
  if (amf.length !== 2) throw new RangeError(`AMF must be 2 bytes, got ${amf.length}`);
  if (macA.length !== 8) throw new RangeError(`MAC-A must be 8 bytes, got ${macA.length}`);
  const autn = new Uint8Array(16);
  for (let i = 0; i < 6; i++) autn[i] = sqn[i] ^ ak[i];
  autn.set(amf, 6);
  autn.set(macA, 8);
  return autn;
}

export function splitAutn(autn: Uint8Array): { sqnXorAk: Uint8Array; amf: Uint8Array; mac: Uint8Array } {
  if (autn.length !== 16) throw new RangeError(`AUTN must be 16 bytes, got ${autn.length}`);
  return { sqnXorAk: autn.subarray(0, 6), amf: autn.subarray(6, 8), mac: autn.subarray(8, 16) };
}

/** TS 33.102 §6.3.3: AUTS = SQN_MS ⊕ AK* ‖ MAC-S, MAC-S = f1*(SQN_MS ‖ RAND ‖ AMF*), AMF* = 0000. */
export function buildAuts(m: Milenage, rand: Uint8Array, sqnMs: Uint8Array): Uint8Array {
  const { macS, akStar } = m.resync(rand, sqnMs);
  return concatOctets(xorOctets(sqnMs, akStar), macS);
}

export type AutsVerdict = { ok: true; sqnMs: Uint8Array } | { ok: false; reason: "MAC_S_FAILURE"; sqnMs: Uint8Array };

/** HE side of §6.3.5: recover SQN_MS = Conc(SQN_MS) ⊕ f5*(RAND) and check MAC-S in constant time. */
export function verifyAuts(m: Milenage, rand: Uint8Array, auts: Uint8Array): AutsVerdict {
  if (auts.length !== 14) throw new RangeError(`AUTS must be 14 bytes, got ${auts.length}`);
  const akStar = m.f5star(rand);
  const sqnMs = xorOctets(auts.subarray(0, 6), akStar);
  const { macS } = m.resync(rand, sqnMs);
  if (!constantTimeEqual(macS, auts.subarray(6, 14))) return { ok: false, reason: "MAC_S_FAILURE", sqnMs };
  return { ok: true, sqnMs };
}

export type AutnCheckResult =
  | { kind: "success"; res: Uint8Array; ck: Uint8Array; ik: Uint8Array; sqn: Uint8Array; amf: Uint8Array }
  | { kind: "mac-failure" }
  | { kind: "sync-failure"; auts: Uint8Array; sqnMs: Uint8Array; reason: Exclude<FreshnessVerdict, { fresh: true }>["reason"] };

/**
 * USIM side of TS 33.102 §6.3.3 with the Annex C freshness check: compute AK, recover SQN,
 * verify MAC-A (constant time), then check freshness. The array is updated only after MAC-A
 * verified and SQN found fresh; the caller persists `array`.
 */
export function checkAutn(
  m: Milenage,
  array: UsimSqnArray,
  rand: Uint8Array,
  autn: Uint8Array,
  policy: FreshnessPolicy = DEFAULT_FRESHNESS,
): { result: AutnCheckResult; array: UsimSqnArray } {
  const { sqnXorAk, amf, mac } = splitAutn(autn);
  const out = m.f2345(rand);
  const sqn = xorOctets(sqnXorAk, out.ak);
  const xmac = m.f1(rand, sqn, amf);
  if (!constantTimeEqual(xmac, mac)) return { result: { kind: "mac-failure" }, array };
  const verdict = checkFreshness(array, bytesToSqn(sqn), { ...policy, indBits: array.indBits });
  if (!verdict.fresh) {
    const sqnMs = sqnToBytes(highestSqn(array));
    return { result: { kind: "sync-failure", auts: buildAuts(m, rand, sqnMs), sqnMs, reason: verdict.reason }, array };
  }
  return {
    result: { kind: "success", res: out.res, ck: out.ck, ik: out.ik, sqn, amf: amf.slice() },
    array: acceptSqn(array, bytesToSqn(sqn)),
  };
}
