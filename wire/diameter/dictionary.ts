// The Diameter dictionary as data: the base protocol (RFC 6733) and the GAA applications Zh and
// Zn (TS 29.109), with the TS 29.229 AVPs they reuse. Each AVP: code, vendor, data type and the
// rule for its M bit; the V bit follows from the vendor (RFC 6733 §4.1: set iff Vendor-ID is
// present). test/diameter-dictionary.test.ts checks every entry against Wireshark's dictionary.

/** RFC 6733 §4.2 (basic) and §4.3 (derived) AVP data formats. */
export type AvpType =
  | "OctetString"
  | "Integer32"
  | "Integer64"
  | "Unsigned32"
  | "Unsigned64"
  | "Float32"
  | "Float64"
  | "Grouped"
  | "Address"
  | "Time"
  | "UTF8String"
  | "DiameterIdentity"
  | "DiameterURI"
  | "Enumerated";

/** AVP flag rules as the AVP tables of RFC 6733 §4.5 and TS 29.109 §6.3 give them. */
export type FlagRule = "must" | "mustnot" | "may";

export interface AvpDef {
  readonly name: string;
  readonly code: number;
  /** 0: no Vendor-ID field, V bit clear */
  readonly vendorId: number;
  readonly type: AvpType;
  /** the M bit: set when sending iff "must"; a received AVP breaking "must"/"mustnot" is refused (3009) */
  readonly m: FlagRule;
  /** Enumerated: the defined values */
  readonly values?: Readonly<Record<number, string>>;
  /** where the AVP is defined */
  readonly ref: string;
}

/** IANA enterprise number of 3GPP (TS 29.230 §2). */
export const VENDOR_3GPP = 10415;

/** RFC 6733 §2.4: the Relay application id a relay agent advertises. */
export const APP_RELAY = 0xffffffff;
/** RFC 6733 §2.4: Diameter common messages (CER/CEA, DWR/DWA, DPR/DPA). */
export const APP_COMMON = 0;
/** TS 29.109 §6 (IANA): Zn, NAF ↔ BSF. */
export const APP_ZN = 16777220;
/** TS 29.109 §6 (IANA): Zh, BSF ↔ HSS. */
export const APP_ZH = 16777221;

const avp = (
  name: string,
  code: number,
  vendorId: number,
  type: AvpType,
  m: FlagRule,
  ref: string,
  values?: Record<number, string>,
): AvpDef => Object.freeze({ name, code, vendorId, type, m, ref, ...(values ? { values: Object.freeze(values) } : {}) });

const G = VENDOR_3GPP;

