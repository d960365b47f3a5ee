// The 200 OK body of Ub: BootstrappingInfo XML (TS 24.109 Annex C, namespace uri:3gpp-gba).
// A small strict parser of its own: no DTDs, no entities beyond XML's five, bounded size.

export const BOOTSTRAPPING_INFO_NS = "uri:3gpp-gba";
/** Media type of the Ub 200 OK body (TS 24.109 Annex C). */
export const BOOTSTRAPPING_INFO_CONTENT_TYPE = "application/vnd.3gpp.bsf+xml";
/** Bodies larger than this (UTF-8 octets) are refused before parsing. */
export const BOOTSTRAPPING_INFO_MAX_LENGTH = 16 * 1024;

export interface BootstrappingInfo {
  btid: string;
  /** key lifetime (expiry), an absolute UTC instant */
  lifetime: Date;
  /** BSF clock at issue time (Extension/currenttime), when sent */
  currentTime?: Date;
}

// Names and values echoed in messages are clipped: the document may hold 16 KiB of them.
const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

export type BootstrappingInfoErrorCode =
  | "TOO_LARGE"
  | "BAD_ENCODING"
  | "DTD_FORBIDDEN"
  | "UNKNOWN_ENTITY"
  | "MALFORMED"
  | "WRONG_ROOT"
  | "WRONG_NAMESPACE"
  | "MISSING_ELEMENT"
  | "DUPLICATE_ELEMENT"
  | "BAD_DATETIME";

export class BootstrappingInfoError extends Error {
  constructor(
    readonly code: BootstrappingInfoErrorCode,
    message: string,
  ) {
    super(`BootstrappingInfo: ${message}`);
    this.name = "BootstrappingInfoError";
  }
}

/** xs:dateTime in UTC without fractions, as TS 24.109 C.1 asks for lifetime: YYYY-MM-DDTHH:MM:SSZ. */
export function formatUtcDateTime(d: Date): string {
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError("not a valid Date");
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`year ${year} cannot be written as xs:dateTime here`);
  return `${d.toISOString().slice(0, 19)}Z`;
}

function escapeText(s: string, what: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) throw new RangeError(`${what} holds a control character`);
  }
  return s.replace(/[&<>"']/g, (c) => `&${ESCAPES[c]};`);
}

const ESCAPES: Record<string, string> = { "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" };
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** TS 24.109 C.1: the 200 OK body, one element per line, currenttime inside Extension. */
export function buildBootstrappingInfo(info: { btid: string; lifetime: Date; currentTime?: Date }): string {
  if (typeof info.btid !== "string" || info.btid === "") throw new RangeError("B-TID must be a non-empty string");
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<BootstrappingInfo xmlns="${BOOTSTRAPPING_INFO_NS}">`,
    `<btid>${escapeText(info.btid, "B-TID")}</btid>`,
    `<lifetime>${formatUtcDateTime(info.lifetime)}</lifetime>`,
  ];
  if (info.currentTime !== undefined) {
    lines.push(`<Extension><currenttime>${formatUtcDateTime(info.currentTime)}</currenttime></Extension>`);
  }
  lines.push("</BootstrappingInfo>");
  return `${lines.join("\n")}\n`;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/;

/** A UTC xs:dateTime ending in "Z" (TS 24.109 C.1); anything else is refused. */
function parseUtcDateTime(text: string, element: string): Date {
  const shown = clip(text);
  const m = DATE_TIME.exec(text);
  if (!m) throw new BootstrappingInfoError("BAD_DATETIME", `<${element}> "${shown}" is not an xs:dateTime`);
  if (m[8] !== "Z") {
    throw new BootstrappingInfoError("BAD_DATETIME", `<${element}> "${shown}" is not UTC: it must end in "Z"`);
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  const t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const d = new Date(t);
  if (
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day
  ) {
    throw new BootstrappingInfoError("BAD_DATETIME", `<${element}> "${shown}" is not a valid date and time`);
  }
  return d;
}

type Role = "root" | "btid" | "lifetime" | "extension" | "currenttime" | "other";
interface Open {
  qname: string;
  role: Role;
  scope: Map<string, string>;
  text: string;
}

// Namespaces in XML 1.0 §3: the "xml" prefix is bound without a declaration.
const XML_PREFIX: ReadonlyMap<string, string> = new Map([["xml", "http://www.w3.org/XML/1998/namespace"]]);

const malformed = (message: string) => new BootstrappingInfoError("MALFORMED", message);

function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3a || c >= 0x80;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
}
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

class XmlReader {
  pos = 0;
  constructor(readonly s: string) {}

  at(lit: string): boolean {
    return this.s.startsWith(lit, this.pos);
  }

  skipSpace(): void {
    while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.pos++;
  }

  name(): string {
    const start = this.pos;
    if (this.pos >= this.s.length || !isNameStart(this.s.charCodeAt(this.pos))) {
      throw malformed(`expected a name at offset ${start}`);
    }
    while (this.pos < this.s.length && isNameChar(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  until(lit: string, what: string): string {
    const end = this.s.indexOf(lit, this.pos);
    if (end < 0) throw malformed(`${what} at offset ${this.pos} is not closed`);
    const body = this.s.slice(this.pos, end);
    this.pos = end + lit.length;
    return body;
  }

  // XML 1.0 §4.1/§4.6: the five predefined entities and character references only.
  reference(): string {
    const start = this.pos;
    const semi = this.s.indexOf(";", start);
    if (semi < 0 || semi - start > 12) throw malformed(`unterminated reference at offset ${start}`);
    const ref = this.s.slice(start + 1, semi);
    this.pos = semi + 1;
    if (ref.startsWith("#")) {
      const code = ref.startsWith("#x") ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      const digits = ref.startsWith("#x") ? /^#x[0-9a-fA-F]+$/ : /^#[0-9]+$/;
      if (!digits.test(ref) || !isXmlChar(code)) throw malformed(`bad character reference &${ref}; at offset ${start}`);
      return String.fromCodePoint(code);
    }
    const v = ENTITIES[ref];
    if (v === undefined) {
      throw new BootstrappingInfoError("UNKNOWN_ENTITY", `entity reference &${ref}; is not one of XML's predefined five`);
    }
    return v;
  }

  // character data up to '<' (or the closing quote `stop` of an attribute value)
  text(stop: number): string {
    let out = "";
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x3c || c === stop) break;
      if (c === 0x26) {
        out += this.reference();
        continue;
      }
      if (c < 0x20 && !isSpace(c)) throw malformed(`control character at offset ${this.pos}`);
      out += this.s[this.pos++];
    }
    return out;
  }

  attrValue(): string {
    const q = this.s.charCodeAt(this.pos);
    if (q !== 0x22 && q !== 0x27) throw malformed(`expected a quoted attribute value at offset ${this.pos}`);
    this.pos++;
    const v = this.text(q);
    if (this.s.charCodeAt(this.pos) !== q) throw malformed(`attribute value at offset ${this.pos} is not closed or holds '<'`);
    this.pos++;
    return v;
  }
}

