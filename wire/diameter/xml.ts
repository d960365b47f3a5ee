// A small strict XML 1.0 reader for the documents carried in Diameter AVPs (the GUSS of
// TS 29.109 Annex A): UTF-8 only, no DTD, no entity but XML's five predefined ones, bounded size,
// depth and element count, namespaces resolved (Namespaces in XML 1.0). It builds a tree.

export interface XmlElement {
  /** namespace URI, "" for none */
  readonly ns: string;
  readonly local: string;
  /** unprefixed attributes by name (xmlns declarations left out) */
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** character data directly inside the element */
  readonly text: string;
}

export type XmlErrorCode = "TOO_LARGE" | "BAD_ENCODING" | "DTD_FORBIDDEN" | "UNKNOWN_ENTITY" | "TOO_DEEP" | "MALFORMED";

export class XmlError extends Error {
  constructor(
    readonly code: XmlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "XmlError";
  }
}

export interface XmlLimits {
  maxOctets: number;
  maxDepth: number;
  maxElements: number;
}

const DEFAULT_LIMITS: XmlLimits = { maxOctets: 64 * 1024, maxDepth: 16, maxElements: 4096 };
const PREDEFINED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const XML_NS = "http://www.w3.org/XML/1998/namespace";
const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isNameStart = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || c >= 0x80;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
const isChar = (c: number): boolean =>
  c === 0x9 ||
  c === 0xa ||
  c === 0xd ||
  (c >= 0x20 && c <= 0xd7ff) ||
  (c >= 0xe000 && c <= 0x10ffff && c !== 0xfffe && c !== 0xffff);

interface Building {
  qname: string;
  ns: string;
  local: string;
  attrs: Map<string, string>;
  children: XmlElement[];
  text: string;
  scope: Map<string, string>;
}

class Parser {
  private pos = 0;
  private elements = 0;

  constructor(
    private readonly s: string,
    private readonly limits: XmlLimits,
  ) {}

  private fail(message: string): never {
    throw new XmlError("MALFORMED", `${message} at offset ${this.pos}`);
  }

  private at(lit: string): boolean {
    return this.s.startsWith(lit, this.pos);
  }

  private skipSpace(): void {
    while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.pos++;
  }