export const AVP = {
  // RFC 6733 §4.5 (base protocol AVPs)
  UserName: avp("User-Name", 1, 0, "UTF8String", "must", "RFC 6733 §8.14"),
  ProxyState: avp("Proxy-State", 33, 0, "OctetString", "must", "RFC 6733 §6.7.4"),
  EventTimestamp: avp("Event-Timestamp", 55, 0, "Time", "must", "RFC 6733 §8.21"),
  HostIpAddress: avp("Host-IP-Address", 257, 0, "Address", "must", "RFC 6733 §5.3.5"),
  AuthApplicationId: avp("Auth-Application-Id", 258, 0, "Unsigned32", "must", "RFC 6733 §6.8"),
  AcctApplicationId: avp("Acct-Application-Id", 259, 0, "Unsigned32", "must", "RFC 6733 §6.9"),
  VendorSpecificApplicationId: avp("Vendor-Specific-Application-Id", 260, 0, "Grouped", "must", "RFC 6733 §6.11"),
  RedirectHostUsage: avp("Redirect-Host-Usage", 261, 0, "Enumerated", "must", "RFC 6733 §6.13", {
    0: "DONT_CACHE",
    1: "ALL_SESSION",
    2: "ALL_REALM",
    3: "REALM_AND_APPLICATION",
    4: "ALL_APPLICATION",
    5: "ALL_HOST",
    6: "ALL_USER",
  }),
  RedirectMaxCacheTime: avp("Redirect-Max-Cache-Time", 262, 0, "Unsigned32", "must", "RFC 6733 §6.14"),
  SessionId: avp("Session-Id", 263, 0, "UTF8String", "must", "RFC 6733 §8.8"),
  OriginHost: avp("Origin-Host", 264, 0, "DiameterIdentity", "must", "RFC 6733 §6.3"),
  SupportedVendorId: avp("Supported-Vendor-Id", 265, 0, "Unsigned32", "must", "RFC 6733 §5.3.6"),
  VendorId: avp("Vendor-Id", 266, 0, "Unsigned32", "must", "RFC 6733 §5.3.3"),
  FirmwareRevision: avp("Firmware-Revision", 267, 0, "Unsigned32", "mustnot", "RFC 6733 §5.3.4"),
  ResultCode: avp("Result-Code", 268, 0, "Unsigned32", "must", "RFC 6733 §7.1"),
  ProductName: avp("Product-Name", 269, 0, "UTF8String", "mustnot", "RFC 6733 §5.3.7"),
  DisconnectCause: avp("Disconnect-Cause", 273, 0, "Enumerated", "must", "RFC 6733 §5.4.3", {
    0: "REBOOTING",
    1: "BUSY",
    2: "DO_NOT_WANT_TO_TALK_TO_YOU",
  }),
  AuthSessionState: avp("Auth-Session-State", 277, 0, "Enumerated", "must", "RFC 6733 §8.11", {
    0: "STATE_MAINTAINED",
    1: "NO_STATE_MAINTAINED",
  }),
  OriginStateId: avp("Origin-State-Id", 278, 0, "Unsigned32", "must", "RFC 6733 §8.16"),
  FailedAvp: avp("Failed-AVP", 279, 0, "Grouped", "must", "RFC 6733 §7.5"),
  ProxyHost: avp("Proxy-Host", 280, 0, "DiameterIdentity", "must", "RFC 6733 §6.7.3"),
  ErrorMessage: avp("Error-Message", 281, 0, "UTF8String", "mustnot", "RFC 6733 §7.3"),
  RouteRecord: avp("Route-Record", 282, 0, "DiameterIdentity", "must", "RFC 6733 §6.7.1"),
  DestinationRealm: avp("Destination-Realm", 283, 0, "DiameterIdentity", "must", "RFC 6733 §6.6"),
  ProxyInfo: avp("Proxy-Info", 284, 0, "Grouped", "must", "RFC 6733 §6.7.2"),
  RedirectHost: avp("Redirect-Host", 292, 0, "DiameterURI", "must", "RFC 6733 §6.12"),
  DestinationHost: avp("Destination-Host", 293, 0, "DiameterIdentity", "must", "RFC 6733 §6.5"),
  ErrorReportingHost: avp("Error-Reporting-Host", 294, 0, "DiameterIdentity", "mustnot", "RFC 6733 §7.4"),
  OriginRealm: avp("Origin-Realm", 296, 0, "DiameterIdentity", "must", "RFC 6733 §6.4"),
  ExperimentalResult: avp("Experimental-Result", 297, 0, "Grouped", "must", "RFC 6733 §7.6"),
  ExperimentalResultCode: avp("Experimental-Result-Code", 298, 0, "Unsigned32", "must", "RFC 6733 §7.7"),
  InbandSecurityId: avp("Inband-Security-Id", 299, 0, "Unsigned32", "must", "RFC 6733 §6.10"),

  // TS 29.109 §6.3 (GAA AVPs, vendor 3GPP). M bit as Nokia's GAA dictionary encodes the TS 29.109
  // table (set, but never on GUSS-Timestamp); Wireshark leaves it open ("may").
  GbaUserSecSettings: avp("GBA-UserSecSettings", 400, G, "OctetString", "must", "TS 29.109 §6.3.1.1"),
  TransactionIdentifier: avp("Transaction-Identifier", 401, G, "OctetString", "must", "TS 29.109 §6.3.1.2"),
  NafId: avp("NAF-Id", 402, G, "OctetString", "must", "TS 29.109 §6.3.1.3"),
  GaaServiceIdentifier: avp("GAA-Service-Identifier", 403, G, "OctetString", "must", "TS 29.109 §6.3.1"),
  KeyExpiryTime: avp("Key-ExpiryTime", 404, G, "Time", "must", "TS 29.109 §6.3.1"),
  MeKeyMaterial: avp("ME-Key-Material", 405, G, "OctetString", "must", "TS 29.109 §6.3.1"),
  UiccKeyMaterial: avp("UICC-Key-Material", 406, G, "OctetString", "must", "TS 29.109 §6.3.1"),
  GbaUAwarenessIndicator: avp("GBA_U-Awareness-Indicator", 407, G, "Enumerated", "must", "TS 29.109 §6.3.1", {
    0: "NO",
    1: "YES",
  }),
  BootstrapInfoCreationTime: avp("BootstrapInfoCreationTime", 408, G, "Time", "must", "TS 29.109 §6.3.1"),
  GussTimestamp: avp("GUSS-Timestamp", 409, G, "Time", "mustnot", "TS 29.109 §6.3.1"),
  GbaType: avp("GBA-Type", 410, G, "Enumerated", "must", "TS 29.109 §6.3.1", { 0: "3G_GBA", 1: "2G_GBA" }),

  // TS 29.229 §6.3 (Cx AVPs reused on Zh, TS 29.109 §7.1): M and V set
  PublicIdentity: avp("Public-Identity", 601, G, "UTF8String", "must", "TS 29.229 §6.3"),
  SipNumberAuthItems: avp("SIP-Number-Auth-Items", 607, G, "Unsigned32", "must", "TS 29.229 §6.3"),
  SipAuthenticationScheme: avp("SIP-Authentication-Scheme", 608, G, "UTF8String", "must", "TS 29.229 §6.3"),
  SipAuthenticate: avp("SIP-Authenticate", 609, G, "OctetString", "must", "TS 29.229 §6.3"),
  SipAuthorization: avp("SIP-Authorization", 610, G, "OctetString", "must", "TS 29.229 §6.3"),
  SipAuthenticationContext: avp("SIP-Authentication-Context", 611, G, "OctetString", "must", "TS 29.229 §6.3"),
  SipAuthDataItem: avp("SIP-Auth-Data-Item", 612, G, "Grouped", "must", "TS 29.229 §6.3"),
  SipItemNumber: avp("SIP-Item-Number", 613, G, "Unsigned32", "must", "TS 29.229 §6.3"),
  ConfidentialityKey: avp("Confidentiality-Key", 625, G, "OctetString", "must", "TS 29.229 §6.3"),
  IntegrityKey: avp("Integrity-Key", 626, G, "OctetString", "must", "TS 29.229 §6.3"),
} as const satisfies Record<string, AvpDef>;

