// HTTP/1.1 in a capture: one direction of a connection cut into whole messages (RFC 9112 §6:
// Content-Length, chunked transfer coding, bodiless responses, a body that ends with the
// connection), so key material is found even when a field is split across socket writes, and
// the redaction that zeroes it in place (lengths, and so TCP sequence numbers, stay true).

/** A message larger than this is passed on as it arrives (redacted piece by piece). */
const MAX_MESSAGE = 4 * 1024 * 1024;
const CRLF2 = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");

type BodyRule = { kind: "none" } | { kind: "length"; n: number } | { kind: "chunked" } | { kind: "to-close" };

interface Head {
  /** octets of the start line and the header fields, the blank line included */
  size: number;
  body: BodyRule;
}

function header(text: string, name: string): string | undefined {
  const m = new RegExp(`\\r\\n${name}[ \\t]*:[ \\t]*([^\\r\\n]*)`, "i").exec(text);
  return m?.[1].trim();
}

/**
 * Cuts one direction of an HTTP/1.1 connection into messages. Responses need the methods of the
 * requests they answer (HEAD has no body), shared through `methods`.
 */
export class HttpFramer {
  private chunks: Buffer[] = [];
  private size = 0;
  private passthrough = false;
  /** the head of the message in progress, once complete */
  private current?: Head;
  /** octets of the message in progress already handed out by takeHeld() */
  private emitted = 0;

  constructor(
    private readonly side: "request" | "response",
    private readonly methods: string[],
  ) {}

  /** The messages `data` completes, in order; octets of an unfinished one are kept. */
  push(data: Uint8Array): Buffer[] {
    const chunk = Buffer.from(data.buffer, data.byteOffset, data.length);
    if (this.passthrough) return [chunk];
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
      this.chunks = [buf];
      const end = this.messageEnd(buf);
      if (end === undefined) {
        if (this.size > MAX_MESSAGE || this.passthrough) {
          // too large to hold, or no longer HTTP (an upgrade): recorded as it arrives from here
          this.passthrough = true;
          out.push(buf.subarray(this.emitted));
          this.chunks = [];
          this.size = 0;
          this.emitted = 0;
        }
        return out;
      }
      out.push(buf.subarray(this.emitted, end));
      this.current = undefined;
      this.emitted = 0;
      const rest = buf.subarray(end);
      this.chunks = rest.length ? [rest] : [];
      this.size = rest.length;
      if (rest.length === 0 || this.passthrough) {
        if (rest.length) out.push(rest);
        this.chunks = [];
        this.size = 0;
        return out;
      }
    }
  }

  /**
   * The octets of an unfinished message held so far, handed out now because the other side is
   * answering before the message is complete (a 401 sent once the head is read): the capture then
   * keeps the order of the wire. The rest of the message follows when it completes. A server's
   * early answer only cuts requests, which carry no key material in their bodies; a client does
   * not send while a response is still arriving (no pipelining), so responses stay whole.
   */
  takeHeld(): Buffer | undefined {
    if (this.size === this.emitted) return undefined;
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.chunks = [buf];
    const held = buf.subarray(this.emitted);
    this.emitted = buf.length;
    return held;
  }

  /** Whatever is left when the connection closes (a body read to the end, or a fragment). */
  flush(): Buffer | undefined {
    const rest = this.chunks.length ? Buffer.concat(this.chunks, this.size).subarray(this.emitted) : undefined;
    this.chunks = [];
    this.size = 0;
    this.emitted = 0;
    this.current = undefined;
    return rest?.length ? rest : undefined;
  }

  private messageEnd(buf: Buffer): number | undefined {
    this.current ??= this.head(buf);
    const head = this.current;
    if (head === undefined) return undefined;
    switch (head.body.kind) {
      case "none":
        return head.size;
      case "length":
        return buf.length >= head.size + head.body.n ? head.size + head.body.n : undefined;
      case "chunked":
        return chunkedEnd(buf, head.size);
      case "to-close":
        return undefined;
    }
  }

  /** Parses a complete head (once per message). */
  private head(buf: Buffer): Head | undefined {
    const at = buf.indexOf(CRLF2);
    if (at < 0) return undefined;
    const size = at + 4;
    const text = buf.toString("latin1", 0, size);
    const chunked = /(^|,)[ \t]*chunked[ \t]*$/i.test(header(text, "transfer-encoding") ?? "");
    const length = header(text, "content-length");
    const sized: BodyRule = chunked
      ? { kind: "chunked" }
      : length !== undefined
        ? { kind: "length", n: Number(length) || 0 }
        : { kind: "none" };
    if (this.side === "request") {
      this.methods.push(text.slice(0, text.indexOf(" ")).toUpperCase());
      return { size, body: sized };
    }
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(text)?.[1] ?? 0);
    // RFC 9112 §6.3: interim answers, 204, 304 and answers to HEAD have no body
    if (status >= 100 && status < 200 && status !== 101) return { size, body: { kind: "none" } };
    const method = this.methods.shift();
    if (status === 101 || method === "CONNECT") this.passthrough = true;
    if (status === 204 || status === 304 || status === 101 || method === "HEAD" || method === "CONNECT")
      return { size, body: { kind: "none" } };
    return chunked || length !== undefined ? { size, body: sized } : { size, body: { kind: "to-close" } };
  }
}

/** End of a chunked body starting at `from` (RFC 9112 §7.1), trailer section included. */
function chunkedEnd(buf: Buffer, from: number): number | undefined {
  let at = from;
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(buf.toString("latin1", at, eol).split(";")[0].trim(), 16);
    if (!Number.isFinite(size)) return buf.length; // not chunked after all: take what there is
    if (size === 0) {
      const end = buf.indexOf(CRLF2, eol);
      if (buf.length >= eol + 4 && buf[eol + 2] === 0x0d && buf[eol + 3] === 0x0a) return eol + 4;
      return end < 0 ? undefined : end + 4;
    }
    at = eol + 2 + size + 2;
    if (buf.length < at) return undefined;
  }
}

/** JSON fields holding key material on Zh and Zn (TS 29.503 3GAkaAv, TS 29.309 BootstrappingInfoResponse). */
const JSON_KEYS = /("(?:ck|ik|xres|res|kc|ks|meKeyMaterial|uiccKeyMaterial)"\s*:\s*")([0-9A-Fa-f]+)(?=")/g;
/**
 * HTTP Digest values computed from the password (RFC 7616 §3.4.1, §3.5): on Ub the password is
 * RES (RFC 3310 §3.2), which a response would let anyone try guesses against offline.
 */
const DIGEST_VALUES = /(\b(?:response|rspauth)\s*=\s*"?)([0-9A-Fa-f]+)/gi;

/** Each match's hex digits (its second group) replaced by as many zeros. */
function zeroDigits(text: string, re: RegExp): string {
  return text.replace(re, (_m, before: string, digits: string) => `${before}${"0".repeat(digits.length)}`);
}

/** A copy of one HTTP message with key material and Digest responses zeroed, same length. */
export function redactHttp(message: Uint8Array): Buffer {
  const text = Buffer.from(message.buffer, message.byteOffset, message.length).toString("latin1");
  const out = zeroDigits(zeroDigits(text, JSON_KEYS), DIGEST_VALUES);
  return Buffer.from(out, "latin1");
}
