// The load balancer of the multi-host topology: the haproxy.cfg we generate, checked by HAProxy
// itself (`haproxy -c`, Debian haproxy 2.6), then run on loopback in front of stand-in replicas:
// per-request round robin in HTTP mode, a killed replica taken out by the health check with no
// failed request after, and a TLS-PSK session passing untouched through TCP mode.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, createServer as createTlsServer } from "node:tls";
import { request } from "undici";
import { afterAll, describe, expect, test } from "vitest";
import { Haproxy, type HaproxyOptions, haproxyConfig, type LbService } from "../scenarios/topology/haproxy.js";
import { freePort, LOOPBACK } from "./helpers/fault-procs.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "gba-haproxy-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("haproxy.cfg", () => {
  const services: LbService[] = [
    {
      name: "ub",
      mode: "http",
      bind: { host: "10.77.14.2", port: 8080 },
      servers: [
        { name: "bsf1", host: "10.77.3.2", port: 8080 },
        { name: "bsf2", host: "10.77.4.2", port: 8080 },
      ],
      check: { path: "/ready" },
    },
    {
      name: "ua_tls_psk",
      mode: "tcp",
      bind: { host: "10.77.14.2", port: 9443 },
      servers: [{ name: "naf1", host: "10.77.5.2", port: 9443 }],
    },
  ];

  test("one frontend and backend per service: HTTP mode balances requests, TCP mode connections", () => {
    const cfg = haproxyConfig(services, { statsSocket: "/run/x.sock" });
    expect(cfg).toContain("frontend ub\n    mode http\n    bind 10.77.14.2:8080\n    default_backend ub\n");
    expect(cfg).toContain(
      "backend ub\n    mode http\n    balance roundrobin\n    option httpchk\n    http-check send meth GET uri /ready\n    http-check expect rstatus ^2\n",
    );
    expect(cfg).toContain("    server bsf2 10.77.4.2:8080 check\n");
    expect(cfg).toContain("backend ua_tls_psk\n    mode tcp\n    balance leastconn\n    server naf1 10.77.5.2:9443 check\n");
    expect(cfg).toContain("    option redispatch\n");
    expect(cfg).toContain("    stats socket /run/x.sock mode 600 level admin\n");
  });

  test("names HAProxy cannot take, empty backends and duplicates are refused", () => {
    expect(() => haproxyConfig([{ ...services[0], name: "u b" }], { statsSocket: "/s" })).toThrow(/"u b" is not a HAProxy name/);
    expect(() => haproxyConfig([{ ...services[0], servers: [] }], { statsSocket: "/s" })).toThrow(/ub has no servers/);
    expect(() => haproxyConfig([services[0], services[0]], { statsSocket: "/s" })).toThrow(/ub appears twice/);
    expect(() => haproxyConfig([{ ...services[0], check: { path: "ready" } }], { statsSocket: "/s" })).toThrow(
      /must start with "\/"/,
    );
  });

  test("HAProxy refuses a broken config with its own words", async () => {
    const dir = tempDir();
    const err = await Haproxy.start([{ ...services[0], bind: { host: LOOPBACK, port: 0 }, check: { path: "/x", status: "(" } }], {
      dir,
    }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/haproxy refuses .*haproxy\.cfg/);
  });
});

/** A stand-in replica: answers every request (the health check's too) with 200 and its name. */
async function replica(name: string): Promise<{ server: Server; port: number }> {
  const port = await freePort();
  const server = createServer((_req, res) => {
    res.setHeader("content-type", "text/plain");
    res.end(name);
  });
  await new Promise<void>((r) => server.listen(port, LOOPBACK, r));
  return { server, port };
}

/** HAProxy on loopback in HTTP mode over the given replicas (name → port), health check GET /ready. */
async function httpLb(
  name: string,
  replicas: Record<string, number>,
  o: Partial<HaproxyOptions>,
): Promise<{ lb: Haproxy; port: number }> {
  const port = await freePort();
  const servers = Object.entries(replicas).map(([server, p]) => ({ name: server, host: LOOPBACK, port: p }));
  const lb = await Haproxy.start([{ name, mode: "http", bind: { host: LOOPBACK, port }, servers, check: { path: "/ready" } }], {
    ...o,
    dir: tempDir(),
  });
  return { lb, port };
}

