// The Ub client of the ME over HTTP (TS 33.220 §4.5.2 / §5.3.2, TS 24.109 §4): drives one
// bootstrapping run (run.ts) with undici and the card, and traces every message.
import { request } from "undici";
import type { Dispatcher } from "undici";
import type { UeDeps } from "../deps.js";
import { noTrace, type Tracer } from "../trace.js";
import { type AkaOutcome, type HttpAnswer, type UbRequest, type UbResult, UbRun, type UbStep, ubHeaders } from "./run.js";

/** Runs AKA on the card; the middleware picks the 3G or the GBA (bootstrapping mode) context. */
export type AkaRunner = (rand: Uint8Array, autn: Uint8Array) => Promise<AkaOutcome>;

export interface UbOptions {
  /** Ub URL of the BSF, e.g. http://bsf.example:8080/ */
  bsfUrl: string;
  /** realm of the first request: the BSF FQDN (TS 24.109 A.3) */
  bsfFqdn: string;
  /** the IMPI (TS 24.109 A.3) */
  impi: string;
  /** username instead of the IMPI: the TMPI of the last bootstrapping (TS 33.220 §4.5.2) */
  username?: string;
  aka: AkaRunner;
  /** TS 24.109 A.3 User-Agent, with the product tokens the UE supports */
  userAgent: string;
  deps: UeDeps;
  tracer?: Tracer;
  dispatcher?: Dispatcher;
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function flatHeaders(h: HttpAnswer["headers"]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
  }
  return out;
}

/** One Ub bootstrapping run (TS 33.220 §4.5.2 steps 1-8, TS 24.109 A.3/A.4); throws UbError. */
export async function runUbBootstrap(o: UbOptions): Promise<UbResult> {
  const tracer = o.tracer ?? noTrace;
  const run = new UbRun({
    impi: o.impi,
    username: o.username,
    realm: o.bsfFqdn,
    userAgent: o.userAgent,
    randomBytes: o.deps.randomBytes,
    tracer,
  });

  /** The BSF's answer, or why the request did not reach it. */
  const send = async (r: UbRequest, url: string): Promise<HttpAnswer | string> => {
    const headers = Object.entries(ubHeaders(r));
    tracer.message({ iface: "Ub", direction: "request", url, startLine: `${r.method} ${r.uri} HTTP/1.1`, headers });
    let answer: HttpAnswer;
    try {
      const res = await request(url, { method: r.method, headers: Object.fromEntries(headers), dispatcher: o.dispatcher });
      answer = { status: res.statusCode, headers: res.headers, body: new Uint8Array(await res.body.arrayBuffer()) };
    } catch (err) {
      return `cannot reach the BSF at ${url}: ${(err as Error).message}`;
    }
    tracer.message({
      iface: "Ub",
      direction: "response",
      url,
      startLine: `HTTP/1.1 ${answer.status} ${STATUS_TEXT[answer.status] ?? ""}`.trimEnd(),
      headers: flatHeaders(answer.headers),
      body: Buffer.from(answer.body).toString("utf8"),
    });
    return answer;
  };

  let step: UbStep = { kind: "send", request: run.first() };
  for (;;) {
    switch (step.kind) {
      case "send": {
        const answer = await send(step.request, new URL(step.request.uri, o.bsfUrl).toString());
        step = typeof answer === "string" ? run.lost(answer) : run.next(answer);
        break;
      }
      case "aka":
        step = run.aka(await o.aka(step.challenge.rand, step.challenge.autn));
        break;
      case "done":
        return step.result;
      case "failed":
        throw step.error;
    }
  }
}
