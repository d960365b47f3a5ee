// The UE side of the IoT.04 flow floor (bench/flow.ts): a device that makes the same exchanges
// as the scenario's DeviceRuntime with none of its work. Per flow: the two Ub requests of a
// bootstrap (TS 24.109 A.3/A.4) with headers shaped like the UE's; keygen, csr and verify do
// nothing (no key, no CSR, no certificate check); the enrolment goes over the device's Ua
// transport as the UE's client sends it: HTTP Digest (a 401 challenge the first time, then one
// POST with credentials per flow, the nonce kept as UaClient keeps it) or a TLS 1.2 PSK handshake
// (the UE's first suite, a fixed key, a shared SecureContext as the UE's) and the POST inside it.
// The stub chain's servers (stub-chain.ts) answer with bodies shaped like the real ones.
import { createSecureContext, connect, type TLSSocket } from "node:tls";
import { request } from "undici";
import { PSK_IDENTITY_HINT } from "../../gba/btid.js";
import { formatChallenge, formatCredentials } from "../../gba/digest/index.js";
import type { PlannedDevice } from "../../scenarios/plan.js";
import type { FlowStep } from "../../scenarios/types.js";
import { StepError, timedSteps } from "../../scenarios/engine/device.js";
import type { Endpoints, FlowResult, Phase, StepRecord } from "../../scenarios/engine/events.js";
import { DEFAULT_TLS12_PSK_SUITES, httpOverTls } from "../../ue/ua/tls-psk.js";
import { PRODUCT_TOKEN, withProductToken } from "../../wire/ub.js";

const zeros = (n: number) => "0".repeat(2 * n);
export const STUB_BSF_REALM = "bsf.mnc001.mcc001.pub.3gppnetwork.org";
export const STUB_IMPI = "001010000000000@ims.mnc001.mcc001.3gppnetwork.org";
/** b64(RAND ‖ AUTN), 32 octets, as the BSF's nonce (TS 33.220 §4.5.2, RFC 3310 §3.2) */
export const STUB_UB_NONCE = Buffer.alloc(32).toString("base64");
export const STUB_UB_OPAQUE = zeros(16);
/** a B-TID shaped as the BSF's: base64(RAND)@BSF FQDN (TS 33.220 §4.5.2) */
export const STUB_BTID = `${Buffer.alloc(16).toString("base64")}@${STUB_BSF_REALM}`;
export const STUB_ECA_FQDN = "eca.vehicleman.example";
const UA_REALM = `3GPP-bootstrapping@${STUB_ECA_FQDN}`;
const UA_NONCE = Buffer.alloc(24).toString("base64");
/** the PSK of every stub tunnel: a Ks_NAF-sized constant (TS 33.220 B.3: 256 bits) */
export const STUB_PSK = Buffer.alloc(32, 7);
/** the size of the base64 CSR a P-256 OBU sends (≈ 240 octets of DER) and of the DER certificate back */
export const STUB_CSR_BASE64 = Buffer.alloc(240, 0x30).toString("base64");
export const STUB_CERTIFICATE = Buffer.alloc(480, 0x30);

/** The UE's first Ub request (TS 24.109 A.3: empty nonce and response) and its answer, shaped as ours. */
export const STUB_UE_HEADERS = {
  initial: formatCredentials({ username: STUB_IMPI, realm: STUB_BSF_REALM, nonce: "", uri: "/", response: "" }),
  answer: formatCredentials({
    username: STUB_IMPI,
    realm: STUB_BSF_REALM,
    nonce: STUB_UB_NONCE,
    uri: "/",
    response: zeros(16),
    algorithm: "AKAv1-MD5",
    qop: "auth-int",
    nc: "00000001",
    cnonce: zeros(8),
    opaque: STUB_UB_OPAQUE,
  }),
};

