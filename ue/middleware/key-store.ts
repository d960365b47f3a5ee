// The middleware's memory of the current bootstrapping: B-TID, RAND, lifetime, Ks (GBA_ME only)
// and the NAF-specific keys derived from it, one per NAF_Id (IoT.04 A3). Nothing here is ever
// written to disk or logged; deleted keys are overwritten with zeros before they are dropped.
import { bytesToHex } from "../../wire/bytes.js";

export type GbaMode = "GBA_ME" | "GBA_U";

/**
 * Why keys were deleted. TS 33.220 §4.4.11 conditions (as this project reads them, see README):
 * the key lifetime ended, the UICC was removed or replaced by a different one, the ME was
 * powered down; plus a new bootstrapping replacing the old one (§4.5.2, G.1) and the NAF
 * reporting the B-TID unknown or expired (TS 24.109 §5.2.5).
 */
export type DeletionReason =
  | "lifetime-expired"
  | "uicc-removed"
  | "uicc-changed"
  | "power-down"
  | "new-bootstrap"
  | "btid-rejected";

export interface BootstrapSession {
  mode: GbaMode;
  btid: string;
  rand: Uint8Array;
  impi: string;
  /** the BSF's lifetime (absolute UTC) */
  lifetime: Date;
  /** when the ME deletes the keys, on the ME clock (ms since the epoch) */
  expiresAt: number;
  /** Ks = CK || IK, GBA_ME only; with GBA_U it stays on the UICC */
  ks?: Uint8Array;
}

export interface NafKey {
  btid: string;
  /** Ks_NAF (GBA_ME) or Ks_ext_NAF (GBA_U), 32 octets */
  key: Uint8Array;
  /** NAF_Id = FQDN || Ua security protocol id */
  nafId: Uint8Array;
  expiresAt: number;
  mode: GbaMode;
}

export class KeyStore {
  private session: BootstrapSession | undefined;
  private readonly nafKeys = new Map<string, NafKey>();
  private readonly listeners = new Set<(reason: DeletionReason, btid: string) => void>();

  /** The current session, or undefined; an expired one is deleted first (lifetime end). */
  current(now: number): BootstrapSession | undefined {
    if (this.session !== undefined && now >= this.session.expiresAt) this.delete("lifetime-expired");
    return this.session;
  }

  /** A new bootstrapping replaces Ks, B-TID, lifetime, RAND and every NAF key (TS 33.220 §4.5.2, G.1). */
  replace(session: BootstrapSession): void {
    if (this.session !== undefined) this.delete("new-bootstrap");
    this.session = session;
  }

  nafKey(nafId: Uint8Array, now: number): NafKey | undefined {
    if (this.current(now) === undefined) return undefined;
    return this.nafKeys.get(bytesToHex(nafId));
  }

  putNafKey(k: NafKey): void {
    if (this.session === undefined || this.session.btid !== k.btid) {
      k.key.fill(0);
      return;
    }
    const id = bytesToHex(k.nafId);
    this.nafKeys.get(id)?.key.fill(0);
    this.nafKeys.set(id, k);
  }

  get nafKeyCount(): number {
    return this.nafKeys.size;
  }

  /** Deletes Ks and every NAF key (zero-filled) and tells the listeners why. */
  delete(reason: DeletionReason): void {
    const s = this.session;
    if (s === undefined) return;
    s.ks?.fill(0);
    for (const k of this.nafKeys.values()) k.key.fill(0);
    this.nafKeys.clear();
    this.session = undefined;
    for (const l of [...this.listeners]) l(reason, s.btid);
  }

  onDeleted(listener: (reason: DeletionReason, btid: string) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
