// Just enough of the TLS record and handshake layers (RFC 5246 §6.2, §7.4; RFC 8446 §4.1.2, §4.2)
// to read, in plaintext, the ClientHello and the TLS 1.2 ClientKeyExchange: the places where a
// client names its PSK identity (RFC 4279 §2, RFC 8446 §4.2.11).

export const RECORD_HANDSHAKE = 22;
export const RECORD_ALERT = 21;
export const HANDSHAKE_CLIENT_HELLO = 1;
export const HANDSHAKE_CLIENT_KEY_EXCHANGE = 16;
const EXT_SERVER_NAME = 0;
const EXT_SUPPORTED_GROUPS = 10;
const EXT_PRE_SHARED_KEY = 41;
const EXT_SUPPORTED_VERSIONS = 43;
export const TLS13 = 0x0304;
/** RFC 8446 §5.1: record fragments are at most 2^14 octets (+ expansion for protected records) */
const MAX_RECORD = 16384 + 2048;

export class TlsParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsParseError";
  }
}

/** RFC 8446 §6 alert descriptions used here. */
export const ALERT = {
  HANDSHAKE_FAILURE: 40,
  ACCESS_DENIED: 49,
  INTERNAL_ERROR: 80,
  UNKNOWN_PSK_IDENTITY: 115,
} as const;

/** A plaintext fatal alert record (RFC 5246 §7.2, RFC 8446 §6), valid before keys are in use. */
export function fatalAlert(description: number): Uint8Array {
  return Uint8Array.of(RECORD_ALERT, 0x03, 0x03, 0x00, 0x02, 0x02, description);
}

export interface HandshakeMessage {
  type: number;
  body: Uint8Array;
}

/**
 * Reassembles handshake messages from a byte stream of plaintext records. `push` bytes, then
 * `next()` yields complete messages; `blocked` turns true at the first record that is not a
 * handshake record (ChangeCipherSpec, alert, application data), after which nothing is parsed.
 */
export class HandshakeReader {
  private buf: Uint8Array = new Uint8Array(0);
  private hs: Uint8Array = new Uint8Array(0);
  /** octets consumed from the stream so far (complete records) */
  consumed = 0;
  blocked = false;

  constructor(private readonly maxMessage = 65536) {}

  push(chunk: Uint8Array): void {
    this.buf = concat(this.buf, chunk);
  }

  /** The next complete handshake message, or undefined when more bytes are needed. */
  next(): HandshakeMessage | undefined {
    for (;;) {
      const msg = this.takeMessage();
      if (msg) return msg;
      if (this.blocked || !this.takeRecord()) return undefined;
    }
  }

  private takeRecord(): boolean {
    if (this.buf.length < 5) return false;
    const type = this.buf[0];
    const len = (this.buf[3] << 8) | this.buf[4];
    if (this.buf[1] !== 0x03) throw new TlsParseError("not a TLS record");
    if (len > MAX_RECORD) throw new TlsParseError("record too long");
    if (type !== RECORD_HANDSHAKE) {
      this.blocked = true;
      return false;
    }
    if (this.buf.length < 5 + len) return false;
    this.hs = concat(this.hs, this.buf.subarray(5, 5 + len));
    this.buf = this.buf.slice(5 + len);
    this.consumed += 5 + len;
    if (this.hs.length > this.maxMessage + 4) throw new TlsParseError("handshake message too long");
    return true;
  }

  private takeMessage(): HandshakeMessage | undefined {
    if (this.hs.length < 4) return undefined;
    const len = (this.hs[1] << 16) | (this.hs[2] << 8) | this.hs[3];
    if (len > this.maxMessage) throw new TlsParseError("handshake message too long");
    if (this.hs.length < 4 + len) return undefined;
    const msg = { type: this.hs[0], body: this.hs.slice(4, 4 + len) };
    this.hs = this.hs.slice(4 + len);
    return msg;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

class Cursor {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}
  need(n: number): void {
    if (this.pos + n > this.b.length) throw new TlsParseError("truncated handshake message");
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = (this.b[this.pos] << 8) | this.b[this.pos + 1];
    this.pos += 2;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  vec8(): Uint8Array {
    return this.bytes(this.u8());
  }
  vec16(): Uint8Array {
    return this.bytes(this.u16());
  }
  get done(): boolean {
    return this.pos >= this.b.length;
  }
}

function u16List(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) out.push((b[i] << 8) | b[i + 1]);
  return out;
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();

export interface ClientHello {
  /** RFC 8446 §4.1.2 the client's 32 random octets */
  random: Uint8Array;
  cipherSuites: number[];
  /** RFC 8446 §4.2.1 supported_versions; empty for a TLS ≤ 1.2 client */
  supportedVersions: number[];
  /** RFC 8446 §4.2.7 supported_groups; undefined when the extension is absent */
  supportedGroups?: number[];
  /** RFC 8446 §4.2.11 pre_shared_key identities (UTF-8), empty when none */
  pskIdentities: string[];
  serverName?: string;
}

/** RFC 5246 §7.4.1.2 / RFC 8446 §4.1.2 ClientHello body. */
export function parseClientHello(body: Uint8Array): ClientHello {
  const c = new Cursor(body);
  c.u16(); // legacy_version
  const random = c.bytes(32);
  c.vec8(); // legacy_session_id
  const cipherSuites = u16List(c.vec16());
  c.vec8(); // compression methods
  const hello: ClientHello = { random, cipherSuites, supportedVersions: [], pskIdentities: [] };
  if (c.done) return hello;
  const exts = new Cursor(c.vec16());
  while (!exts.done) {
    const type = exts.u16();
    const data = exts.vec16();
    const e = new Cursor(data);
    switch (type) {
      case EXT_SUPPORTED_VERSIONS:
        hello.supportedVersions = u16List(e.vec8());
        break;
      case EXT_SUPPORTED_GROUPS:
        hello.supportedGroups = u16List(e.vec16());
        break;
      case EXT_PRE_SHARED_KEY: {
        const ids = new Cursor(e.vec16());
        while (!ids.done) {
          hello.pskIdentities.push(utf8.decode(ids.vec16()));
          ids.bytes(4); // obfuscated_ticket_age
        }
        break;
      }
      case EXT_SERVER_NAME: {
        const list = new Cursor(e.vec16());
        if (!list.done && list.u8() === 0) hello.serverName = latin1.decode(list.vec16());
        break;
      }
    }
  }
  return hello;
}

/** RFC 4279 §2 / RFC 5489 §2: the psk_identity that opens a (ECDHE_)PSK ClientKeyExchange. */
export function pskIdentityOfClientKeyExchange(body: Uint8Array): string {
  return utf8.decode(new Cursor(body).vec16());
}
