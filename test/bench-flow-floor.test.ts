// The IoT.04 flow floor (bench/flow.ts): the stub chain (stub HSS, stub BSF answering Zh and Zn,
// stub ECA over HTTP Digest and TLS-PSK) and the stub devices make the flow's exchanges and
// every one succeeds: two Ub requests, then a 401 challenge and a POST with credentials on a
// Digest device's first enrolment (one POST after that, as UaClient keeps the nonce), or a
// TLS 1.2 PSK handshake and a POST inside it, each enrolment one Zn exchange at the stub BSF.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stubBsf, stubEca, stubHss } from "../bench/lib/stub-chain.js";
import { STUB_BSF_REALM, STUB_ECA_FQDN, StubFlowDevice } from "../bench/lib/stub-flow-ue.js";
import type { Endpoints } from "../scenarios/engine/events.js";
import type { PlannedDevice } from "../scenarios/plan.js";

const stops: Array<() => Promise<unknown>> = [];
let endpoints: Endpoints;

function start(run: (ready: (info: Record<string, unknown>, stop: () => Promise<unknown>) => void) => Promise<void>) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    run((info, stop) => {
      stops.push(stop);
      resolve(info);
    }).catch(reject);
  });
}

beforeAll(async () => {
  const hss = await start((r) => stubHss(r));
  const bsf = await start((r) => stubBsf(hss.url as string, 2, 1, r));
  const eca = await start((r) => stubEca(bsf.url as string, r));
  endpoints = {
    bsfUb: bsf.url as string,
    bsfFqdn: STUB_BSF_REALM,
    ecaHttp: eca.url as string,
    ecaTlsPsk: eca.tlsPsk as string,
    ecaFqdn: STUB_ECA_FQDN,
    nafHttp: eca.url as string,
    nafTlsPsk: eca.tlsPsk as string,
    nafFqdn: STUB_ECA_FQDN,
  };
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

function device(tunnel: "digest" | "tls-psk"): PlannedDevice {
  return {
    obu: `OBU-${tunnel}`,
    vehicle: "VIN-0001",
    group: tunnel,
    uicc: "GBA_ME",
    tunnel,
    imsi: "001010000000001",
    mncLength: 2,
    impi: "001010000000001@ims.mnc001.mcc001.3gppnetwork.org",
    msisdn: "4915100000001",
    flow: ["bootstrap", "keygen", "csr", "enrol", "verify"],
    expect: { outcome: "success" },
    clockLagMs: 0,
    load: true,
  };
}

describe("the stub chain of the IoT.04 flow floor", () => {
  for (const tunnel of ["digest", "tls-psk"] as const) {
    it(`runs the whole flow over ${tunnel}, twice, every step ok`, async () => {
      const d = device(tunnel);
      const dev = new StubFlowDevice(d, endpoints);
      for (let i = 0; i < 2; i++) {
        const steps: string[] = [];
        const r = await dev.runFlow(d.flow, "load", performance.now(), (s) => steps.push(`${s.step} ${s.ok}`));
        expect(r.failure).toBeUndefined();
        expect(r.outcome).toBe("success");
        expect(steps).toEqual(["bootstrap true", "keygen true", "csr true", "enrol true", "verify true"]);
      }
    });
  }

  it("the stub ECA challenges a Digest POST without credentials, as the ECA does", async () => {
    const res = await fetch(`${endpoints.ecaHttp}/enrol`, {
      method: "POST",
      headers: { "content-type": "application/x-pkcs10" },
      body: "MIIB",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Digest realm="3GPP-bootstrapping@eca\.vehicleman\.example"/);
  });

  it("a flow whose enrolment is refused fails with the status as its cause", async () => {
    const d = device("digest");
    const r = await new StubFlowDevice(d, { ...endpoints, ecaHttp: endpoints.bsfUb }).runFlow(d.flow, "load", 0, () => {});
    expect(r.outcome).toBe("failed");
    expect(r.failure).toMatchObject({ step: "enrol", cause: "HTTP_404" });
  });
});