  private name(): string {
    const start = this.pos;
    if (!isNameStart(this.s.charCodeAt(this.pos))) this.fail("expected a name");
    while (this.pos < this.s.length && isNameChar(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private skipPast(lit: string, what: string): string {
    const end = this.s.indexOf(lit, this.pos);
    if (end < 0) this.fail(`${what} not closed`);
    const body = this.s.slice(this.pos, end);
    this.pos = end + lit.length;
    return body;
  }

  // XML 1.0 §4.1: character references and the five predefined entities only
  private reference(): string {
    const semi = this.s.indexOf(";", this.pos);
    if (semi < 0 || semi - this.pos > 12) this.fail("unterminated reference");
    const ref = this.s.slice(this.pos + 1, semi);
    this.pos = semi + 1;
    if (ref.startsWith("#")) {
      const hex = ref.startsWith("#x");
      if (!(hex ? /^#x[0-9A-Fa-f]+$/ : /^#[0-9]+$/).test(ref)) this.fail(`bad character reference &${clip(ref)};`);
      const code = Number.parseInt(ref.slice(hex ? 2 : 1), hex ? 16 : 10);
      if (!isChar(code)) this.fail(`character reference &${clip(ref)}; is not an XML character`);
      return String.fromCodePoint(code);
    }
    const v = PREDEFINED[ref];
    if (v === undefined) throw new XmlError("UNKNOWN_ENTITY", `entity &${clip(ref)}; is not one of XML's five`);
    return v;
  }

  /** Character data up to '<' or the quote `stop`. */
  private chars(stop: number): string {
    let out = "";
    let from = this.pos;
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x3c || c === stop) break;
      if (c === 0x26) {
        out += this.s.slice(from, this.pos) + this.reference();
        from = this.pos;
        continue;
      }
      if (c < 0x20 && !isSpace(c)) this.fail("control character");
      this.pos++;
    }
    return out + this.s.slice(from, this.pos);
  }

  private resolve(qname: string, scope: Map<string, string>, attribute: boolean): { ns: string; local: string } {
    const colon = qname.indexOf(":");
    if (colon < 0) return { ns: attribute ? "" : (scope.get("") ?? ""), local: qname };
    const ns = scope.get(qname.slice(0, colon));
    if (ns === undefined) this.fail(`namespace prefix of "${clip(qname)}" is not declared`);
    return { ns, local: qname.slice(colon + 1) };
  }

  parse(): XmlElement {
    const s = this.s;
    if (s.charCodeAt(0) === 0xfeff) this.pos = 1;
    if (this.at("<?xml") && isSpace(s.charCodeAt(this.pos + 5))) {
      this.pos += 5;
      const decl = this.skipPast("?>", "XML declaration");
      const enc = /encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(decl);
      if (enc && enc[1].toLowerCase() !== "utf-8")
        throw new XmlError("BAD_ENCODING", `declared encoding "${clip(enc[1])}" is not UTF-8`);
    }
    const stack: Building[] = [];
    let root: XmlElement | undefined;
    while (this.pos < s.length) {
      const top = stack[stack.length - 1];
      if (s.charCodeAt(this.pos) !== 0x3c) {
        const t = this.chars(-1);
        if (top) top.text += t;
        else if (t.trim() !== "") this.fail("text outside the root element");
        continue;
      }
      if (this.at("<!--")) {
        this.pos += 4;
        this.skipPast("-->", "comment");
      } else if (this.at("<![CDATA[")) {
        if (!top) this.fail("CDATA outside the root element");
        this.pos += 9;
        top.text += this.skipPast("]]>", "CDATA section");
      } else if (this.at("<!")) {
        throw new XmlError("DTD_FORBIDDEN", "DOCTYPE, DTD and entity declarations are refused");
      } else if (this.at("<?")) {
        this.pos += 2;
        if (this.name().toLowerCase() === "xml") this.fail("XML declaration not at the start");
        this.skipPast("?>", "processing instruction");
      } else if (this.at("</")) {
        this.pos += 2;
        const qname = this.name();
        this.skipSpace();
        if (s.charCodeAt(this.pos) !== 0x3e) this.fail("expected '>'");
        this.pos++;
        if (!top || top.qname !== qname) this.fail(`end tag </${clip(qname)}> does not match`);
        stack.pop();
        const done: XmlElement = { ns: top.ns, local: top.local, attrs: top.attrs, children: top.children, text: top.text };
        if (stack.length > 0) stack[stack.length - 1].children.push(done);
        else root = done;
      } else {
        if (!top && root) this.fail("more than one root element");
        this.pos++;
        const el = this.startTag(top);
        if (el.selfClosing) {
          const done: XmlElement = { ns: el.b.ns, local: el.b.local, attrs: el.b.attrs, children: [], text: "" };
          if (top) top.children.push(done);
          else root = done;
        } else {
          if (stack.length >= this.limits.maxDepth)
            throw new XmlError("TOO_DEEP", `elements nested deeper than ${this.limits.maxDepth}`);
          stack.push(el.b);
        }
      }
    }
    if (stack.length > 0) this.fail(`element <${clip(stack[stack.length - 1].qname)}> is not closed`);
    if (!root) this.fail("no root element");
    return root;
  }

  private startTag(parent: Building | undefined): { b: Building; selfClosing: boolean } {
    const qname = this.name();
    if (++this.elements > this.limits.maxElements)
      throw new XmlError("TOO_LARGE", `more than ${this.limits.maxElements} elements`);
    const raw = new Map<string, string>();
    let selfClosing = false;
    for (;;) {
      const before = this.pos;
      this.skipSpace();
      if (this.at("/>")) {
        this.pos += 2;
        selfClosing = true;
        break;
      }
      if (this.at(">")) {
        this.pos++;
        break;
      }
      if (this.pos === before) this.fail("expected whitespace, '>' or '/>'");
      const an = this.name();
      this.skipSpace();
      if (this.s.charCodeAt(this.pos) !== 0x3d) this.fail(`expected '=' after ${clip(an)}`);
      this.pos++;
      this.skipSpace();
      const q = this.s.charCodeAt(this.pos);
      if (q !== 0x22 && q !== 0x27) this.fail("expected a quoted attribute value");
      this.pos++;
      const v = this.chars(q);
      if (this.s.charCodeAt(this.pos) !== q) this.fail("attribute value not closed or holding '<'");
      this.pos++;
      if (raw.has(an)) this.fail(`duplicate attribute ${clip(an)}`);
      raw.set(an, v);
    }
    const scope = new Map(parent?.scope ?? [["xml", XML_NS]]);
    for (const [an, av] of raw) {
      if (an === "xmlns") scope.set("", av);
      else if (an.startsWith("xmlns:")) scope.set(an.slice(6), av);
    }
    const attrs = new Map<string, string>();
    for (const [an, av] of raw) {
      if (an === "xmlns" || an.startsWith("xmlns:")) continue;
      const r = this.resolve(an, scope, true);
      if (r.ns === "") attrs.set(r.local, av);
    }
    const { ns, local } = this.resolve(qname, scope, false);
    return { b: { qname, ns, local, attrs, children: [], text: "", scope }, selfClosing };
  }
}

/** Parses a UTF-8 document (string or octets) into its root element; throws XmlError. */
export function parseXml(doc: string | Uint8Array, limits: Partial<XmlLimits> = {}): XmlElement {
  const l = { ...DEFAULT_LIMITS, ...limits };
  let s: string;
  if (typeof doc === "string") {
    s = doc;
    const octets = s.length * 3 <= l.maxOctets ? s.length : new TextEncoder().encode(s).length;
    if (octets > l.maxOctets) throw new XmlError("TOO_LARGE", `larger than ${l.maxOctets} octets`);
  } else {
    if (doc.length > l.maxOctets) throw new XmlError("TOO_LARGE", `larger than ${l.maxOctets} octets`);
    try {
      s = new TextDecoder("utf-8", { fatal: true }).decode(doc);
    } catch {
      throw new XmlError("BAD_ENCODING", "not valid UTF-8");
    }
  }
  return new Parser(s, l).parse();
}

/** XML 1.0 §2.4 text and attribute escaping; control characters other than TAB, LF, CR are refused. */
export function escapeXml(s: string, what: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) throw new RangeError(`${what} holds a control character`);
  }
  return s.replace(/[&<>"']/g, (c) => `&${ESCAPES[c]};`);
}

const ESCAPES: Record<string, string> = { "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" };
