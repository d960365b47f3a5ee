// Base protocol messages (RFC 6733 §5): Capabilities-Exchange, Device-Watchdog, Disconnect-Peer;
// the result AVPs (§7.1, §7.6), Vendor-Specific-Application-Id (§6.11), Session-Id (§8.8) and the
// answer a node sends when it refuses a request (§7.2).
import {
  type Avp,
  type DiameterHeader,
  DiameterError,
  DiameterWriter,
  type HeaderFields,
  findAvp,
  findAvps,
  formatAddress,
  placeholderAvp,
  readOctets,
  readAddress,
  readGrouped,
  readIdentity,
  readUnsigned32,
  readUtf8,
} from "./codec.js";
import {
  AVP,
  type AvpDef,
  CMD_FLAG_E,
  CMD_FLAG_P,
  CMD_FLAG_R,
  COMMAND,
  type CommandDef,
  isProtocolError,
  RESULT,
  VENDOR_3GPP,
} from "./dictionary.js";

/** Who we are, as every message says it (RFC 6733 §6.3, §6.4). */
export interface Origin {
  originHost: string;
  originRealm: string;
}

/** Hop-by-Hop and End-to-End Identifiers of a message (RFC 6733 §3). */
export interface MessageIds {
  hopByHop: number;
  endToEnd: number;
}

/** The first AVP of `def`, or DIAMETER_MISSING_AVP with a placeholder Failed-AVP (RFC 6733 §7.5). */
export function requireAvp(avps: readonly Avp[], def: AvpDef): Avp {
  const a = findAvp(avps, def);
  if (a === undefined) throw new DiameterError(RESULT.MISSING_AVP, `required AVP ${def.name} is missing`, placeholderAvp(def));
  return a;
}

/** An OctetString of `min`..`max` octets (a copy), or DIAMETER_INVALID_AVP_VALUE. */
export function octetsOfLength(a: Avp, what: string, min: number, max = min): Uint8Array {
  const d = readOctets(a);
  if (d.length < min || d.length > max) {
    const want = min === max ? `${min}` : `${min}..${max}`;
    throw new DiameterError(RESULT.INVALID_AVP_VALUE, `${what} has ${d.length} octets, expected ${want}`, a);
  }
  return d.slice();
}

/** Result-Code (RFC 6733 §7.1) or Experimental-Result (RFC 6733 §7.6). */
export type Result = { vendorId: 0; code: number } | { vendorId: number; code: number };

export const resultCode = (code: number): Result => ({ vendorId: 0, code });
export const isSuccess = (r: Result): boolean => r.code >= 2000 && r.code < 3000;

export function writeResult(w: DiameterWriter, r: Result): void {
  if (r.vendorId === 0) {
    w.unsigned32(AVP.ResultCode, r.code);
    return;
  }
  w.begin(AVP.ExperimentalResult).unsigned32(AVP.VendorId, r.vendorId).unsigned32(AVP.ExperimentalResultCode, r.code).end();
}

/** The result of an answer: exactly one of Result-Code and Experimental-Result. */
export function readResult(avps: readonly Avp[]): Result {
  const rc = findAvp(avps, AVP.ResultCode);
  const er = findAvp(avps, AVP.ExperimentalResult);
  if (rc && er) throw new DiameterError(RESULT.INVALID_AVP_VALUE, "answer has both Result-Code and Experimental-Result", er);
  if (rc) return { vendorId: 0, code: readUnsigned32(rc) };
  if (er) {
    const members = readGrouped(er);
    const v = findAvp(members, AVP.VendorId);
    const c = findAvp(members, AVP.ExperimentalResultCode);
    if (!v || !c)
      throw new DiameterError(RESULT.MISSING_AVP, "Experimental-Result without Vendor-Id or Experimental-Result-Code", er);
    return { vendorId: readUnsigned32(v), code: readUnsigned32(c) };
  }
  throw new DiameterError(RESULT.MISSING_AVP, "answer has neither Result-Code nor Experimental-Result");
}

export interface VendorApplication {
  vendorId: number;
  authApplicationId?: number;
  acctApplicationId?: number;
}

