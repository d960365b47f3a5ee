// A user-space TCP proxy that adds a fixed one-way delay in both directions (netem is not
// available everywhere). Order is kept: every chunk waits the same time. As a program it takes
// `--delay MS LISTEN_HOST:PORT=TARGET_HOST:PORT ...` and prints one JSON ready line.
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

export interface Route {
  listen: { host: string; port: number };
  target: { host: string; port: number };
}

function pipeDelayed(from: Socket, to: Socket, delayMs: number): void {
  from.on("data", (chunk) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  from.on("end", () => setTimeout(() => to.end(), delayMs));
  from.on("error", () => to.destroy());
  from.on("close", () => setTimeout(() => to.destroy(), delayMs + 1));
}

export interface DelayProxy {
  server: Server;
  port: number;
  /** stops listening and cuts every connection (kept-alive ones would hold close() forever) */
  close(): Promise<void>;
}

export function startDelayProxy(route: Route, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };
  const server = createServer((client) => {
    client.pause();
    const upstream = connect(route.target.port, route.target.host, () => client.resume());
    track(client);
    track(upstream);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    pipeDelayed(client, upstream, delayMs);
    pipeDelayed(upstream, client, delayMs);
  });
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(route.listen.port, route.listen.host, () =>
      resolve({ server, port: (server.address() as AddressInfo).port, close }),
    );
  });
}

/**
 * Puts a delaying proxy on 127.0.0.1 (ephemeral port) in front of each URL of an NF; returns the
 * URLs to use instead (same scheme and path) and how to close the proxies.
 */
export async function delayFront(
  urls: Record<string, string>,
  delayMs: number,
): Promise<{ urls: Record<string, string>; close: () => Promise<void> }> {
  const proxies: DelayProxy[] = [];
  const out: Record<string, string> = {};
  for (const [name, url] of Object.entries(urls)) {
    const u = new URL(url);
    const p = await startDelayProxy(
      { listen: { host: "127.0.0.1", port: 0 }, target: { host: u.hostname, port: Number(u.port) } },
      delayMs,
    );
    proxies.push(p);
    u.port = String(p.port);
    out[name] = u.toString().replace(/\/$/, "");
  }
  return { urls: out, close: async () => void (await Promise.all(proxies.map((p) => p.close()))) };
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(":");
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not HOST:PORT: ${s}`);
  return { host: s.slice(0, i), port };
}

function parseRoute(s: string): Route {
  const [l, t] = s.split("=");
  if (t === undefined) throw new Error(`not LISTEN=TARGET: ${s}`);
  return { listen: hostPort(l), target: hostPort(t) };
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] !== "--delay" || argv.length < 3)
    throw new Error("usage: delay-proxy.js --delay MS LISTEN_HOST:PORT=TARGET_HOST:PORT ...");
  const delay = Number(argv[1]);
  if (!Number.isFinite(delay) || delay < 0) throw new Error(`--delay: not a number of ms: ${argv[1]}`);
  await Promise.all(argv.slice(2).map((r) => startDelayProxy(parseRoute(r), delay)));
  process.stdout.write(`${JSON.stringify({ ready: true, routes: argv.length - 2, delayMs: delay })}\n`);
  const stop = () => process.exit(0);
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`delay-proxy: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
