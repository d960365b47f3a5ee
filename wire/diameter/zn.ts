// Zn over Diameter (TS 29.109 §5.2, §6.1): Bootstrapping-Info-Request/Answer between NAF and BSF,
// application 16777220. The NAF sends the B-TID (Transaction-Identifier) and its NAF_Id (its FQDN
// followed by the 5-octet Ua security protocol identifier, TS 33.220 §4.5.2 and Annex H); the
// BSF answers with the NAF key(s), their expiry, the bootstrapping time and the USSs.
import {
  type Avp,
  type DiameterMessage,
  DiameterError,
  DiameterWriter,
  findAvp,
  findAvps,
  readEnumerated,
  readOctets,
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
import { isDnsName } from "../dns.js";
import type { Uss } from "../zh.js";
import { encodeUssListXml, GussError, parseUssListXml } from "./guss.js";
import { checkMessage } from "./validate.js";

/** TS 33.220 Annex H.2: the Ua security protocol identifier is five octets. */
export const UA_ID_LENGTH = 5;

export interface NafId {
  fqdn: string;
  /** TS 33.220 Annex H: organisation octet and four protocol octets */
  uaId: Uint8Array;
}

/** TS 33.220 §4.5.2: NAF_Id = FQDN of the NAF ‖ Ua security protocol identifier. */
export function encodeNafId(n: NafId): Uint8Array {
  if (n.uaId.length !== UA_ID_LENGTH) throw new RangeError(`Ua security protocol identifier has ${n.uaId.length} octets, not 5`);
  if (!isDnsName(n.fqdn)) throw new RangeError(`"${n.fqdn}" is not a NAF FQDN`);
  const out = new Uint8Array(n.fqdn.length + UA_ID_LENGTH);
  for (let i = 0; i < n.fqdn.length; i++) out[i] = n.fqdn.charCodeAt(i);
  out.set(n.uaId, n.fqdn.length);
  return out;
}

/** Splits a NAF-Id AVP: the last five octets are the Ua id, the rest an ASCII FQDN. */
export function decodeNafId(a: Avp): NafId {
  const d = readOctets(a);
  if (d.length <= UA_ID_LENGTH)
    throw new DiameterError(RESULT.INVALID_AVP_VALUE, `NAF-Id of ${d.length} octets holds no FQDN`, a);
  let fqdn = "";
  for (let i = 0; i < d.length - UA_ID_LENGTH; i++) fqdn += String.fromCharCode(d[i]);
  if (!isDnsName(fqdn)) throw new DiameterError(RESULT.INVALID_AVP_VALUE, "NAF-Id does not start with an FQDN", a);
  return { fqdn, uaId: d.slice(d.length - UA_ID_LENGTH) };
}

export interface BirRequest extends RequestHead {
  btid: string;
  nafId: NafId;
  /** GBA_U-Awareness-Indicator YES; absent means NO (TS 29.109 §6.3.1) */
  gbaUAware?: boolean;
  /** GAA-Service-Identifiers (GSIDs, TS 29.109 Annex B), sent as decimal text */
  gsIds?: number[];
}

export type GbaType = "3G_GBA" | "2G_GBA";
const GBA_TYPES: readonly GbaType[] = ["3G_GBA", "2G_GBA"];

export interface BiaAnswer extends AnswerHead {
  /** IMPI (User-Name) */
  impi?: string;
  /** Ks_NAF (GBA_ME) or Ks_ext_NAF (GBA_U), 32 octets */
  meKeyMaterial?: Uint8Array;
  /** Ks_int_NAF (GBA_U, to a GBA_U-aware NAF) */
  uiccKeyMaterial?: Uint8Array;
  /** ms since 1970 */
  keyExpiryTime?: number;
  /** ms since 1970 */
  bootstrapInfoCreationTime?: number;
  ussList?: Array<{ uss: Uss }>;
  gbaType?: GbaType;
}

export function encodeBir(r: BirRequest, ids: MessageIds): Uint8Array {
  const w = new DiameterWriter(384);
  writeRequestHead(w, COMMAND.BootstrappingInfo, r);
  for (const g of r.gsIds ?? []) {
    if (!Number.isInteger(g) || g < 0 || g > 0xffffffff) throw new RangeError(`GSID ${g}`);
    w.utf8(AVP.GaaServiceIdentifier, String(g));
  }
  w.utf8(AVP.TransactionIdentifier, r.btid);
  w.octets(AVP.NafId, encodeNafId(r.nafId));
  if (r.gbaUAware !== undefined) w.enumerated(AVP.GbaUAwarenessIndicator, r.gbaUAware ? 1 : 0);
  return w.finish(requestHeader(COMMAND.BootstrappingInfo, ids));
}

/** A BIR as the BSF reads it; throws DiameterError (the answer's result and Failed-AVP). */
export function parseBir(msg: DiameterMessage): BirRequest {
  checkMessage(msg.avps, COMMAND.BootstrappingInfo, true);
  const a = msg.avps;
  const tid = requireAvp(a, AVP.TransactionIdentifier);
  const btid = readUtf8(tid);
  if (btid === "") throw new DiameterError(RESULT.INVALID_AVP_VALUE, "Transaction-Identifier is empty", tid);
  const r: BirRequest = { ...readRequestHead(a), btid, nafId: decodeNafId(requireAvp(a, AVP.NafId)) };
  const gsids = findAvps(a, AVP.GaaServiceIdentifier);
  if (gsids.length > 0) {
    r.gsIds = gsids.map((g) => {
      const t = readUtf8(g);
      if (!/^[0-9]{1,10}$/.test(t) || Number(t) > 0xffffffff) {
        throw new DiameterError(RESULT.INVALID_AVP_VALUE, `GAA-Service-Identifier "${t.slice(0, 20)}" is not a GSID`, g);
      }
      return Number(t);
    });
  }
  const aware = findAvp(a, AVP.GbaUAwarenessIndicator);
  if (aware) {
    const v = readEnumerated(aware);
    if (v !== 0 && v !== 1)
      throw new DiameterError(RESULT.INVALID_AVP_VALUE, `GBA_U-Awareness-Indicator ${v} is neither NO nor YES`, aware);
    r.gbaUAware = v === 1;
  }
  return r;
}

/** What a BIA says after its head: the keys, times and USSs for one session and NAF. */
export type BiaBody = Omit<BiaAnswer, keyof AnswerHead>;

/**
 * The AVPs of a BIA after its head, encoded on their own: a BSF keeps them per session and NAF
 * and answers each BIR with a fresh head in front (encodeBia's `body`).
 */
export function encodeBiaBody(m: BiaBody): Uint8Array {
  const w = new DiameterWriter(m.ussList ? 1024 : 256);
  if (m.impi !== undefined) w.utf8(AVP.UserName, m.impi);
  if (m.meKeyMaterial) w.octets(AVP.MeKeyMaterial, m.meKeyMaterial);
  if (m.uiccKeyMaterial) w.octets(AVP.UiccKeyMaterial, m.uiccKeyMaterial);
  if (m.keyExpiryTime !== undefined) w.time(AVP.KeyExpiryTime, m.keyExpiryTime);
  if (m.bootstrapInfoCreationTime !== undefined) w.time(AVP.BootstrapInfoCreationTime, m.bootstrapInfoCreationTime);
  if (m.ussList && m.ussList.length > 0) w.utf8(AVP.GbaUserSecSettings, encodeUssListXml(m.ussList));
  if (m.gbaType !== undefined) w.enumerated(AVP.GbaType, GBA_TYPES.indexOf(m.gbaType));
  return w.avpsOnly();
}

/** The BIA for a BIR (`request` gives the ids and the P bit); `body` from encodeBiaBody(m) when kept. */
export function encodeBia(m: BiaAnswer, request: { flags: number } & MessageIds, body = encodeBiaBody(m)): Uint8Array {
  const w = new DiameterWriter(256 + body.length);
  writeAnswerHead(w, COMMAND.BootstrappingInfo, m);
  w.encoded(body);
  return w.finish(answerHeader(COMMAND.BootstrappingInfo, request));
}

/** A BIA as the NAF reads it; throws DiameterError. A success carries ME-Key-Material. */
export function parseBia(msg: DiameterMessage): BiaAnswer {
  checkMessage(msg.avps, COMMAND.BootstrappingInfo, false);
  const a = msg.avps;
  const m: BiaAnswer = readAnswerHead(a);
  const impi = findAvp(a, AVP.UserName);
  if (impi) m.impi = readUtf8(impi);
  if (!isSuccess(m.result)) return m;
  // TS 33.220 §4.5.3: Ks_NAF / Ks_ext_NAF / Ks_int_NAF are 256-bit KDF outputs (Annex B.2)
  const me = requireAvp(a, AVP.MeKeyMaterial);
  m.meKeyMaterial = octetsOfLength(me, "ME-Key-Material", 32);
  const uicc = findAvp(a, AVP.UiccKeyMaterial);
  if (uicc) m.uiccKeyMaterial = octetsOfLength(uicc, "UICC-Key-Material", 32);
  const exp = findAvp(a, AVP.KeyExpiryTime);
  if (exp) m.keyExpiryTime = readTime(exp);
  const created = findAvp(a, AVP.BootstrapInfoCreationTime);
  if (created) m.bootstrapInfoCreationTime = readTime(created);
  const uss = findAvp(a, AVP.GbaUserSecSettings);
  if (uss) m.ussList = readDocument(uss, parseUssListXml, (e) => e instanceof GussError);
  const type = findAvp(a, AVP.GbaType);
  if (type) {
    const v = readEnumerated(type);
    const t = GBA_TYPES[v];
    if (t === undefined) throw new DiameterError(RESULT.INVALID_AVP_VALUE, `GBA-Type ${v} is not known`, type);
    m.gbaType = t;
  }
  return m;
}