/** RFC 6733 §6.11 Vendor-Specific-Application-Id with an Auth-Application-Id. */
export function writeVendorApplication(w: DiameterWriter, vendorId: number, authApplicationId: number): void {
  w.begin(AVP.VendorSpecificApplicationId)
    .unsigned32(AVP.VendorId, vendorId)
    .unsigned32(AVP.AuthApplicationId, authApplicationId)
    .end();
}

/** RFC 6733 §6.11: one Vendor-Id and exactly one of Auth-/Acct-Application-Id. */
export function readVendorApplication(a: Avp): VendorApplication {
  const m = readGrouped(a);
  const v = findAvp(m, AVP.VendorId);
  const auth = findAvp(m, AVP.AuthApplicationId);
  const acct = findAvp(m, AVP.AcctApplicationId);
  if (!v) throw new DiameterError(RESULT.MISSING_AVP, "Vendor-Specific-Application-Id without Vendor-Id", a);
  if ((auth === undefined) === (acct === undefined)) {
    throw new DiameterError(
      RESULT.INVALID_AVP_VALUE,
      "Vendor-Specific-Application-Id needs exactly one of Auth- and Acct-Application-Id",
      a,
    );
  }
  const out: VendorApplication = { vendorId: readUnsigned32(v) };
  if (auth) out.authApplicationId = readUnsigned32(auth);
  if (acct) out.acctApplicationId = readUnsigned32(acct);
  return out;
}

/** RFC 6733 §8.8: "<DiameterIdentity>;<high 32 bits>;<low 32 bits>[;<optional value>]". */
export function formatSessionId(originHost: string, high: number, low: number, optional?: string): string {
  return `${originHost};${high >>> 0};${low >>> 0}${optional === undefined ? "" : `;${optional}`}`;
}

// ------------------------------------------------------------------ application message heads

/** What every Zh and Zn request starts with (TS 29.109 §6.1). */
export interface RequestHead extends Origin {
  sessionId: string;
  destinationRealm: string;
  destinationHost?: string;
}

/** What every Zh and Zn answer starts with (TS 29.109 §6.1). */
export interface AnswerHead extends Origin {
  sessionId: string;
  result: Result;
}

/**
 * < Session-Id > { Vendor-Specific-Application-Id } [ Auth-Session-State ] { Origin-Host }
 * { Origin-Realm } { Destination-Realm } [ Destination-Host ], the application's vendor 3GPP.
 */
export function writeRequestHead(w: DiameterWriter, cmd: CommandDef, r: RequestHead, authSessionState?: number): void {
  w.utf8(AVP.SessionId, r.sessionId);
  writeVendorApplication(w, VENDOR_3GPP, cmd.appId);
  if (authSessionState !== undefined) w.enumerated(AVP.AuthSessionState, authSessionState);
  w.identity(AVP.OriginHost, r.originHost)
    .identity(AVP.OriginRealm, r.originRealm)
    .identity(AVP.DestinationRealm, r.destinationRealm);
  if (r.destinationHost !== undefined) w.identity(AVP.DestinationHost, r.destinationHost);
}

/** < Session-Id > { Vendor-Specific-Application-Id } result [ Auth-Session-State ] { Origin-Host } { Origin-Realm }. */
export function writeAnswerHead(w: DiameterWriter, cmd: CommandDef, m: AnswerHead, authSessionState?: number): void {
  w.utf8(AVP.SessionId, m.sessionId);
  writeVendorApplication(w, VENDOR_3GPP, cmd.appId);
  writeResult(w, m.result);
  if (authSessionState !== undefined) w.enumerated(AVP.AuthSessionState, authSessionState);
  w.identity(AVP.OriginHost, m.originHost).identity(AVP.OriginRealm, m.originRealm);
}

