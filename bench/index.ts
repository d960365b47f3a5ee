// The benchmarks of `gba bench`, each loaded when it runs.
import type { BenchOptions } from "./lib/options.js";
import type { BenchResult } from "./lib/result.js";

export interface Bench {
  summary: string;
  /** takes --target (an external node) */
  external: boolean;
  run(o: BenchOptions): Promise<BenchResult>;
}

export const BENCHES: Record<string, Bench> = {
  ub: {
    summary: "Ub bootstraps/s (2 Ub + 1 Zh) vs the stub-chain floors (same exchanges, no crypto, no storage)",
    external: true,
    run: async (o) => (await import("./ub.js")).benchUb(o),
  },
  zn: {
    summary: "Zn key lookups/s vs a bare Fastify JSON route; --binding diameter: vs a bare Diameter echo",
    external: true,
    run: async (o) =>
      o.binding === "diameter" ? (await import("./zn-diameter.js")).benchZnDiameter(o) : (await import("./zn.js")).benchZn(o),
  },
  ua: {
    summary: "Digest requests/s through the NAF proxy vs a bare @fastify/http-proxy",
    external: true,
    run: async (o) => (await import("./ua.js")).benchUa(o),
  },
  "tls-psk": {
    summary: "TLS-PSK handshakes/s (TLS 1.2 and 1.3) vs node:tls with a fixed PSK",
    external: true,
    run: async (o) => (await import("./tls-psk.js")).benchTlsPsk(o),
  },
  enrol: {
    summary: "IoT.04 enrolments/s (Digest + CSR → certificate) vs the ECA routes behind a stub authentication",
    external: true,
    run: async (o) => (await import("./enrol.js")).benchEnrol(o),
  },
  flow: {
    summary:
      "IoT.04 flows/s (bootstrap, key, CSR, Ua enrolment, check) on HSS+BSF+ECA vs the stub-chain floor, same load generator",
    external: false,
    run: async (o) => (await import("./flow.js")).benchFlow(o),
  },
  dashboard: {
    summary: "Ub bootstraps/s of gba up with the dashboard open and live vs without it (target ≥ 0.95)",
    external: false,
    run: async (o) => (await import("./dashboard.js")).benchDashboard(o),
  },
  x509: {
    summary: "IoT.04 X.509 steps (keygen, CSR, CSR check, issue, verify): lean path vs @peculiar/x509",
    external: false,
    run: async (o) => (await import("./x509.js")).benchX509(o),
  },
  milenage: {
    summary: "MILENAGE AV/s vs the raw AES-128 blocks an AV needs",
    external: false,
    run: async (o) => (await import("./milenage.js")).benchMilenage(o),
  },
  hss: {
    summary: "HSS Zh AV/s vs a bare JSON route; AV p99 with a large vs a small subscriber store",
    external: false,
    run: async (o) => (await import("./hss.js")).benchHss(o),
  },
  sessions: {
    summary: "BSF RSS and LMDB size per 100,000 live bootstrap sessions",
    external: false,
    run: async (o) => (await import("./sessions.js")).benchSessions(o),
  },
};