/** The ECA's bootstrapping-required challenge (TS 24.109 §5.2.4) and the UE's answer to it. */
export const STUB_UA = {
  challenge: formatChallenge({ realm: UA_REALM, nonce: UA_NONCE, algorithm: "MD5", qop: ["auth-int"], opaque: zeros(16) }),
  authorization: formatCredentials({
    username: STUB_BTID,
    realm: UA_REALM,
    nonce: UA_NONCE,
    uri: "/enrol",
    response: zeros(16),
    algorithm: "MD5",
    qop: "auth-int",
    nc: "00000001",
    cnonce: zeros(16),
    opaque: zeros(16),
  }),
};

const UB_USER_AGENT = withProductToken("gba-emu UE", PRODUCT_TOKEN.GBA);
const UA_HEADERS = { "content-type": "application/x-pkcs10", "user-agent": UB_USER_AGENT };
const TLS_CONTEXT = createSecureContext({ minVersion: "TLSv1.2", maxVersion: "TLSv1.2", ciphers: DEFAULT_TLS12_PSK_SUITES[0] });

function expectStatus(got: number, want: number): void {
  if (got !== want) throw new StepError(`HTTP_${got}`, `answered ${got}, expected ${want}`, got);
}

export class StubFlowDevice {
  /** the ECA's nonce is known (after the first challenge): credentials go with the first POST */
  private haveNonce = false;

  constructor(
    readonly d: PlannedDevice,
    private readonly ep: Endpoints,
  ) {}

  async runFlow(flow: FlowStep[], phase: Phase, phaseStart: number, onStep: (r: StepRecord) => void): Promise<FlowResult> {
    const t0 = performance.now();
    const { steps, failure } = await timedSteps(
      flow,
      async (_step, name) => {
        if (name === "bootstrap") await this.bootstrap();
        else if (name === "enrol") await this.enrol();
      },
      onStep,
    );
    const end = performance.now();
    return {
      obu: this.d.obu,
      phase,
      outcome: failure ? "failed" : "success",
      failure,
      steps,
      ms: end - t0,
      bootstraps: failure ? 0 : 1,
      rebootstraps: 0,
      resyncs: 0,
      startedAt: t0 - phaseStart,
      endedAt: end - phaseStart,
    };
  }

  private async ub(authorization: string, want: number): Promise<void> {
    const res = await request(this.ep.bsfUb, { method: "GET", headers: { authorization, "user-agent": UB_USER_AGENT } });
    await res.body.arrayBuffer();
    expectStatus(res.statusCode, want);
  }

  private async bootstrap(): Promise<void> {
    await this.ub(STUB_UE_HEADERS.initial, 401);
    await this.ub(STUB_UE_HEADERS.answer, 200);
  }

  private async post(authorization: string | undefined): Promise<number> {
    const headers = authorization ? { ...UA_HEADERS, authorization } : UA_HEADERS;
    const res = await request(`${this.ep.ecaHttp}/enrol`, { method: "POST", headers, body: STUB_CSR_BASE64 });
    await res.body.arrayBuffer();
    return res.statusCode;
  }

  private async enrol(): Promise<void> {
    if (this.d.tunnel === "tls-psk") return this.enrolOverTls();
    if (!this.haveNonce) {
      expectStatus(await this.post(undefined), 401);
      this.haveNonce = true;
    }
    expectStatus(await this.post(STUB_UA.authorization), 200);
  }

  private async enrolOverTls(): Promise<void> {
    const u = new URL(this.ep.ecaTlsPsk);
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = connect({
        host: u.hostname,
        port: Number(u.port),
        servername: this.ep.ecaFqdn,
        secureContext: TLS_CONTEXT,
        checkServerIdentity: () => undefined,
        pskCallback: (hint) =>
          hint === PSK_IDENTITY_HINT ? { identity: `${PSK_IDENTITY_HINT}.${STUB_BTID}`, psk: STUB_PSK } : null,
      });
      s.once("secureConnect", () => resolve(s));
      s.once("error", reject);
    });
    const res = await httpOverTls(socket, {
      method: "POST",
      path: "/enrol",
      host: this.ep.ecaFqdn,
      headers: UA_HEADERS,
      body: STUB_CSR_BASE64,
    });
    expectStatus(res.status, 200);
  }

  async close(): Promise<void> {}
}