export const AVPS: readonly AvpDef[] = Object.freeze(Object.values(AVP));

const byVendor = new Map<number, Map<number, AvpDef>>();
for (const d of AVPS) {
  let m = byVendor.get(d.vendorId);
  if (m === undefined) {
    m = new Map();
    byVendor.set(d.vendorId, m);
  }
  if (m.has(d.code)) throw new Error(`dictionary: AVP ${d.vendorId}:${d.code} defined twice`);
  m.set(d.code, d);
}

/** The dictionary entry for (code, vendor), or undefined for an AVP we do not know. */
export function avpDef(code: number, vendorId: number): AvpDef | undefined {
  return byVendor.get(vendorId)?.get(code);
}

/** AVP header flags (RFC 6733 §4.1) to send this AVP with. */
export function avpFlags(d: AvpDef): number {
  return (d.vendorId !== 0 ? AVP_FLAG_V : 0) | (d.m === "must" ? AVP_FLAG_M : 0);
}

// RFC 6733 §3: command flags
export const CMD_FLAG_R = 0x80;
export const CMD_FLAG_P = 0x40;
export const CMD_FLAG_E = 0x20;
export const CMD_FLAG_T = 0x10;
// RFC 6733 §4.1: AVP flags
export const AVP_FLAG_V = 0x80;
export const AVP_FLAG_M = 0x40;
export const AVP_FLAG_P = 0x20;

