// The VehicleMan binding registry's rows (GSMA IoT.04 scenario 7: vehicle ID ↔ OBU device ID ↔
// MSISDN) and the checks a batch passes before any store sees it. An OBU sits in one vehicle and
// holds one SIM (one MSISDN); a vehicle may carry several OBUs.
import { ID_RULE, isValidId, MSISDN_RULE, normaliseMsisdn } from "./ids.js";

export interface VehicleBinding {
  vehicleId: string;
  obuId: string;
  /** digits of the E.164 number, no "+" */
  msisdn: string;
  createdAt: string;
}

export type BindingInput = Pick<VehicleBinding, "vehicleId" | "obuId" | "msisdn">;

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

export function sameBinding(a: BindingInput, b: BindingInput): boolean {
  return a.vehicleId === b.vehicleId && a.obuId === b.obuId && a.msisdn === b.msisdn;
}

/** A batch after the checks that need no store: the rows that passed, with their lines, and every problem so far. */
export interface CheckedBatch {
  bindings: BindingInput[];
  lines: Array<number | undefined>;
  problems: LineProblem[];
}

/**
 * Checks every row and the batch against itself (an OBU or an MSISDN twice). `lines` gives the
 * CSV line number of each row; `earlier` are problems found before (e.g. unparseable CSV lines),
 * reported together with the rows' own.
 */
export function checkBatch(rows: BindingInput[], lines?: number[], earlier: LineProblem[] = []): CheckedBatch {
  const batch: CheckedBatch = { bindings: [], lines: [], problems: [...earlier] };
  const seenObu = new Map<string, number>();
  const seenMsisdn = new Map<string, number>();
  const where = (j: number) => (lines ? `line ${lines[j]}` : `row ${j + 1}`);
  rows.forEach((row, i) => {
    const line = lines?.[i];
    const { binding, reasons } = checkBinding(row);
    for (const reason of reasons) batch.problems.push({ line, reason });
    if (!binding) return;
    const obuAt = seenObu.get(binding.obuId);
    if (obuAt !== undefined)
      batch.problems.push({ line, reason: `OBU ${binding.obuId} appears again (first at ${where(obuAt)})` });
    const msisdnAt = seenMsisdn.get(binding.msisdn);
    if (msisdnAt !== undefined)
      batch.problems.push({ line, reason: `MSISDN ${binding.msisdn} appears again (first at ${where(msisdnAt)})` });
    seenObu.set(binding.obuId, i);
    seenMsisdn.set(binding.msisdn, i);
    batch.bindings.push(binding);
    batch.lines.push(line);
  });
  return batch;
}
