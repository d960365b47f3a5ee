// Parsing of HTTP Digest headers: WWW-Authenticate, Authorization and Authentication-Info
// (RFC 7235 §2.1 and §4.1, RFC 9110 §5.6, RFC 7616 §3.3-3.5, RFC 2617 §3.2).
// A single forward scan with lookup tables: no regular expression sees the header.
import { COMMA, DQUOTE, BACKSLASH, EQUALS, HTAB, isQdtext, isTchar, isTokenString, SP, TOKEN68 } from "./chars.js";
import { DigestParseError } from "./errors.js";

/** Headers longer than this are refused before parsing. */
export const DIGEST_HEADER_MAX_LENGTH = 8 * 1024;

/** A parsed list of auth-params, keyed by lower-cased name (no prototype: "__proto__" is a token). */
export type DigestParams = Partial<Record<string, string>>;

interface RawChallenge {
  scheme: string;
  params: DigestParams;
  token68?: string;
}

class Scanner {
  pos = 0;
  readonly n: number;
  constructor(readonly s: string) {
    this.n = s.length;
  }

  end(): boolean {
    return this.pos >= this.n;
  }

  peek(): number {
    return this.s.charCodeAt(this.pos);
  }

  ws(): number {
    const start = this.pos;
    while (this.pos < this.n) {
      const c = this.s.charCodeAt(this.pos);
      if (c !== SP && c !== HTAB) break;
      this.pos++;
    }
    return this.pos - start;
  }

  // RFC 9110 §5.6.1: recipients accept empty list elements ("a, , b").
  separators(): void {
    while (this.pos < this.n) {
      const c = this.s.charCodeAt(this.pos);
      if (c !== SP && c !== HTAB && c !== COMMA) break;
      this.pos++;
    }
  }

