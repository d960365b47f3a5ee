// One simulated OBU: its USIM (state file), the device middleware and the client application,
// running the scenario's steps and timing each one. Counts what the UE did on its own
// (bootstrappings, re-bootstrappings after a NAF refused the B-TID, AKA resynchronisations).
import { setTimeout as sleep } from "node:timers/promises";
import { fetch } from "undici";
import { type GbaClient, type GbaMiddleware, httpOverTls, openUe, SimulatedUsim, type Tracer, type Ue } from "../../ue/index.js";
import type { TraceMessage, TraceValueKind } from "../../ue/trace.js";
import type { PlannedDevice } from "../plan.js";
import type { FlowStep } from "../types.js";
import type { DiagramRecorder } from "./diagram-recorder.js";
import {
  buildCsr,
  CertificateCheckError,
  generateObuKeys,
  type ObuKeys,
  parseCaPem,
  verifyEnrolmentCertificate,
} from "./enrolment.js";
import type { Endpoints, FlowFailure, FlowResult, Phase, StepRecord } from "./events.js";

/** TS 24.109 Table E.3.1-1 content type of the enrolment request (base64 of the DER CSR). */
const CSR_CONTENT_TYPE = "application/x-pkcs10";

export class StepError extends Error {
  constructor(
    readonly cause_: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "StepError";
  }
}

/** Counts what the UE does on its own, and forwards to the diagram recorder when there is one. */
class CountingTracer implements Tracer {
  bootstraps = 0;
  resyncs = 0;
  constructor(readonly diagram: DiagramRecorder | undefined) {}
  message(m: TraceMessage): void {
    if (m.iface === "Ub" && m.direction === "response" && m.startLine.split(" ")[1] === "200") this.bootstraps++;
    this.diagram?.message(m);
  }
  value(label: string, value: Uint8Array | string, kind?: TraceValueKind): void {
    if (label === "AUTS") this.resyncs++;
    this.diagram?.value(label, value, kind);
  }
  note(text: string): void {
    this.diagram?.note(text);
  }
}

function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/** The cause of a refused request: the ProblemDetails cause when the NF sent one. */
export function causeOf(status: number, body: Uint8Array): string {
  try {
    const p = JSON.parse(Buffer.from(body).toString("utf8")) as { cause?: unknown };
    if (typeof p.cause === "string") return p.cause;
  } catch {
    // not JSON: the status names it
  }
  return `HTTP_${status}`;
}

export function failureOf(step: string, err: unknown): FlowFailure {
  if (err instanceof StepError) return { step, status: err.status, cause: err.cause_, message: err.message };
  if (err instanceof CertificateCheckError) return { step, cause: err.cause_, message: err.message };
  const e = err as Error & { code?: unknown; cause?: { code?: unknown } };
  const code = typeof e.code === "string" ? e.code : typeof e.cause?.code === "string" ? e.cause.code : undefined;
  return { step, cause: code ?? e.name ?? "ERROR", message: e.message ?? String(err) };
}

/** The ECA root the enrolment certificates are checked against (GET /ca.pem, no authentication). */
export async function fetchEcaRoot(ecaHttp: string): Promise<ReturnType<typeof parseCaPem>> {
  const res = await fetch(`${ecaHttp}/ca.pem`);
  const text = await res.text();
  // a shed answer (503 NF_CONGESTION) keeps its cause, as POST /enrol's refusals do
  if (res.status !== 200)
    throw new StepError(causeOf(res.status, Buffer.from(text)), `GET /ca.pem answered ${res.status}`, res.status);
  return parseCaPem(text);
}

export function stepName(s: FlowStep): string {
  if (typeof s === "string") return s;
  return "wait" in s ? "wait" : "fetch";
}

