// Issue 18: the SERVER_AUTH_FAILED and HANDSHAKE_FAILED seen at 400 enrolments/s. Reproduced
// with our own HSS, BSF and ECA in this process and the scenario's OBU runtime, with the ECA's
// Zn path to the BSF slowed beyond the NAF's Zn timeout (2 s), as a BSF drowning in bootstraps
// makes it: the ECA answers a Digest enrolment 503 FST_GBA_BSF_UNAVAILABLE without
// authenticating it (so without Authentication-Info), and refuses a TLS-PSK handshake with an
// internal_error alert. Both are overload with a declared cause, not failed authentication:
// the OBU must report them as such, and keep SERVER_AUTH_FAILED for an answer that should carry
// rspauth (a 2xx or 4xx of an authenticated request) and does not.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConfig, type GbaConfig, withEphemeralPorts } from "../nf/config.js";
import { closeAll, type RunningNf } from "../nf/common/nf.js";
import { startBsf } from "../nf/bsf/index.js";
import { startEca } from "../nf/eca/index.js";
import { startHss } from "../nf/hss/index.js";
import { DeviceRuntime, fetchEcaRoot } from "../scenarios/engine/device.js";
import type { Endpoints, FlowResult } from "../scenarios/engine/events.js";
import { parseScenario } from "../scenarios/load.js";
import { buildPlan, type Plan } from "../scenarios/plan.js";
import { provisionEca, provisionHss } from "../scenarios/provision.js";
import { delayFront } from "../scenarios/topology/delay-proxy.js";
import { wiredConfig } from "../scenarios/topology/process.js";
import { writeUsims } from "../scenarios/usims.js";

const SCENARIO = `
name: overload-causes
deviceCount: 8
flow: [bootstrap, keygen, csr, enrol, verify]
devices:
  - { name: digest, uicc: GBA_ME, tunnel: digest }
  - { name: tls-psk, uicc: GBA_ME, tunnel: tls-psk }
`;

/** one way; a Zn round trip then takes 3 s, beyond the NAF's 2 s Zn timeout */
const ZN_DELAY_MS = 1500;

let dir: string;
let plan: Plan;
let endpoints: Endpoints;
/** the same, with an ECA that sheds beyond one request in flight (overload.maxInFlight 1) */
let shedding: Endpoints;
const nfs: RunningNf[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "overload-causes-"));
  plan = buildPlan(parseScenario(SCENARIO, join(dir, "s.yaml")));
  const cfg: GbaConfig = withEphemeralPorts(defaultConfig());
  cfg.data = join(dir, "data");
  cfg.logLevel = "silent";
  cfg.bsf.fqdn = plan.bsfFqdn;
  await writeUsims(join(dir, "usim"), plan.devices, plan.subscribers, { indBits: cfg.hss.indBits, autnStar: cfg.gbaU.autnStar });
  await provisionHss(cfg, plan.subscribers);
  await provisionEca(cfg, plan.bindings);
  const hss = await startHss(wiredConfig(cfg, "hss", {}));
  nfs.push(hss);
  const bsf = await startBsf(wiredConfig(cfg, "bsf", { hss: hss.urls }));
  nfs.push(bsf);
  // the ECA reaches Zn through a slow path; the OBU reaches Ub directly
  const slow = await delayFront({ zn: bsf.urls.zn }, ZN_DELAY_MS);
  closers.push(async () => slow.close());
  const eca = await startEca(wiredConfig(cfg, "eca", { bsf: { ...bsf.urls, zn: slow.urls.zn } }));
  nfs.push(eca);
  endpoints = ecaEndpoints(cfg, bsf.urls.ub, eca.urls);
  const small: GbaConfig = structuredClone(cfg);
  small.data = join(dir, "data-shedding");
  small.overload.maxInFlight = 1;
  await provisionEca(small, plan.bindings);
  const sheddingEca = await startEca(wiredConfig(small, "eca", { bsf: { ...bsf.urls, zn: slow.urls.zn } }));
  nfs.push(sheddingEca);
  shedding = ecaEndpoints(cfg, bsf.urls.ub, sheddingEca.urls);
}, 60_000);

