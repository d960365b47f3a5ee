// The HSS subscriber: what is provisioned, how it is validated (one validator for the admin
// API, CSV import and the CLI), how it is stored and how it is shown (never K or OPc).
import { Ajv, type ErrorObject } from "ajv";
import { bytesToHex, HexError, hexToBytes } from "../../wire/bytes.js";
import { computeOpc, type MilenageConstants } from "../../milenage/milenage.js";
import { bytesToSqn } from "../../milenage/sqn.js";
import { GUSS_SCHEMA, type Guss, type KeyChoice, type UiccType } from "../../wire/zh.js";

/** Operator constants of TS 35.206 §4.1 in storable form (r in bits, c as 32 hex digits). */
export interface StoredConstants {
  r: number[];
  c: string[];
}

/** One subscriber as stored in LMDB (msgpack). The SQN state is a separate small record. */
export interface SubscriberRecord {
  impi: string;
  imsi?: string;
  msisdn?: string;
  impus: string[];
  /** K ‖ OPc sealed under the master key (nf/hss/sealed.ts), AAD = IMPI */
  secret: Uint8Array;
  /** what was provisioned; OP is turned into OPc (TS 35.206 §4.1) and never stored */
  keyInput: "OP" | "OPc";
  amf: string;
  /** non-default MILENAGE r/c constants */
  milenage?: StoredConstants;
  uiccType: UiccType;
  lifeTime?: number;
  /** a provisioned GUSS; absent means the default GUSS (defaultGuss) */
  guss?: Guss;
  /** key of the SQN record, allocated when the subscriber is created and never reused */
  sqnId: number;
  /** changes on every write; the AuC caches decrypted keys per (IMPI, rev) */
  rev: string;
  createdAt: string;
  updatedAt: string;
}

/** A validated subscriber, secrets in the clear, ready to be sealed and stored. */
export interface SubscriberData {
  impi: string;
  imsi?: string;
  msisdn?: string;
  impus: string[];
  k: Uint8Array;
  opc: Uint8Array;
  keyInput: "OP" | "OPc";
  amf: string;
  /** initial SQN_HE (TS 33.102 Annex C); the first vector uses SEQ + 1 */
  sqn?: number;
  milenage?: StoredConstants;
  uiccType: UiccType;
  lifeTime?: number;
  guss?: Guss;
}

// ------------------------------------------------------------------ identities

/** RFC 3986 pchar without percent-encoding: an IMPI (NAI, TS 23.003 §13.3) that is safe in a URL path. */
const IMPI_RE = /^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,253}$/;
/** would be read as a TS 29.562 ueId form, not as an IMPI */
const UEID_FORM_RE = /^(imsi|msisdn)-[0-9]+$/;
const DIGITS_RE = /^[0-9]{5,15}$/;
/** sip:, sips: or tel: URI without whitespace or ';' (';' separates IMPUs in CSV) */
const IMPU_RE = /^(sips?:[^\s;,"]+|tel:\+?[0-9][0-9.()-]*)$/;

export function impiProblem(impi: string): string | undefined {
  if (!IMPI_RE.test(impi)) return "must be 1..253 characters of A-Z a-z 0-9 and . _ ~ ! $ & ' ( ) * + , ; = : @ -";
  if (UEID_FORM_RE.test(impi)) return "must not look like an imsi-/msisdn- ueId";
  return undefined;
}

/** MSISDN as digits; a leading + is accepted and dropped. */
export function normaliseMsisdn(v: string): string {
  return v.startsWith("+") ? v.slice(1) : v;
}

/**
 * IMPU convention (README "HSS"): the provisioned IMPUs, or `sip:<IMPI>` when none is given
 * (as TS 23.003 §13.4B derives a temporary public identity from the private one); plus
 * `tel:+<MSISDN>` when the subscriber has an MSISDN and no tel: IMPU, so a NAF (the ECA)
 * learns the MSISDN from the USS ueIds on Zn.
 */
export function effectiveImpus(impi: string, impus: string[] | undefined, msisdn: string | undefined): string[] {
  const out = impus && impus.length > 0 ? [...impus] : [`sip:${impi}`];
  if (msisdn !== undefined && !out.some((u) => u.startsWith("tel:"))) out.push(`tel:+${msisdn}`);
  return out;
}

/**
 * Default GUSS: one USS for the PKI portal (gsId 1, gsType 1, TS 33.221) naming every IMPU,
 * no NAF group, no flags. Key choice (TS 33.220 §4.4.6, TS 29.309 KeyChoice): the ME-based key
 * for GBA; for GBA_U either key, since NAFs honour the choice and a UE's ME can only answer with
 * Ks_ext_NAF: an operator who wants Ks_int_NAF only provisions UICC_BASED_KEY in the GUSS.
 * Empty flags and absent nafGroup are left out (TS 29.309 Uss: flags has minItems 1).
 */
export function defaultGuss(s: Pick<SubscriberRecord, "impus" | "uiccType" | "lifeTime">): Guss {
  const bsfInfo: Guss["bsfInfo"] = { uiccType: s.uiccType };
  if (s.lifeTime !== undefined) bsfInfo.lifeTime = s.lifeTime;
  const keyChoice: KeyChoice = s.uiccType === "GBA_U" ? "ME_UICC_BASED_KEYS" : "ME_BASED_KEY";
  return { bsfInfo, ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: s.impus.map((ueId) => ({ ueId })), keyChoice } }] };
}

