// The dashboard's Ua events (nf/common/events.ts), for the GBA plugin and the TLS-PSK listener:
// one "ua" event per HTTP request the plugin authenticated or refused, reported once the answer
// is sent (its status as the application sent it), and one "ua-psk" event per TLS-PSK handshake.
// Only a plugin given a bus installs the hook; without one nothing here runs.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { EventBus, EventNf, UaAuth } from "../common/events.js";
import type { NafCause } from "./causes.js";
import type { GbaIdentity } from "./identity.js";

export interface UaEventsOptions {
  bus: EventBus;
  /** the NF the events are of: the NAF, or an application that mounts the plugin (the ECA) */
  nf: EventNf;
  fqdn: string;
}

interface Mark {
  startedAt: number;
  auth: UaAuth;
  cause?: NafCause;
  /** the username of a refused Digest answer (a B-TID), so its ladder holds the refusal */
  btid?: string;
}

const kMark = Symbol("gbaUaEvent");
type Marked = FastifyRequest & { [kMark]: Mark | null; gba: GbaIdentity | null };

/** Digest username="..." (RFC 7616 §3.4): a B-TID, never a secret. */
function usernameOf(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : /\busername="([^"]{1,300})"/.exec(authorization)?.[1];
}

export interface UaEvents {
  /** the plugin starts authenticating a request */
  start(request: FastifyRequest, auth: UaAuth): void;
  /** the plugin refuses it with `cause` */
  refused(request: FastifyRequest, cause: NafCause): void;
}

/** Installs the onResponse hook that reports each request the plugin handled. */
export function installUaEvents(app: FastifyInstance, o: UaEventsOptions): UaEvents {
  app.decorateRequest(kMark, null);
  app.addHook("onResponse", async (request, reply) => {
    const m = (request as Marked)[kMark];
    if (m === null) return;
    const gba = (request as Marked).gba;
    // no cause and no subscriber: it failed on the way (an auth-int body over the limit)
    const outcome = m.cause === "FST_GBA_NO_CREDENTIALS" ? "challenge" : m.cause === undefined && gba !== null ? "ok" : "refused";
    o.bus.emit({
      nf: o.nf,
      kind: "ua",
      outcome,
      status: reply.statusCode,
      cause: m.cause,
      impi: gba?.impi,
      btid: gba?.btid ?? m.btid,
      nafFqdn: o.fqdn,
      auth: m.auth,
      latencyMs: performance.now() - m.startedAt,
    });
  });
  return {
    start(request, auth) {
      (request as Marked)[kMark] = { startedAt: performance.now(), auth };
    },
    refused(request, cause) {
      const m = (request as Marked)[kMark];
      if (m === null) return;
      m.cause = cause;
      if (m.auth === "digest") m.btid = usernameOf(request.headers.authorization);
    },
  };
}
