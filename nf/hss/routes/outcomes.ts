// Where the HSS's Zh outcomes meet the operator and the dashboard, whatever binding carries Zh:
// a refusal's cause (its status comes from causes.ts), the log lines an operator acts on (the
// resynchronisation verdicts, a used-up SQN space), and the dashboard's event when a bus listens
// (nf/common/events.ts: no key field exists there). A binding calls these, then answers.
import type { FastifyBaseLogger } from "fastify";
import type { EventBus, EventKind } from "../../common/events.js";
import { HSS_CAUSES, type HssCause } from "../causes.js";
import type { AvOutcome, GussOutcome } from "../procedures/zh.js";

export interface ZhRefusal {
  cause: HssCause;
  detail: string;
}

export interface ZhReport {
  log: FastifyBaseLogger;
  /** the dashboard's event bus, when one listens */
  events?: EventBus;
  /** performance.now() when the request arrived (the event's latency; set when events is) */
  startedAt?: number;
  /** the request came over Diameter (TS 29.109 MAR): its events carry no HTTP status */
  diameter?: boolean;
}

/** A Zh request refused whatever the procedure would say (e.g. an unsupported scheme): reported, returned. */
export function zhRefused(kind: EventKind, refusal: ZhRefusal, r: ZhReport, impi?: string): ZhRefusal {
  r.events?.emit({
    nf: "hss",
    kind,
    outcome: "refused",
    impi,
    cause: refusal.cause,
    status: r.diameter ? undefined : HSS_CAUSES[refusal.cause],
    latencyMs: latency(r),
  });
  return refusal;
}

type Refused<T extends { kind: string }> = Exclude<T, { kind: "ok" }>;
type Delivered<T extends { kind: string }> = Extract<T, { kind: "ok" }>;

/** generate-auth-data refused: the log line an operator acts on, the event, the cause to send. */
export function onAvRefused(out: Refused<AvOutcome>, ueId: string, r: ZhReport): ZhRefusal {
  switch (out.kind) {
    case "not-found":
      return zhRefused("zh-av", { cause: "USER_NOT_FOUND", detail: `no subscriber for ueId ${ueId}` }, r);
    case "mac-s-failure":
      r.log.warn(
        { impi: out.impi, check: "MAC-S", outcome: "rejected", sqnMs: out.failure.sqnMs, sqnHe: out.failure.sqnHe },
        "resynchronisation refused: MAC-S of the AUTS does not verify (TS 33.102 §6.3.5); SQN_MS unverified",
      );
      return zhRefused(
        "zh-av",
        { cause: "AUTHENTICATION_REJECTED", detail: "AUTS rejected: MAC-S verification failed (TS 33.102 §6.3.5)" },
        r,
        out.impi,
      );
    case "sqn-exhausted":
      r.log.warn({ impi: out.impi }, "SQN space of this subscriber is used up (TS 33.102 Annex C)");
      return zhRefused(
        "zh-av",
        { cause: "AUTHENTICATION_REJECTED", detail: "no fresh SQN left for this subscriber" },
        r,
        out.impi,
      );
  }
}

/** generate-auth-data answered with a vector: the resynchronisation verdict in the log, the event. */
export function onAvDelivered(out: Delivered<AvOutcome>, r: ZhReport): void {
  if (out.resync) {
    const s = out.resync;
    r.log.warn(
      { impi: out.impi, check: "MAC-S", outcome: s.outcome, sqnMs: s.sqnMs, sqnHe: s.sqnHe, nextSqn: s.nextSqn },
      s.outcome === "sqn-ms-adopted"
        ? "resynchronisation: MAC-S verified, SQN_HE := SQN_MS (TS 33.102 §6.3.5)"
        : "resynchronisation: MAC-S verified, SQN_HE already above SQN_MS, kept",
    );
  }
  r.events?.emit({
    nf: "hss",
    kind: "zh-av",
    outcome: "ok",
    status: r.diameter ? undefined : 200,
    impi: out.impi,
    resync: out.resync !== undefined,
    latencyMs: latency(r),
  });
}

/** subscriber-data refused (unknown ueId): the event, the cause to send. */
export function onGussRefused(ueId: string, r: ZhReport): ZhRefusal {
  return zhRefused("zh-guss", { cause: "USER_NOT_FOUND", detail: `no subscriber for ueId ${ueId}` }, r);
}

/** subscriber-data answered with the GUSS: the event. */
export function onGussDelivered(out: Delivered<GussOutcome>, r: ZhReport): void {
  r.events?.emit({ nf: "hss", kind: "zh-guss", outcome: "ok", status: 200, impi: out.impi, latencyMs: latency(r) });
}

function latency(r: ZhReport): number | undefined {
  return r.startedAt === undefined ? undefined : performance.now() - r.startedAt;
}