function isXmlChar(c: number): boolean {
  return (
    c === 0x9 ||
    c === 0xa ||
    c === 0xd ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0x10ffff && c !== 0xfffe && c !== 0xffff)
  );
}

function resolve(qname: string, scope: Map<string, string>, attribute = false): { uri: string; local: string } {
  const colon = qname.indexOf(":");
  if (colon < 0) return { uri: attribute ? "" : (scope.get("") ?? ""), local: qname };
  const prefix = qname.slice(0, colon);
  const uri = scope.get(prefix);
  if (uri === undefined) throw malformed(`namespace prefix "${clip(prefix)}" is not declared`);
  return { uri, local: qname.slice(colon + 1) };
}

function decode(xml: string | Uint8Array): string {
  if (typeof xml === "string") {
    if (Buffer.byteLength(xml, "utf8") > BOOTSTRAPPING_INFO_MAX_LENGTH) {
      throw new BootstrappingInfoError("TOO_LARGE", `larger than ${BOOTSTRAPPING_INFO_MAX_LENGTH} octets`);
    }
    return xml;
  }
  if (!(xml instanceof Uint8Array)) throw new BootstrappingInfoError("BAD_ENCODING", "expected a string or bytes");
  if (xml.length > BOOTSTRAPPING_INFO_MAX_LENGTH) {
    throw new BootstrappingInfoError("TOO_LARGE", `larger than ${BOOTSTRAPPING_INFO_MAX_LENGTH} octets`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(xml);
  } catch {
    throw new BootstrappingInfoError("BAD_ENCODING", "not valid UTF-8");
  }
}

const CHILD_ROLES: Record<string, Role> = { btid: "btid", lifetime: "lifetime", Extension: "extension" };

function roleOf(parent: Open | undefined, uri: string, local: string): Role {
  if (parent === undefined) {
    if (local !== "BootstrappingInfo") {
      throw new BootstrappingInfoError("WRONG_ROOT", `root element is <${clip(local)}>, expected <BootstrappingInfo>`);
    }
    if (uri !== BOOTSTRAPPING_INFO_NS) {
      throw new BootstrappingInfoError(
        "WRONG_NAMESPACE",
        `root element is in namespace "${clip(uri)}", expected "${BOOTSTRAPPING_INFO_NS}"`,
      );
    }
    return "root";
  }
  if (uri !== BOOTSTRAPPING_INFO_NS) return "other";
  if (parent.role === "root") return CHILD_ROLES[local] ?? "other";
  if (parent.role === "extension" && local === "currenttime") return "currenttime";
  return "other";
}

const captures = (r: Role): r is "btid" | "lifetime" | "currenttime" => r === "btid" || r === "lifetime" || r === "currenttime";

/**
 * Parses the Ub 200 OK body (TS 24.109 Annex C). Refuses DTDs, unknown entities, oversized input,
 * a wrong root or namespace, a missing btid/lifetime and non-UTC times; ignores unknown elements
 * and attributes. Throws BootstrappingInfoError.
 */
export function parseBootstrappingInfo(xml: string | Uint8Array): BootstrappingInfo {
  const s = decode(xml);
  const r = new XmlReader(s);
  if (s.charCodeAt(0) === 0xfeff) r.pos = 1;
  if (r.at("<?xml") && isSpace(s.charCodeAt(r.pos + 5))) {
    r.pos += 5;
    const decl = r.until("?>", "XML declaration");
    const enc = /encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(decl);
    if (enc && enc[1].toLowerCase() !== "utf-8") {
      throw new BootstrappingInfoError("BAD_ENCODING", `declared encoding "${enc[1]}" is not UTF-8`);
    }
  }
  const stack: Open[] = [];
  const found: Partial<Record<"btid" | "lifetime" | "currenttime", string>> = {};
  let rootSeen = false;

  while (r.pos < s.length) {
    const top = stack[stack.length - 1];
    if (s.charCodeAt(r.pos) !== 0x3c) {
      const t = r.text(-1);
      if (top === undefined) {
        if (t.trim() !== "") throw malformed("text outside the root element");
      } else if (captures(top.role)) {
        top.text += t;
      }
      continue;
    }
    if (r.at("<!--")) {
      r.pos += 4;
      r.until("-->", "comment");
    } else if (r.at("<![CDATA[")) {
      if (top === undefined) throw malformed("CDATA outside the root element");
      r.pos += 9;
      const data = r.until("]]>", "CDATA section");
      if (captures(top.role)) top.text += data;
    } else if (r.at("<!")) {
      if (r.at("<!DOCTYPE") || r.at("<!ENTITY") || r.at("<!ELEMENT") || r.at("<!ATTLIST")) {
        throw new BootstrappingInfoError("DTD_FORBIDDEN", "DOCTYPE, DTD and entity declarations are refused");
      }
      throw malformed(`unexpected markup at offset ${r.pos}`);
    } else if (r.at("<?")) {
      r.pos += 2;
      const target = r.name();
      if (target.toLowerCase() === "xml") throw malformed("XML declaration not at the start of the document");
      r.until("?>", "processing instruction");
    } else if (r.at("</")) {
      r.pos += 2;
      const qname = r.name();
      r.skipSpace();
      if (s.charCodeAt(r.pos) !== 0x3e) throw malformed(`expected '>' at offset ${r.pos}`);
      r.pos++;
      if (top === undefined || top.qname !== qname) {
        throw malformed(`end tag </${clip(qname)}> does not match ${top ? `<${clip(top.qname)}>` : "any open element"}`);
      }
      stack.pop();
      if (captures(top.role)) found[top.role] = top.text;
    } else {
      r.pos++;
      const qname = r.name();
      const attrs = new Map<string, string>();
      let selfClosing = false;
      for (;;) {
        const before = r.pos;
        r.skipSpace();
        if (r.at("/>")) {
          r.pos += 2;
          selfClosing = true;
          break;
        }
        if (r.at(">")) {
          r.pos++;
          break;
        }
        if (r.pos === before) throw malformed(`expected whitespace, '>' or '/>' at offset ${r.pos}`);
        const an = r.name();
        r.skipSpace();
        if (s.charCodeAt(r.pos) !== 0x3d) throw malformed(`expected '=' after attribute ${clip(an)}`);
        r.pos++;
        r.skipSpace();
        if (attrs.has(an)) throw malformed(`duplicate attribute ${clip(an)} on <${clip(qname)}>`);
        attrs.set(an, r.attrValue());
      }
      if (top === undefined && rootSeen) throw malformed("more than one root element");
      if (top !== undefined && captures(top.role)) throw malformed(`<${clip(top.qname)}> must contain text only`);
      const scope = new Map(top?.scope ?? XML_PREFIX);
      for (const [an, av] of attrs) {
        if (an === "xmlns") scope.set("", av);
        else if (an.startsWith("xmlns:")) scope.set(an.slice(6), av);
      }
      for (const an of attrs.keys()) if (!an.startsWith("xmlns")) resolve(an, scope, true);
      const { uri, local } = resolve(qname, scope);
      const role = roleOf(top, uri, local);
      rootSeen = true;
      if (captures(role) && found[role] !== undefined) {
        throw new BootstrappingInfoError("DUPLICATE_ELEMENT", `more than one <${local}>`);
      }
      const open: Open = { qname, role, scope, text: "" };
      if (selfClosing) {
        if (captures(role)) found[role] = "";
      } else {
        stack.push(open);
      }
    }
  }
  if (!rootSeen) throw malformed("no root element");
  if (stack.length > 0) throw malformed(`element <${clip(stack[stack.length - 1].qname)}> is not closed`);
  const btid = found.btid?.trim();
  if (btid === undefined || btid === "") {
    throw new BootstrappingInfoError("MISSING_ELEMENT", btid === undefined ? "missing <btid>" : "<btid> is empty");
  }
  if (found.lifetime === undefined) throw new BootstrappingInfoError("MISSING_ELEMENT", "missing <lifetime>");
  const out: BootstrappingInfo = { btid, lifetime: parseUtcDateTime(found.lifetime.trim(), "lifetime") };
  if (found.currenttime !== undefined) out.currentTime = parseUtcDateTime(found.currenttime.trim(), "currenttime");
  return out;
}
