// Subscribers and UEs for the tests of what the NFs report (the event bus, the dashboard): a
// subscriber provisioned through the HSS admin API, and the project's UE (simulated USIM, device
// middleware, Ua client) that bootstraps with the BSF and talks to a NAF over Digest or TLS-PSK.
import { request } from "undici";
import { urlOf } from "../../cli/up.js";
import type { RunningNf } from "../../nf/common/nf.js";
import type { GbaConfig } from "../../nf/config.js";
import { bytesToHex, hexToBytes } from "../../wire/bytes.js";
import { impiFromImsi } from "../../ue/impi.js";
import { GbaMiddleware } from "../../ue/middleware/gba-middleware.js";
import { GbaClient } from "../../ue/ua/client.js";
import { httpOverTls } from "../../ue/ua/tls-psk.js";
import { SimulatedUsim } from "../../ue/usim/simulated-usim.js";
import { UsimClient } from "../../ue/usim/usim-client.js";
import { newUsimState } from "../../ue/usim/usim-state.js";

export interface TestSubscriber {
  imsi: string;
  impi: string;
  msisdn: string;
  k: Uint8Array;
  opc: Uint8Array;
}

/** The n-th subscriber (IMSI 001 01 0000077nnn, MSISDN 49170000nnnn); keys differ per n. */
export function subscriber(n: number): TestSubscriber {
  const imsi = `0010100000${String(77_000 + n).padStart(5, "0")}`;
  const hex = (seed: string) => `${seed}${String(n).padStart(4, "0")}`.padStart(32, "0").slice(-32);
  return {
    imsi,
    impi: impiFromImsi(imsi, 2),
    msisdn: `49170000${String(n).padStart(4, "0")}`,
    k: hexToBytes(hex("6f0fe7a1b2c3d4e5f607182930")),
    opc: hexToBytes(hex("0f1e2d3c4b5a69788796a5b4c3")),
  };
}

/** POST /subscribers on the HSS provisioning API. */
export async function provision(adminUrl: string, s: TestSubscriber): Promise<void> {
  const res = await request(`${adminUrl}/subscribers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ impi: s.impi, imsi: s.imsi, msisdn: s.msisdn, k: bytesToHex(s.k), opc: bytesToHex(s.opc) }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`provisioning ${s.impi}: ${res.statusCode} ${text}`);
}

export interface TestUe {
  client: GbaClient;
  middleware: GbaMiddleware;
  /** GET path over a TLS-PSK tunnel to the NAF at tlsPskUrl (TLS 1.2 PSK suite, or TLS 1.3) */
  overTlsPsk(tlsPskUrl: string, nafFqdn: string, path: string, tls13?: boolean): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

/** The UE of a subscriber: a simulated USIM with its keys, bootstrapping with the BSF at bsfUrl. */
export async function openTestUe(s: TestSubscriber, bsfUrl: string, o: { sqn?: number } = {}): Promise<TestUe> {
  const usim = new SimulatedUsim(newUsimState({ k: s.k, opc: s.opc, imsi: s.imsi, mncLength: 2, sqn: o.sqn }));
  const middleware = await GbaMiddleware.open({ usim: new UsimClient(usim), bsfUrl });
  const client = new GbaClient(middleware);
  return {
    client,
    middleware,
    async overTlsPsk(tlsPskUrl, nafFqdn, path, tls13 = false) {
      const { hostname, port } = new URL(tlsPskUrl);
      const socket = await client.tlsPskConnect(hostname, Number(port), { nafFqdn, tls13 });
      try {
        const res = await httpOverTls(socket, { path, host: nafFqdn });
        return { status: res.status, body: Buffer.from(res.body).toString() };
      } finally {
        socket.destroy();
      }
    },
    close: () => client.close(),
  };
}

export interface UpUrls {
  hssAdmin: string;
  bsfUb: string;
  nafHttp: string;
  nafTlsPsk: string;
  nafFqdn: string;
}

/**
 * Subscriber n end to end: provisioned, its UE bootstrapped, then GET /whoami at the NAF over
 * Digest and over a TLS-PSK tunnel (TLS 1.2 PSK suite, or TLS 1.3), each answered 200.
 */
export async function ueThroughNaf(
  urls: UpUrls,
  n: number,
  tls13 = false,
): Promise<{ ue: TestUe; sub: TestSubscriber; btid: string }> {
  const sub = subscriber(n);
  await provision(urls.hssAdmin, sub);
  const ue = await openTestUe(sub, urls.bsfUb);
  const { btid } = await ue.middleware.bootstrap();
  const res = await ue.client.gbaFetch(`${urls.nafHttp}/whoami`, { nafFqdn: urls.nafFqdn });
  await res.text();
  if (res.status !== 200) throw new Error(`Ua over Digest for ${sub.impi}: ${res.status}`);
  const psk = await ue.overTlsPsk(urls.nafTlsPsk, urls.nafFqdn, "/whoami", tls13);
  if (psk.status !== 200) throw new Error(`Ua over TLS-PSK for ${sub.impi}: ${psk.status}`);
  return { ue, sub, btid };
}

/** The URLs ueThroughNaf needs, from the NFs `gba up`'s starters started. */
export function upUrls(nfs: RunningNf[], cfg: GbaConfig): UpUrls {
  const url = (nf: string, listener: string) => {
    const u = urlOf(nfs, nf, listener);
    if (u === undefined) throw new Error(`no ${nf} ${listener} listener started`);
    return u;
  };
  return {
    hssAdmin: url("hss", "admin"),
    bsfUb: url("bsf", "ub"),
    nafHttp: url("naf", "http"),
    nafTlsPsk: url("naf", "tlsPsk"),
    nafFqdn: cfg.naf.fqdn,
  };
}
