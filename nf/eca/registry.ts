// The ECA's LMDB store under <data>/eca/: the VehicleMan binding registry (GSMA IoT.04
// scenario 7: vehicle ID ↔ OBU device ID ↔ MSISDN) and the log of issued certificates.
// An OBU sits in one vehicle and holds one SIM (one MSISDN); a vehicle may carry several OBUs.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Database, RootDatabase } from "lmdb";
import { nfDataDir, openNfStore } from "../common/store.js";
import { ID_RULE, isValidId, MSISDN_RULE, normaliseMsisdn } from "./ids.js";

export interface VehicleBinding {
  vehicleId: string;
  obuId: string;
  /** digits of the E.164 number, no "+" */
  msisdn: string;
  createdAt: string;
}

export type BindingInput = Pick<VehicleBinding, "vehicleId" | "obuId" | "msisdn">;

export interface IssuedCertificate {
  /** lower-case hex of the certificate serial number */
  serial: string;
  impi: string;
  btid: string;
  vehicleId: string;
  obuId: string;
  msisdn: string;
  /** Ua security the request came over */
  method: "digest" | "tls-psk";
  notBefore: string;
  notAfter: string;
  issuedAt: string;
}

/** `line` is the CSV line number when the rows came from a file. */
export interface LineProblem {
  line?: number;
  reason: string;
}

/** Every problem with a batch of bindings, in line order. */
export class BindingError extends Error {
  readonly problems: LineProblem[];
  constructor(problems: LineProblem[]) {
    const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    super(sorted.map((p) => (p.line === undefined ? p.reason : `line ${p.line}: ${p.reason}`)).join("\n"));
    this.name = "BindingError";
    this.problems = sorted;
  }
}

/** Checks one row; returns it normalised (MSISDN as digits) or the reasons it is refused. */
export function checkBinding(row: BindingInput): { binding?: BindingInput; reasons: string[] } {
  const reasons: string[] = [];
  if (!isValidId(row.vehicleId)) reasons.push(`vehicle ID "${row.vehicleId}" is not ${ID_RULE}`);
  if (!isValidId(row.obuId)) reasons.push(`OBU ID "${row.obuId}" is not ${ID_RULE}`);
  const msisdn = normaliseMsisdn(row.msisdn);
  if (msisdn === undefined) reasons.push(`MSISDN "${row.msisdn}" is not ${MSISDN_RULE}`);
  if (reasons.length || msisdn === undefined) return { reasons };
  return { binding: { vehicleId: row.vehicleId, obuId: row.obuId, msisdn }, reasons };
}

function sameBinding(a: BindingInput, b: BindingInput): boolean {
  return a.vehicleId === b.vehicleId && a.obuId === b.obuId && a.msisdn === b.msisdn;
}

export class EcaStore {
  private readonly bindings: Database<VehicleBinding, string>;
  /** MSISDN digits → OBU ID, so one SIM is bound to one OBU */
  private readonly msisdns: Database<string, string>;
  private readonly certificates: Database<IssuedCertificate, string>;

  constructor(private readonly root: RootDatabase) {
    this.bindings = root.openDB({ name: "bindings" });
    this.msisdns = root.openDB({ name: "msisdns" });
    this.certificates = root.openDB({ name: "certificates" });
  }

  static open(dataRoot: string): EcaStore {
    return new EcaStore(openNfStore(dataRoot, "eca"));
  }

  /** Read-only view for listings; undefined when no ECA store exists yet under the data root. */
  static openReadOnly(dataRoot: string): EcaStore | undefined {
    if (!existsSync(join(nfDataDir(dataRoot, "eca"), "store.mdb"))) return undefined;
    return new EcaStore(openNfStore(dataRoot, "eca", { readOnly: true }));
  }

  bindingOf(obuId: string): VehicleBinding | undefined {
    return this.bindings.get(obuId);
  }

  listBindings(): VehicleBinding[] {
    return [...this.bindings.getRange().map(({ value }) => value)];
  }

  /**
   * Adds rows all-or-nothing in one transaction. A row identical to a stored binding is left
   * as it is; a row that would move an OBU to another vehicle or MSISDN, or bind an MSISDN a
   * second time, refuses the whole batch. `lines` gives the CSV line number of each row.
   * Returns how many rows were new. `earlier` are problems found before (e.g. unparseable CSV
   * lines): they refuse the batch too, reported together with the rows' own.
   */
  async addBindings(
    rows: BindingInput[],
    now: Date,
    lines?: number[],
    earlier: LineProblem[] = [],
  ): Promise<{ added: number; unchanged: number }> {
    const problems: LineProblem[] = [...earlier];
    const checked: BindingInput[] = [];
    const checkedLines: Array<number | undefined> = [];
    const seenObu = new Map<string, number>();
    const seenMsisdn = new Map<string, number>();
    rows.forEach((row, i) => {
      const line = lines?.[i];
      const { binding, reasons } = checkBinding(row);
      for (const reason of reasons) problems.push({ line, reason });
      if (!binding) return;
      const where = (j: number) => (lines ? `line ${lines[j]}` : `row ${j + 1}`);
      const obuAt = seenObu.get(binding.obuId);
      if (obuAt !== undefined) problems.push({ line, reason: `OBU ${binding.obuId} appears again (first at ${where(obuAt)})` });
      const msisdnAt = seenMsisdn.get(binding.msisdn);
      if (msisdnAt !== undefined)
        problems.push({ line, reason: `MSISDN ${binding.msisdn} appears again (first at ${where(msisdnAt)})` });
      seenObu.set(binding.obuId, i);
      seenMsisdn.set(binding.msisdn, i);
      checked.push(binding);
      checkedLines.push(line);
    });
    const createdAt = now.toISOString();
    // the store checks run even when the batch is already refused, so every problem is reported
    return this.root.transaction(() => {
      const fresh: BindingInput[] = [];
      checked.forEach((b, i) => {
        const line = checkedLines[i];
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
      return { added: fresh.length, unchanged: checked.length - fresh.length };
    });
  }

  /** Records an issued certificate; false when the serial is already taken (nothing written). */
  recordCertificate(cert: IssuedCertificate): Promise<boolean> {
    return this.certificates.ifNoExists(cert.serial, () => {
      this.certificates.put(cert.serial, cert);
    });
  }

  /** Issued certificates, oldest first. */
  listCertificates(): IssuedCertificate[] {
    const all = [...this.certificates.getRange().map(({ value }) => value)];
    return all.sort((a, b) => a.issuedAt.localeCompare(b.issuedAt) || a.serial.localeCompare(b.serial));
  }

  close(): Promise<void> {
    return this.root.close();
  }
}
