// Conversations over autocannon connections: each connection runs one conversation at a time
// (a Ub bootstrap, an enrolment), whose next request depends on the last answer, and waits,
// without sending anything, until the load driver admits the next conversation (an idle device,
// a device ready to enrol). autocannon has no hook that can make a connection wait, so the gate
// wraps the connection's private send step. It relies on autocannon 8's Client internals (named
// in ClientInternals) and refuses to start when they are missing.
import type autocannon from "autocannon";

export interface Exchange {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface Conversation {
  /** the next request to send */
  next(): Exchange;
  /** the answer to it (header names lower case, the body as received); true when the conversation is over */
  answer(status: number, headers: Record<string, string>, body: Buffer): boolean;
  /** the answer never came (timeout, connection reset or closed): the conversation is over */
  lost(cause: string): void;
}

/** A conversation to start now, or undefined after keeping `later` to start one when it can. */
export type Admit = (later: (c: Conversation) => void) => Conversation | undefined;

/** What the gate uses of autocannon 8's lib/httpClient.js beyond its public Client API. */
interface ClientInternals {
  _doRequest(): void;
  reqsMade: number;
  destroyed: boolean;
  /** per-connection request quota per second (overallRate spread over the connections) */
  rate?: number;
  reqsMadeThisSecond: number;
  pipelinedRequests: { addBody(chunk: Buffer): void };
}

class AutocannonInternalsError extends Error {
  constructor(missing: string) {
    super(`autocannon's Client has no ${missing}: the autocannon load driver needs autocannon 8's connection internals`);
    this.name = "AutocannonInternalsError";
  }
}

function internals(client: autocannon.Client): ClientInternals {
  const c = client as unknown as Partial<ClientInternals>;
  if (typeof c._doRequest !== "function") throw new AutocannonInternalsError("_doRequest()");
  if (typeof c.reqsMade !== "number") throw new AutocannonInternalsError("reqsMade");
  if (typeof c.reqsMadeThisSecond !== "number") throw new AutocannonInternalsError("reqsMadeThisSecond");
  if (typeof c.pipelinedRequests?.addBody !== "function") throw new AutocannonInternalsError("pipelinedRequests.addBody()");
  return c as ClientInternals;
}

function lowerCaseKeys(h: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

function causeOfConnError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === "string") return e.code;
  return typeof e?.message === "string" ? e.message.slice(0, 60) : "CONNECTION_ERROR";
}

/** autocannon options (setupClient, requests; pipelining 1) that run the admitted conversations. */
export function gatedConnections(admit: Admit): Pick<autocannon.Options, "setupClient" | "requests" | "pipelining"> {
  return {
    pipelining: 1,
    // replaced per connection in setupClient; autocannon builds (never sends) this first one
    requests: [{}],
    setupClient(client: autocannon.Client) {
      const c = internals(client);
      const send = c._doRequest.bind(c);
      let conversation: Conversation | undefined;
      let parked = false;
      let awaiting = false;
      let lostCause: string | undefined;
      let chunks: Buffer[] = [];

      // autocannon hands onResponse the body as a UTF-8 string; a DER certificate needs the octets
      const addBody = c.pipelinedRequests.addBody.bind(c.pipelinedRequests);
      c.pipelinedRequests.addBody = (chunk: Buffer) => {
        chunks.push(Buffer.from(chunk));
        addBody(chunk);
      };
      const requests: autocannon.Request[] = [
        {
          setupRequest: (req) => (conversation ? ({ ...req, ...conversation.next() } as autocannon.Request) : req),
          onResponse: (status, _text, _context, headers) => {
            awaiting = false;
            const body = Buffer.concat(chunks);
            chunks = [];
            if (conversation?.answer(status, lowerCaseKeys((headers ?? {}) as Record<string, string>), body))
              conversation = undefined;
          },
        },
      ];
      client.setRequests(requests);
      // events of the Client that its type declarations leave out
      const events = client as unknown as NodeJS.EventEmitter;
      events.on("request", () => {
        awaiting = true;
        chunks = [];
        lostCause = undefined;
      });
      events.on("connError", (err: unknown) => {
        lostCause = causeOfConnError(err);
      });

      const begin = (next: Conversation) => {
        conversation = next;
        // the first request was built before there was a conversation: build it again
        if (c.reqsMade === 0) client.setRequests(requests);
        send();
      };
      // every send of the connection (first request, after each answer, after a reconnect, at
      // the start of each second under a rate) passes here
      c._doRequest = () => {
        if (parked || c.destroyed) return;
        if (awaiting) {
          awaiting = false;
          const cut = conversation;
          conversation = undefined;
          cut?.lost(lostCause ?? "NO_RESPONSE");
        }
        if (conversation !== undefined) return send();
        // out of this second's quota: autocannon pauses the connection until the next second
        if (c.rate && c.reqsMadeThisSecond >= c.rate) return send();
        const now = admit((later) => {
          parked = false;
          if (c.destroyed) later.lost("STOPPED");
          else begin(later);
        });
        if (now === undefined) parked = true;
        else begin(now);
      };
    },
  };
}