/** Runs a flow's steps in order, timing each and reporting it to onStep; the first failing step ends them. */
export async function timedSteps(
  flow: FlowStep[],
  run: (step: FlowStep, name: string) => Promise<void>,
  onStep: (r: StepRecord) => void,
): Promise<{ steps: StepRecord[]; failure?: FlowFailure }> {
  const steps: StepRecord[] = [];
  let failure: FlowFailure | undefined;
  for (const step of flow) {
    const name = stepName(step);
    const s0 = performance.now();
    try {
      await run(step, name);
    } catch (err) {
      failure = failureOf(name, err);
    }
    const rec = { step: name, ms: performance.now() - s0, ok: failure === undefined };
    steps.push(rec);
    onStep(rec);
    if (failure) break;
  }
  return { steps, failure };
}

export class DeviceRuntime {
  private keys: ObuKeys | undefined;
  private csr: Uint8Array | undefined;
  private cert: Uint8Array | undefined;
  private ca: ReturnType<typeof parseCaPem> | undefined;
  private rejected = 0;

  private readonly mw: GbaMiddleware;
  private readonly client: GbaClient;

  private constructor(
    readonly d: PlannedDevice,
    private readonly ep: Endpoints,
    private readonly ue: Ue,
    private readonly tracer: CountingTracer,
  ) {
    this.mw = ue.middleware;
    this.client = ue.client;
    this.mw.onKeysDeleted((reason) => {
      if (reason === "btid-rejected") this.rejected++;
    });
  }

  static async open(d: PlannedDevice, ep: Endpoints, usimFile: string, diagram?: DiagramRecorder): Promise<DeviceRuntime> {
    // a load generator's card answers at once; its state is journaled within 20 ms (state-writer.ts)
    const card = await SimulatedUsim.fromFile(usimFile, { answerAfterCommit: false });
    const tracer = new CountingTracer(diagram);
    const ue = await openUe({
      card: { kind: "card", card },
      bsfUrl: ep.bsfUb,
      bsfFqdn: ep.bsfFqdn,
      mode: d.uicc,
      tracer,
      deps: d.clockLagMs ? { clock: () => Date.now() - d.clockLagMs } : undefined,
    });
    return new DeviceRuntime(d, ep, ue, tracer);
  }

  /** Runs the steps in order; the first failing step ends the flow. */
  async runFlow(flow: FlowStep[], phase: Phase, phaseStart: number, onStep: (r: StepRecord) => void): Promise<FlowResult> {
    const t0 = performance.now();
    const before = { b: this.tracer.bootstraps, r: this.rejected, s: this.tracer.resyncs };
    const { steps, failure } = await timedSteps(
      flow,
      (step, name) => {
        this.tracer.diagram?.step(name);
        return this.run(step);
      },
      onStep,
    );
    const end = performance.now();
    return {
      obu: this.d.obu,
      phase,
      outcome:
        failure === undefined
          ? "success"
          : failure.status !== undefined && failure.status >= 400 && failure.status < 500
            ? "denied"
            : "failed",
      failure,
      steps,
      ms: end - t0,
      bootstraps: this.tracer.bootstraps - before.b,
      rebootstraps: this.rejected - before.r,
      resyncs: this.tracer.resyncs - before.s,
      startedAt: t0 - phaseStart,
      endedAt: end - phaseStart,
    };
  }

  private async run(step: FlowStep): Promise<void> {
    if (typeof step === "object") {
      if ("wait" in step) return void (await sleep(step.wait));
      return this.fetchNaf(step.fetch.path, step.fetch.method ?? "GET", step.fetch.expectStatus ?? 200, this.d.tunnel);
    }
    switch (step) {
      case "bootstrap":
        await this.mw.bootstrap();
        return;
      case "fetch":
        return this.fetchNaf("/whoami", "GET", 200, this.d.tunnel);
      case "tls-psk":
        return this.fetchNaf("/whoami", "GET", 200, "tls-psk");
      case "keygen":
        this.keys = await generateObuKeys();
        this.csr = undefined;
        return;
      case "csr":
        if (!this.keys) throw new StepError("NO_KEY", "csr before keygen: the flow has no key pair to certify");
        this.csr = await buildCsr(this.d.obu, this.keys);
        this.tracer.diagram?.annotate(`PKCS#10 request, subject CN=${this.d.obu}, P-256 key`);
        return;
      case "enrol":
        return this.enrol();
      case "verify":
        return this.verify();
    }
  }

