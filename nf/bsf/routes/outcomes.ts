// The one place where the BSF's Ub and Zn outcomes meet HTTP and the operator: a refusal's cause
// becomes its status, headers and ProblemDetails (causes.ts), and every outcome passes the
// onOutcome hook, which writes the log line (one line per refused request, with the reason and
// the IMPI; never a key, RES or password) and emits the dashboard's event when a bus listens
// (nf/common/events.ts: no key field exists there). A second binding of Ub or Zn calls the same
// hook, so both log and report alike.
import type { FastifyBaseLogger } from "fastify";
import type { EventBus } from "../../common/events.js";
import type { ProblemError } from "../../common/problem.js";
import { BSF_CAUSES, type BsfCause, bsfProblem, RETRY_AFTER_SECONDS } from "../causes.js";
import type { UbOutcome, UbRefusal, UbRefusalReason } from "../procedures/ub.js";
import type { ZnOutcome, ZnRefusal, ZnRefusalReason } from "../procedures/zn.js";

export type Refusal = UbRefusal | ZnRefusal;

export interface OutcomeContext {
  iface: "Ub" | "Zn" | "Zn/Diameter";
  log: FastifyBaseLogger;
  /** the dashboard's event bus, when one listens */
  events?: EventBus;
  /** performance.now() when the request arrived (the event's latency; set when events is) */
  startedAt?: number;
  /** Ub: the UE capabilities announced in User-Agent (TS 24.109 A.3) */
  uaTokens?: string[];
  /** Zn: the NAF that asked (its configured id), the B-TID and NAF FQDN it asked for */
  naf?: string;
  btid?: string;
  nafFqdn?: string;
}

/** What each reason means, for the operator reading the log. */
const REASONS: Record<UbRefusalReason | ZnRefusalReason, string> = {
  "malformed-authorization": "malformed Authorization header",
  "uri-mismatch": "Digest uri is not the request target",
  "realm-mismatch": "Digest realm is not the BSF FQDN",
  "unsupported-digest-parameter": "Digest algorithm or qop not offered",
  "unexpected-body": "a Ub request with a body",
  "method-not-allowed": "method other than GET",
  "wrong-response": "wrong Digest response (RES does not match)",
  "unknown-impi": "unknown IMPI (the HSS does not know it; a decoy challenge was answered)",
  "unknown-tmpi": "a TMPI the BSF does not know (superseded or never made); the UE should bootstrap with its IMPI",
  "username-mismatch": "the answer names another IMPI than the challenge",
  "auts-rejected": "the HSS rejected the AUTS (MAC-S failure)",
  "hss-rejected": "the HSS refused a vector (SQN space used up)",
  "nonce-replayed": "nonce already answered (replay or stale retry)",
  "hss-unavailable": "HSS unavailable on Zh",
  "no-or-unknown-token": "no or unknown NAF bearer token",
  "peer-not-a-naf": "a Diameter peer that is not a NAF asked for keys",
  "other-nafs-key": "the NAF asked for another NAF's key",
  "btid-unknown": "unknown, expired or superseded B-TID",
  "malformed-btid": "malformed B-TID",
  "malformed-ua-security-protocol-id": "malformed Ua security protocol identifier",
};

/** Refusals an operator should look at: attacks, misconfigured NAFs, a failing HSS. */
const WARN: ReadonlySet<BsfCause> = new Set(["NONCE_ALREADY_USED", "NAF_NOT_AUTHORIZED", "HSS_UNAVAILABLE"]);

export function isRefusal<T extends object>(x: T | Refusal): x is Refusal {
  return (x as Refusal).kind === "refused";
}

/** The hook every Ub and Zn outcome passes before it is answered. */
export function onOutcome(outcome: UbOutcome | ZnOutcome, ctx: OutcomeContext): void {
  if (ctx.events !== undefined) emitOutcome(outcome, ctx, ctx.events);
  const { log } = ctx;
  switch (outcome.kind) {
    case "refused": {
      const line = {
        iface: ctx.iface,
        cause: outcome.cause,
        reason: outcome.reason,
        impi: outcome.impi,
        note: "note" in outcome ? outcome.note : undefined,
        naf: ctx.naf,
        btid: ctx.btid,
        nafFqdn: ctx.nafFqdn,
      };
      const text = `${ctx.iface} request refused: ${REASONS[outcome.reason]}`;
      if (WARN.has(outcome.cause)) log.warn(line, text);
      else log.info(line, text);
      return;
    }
    case "challenge":
      log.debug({ impi: outcome.impi, uaTokens: ctx.uaTokens }, "Ub challenge sent");
      return;
    case "bootstrapped":
      log.info(
        { impi: outcome.impi, btid: outcome.btid, superseded: outcome.superseded, uaTokens: ctx.uaTokens },
        "bootstrapped",
      );
      return;
    case "delivered":
      log.debug({ naf: ctx.naf, btid: ctx.btid, nafFqdn: ctx.nafFqdn }, "Zn key material delivered");
      return;
  }
}

/** The dashboard's event of an outcome: what was decided, for whom, with the HTTP status it gets. */
function emitOutcome(outcome: UbOutcome | ZnOutcome, ctx: OutcomeContext, events: EventBus): void {
  const latencyMs = ctx.startedAt === undefined ? undefined : performance.now() - ctx.startedAt;
  const kind = ctx.iface === "Ub" ? "ub" : "zn";
  // a Diameter answer has no HTTP status (its result code follows from the cause)
  const http = (status: number) => (ctx.iface === "Zn/Diameter" ? undefined : status);
  switch (outcome.kind) {
    case "refused":
      events.emit({
        nf: "bsf",
        kind,
        outcome: "refused",
        cause: outcome.cause,
        status: http(BSF_CAUSES[outcome.cause]),
        impi: outcome.impi,
        btid: ctx.btid,
        nafFqdn: ctx.nafFqdn,
        peer: ctx.naf,
        latencyMs,
      });
      return;
    case "challenge":
      events.emit({ nf: "bsf", kind, outcome: "challenge", status: 401, impi: outcome.impi, latencyMs });
      return;
    case "bootstrapped":
      events.emit({ nf: "bsf", kind, outcome: "ok", status: 200, impi: outcome.impi, btid: outcome.btid, latencyMs });
      return;
    case "delivered":
      events.emit({
        nf: "bsf",
        kind,
        outcome: "ok",
        status: http(200),
        btid: ctx.btid,
        nafFqdn: ctx.nafFqdn,
        peer: ctx.naf,
        latencyMs,
      });
      return;
  }
}

/** The ProblemDetails answer of a refusal: status from the cause table, and the headers the cause needs. */
export function problemOf(r: Refusal): ProblemError {
  const extra = r.invalidParams ? { invalidParams: r.invalidParams } : {};
  switch (r.cause) {
    case "HSS_UNAVAILABLE":
      return bsfProblem(r.cause, r.detail, extra, { "retry-after": String(RETRY_AFTER_SECONDS) });
    case "METHOD_NOT_ALLOWED":
      return bsfProblem(r.cause, r.detail, extra, { allow: "GET" });
    case "NAF_NOT_AUTHENTICATED":
      return bsfProblem(r.cause, r.detail, extra, { "www-authenticate": 'Bearer realm="nbsp-gba"' });
    default:
      return bsfProblem(r.cause, r.detail, extra);
  }
}
