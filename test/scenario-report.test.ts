// How the runner judges each OBU against its expectation, records a flow for the Mermaid
// diagram without key material, shows progress without a terminal, and renders its report.
import { describe, expect, it } from "vitest";
import { renderMermaid } from "../scenarios/diagram.js";
import { DiagramRecorder } from "../scenarios/engine/diagram-recorder.js";
import type { FlowResult } from "../scenarios/engine/events.js";
import type { PlannedDevice } from "../scenarios/plan.js";
import { Progress } from "../scenarios/progress.js";
import type { Report } from "../scenarios/report.js";
import { renderReportFile } from "../scenarios/report-doc.js";
import { Results } from "../scenarios/results.js";
import {
  type AssertionResult,
  assertionsHold,
  checkAssertions,
  judgeDevice,
  type LoadFigures,
  timingAdvisory,
} from "../scenarios/verdict.js";

function device(expect: PlannedDevice["expect"]): PlannedDevice {
  return {
    obu: "OBU-0001",
    vehicle: "VIN-0001",
    group: "g",
    uicc: "GBA_ME",
    tunnel: "digest",
    imsi: "001010000000001",
    mncLength: 2,
    impi: "001010000000001@ims.mnc001.mcc001.3gppnetwork.org",
    msisdn: "4915100000001",
    flow: ["bootstrap", "keygen", "csr", "enrol", "verify"],
    expect,
    clockLagMs: 0,
    load: false,
  };
}

function flow(p: Partial<FlowResult>): FlowResult {
  return {
    obu: "OBU-0001",
    phase: "functional",
    outcome: "success",
    steps: [],
    ms: 10,
    bootstraps: 1,
    rebootstraps: 0,
    resyncs: 0,
    startedAt: 0,
    endedAt: 10,
    ...p,
  };
}

const denied = (status: number, cause: string) =>
  flow({ outcome: "denied", failure: { step: "enrol", status, cause, message: `POST /enrol answered ${status}` } });

describe("judging an OBU against its expectation", () => {
  it("success expected", () => {
    expect(judgeDevice(device({ outcome: "success" }), flow({}))).toEqual({
      asDesigned: true,
      outcome: "enrolled",
      why: undefined,
    });
    const j = judgeDevice(device({ outcome: "success" }), denied(403, "MSISDN_MISMATCH"));
    expect(j).toMatchObject({ asDesigned: false, outcome: "refused 403 MSISDN_MISMATCH", why: "expected success" });
    expect(judgeDevice(device({ outcome: "success" }), undefined)).toMatchObject({ asDesigned: false, outcome: "did not run" });
  });

  it("a refusal expected: outcome, status and cause must all match", () => {
    const e = { outcome: "denied" as const, status: 403, reason: "MSISDN_MISMATCH" };
    expect(judgeDevice(device(e), denied(403, "MSISDN_MISMATCH")).asDesigned).toBe(true);
    expect(judgeDevice(device(e), denied(403, "OBU_UNKNOWN")).why).toBe("expected cause MSISDN_MISMATCH");
    expect(judgeDevice(device(e), denied(401, "MSISDN_MISMATCH")).why).toBe("expected status 403");
    expect(judgeDevice(device(e), flow({})).why).toBe("expected a refusal");
    const crashed = flow({
      outcome: "failed",
      failure: { step: "enrol", cause: "ECONNREFUSED", message: "connect ECONNREFUSED" },
    });
    expect(judgeDevice(device(e), crashed)).toMatchObject({ asDesigned: false, outcome: "failed at enrol: ECONNREFUSED" });
  });

  it("a re-bootstrap or a resync expected must have happened", () => {
    const again = device({ outcome: "success", rebootstrap: true });
    expect(judgeDevice(again, flow({ bootstraps: 2, rebootstraps: 1 }))).toMatchObject({
      asDesigned: true,
      outcome: "enrolled after re-bootstrap",
    });
    expect(judgeDevice(again, flow({})).why).toBe("expected a re-bootstrap after the NAF refused the B-TID");
    const resync = device({ outcome: "success", resync: true });
    expect(judgeDevice(resync, flow({ resyncs: 1 }))).toMatchObject({ asDesigned: true, outcome: "enrolled after resync" });
    expect(judgeDevice(resync, flow({})).asDesigned).toBe(false);
    expect(judgeDevice(device({ outcome: "success", resync: false }), flow({ resyncs: 1 })).why).toBe(
      "expected no resynchronisation",
    );
  });
});