describe("HAProxy on loopback in front of replicas", () => {
  test("HTTP mode: requests alternate between replicas; a killed replica goes DOWN and no request fails after", async () => {
    const a = await replica("bsf1");
    const b = await replica("bsf2");
    const { lb, port } = await httpLb("ub", { bsf1: a.port, bsf2: b.port }, { checkIntervalMs: 100, fall: 2, rise: 1 });
    try {
      await lb.waitFor("ub", "bsf1", "UP");
      await lb.waitFor("ub", "bsf2", "UP");
      const seen: string[] = [];
      for (let i = 0; i < 10; i++) seen.push(await (await request(`http://${LOOPBACK}:${port}/`)).body.text());
      expect(seen.filter((s) => s === "bsf1")).toHaveLength(5);
      expect(seen.filter((s) => s === "bsf2")).toHaveLength(5);

      a.server.closeAllConnections();
      await new Promise((r) => a.server.close(r));
      await lb.waitFor("ub", "bsf1", "DOWN");
      const after: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await request(`http://${LOOPBACK}:${port}/`);
        expect(r.statusCode).toBe(200);
        after.push(await r.body.text());
      }
      expect(new Set(after)).toEqual(new Set(["bsf2"]));
    } finally {
      await lb.stop();
      b.server.close();
    }
  });

  test("a connection refused before the health check notices is redispatched to another replica", async () => {
    const a = await replica("naf1");
    // checks too slow to have marked naf2 down during the requests
    const { lb, port } = await httpLb("ua_http", { naf1: a.port, naf2: await freePort() }, { checkIntervalMs: 60_000 });
    try {
      for (let i = 0; i < 6; i++) {
        const r = await request(`http://${LOOPBACK}:${port}/`);
        expect(r.statusCode).toBe(200);
        expect(await r.body.text()).toBe("naf1");
      }
    } finally {
      await lb.stop();
      a.server.close();
    }
  });

  test("TCP mode: a TLS-PSK handshake keyed by the replica's PSK goes through untouched", async () => {
    const psk = Buffer.from("0123456789abcdef0123456789abcdef", "hex");
    const identity = "3GPP-bootstrapping.I1U8vpY3qJ0hiuZNrke/NQ==@bsf.example";
    const backendPort = await freePort();
    const seenIdentity: string[] = [];
    const server = createTlsServer(
      {
        ciphers: "PSK-AES128-CBC-SHA256",
        maxVersion: "TLSv1.2",
        pskCallback: (_socket, id) => {
          seenIdentity.push(id);
          return id === identity ? psk : null;
        },
      },
      (s) => s.end("hello over TLS-PSK"),
    );
    await new Promise<void>((r) => server.listen(backendPort, LOOPBACK, r));
    const port = await freePort();
    const lb = await Haproxy.start(
      [
        {
          name: "ua_tls_psk",
          mode: "tcp",
          bind: { host: LOOPBACK, port },
          servers: [{ name: "naf1", host: LOOPBACK, port: backendPort }],
        },
      ],
      { dir: tempDir() },
    );
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const c = tlsConnect({
          host: LOOPBACK,
          port,
          ciphers: "PSK-AES128-CBC-SHA256",
          maxVersion: "TLSv1.2",
          checkServerIdentity: () => undefined,
          pskCallback: () => ({ psk, identity }),
        });
        let buf = "";
        c.setEncoding("utf8");
        c.on("data", (d) => {
          buf += d;
        });
        c.on("end", () => resolve(buf));
        c.on("error", reject);
      });
      expect(text).toBe("hello over TLS-PSK");
      expect(seenIdentity).toEqual([identity]);
    } finally {
      await lb.stop();
      server.close();
    }
  });
});
