// Checks a received message against the dictionary and its Command Code Format, in the order
// RFC 6733 §7 gives the errors: unknown mandatory AVPs (5001), flag bits that contradict the
// AVP's definition (3009), data of the wrong length (5014) or an invalid value (5004), AVPs that
// occur too often (5009) and required AVPs that are missing (5005).
import {
  type Avp,
  DiameterError,
  isMandatory,
  placeholderAvp,
  readAddress,
  readGrouped,
  readIdentity,
  readTime,
  readUri,
  readUtf8,
} from "./codec.js";
import { type AvpDef, type AvpRule, avpDef, type CommandDef, GROUPED_MEMBERS, RESULT } from "./dictionary.js";

/** Grouped AVPs nest at most this deep in anything we accept. */
const MAX_DEPTH = 8;

function checkValue(def: AvpDef, a: Avp, depth: number): void {
  const n = a.data.length;
  switch (def.type) {
    case "OctetString":
      return;
    case "Integer32":
    case "Unsigned32":
    case "Enumerated":
    case "Float32":
      if (n !== 4) throw new DiameterError(RESULT.INVALID_AVP_LENGTH, `AVP ${def.name}: ${def.type} needs 4 octets, got ${n}`, a);
      return;
    case "Integer64":
    case "Unsigned64":
    case "Float64":
      if (n !== 8) throw new DiameterError(RESULT.INVALID_AVP_LENGTH, `AVP ${def.name}: ${def.type} needs 8 octets, got ${n}`, a);
      return;
    case "Time":
      readTime(a);
      return;
    case "Address":
      readAddress(a);
      return;
    case "UTF8String":
      readUtf8(a);
      return;
    case "DiameterIdentity":
      readIdentity(a);
      return;
    case "DiameterURI":
      readUri(a);
      return;
    case "Grouped": {
      if (depth >= MAX_DEPTH)
        throw new DiameterError(RESULT.INVALID_AVP_VALUE, `AVP ${def.name} nested deeper than ${MAX_DEPTH}`, a);
      const members = readGrouped(a);
      const rules = GROUPED_MEMBERS.get(def);
      // Failed-AVP and other open groups may hold anything: only their framing is checked
      if (rules !== undefined) checkAvps(members, rules, depth + 1);
    }
  }
}

/**
 * Checks a list of AVPs (a message body or a group) against the dictionary and `rules`.
 * AVPs the rules do not name are allowed (the `*[ AVP ]` of every CCF) unless unknown and
 * mandatory. Throws DiameterError with the Failed-AVP the RFC asks for.
 */
export function checkAvps(avps: readonly Avp[], rules: readonly AvpRule[], depth = 0): void {
  for (let i = 0; i < avps.length; i++) {
    const a = avps[i];
    const def = avpDef(a.code, a.vendorId);
    if (def === undefined) {
      // RFC 6733 §4.1: an unrecognised AVP with the M bit is refused, one without is ignored
      if (isMandatory(a)) {
        const id = a.vendorId ? `${a.vendorId}:${a.code}` : String(a.code);
        throw new DiameterError(RESULT.AVP_UNSUPPORTED, `AVP ${id} is not supported and has the M bit set`, a);
      }
      continue;
    }
    // RFC 6733 §7.1.3 DIAMETER_INVALID_AVP_BITS: flag bits inconsistent with the AVP's definition
    const m = isMandatory(a);
    if ((def.m === "must" && !m) || (def.m === "mustnot" && m)) {
      throw new DiameterError(
        RESULT.INVALID_AVP_BITS,
        `AVP ${def.name} ${m ? "has" : "lacks"} the M bit (it ${def.m === "must" ? "must" : "must not"} be set)`,
        a,
      );
    }
    checkValue(def, a, depth);
  }
  for (const rule of rules) {
    let count = 0;
    for (let i = 0; i < avps.length; i++) {
      const a = avps[i];
      if (a.code !== rule.avp.code || a.vendorId !== rule.avp.vendorId) continue;
      if (++count > rule.max) {
        throw new DiameterError(RESULT.AVP_OCCURS_TOO_MANY_TIMES, `AVP ${rule.avp.name} occurs more than ${rule.max} time(s)`, a);
      }
    }
    if (count < rule.min) {
      throw new DiameterError(RESULT.MISSING_AVP, `required AVP ${rule.avp.name} is missing`, placeholderAvp(rule.avp));
    }
  }
}

/** Checks a received request or answer against its command's CCF. */
export function checkMessage(avps: readonly Avp[], cmd: CommandDef, request: boolean): void {
  checkAvps(avps, request ? cmd.request : cmd.answer);
}