export function effectiveGuss(r: SubscriberRecord): Guss {
  return r.guss ?? defaultGuss(r);
}

export function constantsOf(m: StoredConstants | undefined): MilenageConstants | undefined {
  if (!m) return undefined;
  const c = m.c.map((h) => hexToBytes(h));
  return { r: m.r as unknown as MilenageConstants["r"], c: c as unknown as MilenageConstants["c"] };
}

// ------------------------------------------------------------------ input schema

const HEX = { type: "string" } as const;

const FIELDS = {
  k: HEX,
  op: HEX,
  opc: HEX,
  amf: HEX,
  sqn: HEX,
  imsi: { type: "string" },
  msisdn: { type: "string" },
  impus: { type: "array", maxItems: 32, items: { type: "string" } },
  uiccType: { enum: ["GBA", "GBA_U"] },
  lifeTime: { type: "integer", minimum: 1, maximum: 2147483647 },
  guss: GUSS_SCHEMA,
  milenage: {
    type: "object",
    additionalProperties: false,
    required: ["r", "c"],
    properties: {
      r: { type: "array", minItems: 5, maxItems: 5, items: { type: "integer" } },
      c: { type: "array", minItems: 5, maxItems: 5, items: { type: "string" } },
    },
  },
} as const;

const CREATE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["impi", "k"],
  properties: { impi: { type: "string" }, ...FIELDS },
} as const;

/** Update: any field but the IMPI; null removes imsi, msisdn, lifeTime, guss, milenage. */
const PATCH_SCHEMA = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: {
    ...FIELDS,
    imsi: { type: ["string", "null"] },
    msisdn: { type: ["string", "null"] },
    lifeTime: { anyOf: [FIELDS.lifeTime, { type: "null" }] },
    guss: { anyOf: [GUSS_SCHEMA, { type: "null" }] },
    milenage: { anyOf: [FIELDS.milenage, { type: "null" }] },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false });
const validateCreateShape = ajv.compile(CREATE_SCHEMA);
const validatePatchShape = ajv.compile(PATCH_SCHEMA);

/** "k: expected 16 bytes ..." style messages: the field path, then what is wrong. */
function ajvMessages(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const path = e.instancePath.replace(/^\//, "").replace(/\//g, ".");
    if (e.keyword === "required") return `${(e.params as { missingProperty: string }).missingProperty}: missing`;
    if (e.keyword === "additionalProperties") {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return `${path ? `${path}.` : ""}${extra}: unknown field`;
    }
    if (e.keyword === "enum")
      return `${path}: must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(", ")}`;
    return `${path || "body"}: ${e.message ?? "invalid"}`;
  });
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: string[] };