describe("--timing-advisory: timing assertions reported, not enforced", () => {
  const checked: AssertionResult[] = [
    { name: "devices as designed", ok: true, detail: "" },
    { name: "minimum rate", ok: false, detail: "", timing: true },
    { name: "enrol p95 (load)", ok: true, detail: "", timing: true },
  ];

  it("a missed timing bound fails the run unless advisory", () => {
    expect(assertionsHold(checked)).toBe(false);
    const advisory = timingAdvisory(checked);
    expect(advisory.map((a) => a.advisory)).toEqual([undefined, true, true]);
    expect(advisory.map((a) => a.ok)).toEqual([true, false, true]);
    expect(assertionsHold(advisory)).toBe(true);
  });

  it("any other failed assertion still fails an advisory run", () => {
    const broken = timingAdvisory([{ ...checked[0], ok: false }, ...checked.slice(1)]);
    expect(assertionsHold(broken)).toBe(false);
  });
});

describe("sequence diagram", () => {
  const origins = [
    { origin: "http://127.0.0.1:8080", nf: "BSF" as const },
    { origin: "http://127.0.0.1:9090", nf: "ECA" as const },
  ];
  const ks = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

  it("records Ub, AKA and Ua without key values, and infers Zh and Zn", () => {
    const r = new DiagramRecorder(origins);
    r.value("IMPI", "001010000000001@ims.mnc001.mcc001.3gppnetwork.org");
    r.value("mode", "GBA_ME");
    r.step("bootstrap");
    r.message({
      iface: "Ub",
      direction: "request",
      url: "http://127.0.0.1:8080/",
      startLine: "GET / HTTP/1.1",
      headers: [["authorization", 'Digest username="x", realm="bsf", nonce="", uri="/", response=""']],
    });
    r.message({
      iface: "Ub",
      direction: "response",
      url: "http://127.0.0.1:8080/",
      startLine: "HTTP/1.1 401 Unauthorized",
      headers: [["www-authenticate", 'Digest realm="bsf", nonce="abc", algorithm=AKAv1-MD5, qop="auth-int"']],
    });
    r.value("RAND", "0123");
    r.value("AUTN", "4567");
    r.value("RES", new Uint8Array(8).fill(0xab), "key");
    r.value("CK", ks.slice(0, 32), "key");
    r.value("Ks", ks, "key");
    r.value("password", "c2VjcmV0", "key");
    r.step("enrol");
    r.message({
      iface: "Ua",
      direction: "request",
      url: "http://127.0.0.1:9090/enrol",
      startLine: "POST /enrol HTTP/1.1",
      headers: [
        [
          "authorization",
          `Digest username="btid@bsf", realm="3GPP-bootstrapping@eca", response="${ks.slice(0, 32)}", qop=auth-int`,
        ],
      ],
    });
    r.message({
      iface: "Ua",
      direction: "response",
      url: "http://127.0.0.1:9090/enrol",
      startLine: "HTTP/1.1 200 OK",
      headers: [],
    });
    r.annotate("PKCS#10 request; CN=OBU-0001 <P-256>");
    const m = renderMermaid("OBU-0001", r.items);

    expect(m.split("\n").slice(0, 3)).toEqual([
      "sequenceDiagram",
      "  title OBU OBU-0001: GBA bootstrapping and IoT.04 enrolment",
      "  autonumber",
    ]);
    expect(m).toContain(
      "  participant USIM as USIM\n  participant UE as UE (device middleware)\n  participant BSF as BSF\n  participant HSS as HSS\n  participant ECA as ECA (NAF)\n",
    );
    expect(m).toContain(
      "  Note over USIM,ECA: step bootstrap\n  UE->>BSF: GET / Authorization: Digest username=IMPI (TS 24.109 A.3)\n  BSF->>HSS: Zh generate-auth-data, GUSS\n",
    );
    expect(m).toContain("  UE->>USIM: AUTHENTICATE (3G context) RAND, AUTN\n  USIM-->>UE: RES, CK, IK\n");
    expect(m).toContain(
      "  UE->>ECA: POST /enrol Authorization: Digest username=B-TID, qop=auth-int\n  ECA->>BSF: Zn bootstrapping-info-retrieval (B-TID, NAF_Id)\n",
    );
    expect(m).toContain("  ECA-->>UE: 200 OK\n");
    // Mermaid entity codes for # and ;, no raw < >
    expect(m).toContain("  Note over UE: PKCS#35;10 request#59; CN=OBU-0001 (P-256)\n");
    for (const secret of [ks, ks.slice(0, 32), "abababab", "c2VjcmV0"]) expect(m.toLowerCase()).not.toContain(secret);
  });

  it("a Zn exchange is drawn once per B-TID and NAF (the NAF caches the key)", () => {
    const r = new DiagramRecorder(origins);
    for (let i = 0; i < 2; i++) {
      r.message({
        iface: "Ua",
        direction: "request",
        url: "http://127.0.0.1:9090/x",
        startLine: "GET /x HTTP/1.1",
        headers: [["authorization", 'Digest username="b1@bsf", qop=auth']],
      });
    }
    expect(renderMermaid("o", r.items).match(/Zn bootstrapping-info-retrieval/g)).toHaveLength(1);
  });
});

