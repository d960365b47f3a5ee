// The suite's HTTP: one keep-alive connection pool to the target, every answer read whole (the
// checks hash bodies), and transport failures as values the checks can report.
import { isIP } from "node:net";
import { Agent, request } from "undici";
import type { HttpAnswer } from "../ue/ub/run.js";
import { fail, type Outcome, pass } from "./check.js";

export type { HttpAnswer } from "../ue/ub/run.js";

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** Why a request got no answer: the target is down, refused the connection or timed out. */
export class Unreachable extends Error {
  constructor(url: string, cause: Error) {
    super(`no answer from ${url}: ${cause.message}`);
    this.name = "Unreachable";
  }
}

export class HttpClient {
  private readonly agent: Agent;

  constructor(timeoutMs = 15_000) {
    this.agent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs });
  }

  /** Sends one request; throws Unreachable when no answer comes. */
  async send(r: HttpRequest): Promise<HttpAnswer> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(r.url, {
        method: r.method as "GET",
        headers: r.headers,
        body: r.body === undefined ? undefined : Buffer.from(r.body),
        dispatcher: this.agent,
      });
    } catch (err) {
      throw new Unreachable(r.url, err as Error);
    }
    const body = new Uint8Array(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers, body };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * The Host a UE sends when it reached `url` by resolving `fqdn` (TS 24.109 A.3: Host names the
 * BSF's host; a NAF is contacted by its FQDN): only when the URL names an address.
 */
export function hostHeader(url: URL, fqdn: string | undefined): Record<string, string> {
  if (fqdn === undefined || isIP(url.hostname.replace(/^\[|\]$/g, "")) === 0) return {};
  return { host: url.port ? `${fqdn}:${url.port}` : fqdn };
}

/** One header value (several fields of the same name joined with ", "). */
export function header(a: HttpAnswer, name: string): string | undefined {
  const v = a.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** "401 (WWW-Authenticate: …)" style summary of an answer, for FAIL details. */
export function describeAnswer(a: HttpAnswer): string {
  const ct = header(a, "content-type");
  const text = ct?.includes("json") || ct?.startsWith("text/") ? Buffer.from(a.body).toString("utf8") : "";
  const problem = ct?.includes("json") ? problemSummary(text) : undefined;
  if (problem !== undefined) return `${a.status} ${problem}`;
  const shown = text.slice(0, 160);
  return `${a.status}${shown ? ` ${JSON.stringify(shown)}` : ""}`;
}

/** RFC 9457 ProblemDetails as "cause: detail" (TS 29.571 cause when present), else undefined. */
function problemSummary(text: string): string | undefined {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof p !== "object" || p === null) return undefined;
  const { cause, detail, title } = p as Record<string, unknown>;
  const what = [cause, detail ?? title].filter((x): x is string => typeof x === "string" && x !== "");
  return what.length > 0 ? what.join(": ").slice(0, 200) : undefined;
}

/**
 * Sends a request again that was already answered with success and judges the answer: a replay
 * must be refused (4xx). `what` names what was replayed, `harm` what accepting it means.
 */
export async function replayRefused(what: string, harm: string, send: () => Promise<HttpAnswer>): Promise<Outcome> {
  let again: HttpAnswer;
  try {
    again = await send();
  } catch (err) {
    if (err instanceof Unreachable) return fail(err.message);
    throw err;
  }
  const s = again.status;
  if (s >= 400 && s < 500) return pass(`${what}: refused with ${s}`);
  if (s >= 200 && s < 300) return fail(`${what}: accepted (${s}): ${harm}`);
  return fail(`${what}: ${describeAnswer(again)}`);
}