export function readRequestHead(avps: readonly Avp[]): RequestHead {
  const r: RequestHead = {
    sessionId: readUtf8(requireAvp(avps, AVP.SessionId)),
    originHost: readIdentity(requireAvp(avps, AVP.OriginHost)),
    originRealm: readIdentity(requireAvp(avps, AVP.OriginRealm)),
    destinationRealm: readIdentity(requireAvp(avps, AVP.DestinationRealm)),
  };
  const dh = findAvp(avps, AVP.DestinationHost);
  if (dh) r.destinationHost = readIdentity(dh);
  return r;
}

export function readAnswerHead(avps: readonly Avp[]): AnswerHead {
  return {
    sessionId: readUtf8(requireAvp(avps, AVP.SessionId)),
    originHost: readIdentity(requireAvp(avps, AVP.OriginHost)),
    originRealm: readIdentity(requireAvp(avps, AVP.OriginRealm)),
    result: readResult(avps),
  };
}

/** Header fields of a request of `cmd`: R, and P when the command is proxiable. */
export function requestHeader(cmd: CommandDef, ids: MessageIds): HeaderFields {
  return { flags: CMD_FLAG_R | (cmd.proxiable ? CMD_FLAG_P : 0), commandCode: cmd.code, applicationId: cmd.appId, ...idsOf(ids) };
}

/** Header fields of the answer to `request` (its ids and P bit, RFC 6733 §6.2). */
export function answerHeader(cmd: CommandDef, request: { flags: number } & MessageIds): HeaderFields {
  return { flags: request.flags & CMD_FLAG_P, commandCode: cmd.code, applicationId: cmd.appId, ...idsOf(request) };
}

/** Reads an XML document AVP; a parser error becomes DIAMETER_INVALID_AVP_VALUE naming the AVP. */
export function readDocument<T>(a: Avp, parse: (doc: Uint8Array) => T, isParseError: (e: unknown) => boolean): T {
  try {
    return parse(readOctets(a));
  } catch (err) {
    if (isParseError(err)) throw new DiameterError(RESULT.INVALID_AVP_VALUE, (err as Error).message, a);
    throw err;
  }
}

// ------------------------------------------------------------------ Capabilities-Exchange

/** What a CER or CEA says about its sender (RFC 6733 §5.3.1, §5.3.2). */
export interface Capabilities extends Origin {
  /** textual IPv4 or IPv6 addresses (RFC 6733 §5.3.5) */
  hostIpAddresses: string[];
  vendorId: number;
  productName: string;
  originStateId?: number;
  supportedVendorIds: number[];
  authApplicationIds: number[];
  acctApplicationIds: number[];
  vendorSpecificApplicationIds: VendorApplication[];
  inbandSecurityIds?: number[];
  firmwareRevision?: number;
}

function writeCapabilities(w: DiameterWriter, c: Capabilities): void {
  w.identity(AVP.OriginHost, c.originHost).identity(AVP.OriginRealm, c.originRealm);
  for (const ip of c.hostIpAddresses) w.address(AVP.HostIpAddress, ip);
  w.unsigned32(AVP.VendorId, c.vendorId).utf8(AVP.ProductName, c.productName);
  if (c.originStateId !== undefined) w.unsigned32(AVP.OriginStateId, c.originStateId);
  for (const v of c.supportedVendorIds) w.unsigned32(AVP.SupportedVendorId, v);
  for (const a of c.authApplicationIds) w.unsigned32(AVP.AuthApplicationId, a);
  for (const s of c.inbandSecurityIds ?? []) w.unsigned32(AVP.InbandSecurityId, s);
  for (const a of c.acctApplicationIds) w.unsigned32(AVP.AcctApplicationId, a);
  for (const v of c.vendorSpecificApplicationIds) {
    w.begin(AVP.VendorSpecificApplicationId).unsigned32(AVP.VendorId, v.vendorId);
    if (v.authApplicationId !== undefined) w.unsigned32(AVP.AuthApplicationId, v.authApplicationId);
    if (v.acctApplicationId !== undefined) w.unsigned32(AVP.AcctApplicationId, v.acctApplicationId);
    w.end();
  }
  if (c.firmwareRevision !== undefined) w.unsigned32(AVP.FirmwareRevision, c.firmwareRevision);
}