describe("declared overload causes (assertions.declaredCausesOnly)", () => {
  const failed = (step: string, cause: string, status?: number) =>
    flow({ phase: "load", outcome: "failed", failure: { step, cause, status, message: cause } });
  const judge = (flows: FlowResult[]) => {
    const results = new Results();
    for (const f of flows) results.add({ t: "flow", result: f });
    const load = { ok: 1, failed: flows.length - 1, unfinished: 0, notStarted: 0, shed: 7, inFlightBound: 50 } as LoadFigures;
    const scenario = { name: "s", flow: [], devices: [], assertions: { loadSuccessRatio: 0, declaredCausesOnly: true } };
    return checkAssertions(scenario, [], results, load).find((a) => a.name === "declared causes");
  };

  it("holds when every failure is shed by an NF, a Zn timeout at the ECA or a timeout", () => {
    const a = judge([
      flow({ phase: "load" }),
      failed("bootstrap", "BSF_UNAVAILABLE"),
      failed("enrol", "NF_CONGESTION", 503),
      failed("enrol", "FST_GBA_BSF_UNAVAILABLE", 503),
      failed("enrol", "NAF_INTERNAL_ERROR"),
      failed("verify", "FLOW_TIMEOUT"),
    ]);
    expect(a).toMatchObject({
      ok: true,
      detail: "all 5 failed load flows carry a declared overload cause, 7 arrivals shed at the in-flight bound",
    });
  });

  it("fails naming each other cause with its count: resets, authentication failures", () => {
    const a = judge([
      failed("enrol", "NF_CONGESTION", 503),
      failed("enrol", "ECONNRESET"),
      failed("enrol", "ECONNRESET"),
      failed("enrol", "SERVER_AUTH_FAILED"),
    ]);
    expect(a?.ok).toBe(false);
    expect(a?.detail).toBe("load failures without a declared overload cause: enrol: ECONNRESET ×2, enrol: SERVER_AUTH_FAILED ×1");
  });
});

describe("progress without a terminal", () => {
  it("prints a line per interval with per-step counts, then the load bar", () => {
    const lines: string[] = [];
    const results = new Results();
    const p = new Progress(results, { write: (s) => lines.push(s), tty: false, loadSeconds: 4 });
    p.tick();
    expect(lines).toEqual([]);
    results.add({ t: "phase", phase: "functional", state: "start", devices: 2 });
    results.add({ t: "step", phase: "functional", obu: "OBU-0001", step: "bootstrap", ms: 5, ok: true });
    results.add({ t: "flow", result: flow({}) });
    p.tick();
    p.tick();
    expect(lines).toEqual(["functional 1/2 OBUs │ bootstrap 1 │ ok 1 refused 0 failed 0\n"]);
    results.add({ t: "phase", phase: "load", state: "start", devices: 4 });
    results.add({ t: "flow", result: flow({ phase: "load" }) });
    p.tick();
    expect(lines[1]).toMatch(/^load \[░{24}\] +0% 0\.\d\/4\.0 s │ flows 1 ok 1 failed 0 │ 0\.0 enrol\/s\n$/);
  });
});

