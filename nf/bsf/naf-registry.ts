// Zn client authentication: only configured NAFs may ask (TS 33.220 §4.4.3, §4.5.3: "the BSF
// shall verify that the NAF is authorised"). Each NAF presents its bearer token; tokens are
// compared as SHA-256 digests in constant time so neither content nor length leaks by timing.
import { hash } from "node:crypto";
import { constantTimeEqual } from "../../wire/bytes.js";
import type { ZnClientConfig } from "./config.js";

// one-shot digest as a "binary" (latin1) string, then its bytes: about a third of createHash()'s cost
const sha256 = (s: string): Uint8Array => Buffer.from(hash("sha256", s, "binary"), "binary");

export class NafRegistry {
  private readonly entries: Array<{ digest: Uint8Array; naf: ZnClientConfig; fqdns: Set<string> }>;
  private readonly byHost = new Map<string, ZnClientConfig>();
  private readonly fqdnsOf = new Map<ZnClientConfig, Set<string>>();

  constructor(nafs: readonly ZnClientConfig[]) {
    this.entries = nafs.map((naf) => ({ digest: sha256(naf.token), naf, fqdns: new Set(naf.fqdns.map((f) => f.toLowerCase())) }));
    for (const e of this.entries) if (!this.fqdnsOf.has(e.naf)) this.fqdnsOf.set(e.naf, e.fqdns);
    for (const naf of nafs) if (naf.originHost !== undefined) this.byHost.set(naf.originHost.toLowerCase(), naf);
  }

  /** Origin-Hosts of the NAFs that may connect over Diameter (the BSF node's peer table). */
  get diameterHosts(): string[] {
    return [...this.byHost.values()].map((n) => n.originHost as string);
  }

  /**
   * The NAF behind a Diameter connection: its Origin-Host, admitted at the capabilities exchange
   * (RFC 6733 §5.3) only when configured, so the transport is what authenticates it.
   */
  byOriginHost(originHost: string): ZnClientConfig | undefined {
    return this.byHost.get(originHost.toLowerCase());
  }

  /** The NAF owning the bearer token of an Authorization header, or undefined. Compares against every entry. */
  authenticate(authorization: string | undefined): ZnClientConfig | undefined {
    if (authorization === undefined) return undefined;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (m === null) return undefined;
    const digest = sha256(m[1]);
    let found: ZnClientConfig | undefined;
    for (const e of this.entries) if (constantTimeEqual(e.digest, digest) && found === undefined) found = e.naf;
    return found;
  }

  /** A NAF may ask only for its own NAF_Id (TS 33.220 §4.4.3); DNS names compare case-insensitively. */
  mayAskFor(naf: ZnClientConfig, nafFqdn: string): boolean {
    return this.fqdnsOf.get(naf)?.has(nafFqdn.toLowerCase()) ?? false;
  }
}