/** One line of a Command Code Format (RFC 6733 §3.2): an AVP and how often it may occur. */
export interface AvpRule {
  readonly avp: AvpDef;
  readonly min: number;
  readonly max: number;
}

export interface CommandDef {
  readonly name: string;
  readonly code: number;
  readonly appId: number;
  /** the 'P' bit in the CCF header */
  readonly proxiable: boolean;
  readonly request: readonly AvpRule[];
  readonly answer: readonly AvpRule[];
  readonly ref: string;
}

const one = (a: AvpDef): AvpRule => ({ avp: a, min: 1, max: 1 });
const opt = (a: AvpDef): AvpRule => ({ avp: a, min: 0, max: 1 });
const any = (a: AvpDef): AvpRule => ({ avp: a, min: 0, max: Number.POSITIVE_INFINITY });
const some = (a: AvpDef): AvpRule => ({ avp: a, min: 1, max: Number.POSITIVE_INFINITY });

const CE_COMMON: AvpRule[] = [
  one(AVP.OriginHost),
  one(AVP.OriginRealm),
  some(AVP.HostIpAddress),
  one(AVP.VendorId),
  one(AVP.ProductName),
  opt(AVP.OriginStateId),
  any(AVP.SupportedVendorId),
  any(AVP.AuthApplicationId),
  any(AVP.InbandSecurityId),
  any(AVP.AcctApplicationId),
  any(AVP.VendorSpecificApplicationId),
  opt(AVP.FirmwareRevision),
];
const ANSWER_ERRORS: AvpRule[] = [opt(AVP.ErrorMessage), opt(AVP.ErrorReportingHost), any(AVP.FailedAvp)];
const ROUTING: AvpRule[] = [any(AVP.ProxyInfo), any(AVP.RouteRecord)];

