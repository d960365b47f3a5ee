// The ECA's store in its LMDB environment under <data>/eca/: bindings by OBU ID, MSISDN → OBU ID
// (one SIM bound to one OBU), issued certificates by serial, and "<issuedAt> <serial>" → serial
// (ISO 8601 times sort as text), the certificates in time order for paged listings.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Database, RootDatabase } from "lmdb";
import { nfDataDir, openNfStore } from "../common/store.js";
import { type BindingInput, BindingError, checkBatch, type LineProblem, sameBinding, type VehicleBinding } from "./bindings.js";
import type { EcaStore, IssuedCertificate, Page } from "./store.js";

/** The first `limit` values of `range` whose key is not `after`, and the cursor of what follows. */
function pageOf<T>(
  range: Iterable<{ key: unknown; value: T }>,
  limit: number,
  after: string | undefined,
  cursorOf: (v: T) => string,
): Page<T> {
  const items: T[] = [];
  for (const { key, value } of range) {
    if (key === after) continue;
    if (items.length === limit) return { items, next: cursorOf(items[items.length - 1]) };
    items.push(value);
  }
  return { items };
}

const timeKey = (c: IssuedCertificate) => `${c.issuedAt} ${c.serial}`;

export class LmdbEcaStore implements EcaStore {
  private readonly bindings: Database<VehicleBinding, string>;
  /** MSISDN digits → OBU ID, so one SIM is bound to one OBU */
  private readonly msisdns: Database<string, string>;
  private readonly certificates: Database<IssuedCertificate, string>;
  /** timeKey → serial */
  private readonly byTime: Database<string, string>;

  private constructor(private readonly root: RootDatabase) {
    this.bindings = root.openDB({ name: "bindings" });
    this.msisdns = root.openDB({ name: "msisdns" });
    this.certificates = root.openDB({ name: "certificates" });
    this.byTime = root.openDB({ name: "certificates-by-time" });
  }

  /** Opens (creating if needed) <data>/eca/store.mdb; a store written before the time index gets it. */
  static open(dataRoot: string): LmdbEcaStore {
    const store = new LmdbEcaStore(openNfStore(dataRoot, "eca"));
    store.indexCertificates();
    return store;
  }

  private indexCertificates(): void {
    if (this.byTime.getCount() === this.certificates.getCount()) return;
    this.root.transactionSync(() => {
      for (const { value } of this.certificates.getRange()) this.byTime.put(timeKey(value), value.serial);
    });
  }

  /** Read-only view for listings; undefined when no ECA store exists yet under the data root. */
  static openReadOnly(dataRoot: string): LmdbEcaStore | undefined {
    if (!existsSync(join(nfDataDir(dataRoot, "eca"), "store.mdb"))) return undefined;
    return new LmdbEcaStore(openNfStore(dataRoot, "eca", { readOnly: true }));
  }

  async bindingOf(obuId: string): Promise<VehicleBinding | undefined> {
    return this.bindings.get(obuId);
  }

  async listBindings(): Promise<VehicleBinding[]> {
    return [...this.bindings.getRange().map(({ value }) => value)];
  }

  async bindingsPage(limit: number, after?: string): Promise<Page<VehicleBinding>> {
    return pageOf(this.bindings.getRange({ start: after, limit: limit + 2 }), limit, after, (b) => b.obuId);
  }

  addBindings(
    rows: BindingInput[],
    now: Date,
    lines?: number[],
    earlier: LineProblem[] = [],
  ): Promise<{ added: number; unchanged: number }> {
    const { bindings, lines: bindingLines, problems } = checkBatch(rows, lines, earlier);
    const createdAt = now.toISOString();
    // the store checks run even when the batch is already refused, so every problem is reported
    return this.root.transaction(() => {
      const fresh: BindingInput[] = [];
      bindings.forEach((b, i) => {
        const line = bindingLines[i];
        const stored = this.bindings.get(b.obuId);
        if (stored && sameBinding(stored, b)) return;
        if (stored) {
          problems.push({
            line,
            reason: `OBU ${b.obuId} is already bound to vehicle ${stored.vehicleId}, MSISDN ${stored.msisdn}`,
          });
          return;
        }
        const holder = this.msisdns.get(b.msisdn);
        if (holder !== undefined) {
          problems.push({ line, reason: `MSISDN ${b.msisdn} is already bound to OBU ${holder}` });
          return;
        }
        fresh.push(b);
      });
      if (problems.length) throw new BindingError(problems);
      for (const b of fresh) {
        this.bindings.put(b.obuId, { ...b, createdAt });
        this.msisdns.put(b.msisdn, b.obuId);
      }
      return { added: fresh.length, unchanged: bindings.length - fresh.length };
    });
  }

  recordCertificate(cert: IssuedCertificate): Promise<boolean> {
    return this.certificates.ifNoExists(cert.serial, () => {
      this.certificates.put(cert.serial, cert);
      this.byTime.put(timeKey(cert), cert.serial);
    });
  }

  async certificatesPage(limit: number, after?: string): Promise<Page<IssuedCertificate>> {
    const range = this.byTime.getRange({ start: after, reverse: true, limit: limit + 2 }).map(({ key, value }) => ({
      key,
      value: this.certificates.get(value) as IssuedCertificate,
    }));
    return pageOf(range, limit, after, timeKey);
  }

  async listCertificates(): Promise<IssuedCertificate[]> {
    const all = [...this.certificates.getRange().map(({ value }) => value)];
    return all.sort((a, b) => a.issuedAt.localeCompare(b.issuedAt) || a.serial.localeCompare(b.serial));
  }

  close(): Promise<void> {
    return this.root.close();
  }
}