/** The capabilities of a CER or CEA that passed checkMessage. */
export function readCapabilities(avps: readonly Avp[]): Capabilities {
  const state = findAvp(avps, AVP.OriginStateId);
  const fw = findAvp(avps, AVP.FirmwareRevision);
  const c: Capabilities = {
    originHost: readIdentity(requireAvp(avps, AVP.OriginHost)),
    originRealm: readIdentity(requireAvp(avps, AVP.OriginRealm)),
    hostIpAddresses: findAvps(avps, AVP.HostIpAddress).map((a) => formatAddress(readAddress(a))),
    vendorId: readUnsigned32(requireAvp(avps, AVP.VendorId)),
    productName: readUtf8(requireAvp(avps, AVP.ProductName)),
    supportedVendorIds: findAvps(avps, AVP.SupportedVendorId).map(readUnsigned32),
    authApplicationIds: findAvps(avps, AVP.AuthApplicationId).map(readUnsigned32),
    acctApplicationIds: findAvps(avps, AVP.AcctApplicationId).map(readUnsigned32),
    vendorSpecificApplicationIds: findAvps(avps, AVP.VendorSpecificApplicationId).map(readVendorApplication),
    inbandSecurityIds: findAvps(avps, AVP.InbandSecurityId).map(readUnsigned32),
  };
  if (state) c.originStateId = readUnsigned32(state);
  if (fw) c.firmwareRevision = readUnsigned32(fw);
  return c;
}

/** Every application id a CER/CEA advertises (plain and vendor-specific, auth and acct). */
export function advertisedApplications(c: Capabilities): Set<number> {
  const apps = new Set<number>([...c.authApplicationIds, ...c.acctApplicationIds]);
  for (const v of c.vendorSpecificApplicationIds) {
    if (v.authApplicationId !== undefined) apps.add(v.authApplicationId);
    if (v.acctApplicationId !== undefined) apps.add(v.acctApplicationId);
  }
  return apps;
}

const requestFlags = (proxiable: boolean): number => CMD_FLAG_R | (proxiable ? CMD_FLAG_P : 0);
/** An answer carries the request's P bit (RFC 6733 §6.2). */
const answerFlags = (request: { flags: number }, error = false): number =>
  (request.flags & CMD_FLAG_P) | (error ? CMD_FLAG_E : 0);

export function encodeCer(c: Capabilities, ids: MessageIds): Uint8Array {
  const w = new DiameterWriter();
  writeCapabilities(w, c);
  return w.finish({ flags: requestFlags(false), commandCode: COMMAND.CapabilitiesExchange.code, applicationId: 0, ...ids });
}

export function encodeCea(
  c: Capabilities,
  result: Result,
  request: DiameterHeader,
  error?: { message?: string; failedAvp?: Avp },
): Uint8Array {
  const w = new DiameterWriter();
  writeResult(w, result);
  writeCapabilities(w, c);
  if (error?.message) w.utf8(AVP.ErrorMessage, error.message);
  if (error?.failedAvp) w.begin(AVP.FailedAvp).avp(error.failedAvp).end();
  const e = result.vendorId === 0 && isProtocolError(result.code);
  return w.finish({
    flags: answerFlags(request, e),
    commandCode: COMMAND.CapabilitiesExchange.code,
    applicationId: 0,
    ...idsOf(request),
  });
}

const idsOf = (h: MessageIds): MessageIds => ({ hopByHop: h.hopByHop, endToEnd: h.endToEnd });

// ------------------------------------------------------------------ Device-Watchdog, Disconnect-Peer

export function encodeDwr(o: Origin, ids: MessageIds, originStateId?: number): Uint8Array {
  const w = new DiameterWriter(128);
  w.identity(AVP.OriginHost, o.originHost).identity(AVP.OriginRealm, o.originRealm);
  if (originStateId !== undefined) w.unsigned32(AVP.OriginStateId, originStateId);
  return w.finish({ flags: requestFlags(false), commandCode: COMMAND.DeviceWatchdog.code, applicationId: 0, ...ids });
}