  token(): string {
    const start = this.pos;
    while (this.pos < this.n && isTchar(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  // token68, only when it is the whole element (followed by end or ","); otherwise no move.
  token68(): string | undefined {
    const start = this.pos;
    let p = start;
    while (p < this.n && this.s.charCodeAt(p) < 128 && TOKEN68[this.s.charCodeAt(p)] === 1) p++;
    if (p === start) return undefined;
    while (p < this.n && this.s.charCodeAt(p) === EQUALS) p++;
    const value = this.s.slice(start, p);
    while (p < this.n && (this.s.charCodeAt(p) === SP || this.s.charCodeAt(p) === HTAB)) p++;
    if (p < this.n && this.s.charCodeAt(p) !== COMMA) return undefined;
    this.pos = p;
    return value;
  }

  // "token BWS =" ahead: the next list element is an auth-param rather than a new challenge.
  paramAhead(): boolean {
    const start = this.pos;
    const name = this.token();
    this.ws();
    const yes = name !== "" && !this.end() && this.peek() === EQUALS;
    this.pos = start;
    return yes;
  }

  quoted(): string {
    const s = this.s;
    const open = this.pos;
    let p = open + 1;
    let run = p;
    let out: string | undefined;
    for (;;) {
      if (p >= this.n) {
        throw new DigestParseError(
          "UNBALANCED_QUOTE",
          `unbalanced quotes: the quoted-string opened at position ${open} is not closed`,
        );
      }
      const c = s.charCodeAt(p);
      if (c === DQUOTE) {
        this.pos = p + 1;
        const tail = s.slice(run, p);
        return out === undefined ? tail : out + tail;
      }
      if (c === BACKSLASH) {
        // RFC 9110 §5.6.4: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        out = (out ?? "") + s.slice(run, p);
        p++;
        if (p >= this.n) {
          throw new DigestParseError(
            "UNBALANCED_QUOTE",
            `unbalanced quotes: the quoted-string opened at position ${open} ends in a lone backslash`,
          );
        }
        const e = s.charCodeAt(p);
        if ((e < 0x20 && e !== HTAB) || e === 0x7f) throw badChar(e, p);
        run = p;
        p++;
        continue;
      }
      if (!isQdtext(c)) throw badChar(c, p);
      p++;
    }
  }

  param(into: DigestParams): void {
    const at = this.pos;
    const rawName = this.token();
    if (rawName === "") throw syntax(`expected a parameter name at position ${at}`);
    const name = rawName.toLowerCase();
    this.ws();
    if (this.end() || this.peek() !== EQUALS) throw syntax(`expected "=" after parameter "${clip(name)}"`, name);
    this.pos++;
    this.ws();
    let value: string;
    if (!this.end() && this.peek() === DQUOTE) {
      value = this.quoted();
    } else {
      value = this.token();
      if (value === "") throw new DigestParseError("SYNTAX", `parameter "${clip(name)}" has no value`, name);
    }
    if (Object.hasOwn(into, name)) {
      throw new DigestParseError("DUPLICATE_PARAM", `duplicate parameter "${clip(name)}"`, name);
    }
    into[name] = value;
  }
}

// Names echoed in messages are clipped: a hostile header may hold an 8 KiB token.
const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

function syntax(message: string, param?: string): DigestParseError {
  return new DigestParseError("SYNTAX", message, param);
}

function badChar(c: number, p: number): DigestParseError {
  return new DigestParseError(
    "BAD_CHARACTER",
    `character 0x${c.toString(16).padStart(2, "0")} at position ${p} is not allowed in a quoted-string`,
  );
}

function checkHeader(header: string, what: string): void {
  if (typeof header !== "string") throw new DigestParseError("EMPTY", `${what}: not a string`);
  if (header.length > DIGEST_HEADER_MAX_LENGTH) {
    throw new DigestParseError(
      "HEADER_TOO_LONG",
      `${what} is ${header.length} characters; at most ${DIGEST_HEADER_MAX_LENGTH} accepted`,
    );
  }
}

function newParams(): DigestParams {
  return Object.create(null) as DigestParams;
}

/** RFC 7235 §4.1: 1#challenge; each challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]. */
function parseChallengeList(header: string, what: string): RawChallenge[] {
  checkHeader(header, what);
  const sc = new Scanner(header);
  const out: RawChallenge[] = [];
  sc.separators();
  if (sc.end()) throw new DigestParseError("EMPTY", `${what} is empty`);
  while (!sc.end()) {
    const at = sc.pos;
    const scheme = sc.token();
    if (scheme === "") throw syntax(`expected an auth-scheme at position ${at}`);
    const ch: RawChallenge = { scheme, params: newParams() };
    out.push(ch);
    const spaces = sc.ws();
    if (!sc.end() && sc.peek() !== COMMA) {
      if (spaces === 0) throw syntax(`expected a space after the auth-scheme "${clip(scheme)}" at position ${sc.pos}`);
      const t68 = sc.token68();
      if (t68 !== undefined) ch.token68 = t68;
      else sc.param(ch.params);
      for (;;) {
        sc.ws();
        if (sc.end()) break;
        if (sc.peek() !== COMMA) throw syntax(`expected "," at position ${sc.pos}`);
        sc.separators();
        if (sc.end() || ch.token68 !== undefined || !sc.paramAhead()) break;
        sc.param(ch.params);
      }
    }
    sc.separators();
  }
  return out;
}

function isDigest(scheme: string): boolean {
  return scheme.length === 6 && scheme.toLowerCase() === "digest";
}

function required(params: DigestParams, name: string, where: string): string {
  const v = params[name];
  if (v === undefined) throw new DigestParseError("MISSING_PARAM", `missing required parameter "${name}" in ${where}`, name);
  return v;
}

function bad(name: string, message: string): DigestParseError {
  return new DigestParseError("BAD_PARAM", `parameter "${name}": ${message}`, name);
}

function booleanParam(params: DigestParams, name: string): boolean {
  const v = params[name];
  if (v === undefined) return false;
  const lower = v.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  throw bad(name, 'expected "true" or "false"');
}

function tokenParam(params: DigestParams, name: string): string | undefined {
  const v = params[name];
  if (v !== undefined && !isTokenString(v)) throw bad(name, "expected a token");
  return v;
}

/** A Digest challenge from WWW-Authenticate / Proxy-Authenticate (RFC 7616 §3.3). */
export interface DigestChallenge {
  scheme: "Digest";
  /** every parameter, lower-cased name → unquoted value */
  params: Readonly<DigestParams>;
  realm: string;
  nonce: string;
  /** qop options, lower-cased; empty when the challenge has no qop (RFC 2069 style) */
  qop: string[];
  /** the algorithm token as sent; "MD5" when absent (RFC 7616 §3.3) */
  algorithm: string;
  opaque?: string;
  stale: boolean;
  /** space-separated URIs of the protection space (RFC 7616 §3.3 "domain") */
  domain: string[];
  charset?: string;
  userhash: boolean;
}

function toChallenge(raw: RawChallenge): DigestChallenge {
  if (raw.token68 !== undefined) throw syntax("a Digest challenge carries auth-params, not a token68 value");
  const p = raw.params;
  const where = "Digest challenge";
  const realm = required(p, "realm", where);
  const nonce = required(p, "nonce", where);
  let qop: string[] = [];
  if (p.qop !== undefined) {
    qop = p.qop
      .split(",")
      .map((q) => q.trim().toLowerCase())
      .filter((q) => q !== "");
    if (qop.length === 0) throw bad("qop", "lists no option");
    if (!qop.every(isTokenString)) throw bad("qop", "options must be tokens");
  }
  const algorithm = tokenParam(p, "algorithm") ?? "MD5";
  return {
    scheme: "Digest",
    params: p,
    realm,
    nonce,
    qop,
    algorithm,
    opaque: p.opaque,
    stale: booleanParam(p, "stale"),
    domain: p.domain === undefined ? [] : p.domain.split(" ").filter((d) => d !== ""),
    charset: p.charset,
    userhash: booleanParam(p, "userhash"),
  };
}

/**
 * The Digest challenges of a WWW-Authenticate (or Proxy-Authenticate) header value, in order.
 * Other schemes in the same header are checked for syntax and skipped; an empty array means the
 * header holds no Digest challenge. Throws DigestParseError.
 */
export function parseDigestChallenge(header: string): DigestChallenge[] {
  return parseChallengeList(header, "WWW-Authenticate")
    .filter((c) => isDigest(c.scheme))
    .map(toChallenge);
}

/** Digest credentials from an Authorization (or Proxy-Authorization) header (RFC 7616 §3.4). */
export interface DigestCredentials {
  scheme: "Digest";
  params: Readonly<DigestParams>;
  /** from "username", or decoded from "username*" (RFC 7616 §3.4, RFC 8187) */
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  /** as sent; "MD5" when absent */
  algorithm: string;
  /** lower-cased; present together with nc and cnonce */
  qop?: string;
  nc?: string;
  cnonce?: string;
  opaque?: string;
  /** RFC 3310 §3.4: base64(AUTS) on AKA synchronisation failure */
  auts?: string;
  userhash: boolean;
}

const NC_LENGTH = 8;

function isNc(v: string): boolean {
  if (v.length !== NC_LENGTH) return false;
  for (let i = 0; i < NC_LENGTH; i++) {
    const c = v.charCodeAt(i) | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

// RFC 8187 §3.2 ext-value restricted to UTF-8: UTF-8'[language]'pct-encoded-value
function decodeExtValue(v: string, name: string): string {
  const first = v.indexOf("'");
  const second = first < 0 ? -1 : v.indexOf("'", first + 1);
  if (second < 0 || v.slice(0, first).toLowerCase() !== "utf-8") throw bad(name, "expected UTF-8''<percent-encoded>");
  try {
    return decodeURIComponent(v.slice(second + 1));
  } catch {
    throw bad(name, "bad percent-encoding");
  }
}

/** Parses an Authorization header value holding Digest credentials. Throws DigestParseError. */
export function parseDigestCredentials(header: string): DigestCredentials {
  const list = parseChallengeList(header, "Authorization");
  if (list.length !== 1) throw syntax("Authorization holds more than one set of credentials");
  const raw = list[0];
  if (!isDigest(raw.scheme)) throw new DigestParseError("NOT_DIGEST", `expected the Digest scheme, got "${clip(raw.scheme)}"`);
  if (raw.token68 !== undefined) throw syntax("Digest credentials carry auth-params, not a token68 value");
  const p = raw.params;
  const where = "Digest credentials";
  let username: string;
  if (p["username*"] !== undefined) {
    if (p.username !== undefined) throw bad("username*", 'must not be sent together with "username"');
    username = decodeExtValue(p["username*"], "username*");
  } else {
    username = required(p, "username", where);
  }
  const realm = required(p, "realm", where);
  const nonce = required(p, "nonce", where);
  const uri = required(p, "uri", where);
  const response = required(p, "response", where);
  const algorithm = tokenParam(p, "algorithm") ?? "MD5";
  let qop: string | undefined;
  if (p.qop !== undefined) {
    qop = p.qop.toLowerCase();
    if (!isTokenString(qop)) throw bad("qop", "expected a single token");
    // RFC 7616 §3.4: cnonce and nc MUST be sent when qop is.
    const nc = required(p, "nc", `${where} with qop`);
    if (!isNc(nc)) throw bad("nc", "expected 8 hex digits");
    required(p, "cnonce", `${where} with qop`);
  } else if (p.nc !== undefined || p.cnonce !== undefined) {
    throw new DigestParseError("MISSING_PARAM", 'missing parameter "qop" required with nc/cnonce', "qop");
  }
  return {
    scheme: "Digest",
    params: p,
    username,
    realm,
    nonce,
    uri,
    response,
    algorithm,
    qop,
    nc: p.nc,
    cnonce: p.cnonce,
    opaque: p.opaque,
    auts: p.auts,
    userhash: booleanParam(p, "userhash"),
  };
}

/** Authentication-Info (RFC 7616 §3.5, RFC 2617 §3.2.3). */
export interface DigestAuthenticationInfo {
  params: Readonly<DigestParams>;
  rspauth?: string;
  qop?: string;
  cnonce?: string;
  nc?: string;
  nextnonce?: string;
}

/** Parses an Authentication-Info header value (#auth-param, no scheme). Throws DigestParseError. */
export function parseAuthenticationInfo(header: string): DigestAuthenticationInfo {
  checkHeader(header, "Authentication-Info");
  const sc = new Scanner(header);
  const params = newParams();
  sc.separators();
  if (sc.end()) throw new DigestParseError("EMPTY", "Authentication-Info is empty");
  while (!sc.end()) {
    sc.param(params);
    sc.ws();
    if (sc.end()) break;
    if (sc.peek() !== COMMA) throw syntax(`expected "," at position ${sc.pos}`);
    sc.separators();
  }
  const qop = params.qop?.toLowerCase();
  if (qop !== undefined && !isTokenString(qop)) throw bad("qop", "expected a single token");
  if (params.nc !== undefined && !isNc(params.nc)) throw bad("nc", "expected 8 hex digits");
  return {
    params,
    rspauth: params.rspauth,
    qop,
    cnonce: params.cnonce,
    nc: params.nc,
    nextnonce: params.nextnonce,
  };
}