describe("the report as Markdown and HTML (--report FILE.md / FILE.html)", () => {
  const step = { count: 10, ok: 9, failed: 1, p50: 12, p90: 20, p95: 25, p99: 30, max: 31, mean: 14 };
  const report: Report = {
    scenario: "demo",
    file: "demo.yaml",
    backend: "process",
    startedAt: "2030-01-01T00:00:00.000Z",
    wallMs: 12_345,
    ok: false,
    devices: [],
    functional: { wallMs: 1000, steps: { bootstrap: step }, errors: {} },
    load: {
      driver: "scheduler",
      mode: "rate",
      targetRate: 100,
      poisson: false,
      rampSeconds: 0,
      arrivals: 500,
      started: 400,
      ok: 390,
      failed: 10,
      notStarted: 0,
      unfinished: 0,
      durationS: 5,
      steadyWindowS: 5,
      offeredRate: 100,
      achievedRate: 78,
      shedRate: 20,
      shed: 100,
      inFlightBound: 50,
      enrolmentsPerSecond: 78,
      bootstrapsPerSecond: 80,
      perSecond: [78, 78, 78, 78, 78],
      steady: false,
      maxInFlight: 50,
      queueWaitMs: { p50: 0, p95: 1, p99: 2 },
      steps: { bootstrap: step, enrol: step },
      errors: { "enrol: FLOW_TIMEOUT": 10 },
      cpu: {
        usPerOp: { HSS: 150, BSF: 320, "load generator": 410 },
        cores: { HSS: 0.01, BSF: 0.03, "load generator": 0.04 },
        note: "n",
      },
    },
    failures: [],
    assertions: [
      { name: "minimum rate", ok: false, detail: "78 flows/s (need ≥ 90)", timing: true },
      { name: "enrol p95 (load)", ok: false, detail: "1200 ms (bound 1000 ms)", timing: true, advisory: true },
    ],
  };

  it("Markdown: load figures with offered, achieved and shed rates, CPU per flow per process, steps, causes, assertions", () => {
    const md = renderReportFile("r.md", report);
    expect(md).toMatch(/^# Scenario demo\n/);
    expect(md).toContain("| offered rate (steady window) | 100/s |");
    expect(md).toContain("| achieved rate (steady window) | 78/s |");
    expect(md).toContain("| shed rate (steady window) | 20/s (100 arrivals over the phase) |");
    expect(md).toContain("| bound on flows in flight | 50 |");
    expect(md).toContain("## CPU per successful load flow, by process (n)");
    expect(md).toContain("| BSF | 320 | 0.03 |");
    expect(md).toContain("| enrol: FLOW_TIMEOUT | 10 |");
    expect(md).toContain("| FAIL | minimum rate | 78 flows/s (need ≥ 90) |");
    expect(md).toContain("| WARN | enrol p95 (load) | 1200 ms (bound 1000 ms) |");
  });

  it("Markdown: a topology's own figures (multi-host) as a table of their own, only when there are some", () => {
    expect(renderReportFile("r.md", report)).not.toContain("## Topology");
    const md = renderReportFile("r.md", {
      ...report,
      backend: "multi-host",
      topology: { resyncs: 0, lostSessions: 0, znP99Ms: 14.7, fault1: "kill -9 naf1, DOWN after 972 ms" },
    });
    expect(md).toContain("## Topology (multi-host)");
    expect(md).toContain("| lostSessions | 0 |");
    expect(md).toContain("| fault1 | kill -9 naf1, DOWN after 972 ms |");
  });

  it("HTML: the dashboard's self-contained page, with the CPU table and advisory marks; JSON for any other name", () => {
    const html = renderReportFile("r.html", report);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<td>load generator</td><td class="n">410</td><td class="n">0.04</td>');
    expect(html).toContain("<td>WARN</td><td>enrol p95 (load)</td>");
    // nothing to fetch: the only script is the embedded JSON report
    expect(html).not.toMatch(/<link|src=/);
    expect(html.match(/<script[^>]*>/g)).toEqual(['<script type="application/json" id="gba-report">']);
    expect(JSON.parse(renderReportFile("r.json", report))).toEqual(report);
  });
});