function hexField(errors: string[], input: Record<string, unknown>, field: string, bytes: number): Uint8Array | undefined {
  const v = input[field];
  if (v === undefined) return undefined;
  try {
    return hexToBytes(v as string, field, bytes);
  } catch (err) {
    if (err instanceof HexError) {
      errors.push(err.message);
      return undefined;
    }
    throw err;
  }
}

function checkIdentities(errors: string[], input: Record<string, unknown>): void {
  if (typeof input.imsi === "string" && !DIGITS_RE.test(input.imsi)) errors.push("imsi: must be 5..15 digits");
  if (typeof input.msisdn === "string" && !DIGITS_RE.test(normaliseMsisdn(input.msisdn)))
    errors.push("msisdn: must be 5..15 digits, optionally with a leading +");
  const impus = input.impus as string[] | undefined;
  impus?.forEach((u, i) => {
    if (!IMPU_RE.test(u)) errors.push(`impus.${i}: "${u}" is not a sip:, sips: or tel: URI (no spaces, ';' or ',')`);
  });
  if (impus && new Set(impus).size !== impus.length) errors.push("impus: lists an IMPU twice");
}

function checkConstants(errors: string[], m: unknown): StoredConstants | undefined {
  if (m === undefined || m === null) return undefined;
  const { r, c } = m as StoredConstants;
  r.forEach((x, i) => {
    if (x < 0 || x > 120 || x % 8 !== 0) errors.push(`milenage.r.${i}: must be a multiple of 8 in 0..120`);
  });
  c.forEach((x, i) => {
    try {
      hexToBytes(x, `milenage.c.${i}`, 16);
    } catch (err) {
      if (err instanceof HexError) errors.push(err.message);
      else throw err;
    }
  });
  return { r: [...r], c: c.map((x) => x.toLowerCase()) };
}

/** The provisioned key pair: K with exactly one of OP and OPc (TS 35.206 §4.1 OPc = OP ⊕ E_K(OP)). */
function keyPair(
  errors: string[],
  input: Record<string, unknown>,
  existingK?: Uint8Array,
): { k: Uint8Array; opc: Uint8Array; keyInput: "OP" | "OPc" } | undefined {
  const hasOp = input.op !== undefined;
  const hasOpc = input.opc !== undefined;
  if (hasOp && hasOpc) errors.push("op, opc: give either op or opc, not both");
  const k = hexField(errors, input, "k", 16) ?? (input.k === undefined ? existingK : undefined);
  if (!hasOp && !hasOpc) {
    if (input.k !== undefined || !existingK) errors.push("op, opc: one of them is required with k");
    return undefined;
  }
  const op = hexField(errors, input, "op", 16);
  const opc = hexField(errors, input, "opc", 16);
  if (!k || errors.length > 0) return undefined;
  if (op) return { k, opc: computeOpc(k, op), keyInput: "OP" };
  if (opc) return { k, opc, keyInput: "OPc" };
  return undefined;
}

export interface ValidationContext {
  /** AMF when the input names none (cfg.hss.defaultAmf) */
  defaultAmf: string;
}

/** Validates a new subscriber (admin API body, CSV line as JSON, CLI flags as JSON). */
export function validateCreate(raw: unknown, ctx: ValidationContext): Validated<SubscriberData> {
  if (!validateCreateShape(raw)) return { ok: false, errors: ajvMessages(validateCreateShape.errors) };
  const input = raw as unknown as Record<string, unknown>;
  const errors: string[] = [];
  const impi = input.impi as string;
  const impiErr = impiProblem(impi);
  if (impiErr) errors.push(`impi: ${impiErr}`);
  checkIdentities(errors, input);
  const milenage = checkConstants(errors, input.milenage);
  const amf = hexField(errors, input, "amf", 2);
  const sqn = hexField(errors, input, "sqn", 6);
  const keys = keyPair(errors, input);
  if (errors.length > 0 || !keys) return { ok: false, errors };
  const msisdn = input.msisdn === undefined ? undefined : normaliseMsisdn(input.msisdn as string);
  const uiccType = (input.uiccType as UiccType | undefined) ?? "GBA";
  return {
    ok: true,
    value: {
      impi,
      imsi: input.imsi as string | undefined,
      msisdn,
      impus: effectiveImpus(impi, input.impus as string[] | undefined, msisdn),
      ...keys,
      amf: amf ? bytesToHex(amf) : ctx.defaultAmf.toLowerCase(),
      sqn: sqn ? bytesToSqn(sqn) : undefined,
      milenage,
      uiccType,
      lifeTime: input.lifeTime as number | undefined,
      guss: input.guss as Guss | undefined,
    },
  };
}