  /** A request to the NAF over the device's Ua security: HTTP Digest or a TLS-PSK tunnel. */
  private async fetchNaf(path: string, method: string, expectStatus: number, tunnel: "digest" | "tls-psk"): Promise<void> {
    const r = await this.request("NAF", tunnel, this.ep.nafHttp, this.ep.nafTlsPsk, this.ep.nafFqdn, { method, path });
    if (r.status !== expectStatus) {
      throw new StepError(
        causeOf(r.status, r.body),
        `${method} ${path} answered ${r.status}, expected ${expectStatus}`,
        r.status,
      );
    }
    if (path === "/whoami" && r.status === 200) {
      const who = JSON.parse(Buffer.from(r.body).toString("utf8")) as { impi?: string };
      if (who.impi !== this.d.impi)
        throw new StepError("IDENTITY_MISMATCH", `the NAF authenticated ${who.impi}, not ${this.d.impi}`);
    }
  }

  private async enrol(): Promise<void> {
    if (!this.csr) throw new StepError("NO_CSR", "enrol before csr: the flow has no certification request");
    const body = Buffer.from(this.csr).toString("base64");
    const r = await this.request("ECA", this.d.tunnel, this.ep.ecaHttp, this.ep.ecaTlsPsk, this.ep.ecaFqdn, {
      method: "POST",
      path: "/enrol",
      headers: { "content-type": CSR_CONTENT_TYPE },
      body,
    });
    if (r.status !== 200) throw new StepError(causeOf(r.status, r.body), `POST /enrol answered ${r.status}`, r.status);
    this.cert = r.body;
  }

  private async verify(): Promise<void> {
    if (!this.cert || !this.keys) throw new StepError("NO_CERTIFICATE", "verify before enrol: no certificate to check");
    if (!this.ca) {
      this.ca = await fetchEcaRoot(this.ep.ecaHttp);
      this.tracer.diagram?.msg("UE", "ECA", "GET /ca.pem");
      this.tracer.diagram?.msg("ECA", "UE", "200 ECA root certificate (PEM)", true);
    }
    await verifyEnrolmentCertificate(this.cert, this.ca, {
      obuId: this.d.obu,
      vehicleId: this.d.vehicle,
      spki: this.keys.spki,
      now: new Date(),
    });
    this.tracer.diagram?.annotate(
      `certificate verified: signed by the ECA root, CN=${this.d.obu}, serialNumber=${this.d.vehicle}`,
    );
  }

  private async request(
    nf: "NAF" | "ECA",
    tunnel: "digest" | "tls-psk",
    httpUrl: string,
    tlsUrl: string,
    fqdn: string,
    r: { method: string; path: string; headers?: Record<string, string>; body?: string },
  ): Promise<{ status: number; body: Uint8Array }> {
    if (tunnel === "digest") {
      // the URL names the address the topology put the NF at; fqdn is the name a UE would have resolved
      const res = await this.client.gbaFetch(`${httpUrl}${r.path}`, {
        method: r.method,
        headers: r.headers,
        body: r.body,
        nafFqdn: fqdn,
      });
      return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
    }
    const { host, port } = hostPort(tlsUrl);
    const socket = await this.client.tlsPskConnect(host, port, { nafFqdn: fqdn });
    this.tracer.diagram?.msg("UE", nf, `${r.method} ${r.path} (inside the TLS-PSK tunnel)`);
    const res = await httpOverTls(socket, { method: r.method, path: r.path, host: fqdn, headers: r.headers, body: r.body });
    this.tracer.diagram?.msg(
      nf,
      "UE",
      `${res.status}${res.status === 200 && r.path === "/enrol" ? " enrolment certificate (DER)" : ""}`,
      true,
    );
    return { status: res.status, body: res.body };
  }

  async close(): Promise<void> {
    await this.ue.close();
  }
}
