// Step-by-step trace of a UE run (`--trace`): every HTTP message on Ub and Ua with its headers,
// and every derived value, in the style of Osmocom's tools ("RAND: 2355..."). Key material is
// printed as "[redacted]" unless the user asked for it (`--show-keys`, docs/architecture.md "Secrets").
import { bytesToHex } from "../wire/bytes.js";

export type TraceInterface = "Ub" | "Ua";

export interface TraceMessage {
  iface: TraceInterface;
  direction: "request" | "response";
  /** the peer, e.g. "http://127.0.0.1:8080/" */
  url: string;
  /** "GET / HTTP/1.1" or "HTTP/1.1 401 Unauthorized" */
  startLine: string;
  headers: ReadonlyArray<readonly [string, string]>;
  /** body as text (UTF-8); undefined or empty when there is none */
  body?: string;
}

/** A value is public (RAND, AUTN, B-TID...) or key material (RES, CK, IK, Ks, Ks_NAF, passwords). */
export type TraceValueKind = "public" | "key";

export interface Tracer {
  message(m: TraceMessage): void;
  value(label: string, value: Uint8Array | string, kind?: TraceValueKind): void;
  note(text: string): void;
}

export const noTrace: Tracer = {
  message() {},
  value() {},
  note() {},
};

export const REDACTED = "[redacted]";
const LABEL_WIDTH = 12;

/** Plain-text tracer: one line per header or value, a blank line after each message. */
export class TextTracer implements Tracer {
  constructor(
    private readonly write: (line: string) => void,
    private readonly opts: { showKeys: boolean },
  ) {}

  message(m: TraceMessage): void {
    const arrow = m.direction === "request" ? ">>>" : "<<<";
    this.write(`${arrow} ${m.iface} ${m.direction} ${m.direction === "request" ? "to" : "from"} ${m.url}`);
    this.write(m.startLine);
    for (const [name, value] of m.headers) this.write(`${name}: ${value}`);
    if (m.body !== undefined && m.body !== "") {
      this.write("");
      for (const line of m.body.replace(/\n$/, "").split("\n")) this.write(line);
    }
    this.write("");
  }

  value(label: string, value: Uint8Array | string, kind: TraceValueKind = "public"): void {
    const text = kind === "key" && !this.opts.showKeys ? REDACTED : typeof value === "string" ? value : bytesToHex(value);
    this.write(`${`${label}:`.padEnd(LABEL_WIDTH)} ${text}`);
  }

  note(text: string): void {
    this.write(`--- ${text}`);
  }
}