export const COMMAND = {
  // RFC 6733 §5.3.1, §5.3.2
  CapabilitiesExchange: {
    name: "Capabilities-Exchange",
    code: 257,
    appId: APP_COMMON,
    proxiable: false,
    request: CE_COMMON,
    answer: [one(AVP.ResultCode), ...CE_COMMON, ...ANSWER_ERRORS],
    ref: "RFC 6733 §5.3",
  },
  // RFC 6733 §5.5.1, §5.5.2
  DeviceWatchdog: {
    name: "Device-Watchdog",
    code: 280,
    appId: APP_COMMON,
    proxiable: false,
    request: [one(AVP.OriginHost), one(AVP.OriginRealm), opt(AVP.OriginStateId)],
    answer: [one(AVP.ResultCode), one(AVP.OriginHost), one(AVP.OriginRealm), ...ANSWER_ERRORS, opt(AVP.OriginStateId)],
    ref: "RFC 6733 §5.5",
  },
  // RFC 6733 §5.4.1, §5.4.2
  DisconnectPeer: {
    name: "Disconnect-Peer",
    code: 282,
    appId: APP_COMMON,
    proxiable: false,
    request: [one(AVP.OriginHost), one(AVP.OriginRealm), one(AVP.DisconnectCause)],
    answer: [one(AVP.ResultCode), one(AVP.OriginHost), one(AVP.OriginRealm), ...ANSWER_ERRORS],
    ref: "RFC 6733 §5.4",
  },
  // TS 29.109 §6.1 (MAR/MAA); the command code is TS 29.229's (TS 29.109 §7.3)
  MultimediaAuth: {
    name: "Multimedia-Auth",
    code: 303,
    appId: APP_ZH,
    proxiable: true,
    request: [
      one(AVP.SessionId),
      one(AVP.VendorSpecificApplicationId),
      one(AVP.AuthSessionState),
      one(AVP.OriginHost),
      one(AVP.OriginRealm),
      one(AVP.DestinationRealm),
      opt(AVP.DestinationHost),
      opt(AVP.UserName),
      opt(AVP.PublicIdentity),
      opt(AVP.SipAuthDataItem),
      opt(AVP.GussTimestamp),
      ...ROUTING,
    ],
    answer: [
      one(AVP.SessionId),
      one(AVP.VendorSpecificApplicationId),
      opt(AVP.ResultCode),
      opt(AVP.ExperimentalResult),
      one(AVP.AuthSessionState),
      one(AVP.OriginHost),
      one(AVP.OriginRealm),
      opt(AVP.UserName),
      opt(AVP.PublicIdentity),
      opt(AVP.SipAuthDataItem),
      opt(AVP.GbaUserSecSettings),
      ...ANSWER_ERRORS,
      ...ROUTING,
    ],
    ref: "TS 29.109 §6.1",
  },
  // TS 29.109 §6.1 (BIR/BIA)
  BootstrappingInfo: {
    name: "Bootstrapping-Info",
    code: 310,
    appId: APP_ZN,
    proxiable: true,
    request: [
      one(AVP.SessionId),
      one(AVP.VendorSpecificApplicationId),
      one(AVP.OriginHost),
      one(AVP.OriginRealm),
      one(AVP.DestinationRealm),
      opt(AVP.DestinationHost),
      any(AVP.GaaServiceIdentifier),
      one(AVP.TransactionIdentifier),
      one(AVP.NafId),
      opt(AVP.GbaUAwarenessIndicator),
      ...ROUTING,
    ],
    answer: [
      one(AVP.SessionId),
      one(AVP.VendorSpecificApplicationId),
      opt(AVP.ResultCode),
      opt(AVP.ExperimentalResult),
      one(AVP.OriginHost),
      one(AVP.OriginRealm),
      opt(AVP.UserName),
      opt(AVP.MeKeyMaterial),
      opt(AVP.UiccKeyMaterial),
      opt(AVP.KeyExpiryTime),
      opt(AVP.BootstrapInfoCreationTime),
      opt(AVP.GbaUserSecSettings),
      opt(AVP.GbaType),
      ...ANSWER_ERRORS,
      ...ROUTING,
    ],
    ref: "TS 29.109 §6.1",
  },
} as const satisfies Record<string, CommandDef>;

export const COMMANDS: readonly CommandDef[] = Object.freeze(Object.values(COMMAND));

/** The command for (application, code); the common messages answer under any application id 0 only. */
export function commandDef(appId: number, code: number): CommandDef | undefined {
  for (const c of COMMANDS) if (c.code === code && c.appId === appId) return c;
  return undefined;
}

/** Grouped AVPs whose members the dictionary names, for nested validation. */
export const GROUPED_MEMBERS: ReadonlyMap<AvpDef, readonly AvpRule[]> = new Map<AvpDef, readonly AvpRule[]>([
  // RFC 6733 §6.11: exactly one of Auth- or Acct-Application-Id (checked by the reader)
  [AVP.VendorSpecificApplicationId, [one(AVP.VendorId), opt(AVP.AuthApplicationId), opt(AVP.AcctApplicationId)]],
  // RFC 6733 §7.6
  [AVP.ExperimentalResult, [one(AVP.VendorId), one(AVP.ExperimentalResultCode)]],
  // RFC 6733 §6.7.2
  [AVP.ProxyInfo, [one(AVP.ProxyHost), one(AVP.ProxyState)]],
  // TS 29.229 §6.3 (SIP-Auth-Data-Item)
  [
    AVP.SipAuthDataItem,
    [
      opt(AVP.SipItemNumber),
      opt(AVP.SipAuthenticationScheme),
      opt(AVP.SipAuthenticate),
      opt(AVP.SipAuthorization),
      opt(AVP.SipAuthenticationContext),
      opt(AVP.ConfidentialityKey),
      opt(AVP.IntegrityKey),
    ],
  ],
]);

