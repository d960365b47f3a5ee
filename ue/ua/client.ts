// The client application API (GSMA IoT.04 Solution 2, B1-B4): what an application on the device
// calls. Keys come from the device middleware; the application never sees Ks.
import type { UaId } from "../../gba/ua-id.js";
import type { GbaMiddleware, NafKey } from "../middleware/gba-middleware.js";
import { type GbaRequestInit, UaClient, type UaClientOptions } from "./gba-fetch.js";
import { type GbaTlsSocket, type TlsPskOptions, tlsPskConnect } from "./tls-psk.js";

export class GbaClient {
  private readonly ua: UaClient;

  constructor(
    readonly middleware: GbaMiddleware,
    private readonly opts: UaClientOptions = {},
  ) {
    this.ua = new UaClient(middleware, opts);
  }

  /** Ks_NAF / Ks_ext_NAF for NAF_Id = nafFqdn || uaId, with the B-TID to name it by (TS 33.220 §4.5.3). */
  getKsNaf(nafFqdn: string, uaId: UaId): Promise<NafKey> {
    return this.middleware.getKsNaf(nafFqdn, uaId);
  }

  /** fetch() against a GBA-protected NAF over HTTP Digest (TS 24.109 §5.2). */
  gbaFetch(url: string | URL, init?: GbaRequestInit): ReturnType<UaClient["fetch"]> {
    return this.ua.fetch(url, init);
  }

  /** A TLS-PSK tunnel to a NAF (TS 33.222 §5.4); use httpOverTls() for a request over it. */
  tlsPskConnect(host: string, port: number, o: TlsPskOptions): Promise<GbaTlsSocket> {
    return tlsPskConnect(this.middleware, host, port, { tracer: this.opts.tracer ?? this.middleware.tracer, ...o });
  }

  async close(): Promise<void> {
    await this.ua.close();
  }
}
