// Key material in Diameter messages, zeroed for captures (issue: keys never reach a trace unless
// asked for): the AVP data is overwritten in place, so lengths and TCP sequence numbers stay true.
import { type Avp, DiameterError, decodeAvps, decodeMessage, isRequest } from "./codec.js";
import { AVP, type AvpDef } from "./dictionary.js";

/** AVPs whose data is key material wherever they appear (TS 29.229 §6.3, TS 29.109 §6.3). */
const KEYS: readonly AvpDef[] = [AVP.ConfidentialityKey, AVP.IntegrityKey, AVP.MeKeyMaterial, AVP.UiccKeyMaterial];
const is = (a: Avp, d: AvpDef) => a.code === d.code && a.vendorId === d.vendorId;

/**
 * A copy of `message` with CK, IK, Ks_(ext/int)_NAF and, in answers, XRES (SIP-Authorization
 * of a MAA) zeroed; RAND ‖ AUTS in a resynchronising MAR is not secret and stays. A message that
 * does not decode is returned as it is (a copy).
 */
export function zeroKeys(message: Uint8Array): Uint8Array {
  const out = message.slice();
  let avps: readonly Avp[];
  let answer: boolean;
  try {
    const m = decodeMessage(out);
    avps = m.avps;
    answer = !isRequest(m);
  } catch (err) {
    if (err instanceof DiameterError) return out;
    throw err;
  }
  const walk = (list: readonly Avp[]): void => {
    for (const a of list) {
      if (KEYS.some((k) => is(a, k)) || (answer && is(a, AVP.SipAuthorization))) a.data.fill(0);
      else if (is(a, AVP.SipAuthDataItem)) {
        try {
          walk(decodeAvps(a.data));
        } catch (err) {
          if (!(err instanceof DiameterError)) throw err;
        }
      }
    }
  };
  walk(avps);
  return out;
}
