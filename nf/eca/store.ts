// The ECA's store: the VehicleMan binding registry and the log of issued certificates. One
// interface, each atomic step one method, so a store across hosts can implement it beside the
// LMDB backend (store-lmdb.ts).
import type { BindingInput, LineProblem, VehicleBinding } from "./bindings.js";

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

/** One page of a listing, and the cursor of the next page (absent on the last one). */
export interface Page<T> {
  items: T[];
  next?: string;
}

export interface EcaStore {
  bindingOf(obuId: string): Promise<VehicleBinding | undefined>;
  listBindings(): Promise<VehicleBinding[]>;
  /** Bindings in OBU ID order: the first `limit` after the OBU ID `after`. */
  bindingsPage(limit: number, after?: string): Promise<Page<VehicleBinding>>;
  /**
   * Adds rows all-or-nothing in one atomic step. A row identical to a stored binding is left as
   * it is; a row that would move an OBU to another vehicle or MSISDN, or bind an MSISDN a second
   * time, refuses the whole batch with a BindingError naming every problem. `lines` gives the
   * CSV line number of each row; `earlier` are problems found before (e.g. unparseable CSV
   * lines): they refuse the batch too, reported with the rows' own. Returns how many rows were new.
   */
  addBindings(
    rows: BindingInput[],
    now: Date,
    lines?: number[],
    earlier?: LineProblem[],
  ): Promise<{ added: number; unchanged: number }>;
  /** Records an issued certificate; false when the serial is already taken (nothing written). */
  recordCertificate(cert: IssuedCertificate): Promise<boolean>;
  /** Issued certificates, oldest first. */
  listCertificates(): Promise<IssuedCertificate[]>;
  /** Issued certificates newest first: the first `limit` after the cursor `after` (a page's `next`). */
  certificatesPage(limit: number, after?: string): Promise<Page<IssuedCertificate>>;
  close(): Promise<void>;
}