function ecaEndpoints(cfg: GbaConfig, bsfUb: string, eca: Record<string, string>): Endpoints {
  return {
    bsfUb,
    bsfFqdn: cfg.bsf.fqdn,
    nafHttp: eca.url,
    nafTlsPsk: eca.tlsPsk,
    nafFqdn: cfg.eca.fqdn,
    ecaHttp: eca.url,
    ecaTlsPsk: eca.tlsPsk,
    ecaFqdn: cfg.eca.fqdn,
  };
}

afterAll(async () => {
  await closeAll(nfs.splice(0).reverse());
  for (const c of closers) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** Every planned OBU of a tunnel runs its flow, all at once (the load a drowning BSF sees). */
async function flows(tunnel: "digest" | "tls-psk", to: Endpoints = endpoints): Promise<FlowResult[]> {
  const devices = plan.devices.filter((d) => d.tunnel === tunnel);
  const runtimes = await Promise.all(devices.map((d) => DeviceRuntime.open(d, to, join(dir, "usim", `${d.obu}.json`))));
  try {
    const t0 = performance.now();
    return await Promise.all(runtimes.map((rt) => rt.runFlow(rt.d.flow, "load", t0, () => undefined)));
  } finally {
    await Promise.all(runtimes.map((r) => r.close()));
  }
}

describe("enrolments while the BSF cannot answer Zn in time", () => {
  it("Digest: the ECA's 503 reaches the report as FST_GBA_BSF_UNAVAILABLE (503), not SERVER_AUTH_FAILED", async () => {
    const results = await flows("digest");
    expect(results.length).toBeGreaterThan(1);
    for (const r of results) {
      expect(r.outcome).toBe("failed");
      expect(r.failure).toMatchObject({ step: "enrol", status: 503, cause: "FST_GBA_BSF_UNAVAILABLE" });
    }
  }, 60_000);

  it("TLS-PSK: the NAF's internal_error alert is reported as the NAF's refusal, not HANDSHAKE_FAILED", async () => {
    const results = await flows("tls-psk");
    expect(results.length).toBeGreaterThan(1);
    for (const r of results) {
      expect(r.outcome).toBe("failed");
      expect(r.failure?.step).toBe("enrol");
      expect(r.failure?.cause).toBe("NAF_INTERNAL_ERROR");
      expect(r.failure?.message).toMatch(/internal error/i);
    }
  }, 60_000);
});

describe("enrolments at an ECA that sheds load (overload.maxInFlight)", () => {
  it("the requests beyond the bound are answered 503 NF_CONGESTION at once and reported with that cause", async () => {
    const results = await flows("digest", shedding);
    expect(results.length).toBeGreaterThan(1);
    for (const r of results) {
      expect(r.outcome).toBe("failed");
      expect(r.failure).toMatchObject({ step: "enrol", status: 503 });
      // the one admitted waits for Zn beyond its timeout; the others are shed, none is unauthenticated SERVER_AUTH_FAILED
      expect(["NF_CONGESTION", "FST_GBA_BSF_UNAVAILABLE"]).toContain(r.failure?.cause);
    }
    expect(results.filter((r) => r.failure?.cause === "NF_CONGESTION").length).toBeGreaterThan(0);
  }, 60_000);
});

describe("the ECA root (GET /ca.pem) from a shedding ECA", () => {
  it("fails the verify step with the answer's cause, NF_CONGESTION, not a bare HTTP status", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(503, { "content-type": "application/problem+json", "retry-after": "1" });
      res.end(JSON.stringify({ status: 503, cause: "NF_CONGESTION", title: "Service Unavailable" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(fetchEcaRoot(url)).rejects.toMatchObject({ cause_: "NF_CONGESTION", status: 503 });
    } finally {
      server.close();
    }
  });
});
