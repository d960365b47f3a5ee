// Server bootstrap shared by every NF listener: limits, logging, ProblemDetails, listen → URL.
import Fastify, { type FastifyInstance, type FastifyPluginAsync, LogController } from "fastify";
import fp from "fastify-plugin";
import type { Capture, SocketDescriber } from "./capture/capture.js";
import { checkOverload, type ListenConfig, type OverloadConfig } from "./config.js";
import { type LogLevel, loggerOptions } from "./log.js";
import { overloadGuard } from "./overload.js";
import { installProblemHandlers } from "./problem.js";

export interface NfServerOptions {
  /** e.g. "hss-zh"; appears in every log line */
  name: string;
  logLevel: LogLevel;
  /** maximum request body in bytes (default 64 KiB) */
  bodyLimit?: number;
  /** render errors as application/problem+json (JSON reference points); default true */
  problemJson?: boolean;
  /** shed requests with 503 NF_CONGESTION when overloaded (nf/common/overload.ts); none when absent */
  overload?: OverloadConfig;
}

/** Limits that keep slow or hostile clients from holding resources (see README "Limits"). */
export const SERVER_LIMITS = {
  bodyLimit: 64 * 1024,
  maxHeaderSize: 16 * 1024,
  /** whole request must arrive within this time (slowloris) */
  requestTimeoutMs: 10_000,
  /** how often Node checks that timeout (its default, 30 s, lets a slow client stay 40 s) */
  timeoutCheckIntervalMs: 1_000,
  keepAliveTimeoutMs: 5_000,
  maxParamLength: 256,
} as const;

export function createNfServer(opts: NfServerOptions): FastifyInstance {
  const app = Fastify({
    logger: loggerOptions(opts.name, opts.logLevel),
    bodyLimit: opts.bodyLimit ?? SERVER_LIMITS.bodyLimit,
    requestTimeout: SERVER_LIMITS.requestTimeoutMs,
    keepAliveTimeout: SERVER_LIMITS.keepAliveTimeoutMs,
    routerOptions: { maxParamLength: SERVER_LIMITS.maxParamLength },
    http: { maxHeaderSize: SERVER_LIMITS.maxHeaderSize, connectionsCheckingInterval: SERVER_LIMITS.timeoutCheckIntervalMs },
    logController: new LogController({ disableRequestLogging: opts.logLevel !== "debug" && opts.logLevel !== "trace" }),
    return503OnClosing: false,
  });
  installReadiness(app);
  if (opts.problemJson !== false) installProblemHandlers(app);
  if (opts.overload) {
    checkOverload(opts.overload);
    app.register(overloadGuard, opts.overload);
  }
  return app;
}

/** `--pcap`: the listener's connections go into this capture, under this label ("BSF Ub"). */
export interface ListenerTap {
  capture?: Capture;
  label: string;
  /** the real addresses of sockets that are not plain TCP (TLS-PSK) */
  describe?: SocketDescriber;
}

/** The readiness path every NF listener serves (Kubernetes probes, HAProxy health checks). */
export const READY_PATH = "/ready";

/**
 * GET /ready, before any other hook of the listener (no authentication, no store, no peer):
 * 200 {"ready":true} once the listener accepts connections, 503 {"ready":false} from the moment
 * the NF starts to close, so a load balancer stops sending it requests.
 */
function installReadiness(app: FastifyInstance): void {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async (request, reply) => {
    if (request.url !== READY_PATH || (request.method !== "GET" && request.method !== "HEAD")) return;
    reply.header("cache-control", "no-store");
    await reply.code(closing ? 503 : 200).send({ ready: !closing });
  });
}

/** Listens and returns the base URL (http://host:port) with the port actually bound. */
export async function listen(app: FastifyInstance, l: ListenConfig, scheme = "http", tap?: ListenerTap): Promise<string> {
  if (tap?.capture) tap.capture.tapHttpServer(app.server, tap.label, tap.describe);
  await app.listen({ host: l.host, port: l.port });
  const addr = app.server.address();
  if (addr === null || typeof addr === "string") throw new Error("server has no TCP address");
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return `${scheme}://${host}:${addr.port}`;
}

/**
 * The one way an NF mounts an interface's HTTP binding (routes/<interface>.ts): a Fastify plugin,
 * registered with `await app.register(routes, options)` on the interface's listener. As
 * @fastify/basic-auth does, it is wrapped with fastify-plugin, so its hooks, decorators and
 * validator compiler apply to the whole listener (the listener's 404s included).
 */
export function defineRoutes<O extends object>(name: string, plugin: FastifyPluginAsync<O>): FastifyPluginAsync<O> {
  return fp(plugin, { name, fastify: "5.x" });
}
