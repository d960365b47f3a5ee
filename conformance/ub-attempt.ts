// One bootstrapping attempt against the BSF under test, driven by the UE's Ub step machine
// (ue/ub/run.ts) with the card's AKA, and recorded message by message so each check can judge
// the part it is about. Hooks make the attempt deviate on purpose: another username (a TMPI), a
// RES of our choosing, a pause before the answer, or a stop after the first 401.
import type { RandomBytes } from "../wire/deps.js";
import {
  type AkaOutcome,
  type UbChallenge,
  type UbDeviation,
  type UbFailed,
  type UbRequest,
  UbRun,
  type UbStep,
  type UbDone,
  ubHeaders,
} from "../ue/ub/run.js";
import { type HttpAnswer, type HttpClient, hostHeader, Unreachable } from "./http.js";
import type { ConformanceUe } from "./ue.js";

export interface UbExchange {
  request: UbRequest;
  answer: HttpAnswer;
}

export interface UbAttempt {
  /** every request sent and the BSF's answer, in order */
  exchanges: UbExchange[];
  /** every challenge the card saw and what it answered (after any alteration) */
  akas: Array<{ challenge: UbChallenge; outcome: AkaOutcome }>;
  /** the run's conclusion; undefined when the attempt stopped on purpose (firstOnly) */
  end?: UbDone | UbFailed;
}

export interface UbTarget {
  /** Ub URL of the BSF */
  url: string;
  /** the BSF FQDN: realm of the first request, and what the challenge's realm must be */
  fqdn: string;
}

export interface AttemptOptions {
  /** username of the first request (default the IMPI): e.g. a TMPI (TS 33.220 B.4) */
  username?: string;
  /** replaces what the card answered before the run uses it (e.g. a wrong RES) */
  alterAka?: (o: AkaOutcome) => AkaOutcome;
  deviate?: UbDeviation;
  /** runs after the card's AKA and before the answer goes out (let the nonce go stale) */
  beforeAnswer?: () => Promise<void>;
  /** stop after the answer to the first request */
  firstOnly?: boolean;
}

export interface UbDriver {
  target: UbTarget;
  ue: ConformanceUe;
  http: HttpClient;
  userAgent: string;
  randomBytes: RandomBytes;
}

/** Sends one Ub request to the BSF under test. */
export function sendUb(d: UbDriver, r: UbRequest): Promise<HttpAnswer> {
  const url = new URL(r.uri, d.target.url);
  return d.http.send({ method: r.method, url: url.toString(), headers: { ...hostHeader(url, d.target.fqdn), ...ubHeaders(r) } });
}

export async function attemptBootstrap(d: UbDriver, o: AttemptOptions = {}): Promise<UbAttempt> {
  const run = new UbRun({
    impi: o.username ?? d.ue.impi,
    realm: d.target.fqdn,
    userAgent: d.userAgent,
    randomBytes: d.randomBytes,
  });
  const attempt: UbAttempt = { exchanges: [], akas: [] };
  let step: UbStep = { kind: "send", request: run.first() };
  for (;;) {
    switch (step.kind) {
      case "send": {
        let answer: HttpAnswer;
        try {
          answer = await sendUb(d, step.request);
        } catch (err) {
          if (!(err instanceof Unreachable)) throw err;
          step = run.lost(err.message);
          break;
        }
        attempt.exchanges.push({ request: step.request, answer });
        if (o.firstOnly) return attempt;
        step = run.next(answer);
        break;
      }
      case "aka": {
        const seen = await d.ue.aka(step.challenge.rand, step.challenge.autn);
        const outcome = seen.kind === "success" && o.alterAka ? o.alterAka(seen) : seen;
        attempt.akas.push({ challenge: step.challenge, outcome });
        if (outcome.kind === "success") await o.beforeAnswer?.();
        step = run.aka(outcome, o.deviate);
        break;
      }
      case "done":
      case "failed":
        attempt.end = step;
        return attempt;
    }
  }
}

/** The exchange that carried the answer with RES (the last one after a successful AKA), if any. */
export function resAnswer(a: UbAttempt): UbExchange | undefined {
  const last = a.akas.at(-1);
  if (last?.outcome.kind !== "success") return undefined;
  // exchanges: the first request, then one request after each AKA
  return a.exchanges[a.akas.length];
}
