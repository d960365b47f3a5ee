// Serialised Zn answers (HTTP: the UTF-8 JSON 200 body; Diameter: the BIA's AVPs), reused while
// the session they were derived from is still the one stored. An answer depends on the session and
// on what the NAF asked (NAF_Id as sent, GSIDs, GBA_U awareness) and on the NAF's configured group
// and GBA_U awareness — not on which configured NAF asked: NAF nodes of one NAF (one FQDN, several
// Diameter Origin-Hosts or tokens) share its entries. Whether a NAF may ask at all is checked by
// the caller before every lookup (TS 33.220 §4.4.3). Sessions live in a store other BSF processes
// write too (`gba bsf --workers N`; a new bootstrap of the IMPI replaces its B-TID, TS 33.220 §4.5.2; a
// pinned RAND can even give another session the same B-TID), so every hit checks the stored
// session's version against the one the answer came from, and the session lifetime. Entries
// hold Ks_NAF and the version (LMDB: the record, with Ks): secrets the store and the Zn answer
// hold anyway; none is logged.
import type { BootstrappingInfoRequest } from "../../wire/zn.js";
import type { ZnClientConfig } from "./config.js";
import type { BsfStore } from "./store.js";

/** An answer and everything it depends on besides the session (TS 29.309 BootstrappingInfoRequest, the NAF's settings). */
interface Variant {
  key: string;
  body: Buffer;
}

/** The answers for one B-TID, and the session record they were derived from. */
interface Group {
  /** the session's lifetime end, ms since the epoch */
  expiresAt: number;
  version: Buffer;
  variants: Variant[];
}

export const ANSWER_CACHE_CAPACITY = 4096;
/** answers kept per B-TID (NAFs, NAF FQDNs, Ua protocols, GSID selections); the oldest goes first */
export const ANSWERS_PER_BTID = 8;

/**
 * The NAF FQDN as sent (it enters the KDF as is, TS 33.220 B.3), the Ua security protocol id, the
 * GSIDs asked for, whether Ks_int_NAF may go (both the request and the NAF's entry say GBA_U-aware,
 * TS 33.220 §5.3.3) and the NAF group the USSs are filtered by (TS 33.220 §4.4.6).
 */
const variantKey = (naf: ZnClientConfig, req: BootstrappingInfoRequest): string =>
  `${req.nafId.nafFqdn}\n${req.nafId.uaSecProtId}\n${req.gsIds?.join(",") ?? "*"}\n${req.gbaUAware === true && naf.gbaUAware === true}\n${naf.group ?? ""}`;

export class ZnAnswerCache {
  private readonly groups = new Map<string, Group>();
  private count = 0;

  constructor(
    private readonly store: BsfStore,
    readonly capacity = ANSWER_CACHE_CAPACITY,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("the Zn answer cache needs room for an answer");
  }

  /** how many answers are cached */
  get size(): number {
    return this.count;
  }

  /**
   * The cached answer for this request from a NAF of these settings (authorised by the caller), if
   * its session is unexpired and unchanged in the store; the B-TID's answers are dropped when it is not.
   */
  async lookup(naf: ZnClientConfig, req: BootstrappingInfoRequest, now: number): Promise<Buffer | undefined> {
    const g = this.groups.get(req.btId);
    if (g === undefined) return undefined;
    if (!(now < g.expiresAt && (await this.store.isSessionVersion(req.btId, g.version)))) {
      this.drop(req.btId, g);
      return undefined;
    }
    const key = variantKey(naf, req);
    for (const v of g.variants) if (v.key === key) return v.body;
    return undefined;
  }

  /** `version` must have been read from the store before the session `body` came from. */
  remember(naf: ZnClientConfig, req: BootstrappingInfoRequest, body: Buffer, expiresAt: number, version: Buffer): void {
    let g = this.groups.get(req.btId);
    if (g !== undefined && !g.version.equals(version)) {
      this.drop(req.btId, g);
      g = undefined;
    }
    // oldest B-TIDs first: bounded whatever the mix of B-TIDs and request parameters
    for (const [btid, old] of this.groups) {
      if (this.count < this.capacity) break;
      this.drop(btid, old);
      if (old === g) g = undefined;
    }
    if (g === undefined) {
      g = { expiresAt, version, variants: [] };
      this.groups.set(req.btId, g);
    }
    if (g.variants.length >= ANSWERS_PER_BTID) {
      g.variants.shift();
      this.count--;
    }
    g.variants.push({ key: variantKey(naf, req), body });
    this.count++;
  }

  /** Drops a B-TID's answers, unless another request replaced the group meanwhile. */
  private drop(btid: string, g: Group): void {
    if (this.groups.get(btid) !== g) return;
    this.groups.delete(btid);
    this.count -= g.variants.length;
  }
}