export function encodeDwa(o: Origin, result: Result, request: DiameterHeader, originStateId?: number): Uint8Array {
  const w = new DiameterWriter(128);
  writeResult(w, result);
  w.identity(AVP.OriginHost, o.originHost).identity(AVP.OriginRealm, o.originRealm);
  if (originStateId !== undefined) w.unsigned32(AVP.OriginStateId, originStateId);
  return w.finish({ flags: answerFlags(request), commandCode: COMMAND.DeviceWatchdog.code, applicationId: 0, ...idsOf(request) });
}

/** RFC 6733 §5.4.3 Disconnect-Cause. */
export const DISCONNECT_CAUSE = { REBOOTING: 0, BUSY: 1, DO_NOT_WANT_TO_TALK_TO_YOU: 2 } as const;

export function encodeDpr(o: Origin, cause: number, ids: MessageIds): Uint8Array {
  const w = new DiameterWriter(128);
  w.identity(AVP.OriginHost, o.originHost).identity(AVP.OriginRealm, o.originRealm).enumerated(AVP.DisconnectCause, cause);
  return w.finish({ flags: requestFlags(false), commandCode: COMMAND.DisconnectPeer.code, applicationId: 0, ...ids });
}

export function encodeDpa(o: Origin, result: Result, request: DiameterHeader): Uint8Array {
  const w = new DiameterWriter(128);
  writeResult(w, result);
  w.identity(AVP.OriginHost, o.originHost).identity(AVP.OriginRealm, o.originRealm);
  return w.finish({ flags: answerFlags(request), commandCode: COMMAND.DisconnectPeer.code, applicationId: 0, ...idsOf(request) });
}

// ------------------------------------------------------------------ refusing a request

/**
 * The answer to a request that is refused before any application sees it (RFC 6733 §7.2):
 * protocol errors (3xxx) with the 'E' bit and the generic answer-message layout; other results
 * with the command's own answer layout as far as the request allows (Session-Id, the
 * application's Vendor-Specific-Application-Id and Auth-Session-State copied). Proxy-Info AVPs
 * are returned in order (RFC 6733 §6.2). `requestAvps` may be empty when the body was unreadable.
 */
export function encodeErrorAnswer(
  o: Origin,
  request: DiameterHeader,
  requestAvps: readonly Avp[],
  error: { resultCode: number; message?: string; failedAvp?: Avp },
  originStateId?: number,
): Uint8Array {
  const w = new DiameterWriter(256 + (error.failedAvp?.data.length ?? 0));
  const protocol = isProtocolError(error.resultCode);
  const session = findAvp(requestAvps, AVP.SessionId);
  if (session && isUtf8Avp(session)) w.avp(session);
  if (!protocol) {
    const vsai = findAvp(requestAvps, AVP.VendorSpecificApplicationId);
    if (vsai && isGroupOk(vsai)) w.avp(vsai);
  }
  w.unsigned32(AVP.ResultCode, error.resultCode);
  if (!protocol) {
    const state = findAvp(requestAvps, AVP.AuthSessionState);
    if (state && state.data.length === 4) w.avp(state);
  }
  w.identity(AVP.OriginHost, o.originHost).identity(AVP.OriginRealm, o.originRealm);
  if (originStateId !== undefined) w.unsigned32(AVP.OriginStateId, originStateId);
  if (error.message) w.utf8(AVP.ErrorMessage, error.message.length > 200 ? `${error.message.slice(0, 200)}…` : error.message);
  if (error.failedAvp) w.begin(AVP.FailedAvp).avp(error.failedAvp).end();
  for (const p of findAvps(requestAvps, AVP.ProxyInfo)) if (isGroupOk(p)) w.avp(p);
  return w.finish({
    flags: answerFlags(request, protocol),
    commandCode: request.commandCode,
    applicationId: request.applicationId,
    ...idsOf(request),
  });
}

function isUtf8Avp(a: Avp): boolean {
  try {
    readUtf8(a);
    return true;
  } catch {
    return false;
  }
}

function isGroupOk(a: Avp): boolean {
  try {
    readGrouped(a);
    return true;
  } catch {
    return false;
  }
}
