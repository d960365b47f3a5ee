// Zh over Diameter (TS 29.109 §4.2, §6.1): Multimedia-Auth-Request/Answer between BSF and HSS,
// application 16777221. One SIP-Auth-Data-Item (TS 29.229 §6.3) per message, scheme
// "Digest-AKAv1-MD5": SIP-Authenticate = RAND ‖ AUTN, SIP-Authorization = XRES in the answer and
// RAND ‖ AUTS in a resynchronising request (TS 33.220 §4.5.2 step 2, TS 33.102 §6.3.5).
import {
  type Avp,
  type DiameterMessage,
  DiameterError,
  DiameterWriter,
  findAvp,
  readEnumerated,
  readGrouped,
  readTime,
  readUtf8,
} from "./codec.js";
import {
  type AnswerHead,
  answerHeader,
  isSuccess,
  type MessageIds,
  octetsOfLength,
  readAnswerHead,
  readDocument,
  readRequestHead,
  type RequestHead,
  requestHeader,
  requireAvp,
  writeAnswerHead,
  writeRequestHead,
} from "./base.js";
import { AVP, COMMAND, RESULT } from "./dictionary.js";
import type { AuthVector, Guss } from "../zh.js";
import { encodeGussXml, GussError, parseGussXml } from "./guss.js";
import { checkMessage } from "./validate.js";

/** TS 29.109 §4.2 (TS 24.109 Annex B): the only scheme on Zh. */
export const SCHEME_AKAV1_MD5 = "Digest-AKAv1-MD5";
/** RFC 6733 §8.11 NO_STATE_MAINTAINED: Zh keeps no session state (TS 29.109 §6.1). */
const NO_STATE_MAINTAINED = 1;

export interface MarRequest extends RequestHead {
  /** IMPI (User-Name) */
  impi: string;
  /** IMPU (Public-Identity) */
  impu?: string;
  /** TS 33.102 §6.3.5: the RAND of the failed challenge and the AUTS of the USIM */
  resync?: { rand: Uint8Array; auts: Uint8Array };
  /** GUSS-Timestamp: the time of the GUSS the BSF holds, ms since 1970 */
  gussTimestamp?: number;
}