/** Result-Code values (RFC 6733 §7.1) the node sends or reads. */
export const RESULT = {
  SUCCESS: 2001,
  COMMAND_UNSUPPORTED: 3001,
  UNABLE_TO_DELIVER: 3002,
  REALM_NOT_SERVED: 3003,
  TOO_BUSY: 3004,
  APPLICATION_UNSUPPORTED: 3007,
  INVALID_HDR_BITS: 3008,
  INVALID_AVP_BITS: 3009,
  UNKNOWN_PEER: 3010,
  AUTHENTICATION_REJECTED: 4001,
  AVP_UNSUPPORTED: 5001,
  UNKNOWN_SESSION_ID: 5002,
  AUTHORIZATION_REJECTED: 5003,
  INVALID_AVP_VALUE: 5004,
  MISSING_AVP: 5005,
  AVP_OCCURS_TOO_MANY_TIMES: 5009,
  NO_COMMON_APPLICATION: 5010,
  UNSUPPORTED_VERSION: 5011,
  UNABLE_TO_COMPLY: 5012,
  INVALID_AVP_LENGTH: 5014,
  INVALID_MESSAGE_LENGTH: 5015,
  NO_COMMON_SECURITY: 5017,
} as const;

/**
 * TS 29.109 §6.2.2 permanent failures, sent in Experimental-Result with Vendor-Id 3GPP.
 * Names as in TS 29.109 §6.2.2.1–6.2.2.3 (Rel-16 text).
 */
export const EXPERIMENTAL_RESULT_3GPP = {
  /** §6.2.2.1: the HSS received a request for an IMPI (or IMPU) it does not know (Zh) */
  IDENTITY_UNKNOWN: 5401,
  /** §6.2.2.2: the BSF cannot authorise the request, e.g. the NAF may not use this user's keys (Zn) */
  NOT_AUTHORIZED: 5402,
  /** §6.2.2.3: the B-TID is unknown or expired; the NAF should ask the UE to bootstrap again (Zn) */
  TRANSACTION_IDENTIFIER_INVALID: 5403,
} as const;

/** Protocol errors (3xxx, RFC 6733 §7.1.3) travel in answers with the 'E' bit set. */
export function isProtocolError(resultCode: number): boolean {
  return resultCode >= 3000 && resultCode < 4000;
}

const RESULT_NAMES = new Map<number, string>(Object.entries(RESULT).map(([k, v]) => [v, `DIAMETER_${k}`]));
const EXPERIMENTAL_NAMES = new Map<number, string>(
  Object.entries(EXPERIMENTAL_RESULT_3GPP).map(([k, v]) => [v, `DIAMETER_ERROR_${k}`]),
);

/** "DIAMETER_MISSING_AVP (5005)", "DIAMETER_ERROR_TRANSACTION_IDENTIFIER_INVALID (10415:5403)", … */
export function resultName(code: number, vendorId = 0): string {
  if (vendorId === VENDOR_3GPP) {
    const n = EXPERIMENTAL_NAMES.get(code);
    return n === undefined ? `3GPP experimental result ${code}` : `${n} (${vendorId}:${code})`;
  }
  if (vendorId !== 0) return `experimental result ${vendorId}:${code}`;
  const n = RESULT_NAMES.get(code);
  return n === undefined ? `result code ${code}` : `${n} (${code})`;
}
