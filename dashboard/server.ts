// The test-bed dashboard (issue 21): a web page on its own listener that shows what the NFs do
// (live counts and the latest events from the in-process event bus, a ladder per B-TID or IMPI),
// provisions through the HSS admin API, lists the ECA's certificates and follows a scenario run.
// Not an NF: it reads nf/common/events.ts and talks to the NFs over their HTTP endpoints only.
// The page is plain ES modules from dashboard/public/ and uPlot from its package (no CDN, no
// build step); live updates arrive over Server-Sent Events (dashboard/stream.ts).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import type { ListenConfig } from "../nf/common/config.js";
import { type EventBus, HISTORY_SECONDS } from "../nf/common/events.js";
import type { LogLevel } from "../nf/common/log.js";
import { ProblemError } from "../nf/common/problem.js";
import { createNfServer, listen } from "../nf/common/server.js";
import { installAccessGuard } from "./auth.js";
import { dashboardConfigSection } from "./config.js";
import type { ScenarioFeed } from "./scenario-feed.js";
import { LiveStream } from "./stream.js";
import { registerUpstreamRoutes, type UpstreamOptions } from "./upstream.js";

export interface DashboardOptions extends UpstreamOptions {
  listen: ListenConfig;
  /** required when listen.host is not a loopback address */
  token?: string;
  /** the in-process event bus of `gba up`; absent for `gba dashboard` against separate NFs */
  events?: EventBus;
  scenario?: ScenarioFeed;
  logLevel: LogLevel;
  /** what the page's header says this dashboard watches, e.g. "gba up" */
  title?: string;
}

export interface RunningDashboard {
  url: string;
  stream: LiveStream;
  close(): Promise<void>;
}

/** dashboard/public next to this file (sources under vitest) or two levels up from dist/dashboard/. */
function publicDir(): string {
  for (const rel of ["./public/", "../../dashboard/public/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error("dashboard/public/index.html is missing from this installation");
}

function uplotDir(): string {
  return dirname(createRequire(import.meta.url).resolve("uplot"));
}

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function positiveInt(v: unknown, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ProblemError(400, "MANDATORY_IE_INCORRECT", `expected a whole number 1..${max}, got "${String(v).slice(0, 20)}"`);
  }
  return n;
}

function registerApi(app: FastifyInstance, o: DashboardOptions, stream: LiveStream): void {
  const bus = o.events;
  app.get("/api/info", async () => ({
    title: o.title ?? "gba-emu",
    events: bus !== undefined,
    hssAdmin: o.hssAdmin?.url ?? null,
    eca: o.eca?.url ?? null,
    scenario: o.scenario !== undefined,
    historySeconds: HISTORY_SECONDS,
  }));

  const noBus = () =>
    new ProblemError(
      404,
      "NO_EVENT_BUS",
      "this dashboard watches NFs in other processes: live events and ladders need `gba up --dashboard` (the NFs in its process)",
    );

  app.get<{ Querystring: { btid?: string; impi?: string; limit?: string } }>("/api/events", async (req) => {
    if (!bus) throw noBus();
    const { btid, impi } = req.query;
    const limit = positiveInt(req.query.limit, 200, 2000);
    return { lastSeq: bus.lastSeq, events: bus.query({ btid: btid || undefined, impi: impi || undefined, limit }) };
  });

  app.get<{ Querystring: { seconds?: string } }>("/api/series", async (req) => {
    if (!bus) throw noBus();
    return { series: bus.series(positiveInt(req.query.seconds, 300, HISTORY_SECONDS)), totals: bus.totals() };
  });

  app.get("/api/stream", (req, reply) => {
    reply.hijack();
    stream.attach(reply.raw);
    req.log.debug({ pages: stream.connected }, "dashboard page connected");
  });

  app.get("/api/scenario", async () => {
    if (!o.scenario)
      throw new ProblemError(404, "NO_SCENARIO", "no scenario run: start one with `gba scenario run FILE --dashboard`");
    return { snapshot: o.scenario.snapshot(), reportHtml: o.scenario.reportHtml() ?? null };
  });
}

export async function startDashboard(o: DashboardOptions): Promise<RunningDashboard> {
  dashboardConfigSection.check({ listen: o.listen, token: o.token });
  const app = createNfServer({ name: "dashboard", logLevel: o.logLevel });
  const stopRecording = o.events?.record();
  const stream = new LiveStream({ bus: o.events, scenario: o.scenario });
  try {
    installAccessGuard(app, { token: o.token });
    app.addHook("onSend", async (_req, reply) => {
      reply.headers(SECURITY_HEADERS);
    });
    app.addHook("preClose", async () => stream.close());
    await app.register(fastifyStatic, { root: publicDir(), prefix: "/", index: "index.html", cacheControl: false });
    await app.register(fastifyStatic, { root: uplotDir(), prefix: "/vendor/uplot/", decorateReply: false, cacheControl: false });
    registerApi(app, o, stream);
    registerUpstreamRoutes(app, o);
    const url = await listen(app, o.listen);
    return {
      url,
      stream,
      async close() {
        stream.close();
        stopRecording?.();
        await app.close();
      },
    };
  } catch (err) {
    stream.close();
    stopRecording?.();
    await app.close().catch(() => {});
    throw err;
  }
}