export interface MaaAnswer extends AnswerHead {
  impi?: string;
  impu?: string;
  av?: AuthVector;
  guss?: Guss;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function encodeMar(r: MarRequest, ids: MessageIds): Uint8Array {
  const w = new DiameterWriter(384);
  writeRequestHead(w, COMMAND.MultimediaAuth, r, NO_STATE_MAINTAINED);
  w.utf8(AVP.UserName, r.impi);
  if (r.impu !== undefined) w.utf8(AVP.PublicIdentity, r.impu);
  w.begin(AVP.SipAuthDataItem).utf8(AVP.SipAuthenticationScheme, SCHEME_AKAV1_MD5);
  if (r.resync) {
    if (r.resync.rand.length !== 16 || r.resync.auts.length !== 14) throw new RangeError("resync: RAND is 16 octets, AUTS 14");
    w.octets(AVP.SipAuthorization, concat(r.resync.rand, r.resync.auts));
  }
  w.end();
  if (r.gussTimestamp !== undefined) w.time(AVP.GussTimestamp, r.gussTimestamp);
  return w.finish(requestHeader(COMMAND.MultimediaAuth, ids));
}

/** TS 29.109 §4.2: the only scheme on Zh; an item without one is taken as this scheme. */
function checkScheme(members: readonly Avp[]): void {
  const scheme = findAvp(members, AVP.SipAuthenticationScheme);
  if (scheme && readUtf8(scheme) !== SCHEME_AKAV1_MD5) {
    const named = readUtf8(scheme).slice(0, 40);
    throw new DiameterError(RESULT.INVALID_AVP_VALUE, `SIP-Authentication-Scheme "${named}" is not ${SCHEME_AKAV1_MD5}`, scheme);
  }
}

/** The scheme and, on resynchronisation, RAND ‖ AUTS of a request's SIP-Auth-Data-Item. */
function readRequestItem(item: Avp): MarRequest["resync"] {
  const m = readGrouped(item);
  checkScheme(m);
  const authz = findAvp(m, AVP.SipAuthorization);
  if (!authz) return undefined;
  const d = octetsOfLength(authz, "SIP-Authorization (RAND ‖ AUTS)", 30);
  return { rand: d.subarray(0, 16), auts: d.subarray(16) };
}

/** A MAR as the HSS reads it; throws DiameterError (the answer's result and Failed-AVP). */
export function parseMar(msg: DiameterMessage): MarRequest {
  checkMessage(msg.avps, COMMAND.MultimediaAuth, true);
  const a = msg.avps;
  // TS 29.109 §4.2: the IMPI is what the BSF asks for (User-Name is optional only in the CCF)
  const impi = readUtf8(requireAvp(a, AVP.UserName));
  if (impi === "") throw new DiameterError(RESULT.INVALID_AVP_VALUE, "User-Name is empty", findAvp(a, AVP.UserName));
  const r: MarRequest = { ...readRequestHead(a), impi };
  const impu = findAvp(a, AVP.PublicIdentity);
  if (impu) r.impu = readUtf8(impu);
  const item = findAvp(a, AVP.SipAuthDataItem);
  const resync = item ? readRequestItem(item) : undefined;
  if (resync) r.resync = resync;
  const ts = findAvp(a, AVP.GussTimestamp);
  if (ts) r.gussTimestamp = readTime(ts);
  return r;
}

/** The MAA for a MAR (`request` gives the ids and the P bit). */
export function encodeMaa(m: MaaAnswer, request: { flags: number } & MessageIds): Uint8Array {
  const w = new DiameterWriter(m.guss ? 1024 : 384);
  writeAnswerHead(w, COMMAND.MultimediaAuth, m, NO_STATE_MAINTAINED);
  if (m.impi !== undefined) w.utf8(AVP.UserName, m.impi);
  if (m.impu !== undefined) w.utf8(AVP.PublicIdentity, m.impu);
  if (m.av) {
    const av = m.av;
    if (av.rand.length !== 16 || av.autn.length !== 16 || av.ck.length !== 16 || av.ik.length !== 16) {
      throw new RangeError("AV: RAND, AUTN, CK and IK are 16 octets");
    }
    if (av.xres.length < 4 || av.xres.length > 16) throw new RangeError("AV: XRES is 4..16 octets");
    w.begin(AVP.SipAuthDataItem)
      .utf8(AVP.SipAuthenticationScheme, SCHEME_AKAV1_MD5)
      .octets(AVP.SipAuthenticate, concat(av.rand, av.autn))
      .octets(AVP.SipAuthorization, av.xres)
      .octets(AVP.ConfidentialityKey, av.ck)
      .octets(AVP.IntegrityKey, av.ik)
      .end();
  }
  if (m.guss) w.utf8(AVP.GbaUserSecSettings, encodeGussXml(m.guss));
  return w.finish(answerHeader(COMMAND.MultimediaAuth, request));
}

function readAnswerItem(item: Avp): AuthVector {
  const m = readGrouped(item);
  checkScheme(m);
  const challenge = octetsOfLength(requireAvp(m, AVP.SipAuthenticate), "SIP-Authenticate (RAND ‖ AUTN)", 32);
  // TS 33.102 §6.3.2: XRES is 32..128 bits
  const xres = octetsOfLength(requireAvp(m, AVP.SipAuthorization), "SIP-Authorization (XRES)", 4, 16);
  const ck = octetsOfLength(requireAvp(m, AVP.ConfidentialityKey), "Confidentiality-Key", 16);
  const ik = octetsOfLength(requireAvp(m, AVP.IntegrityKey), "Integrity-Key", 16);
  return { rand: challenge.subarray(0, 16), autn: challenge.subarray(16), xres, ck, ik };
}

/** A MAA as the BSF reads it; throws DiameterError. A success carries the vector. */
export function parseMaa(msg: DiameterMessage): MaaAnswer {
  checkMessage(msg.avps, COMMAND.MultimediaAuth, false);
  const a = msg.avps;
  const m: MaaAnswer = readAnswerHead(a);
  const state = findAvp(a, AVP.AuthSessionState);
  if (state && readEnumerated(state) !== NO_STATE_MAINTAINED) {
    throw new DiameterError(RESULT.INVALID_AVP_VALUE, "Auth-Session-State is not NO_STATE_MAINTAINED", state);
  }
  const impi = findAvp(a, AVP.UserName);
  if (impi) m.impi = readUtf8(impi);
  const impu = findAvp(a, AVP.PublicIdentity);
  if (impu) m.impu = readUtf8(impu);
  if (!isSuccess(m.result)) return m;
  m.av = readAnswerItem(requireAvp(a, AVP.SipAuthDataItem));
  const guss = findAvp(a, AVP.GbaUserSecSettings);
  if (guss) m.guss = readDocument(guss, parseGussXml, (e) => e instanceof GussError);
  return m;
}
