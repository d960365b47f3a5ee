// Bulk import shared by the admin API and `gba provision import`: every row is checked first
// (fields, duplicates within the batch, identities already in the store); then either nothing
// is written (an invalid row, unless skipInvalid) or all valid rows go into one atomic create,
// which re-checks the store so a concurrent writer cannot make it half-done.
import { csvRowError } from "./csv.js";
import type { HssStore } from "./store.js";
import { type SubscriberData, type ValidationContext, validateCreate } from "./subscriber.js";

export interface ImportRow {
  /** "line 7" (CSV) or "item 3" (JSON array, 0-based) */
  label: string;
  input: unknown;
  /** report CSV column names in reasons */
  csv?: boolean;
}

export interface RowError {
  label: string;
  reason: string;
}

export type ImportPhase = "checking" | "sealing" | "writing";
export type ImportProgress = (phase: ImportPhase, done: number, total: number) => void;

/** rows whose identities are looked up in the store at once (a store across hosts answers them in parallel) */
const STORE_CHECK_CHUNK = 1000;

/** Validates every row; returns the good ones and one error per bad row, in input order. */
export async function checkRows(
  rows: ImportRow[],
  store: HssStore,
  ctx: ValidationContext,
  progress?: ImportProgress,
): Promise<{ valid: SubscriberData[]; errors: RowError[] }> {
  const seen = { impi: new Map<string, string>(), imsi: new Map<string, string>(), msisdn: new Map<string, string>() };
  const checked = rows.map((row) => {
    const v = validateCreate(row.input, ctx);
    const reasons: string[] = v.ok ? [] : v.errors;
    if (v.ok) {
      for (const id of ["impi", "imsi", "msisdn"] as const) {
        const value = v.value[id];
        if (value === undefined) continue;
        const first = seen[id].get(value);
        if (first !== undefined) reasons.push(`${id}: ${value} repeats ${first}`);
        else seen[id].set(value, row.label);
      }
    }
    return { row, data: v.ok ? v.value : undefined, reasons };
  });
  for (let i = 0; i < checked.length; i += STORE_CHECK_CHUNK) {
    progress?.("checking", i, rows.length);
    const chunk = checked.slice(i, i + STORE_CHECK_CHUNK);
    const conflicts = await Promise.all(chunk.map((c) => (c.data ? store.conflictsOf(c.data) : [])));
    for (const [j, c] of chunk.entries()) c.reasons.push(...conflicts[j]);
  }
  progress?.("checking", rows.length, rows.length);
  const valid: SubscriberData[] = [];
  const errors: RowError[] = [];
  for (const { row, data, reasons } of checked) {
    if (reasons.length === 0 && data) valid.push(data);
    else errors.push(row.csv ? csvRowError(row.label, reasons) : { label: row.label, reason: reasons.join("; ") });
  }
  return { valid, errors };
}

/** Seals and writes checked subscribers in one transaction (ExistsError if the store changed meanwhile). */
export async function writeRows(store: HssStore, valid: SubscriberData[], progress?: ImportProgress): Promise<number> {
  const records = valid.map((d, i) => {
    if (progress && i % 1000 === 0) progress("sealing", i, valid.length);
    return store.secrets.seal(d);
  });
  progress?.("sealing", valid.length, valid.length);
  await store.create(
    records,
    valid.map((d) => d.sqn),
    progress && ((n) => progress("writing", n, records.length)),
  );
  return records.length;
}
