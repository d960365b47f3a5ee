// Live updates to the open pages over Server-Sent Events. The NFs never wait for a page: at most
// four times a second, and only while a page is connected, one message is built (the newest
// events since the last one, capped; the per-second counts of the last two seconds; the
// scenario's progress when it changed) and the same text is written to every page. A page that
// does not read its stream is dropped before it holds much memory.
import type { ServerResponse } from "node:http";
import type { EventBus, GbaEvent, SeriesSnapshot } from "../nf/common/events.js";
import type { ScenarioFeed } from "./scenario-feed.js";

/** 4 Hz: the page updates smoothly, the NFs' process serialises at most 4 messages a second. */
export const STREAM_INTERVAL_MS = 250;
/** newest events per message; the table shows the latest ones, the counts cover every event */
export const MAX_EVENTS_PER_MESSAGE = 50;
/** unread bytes after which a page's stream is closed (it reconnects and starts afresh) */
const MAX_BACKLOG_BYTES = 1 << 20;

export interface StreamMessage {
  now: number;
  /** newest events since the previous message, oldest first */
  events: GbaEvent[];
  /** events recorded since the previous message but not sent (more than MAX_EVENTS_PER_MESSAGE) */
  skipped: number;
  series?: SeriesSnapshot;
  totals?: Record<string, number>;
  scenario?: unknown;
}

export class LiveStream {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private sentSeq: number;
  private scenarioVersion = -1;

  constructor(private readonly o: { bus?: EventBus; scenario?: ScenarioFeed; clock?: () => number; intervalMs?: number }) {
    this.sentSeq = o.bus?.lastSeq ?? 0;
  }

  get connected(): number {
    return this.clients.size;
  }

  /** Takes over a response as an event stream until the page goes away. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
      connection: "keep-alive",
    });
    res.write(`retry: 2000\n\n`);
    this.clients.add(res);
    res.on("close", () => this.detach(res));
    this.scenarioVersion = -1;
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.o.intervalMs ?? STREAM_INTERVAL_MS);
      this.timer.unref();
    }
    this.tick();
  }

  private detach(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** The message of this tick (exported for the cost test); undefined when there is nothing to say. */
  message(): StreamMessage {
    const now = (this.o.clock ?? Date.now)();
    const msg: StreamMessage = { now, events: [], skipped: 0 };
    const bus = this.o.bus;
    if (bus) {
      const last = bus.lastSeq;
      if (last > this.sentSeq) {
        msg.events = bus.query({ afterSeq: this.sentSeq, limit: MAX_EVENTS_PER_MESSAGE });
        msg.skipped = last - this.sentSeq - msg.events.length;
        this.sentSeq = last;
      }
      msg.series = bus.series(2);
      msg.totals = bus.totals();
    }
    const feed = this.o.scenario;
    if (feed && feed.version !== this.scenarioVersion) {
      this.scenarioVersion = feed.version;
      msg.scenario = feed.snapshot();
    }
    return msg;
  }

  tick(): void {
    if (this.clients.size === 0) return;
    const text = `event: tick\ndata: ${JSON.stringify(this.message())}\n\n`;
    for (const res of this.clients) {
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