/** A validated change to an existing subscriber (secrets of the existing one passed in clear). */
export function validatePatch(
  raw: unknown,
  existing: SubscriberRecord,
  secrets: { k: Uint8Array; opc: Uint8Array },
): Validated<SubscriberData> {
  if (!validatePatchShape(raw)) return { ok: false, errors: ajvMessages(validatePatchShape.errors) };
  const input = raw as unknown as Record<string, unknown>;
  const errors: string[] = [];
  checkIdentities(errors, input);
  const milenage = input.milenage === null ? undefined : (checkConstants(errors, input.milenage) ?? existing.milenage);
  const amf = hexField(errors, input, "amf", 2);
  const sqn = hexField(errors, input, "sqn", 6);
  const changesKeys = input.k !== undefined || input.op !== undefined || input.opc !== undefined;
  const keys = changesKeys ? keyPair(errors, input, secrets.k) : { ...secrets, keyInput: existing.keyInput };
  if (errors.length > 0 || !keys) return { ok: false, errors };
  const pick = <T>(field: string, old: T | undefined): T | undefined =>
    input[field] === null ? undefined : input[field] !== undefined ? (input[field] as T) : old;
  const msisdnRaw = pick<string>("msisdn", existing.msisdn);
  const msisdn = msisdnRaw === undefined ? undefined : normaliseMsisdn(msisdnRaw);
  // IMPUs derived by convention follow a changed MSISDN; explicitly given ones replace them
  const baseImpus =
    (input.impus as string[] | undefined) ??
    existing.impus.filter((u) => !(existing.msisdn !== undefined && u === `tel:+${existing.msisdn}`));
  return {
    ok: true,
    value: {
      impi: existing.impi,
      imsi: pick<string>("imsi", existing.imsi),
      msisdn,
      impus: effectiveImpus(existing.impi, baseImpus, msisdn),
      ...keys,
      amf: amf ? bytesToHex(amf) : existing.amf,
      sqn: sqn ? bytesToSqn(sqn) : undefined,
      milenage,
      uiccType: (input.uiccType as UiccType | undefined) ?? existing.uiccType,
      lifeTime: pick<number>("lifeTime", existing.lifeTime),
      guss: pick<Guss>("guss", existing.guss),
    },
  };
}

// ------------------------------------------------------------------ view

export interface SubscriberView {
  impi: string;
  imsi?: string;
  msisdn?: string;
  impus: string[];
  keyInput: "OP" | "OPc";
  amf: string;
  algorithm: "milenage";
  milenage?: StoredConstants;
  uiccType: UiccType;
  lifeTime?: number;
  guss: Guss;
  gussSource: "default" | "provisioned";
  /** SEQ_HE of TS 33.102 Annex C: the last SEQ issued; the next vector carries SEQ_HE + 1 */
  sqn: { seqHe: number; indBits: number };
  createdAt: string;
  updatedAt: string;
}

/** What the admin API and the CLI show: everything but K and OPc. */
export function toView(r: SubscriberRecord, seqHe: number, indBits: number): SubscriberView {
  return {
    impi: r.impi,
    ...(r.imsi !== undefined && { imsi: r.imsi }),
    ...(r.msisdn !== undefined && { msisdn: r.msisdn }),
    impus: r.impus,
    keyInput: r.keyInput,
    amf: r.amf,
    algorithm: "milenage",
    ...(r.milenage && { milenage: r.milenage }),
    uiccType: r.uiccType,
    ...(r.lifeTime !== undefined && { lifeTime: r.lifeTime }),
    guss: effectiveGuss(r),
    gussSource: r.guss ? "provisioned" : "default",
    sqn: { seqHe, indBits },
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}
