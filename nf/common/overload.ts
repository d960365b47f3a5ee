// Overload protection of an NF listener. A request that arrives while the NF is overloaded is
// answered at once with 503, Retry-After and the cause NF_CONGESTION (TS 29.500 §5.2.7.2, the SBI
// cause of an NF performing overload control; RFC 9110 §10.2.3 Retry-After), instead
// of waiting in the queue until its caller gives up (the NAF's Zn client after 2 s, the UE after
// its own timeout). Overloaded means: the event loop's delay (the mean delay of a 10 ms timer, or
// the lateness of the 100 ms sampling timer if larger) was above overload.maxEventLoopDelayMs in
// each of the last two samples, or the listener already serves overload.maxInFlight requests.
// Registered as @fastify/basic-auth registers its hook: a fastify-plugin, so it covers the whole
// listener, and onRequest, so a shed request costs no parsing, no store and no Zh/Zn exchange.
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import { checkOverload, type OverloadConfig } from "./config.js";
import { sendProblem } from "./problem.js";

/** how often the event-loop delay is read (ms); a decision uses the last reading */
const SAMPLE_MS = 100;
/** the histogram's timer period (ms): its own period is not delay */
const RESOLUTION_MS = 10;

/** The process's event-loop delay (ms), sampled while at least one listener watches it. */
class LoopDelay {
  private users = 0;
  private histogram: IntervalHistogram | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private previous = 0;
  private delay = 0;

  acquire(): void {
    if (this.users++ > 0) return;
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.lastTick = performance.now();
    this.delay = 0;
    this.previous = 0;
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  release(): void {
    if (--this.users > 0) return;
    clearInterval(this.timer);
    this.histogram?.disable();
    this.histogram = undefined;
  }

  get ms(): number {
    return this.delay;
  }

  private sample(): void {
    const h = this.histogram;
    if (h === undefined) return;
    const now = performance.now();
    // the mean delay of the histogram's timer; and our own timer's lateness, which covers a loop
    // blocked for most of the window (then the histogram's timer fired once, or not at all)
    const late = now - this.lastTick - SAMPLE_MS;
    this.lastTick = now;
    const mean = h.count > 0 ? h.mean / 1e6 - RESOLUTION_MS : 0;
    const current = Math.max(0, mean, late);
    // sustained over two samples: one stall (a GC pause, a synchronous start-up step) sheds nothing
    this.delay = Math.min(current, this.previous);
    this.previous = current;
    h.reset();
  }
}

const processLoop = new LoopDelay();

export interface OverloadGuardOptions extends OverloadConfig {
  /** the event-loop delay in ms (default: this process's, sampled every 100 ms); tests pin it */
  loopDelayMs?: () => number;
}

const overloadGuardPlugin: FastifyPluginAsync<OverloadGuardOptions> = async (app, opts) => {
  checkOverload(opts);
  let loopDelayMs = opts.loopDelayMs;
  if (loopDelayMs === undefined) {
    processLoop.acquire();
    app.addHook("onClose", async () => processLoop.release());
    loopDelayMs = () => processLoop.ms;
  }
  const delayOf = loopDelayMs;
  let inFlight = 0;
  let shed = 0;
  /** logs one line per second of shedding at most, with the count since the last line */
  let lastLog = 0;

  app.addHook("onRequest", (request, reply, done) => {
    const delay = opts.maxEventLoopDelayMs > 0 ? delayOf() : 0;
    const busy = opts.maxInFlight > 0 && inFlight >= opts.maxInFlight;
    if (busy || delay > opts.maxEventLoopDelayMs) {
      shed++;
      const now = Date.now();
      if (now - lastLog >= 1000) {
        request.log.warn(
          { shed, inFlight, eventLoopDelayMs: Math.round(delay) },
          busy ? "overloaded (requests in flight): shedding with 503" : "overloaded (event-loop delay): shedding with 503",
        );
        lastLog = now;
        shed = 0;
      }
      reply.header("retry-after", String(opts.retryAfterSeconds));
      sendProblem(reply, {
        title: "Service Unavailable",
        status: 503,
        detail: busy
          ? `overloaded: ${inFlight} requests in flight (overload.maxInFlight ${opts.maxInFlight}); retry after ${opts.retryAfterSeconds} s`
          : `overloaded: event-loop delay ${Math.round(delay)} ms (overload.maxEventLoopDelayMs ${opts.maxEventLoopDelayMs}); retry after ${opts.retryAfterSeconds} s`,
        cause: "NF_CONGESTION",
      });
      return;
    }
    inFlight++;
    // "close" comes once per response, sent or cut by the client, so an abandoned request frees its place
    reply.raw.once("close", () => inFlight--);
    done();
  });
};

/** The overload guard (fastify-plugin "overload-guard") for one NF listener. */
export const overloadGuard = fp(overloadGuardPlugin, { name: "overload-guard", fastify: "5.x" });
