// CSV of VehicleMan bindings for `gba provision vehicle import`: header vehicle_id,obu_id,msisdn,
// one binding per line, no quoting (IDs and MSISDNs never contain commas or quotes).
import { type BindingInput, BindingError, type LineProblem } from "./bindings.js";

export const BINDINGS_CSV_HEADER = "vehicle_id,obu_id,msisdn";

export interface ParsedBindings {
  rows: BindingInput[];
  /** 1-based line number of each row */
  lines: number[];
  /** lines that are not rows; EcaStore.addBindings reports them with the rows' own problems */
  problems: LineProblem[];
}

/** Splits the file into rows; a bad header or an empty file throws, a malformed line is a problem. */
export function parseBindingsCsv(text: string): ParsedBindings {
  const all = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const problems: LineProblem[] = [];
  const rows: BindingInput[] = [];
  const lines: number[] = [];
  const headerAt = all.findIndex((l) => l.trim() !== "");
  if (headerAt < 0) throw new BindingError([{ reason: `the file is empty: expected the header ${BINDINGS_CSV_HEADER}` }]);
  const header = all[headerAt]
    .split(",")
    .map((f) => f.trim().toLowerCase())
    .join(",");
  if (header !== BINDINGS_CSV_HEADER) {
    throw new BindingError([{ line: headerAt + 1, reason: `the header must be ${BINDINGS_CSV_HEADER}` }]);
  }
  for (let i = headerAt + 1; i < all.length; i++) {
    const raw = all[i];
    if (raw.trim() === "") continue;
    const line = i + 1;
    if (raw.includes('"')) {
      problems.push({ line, reason: "quoted fields are not supported" });
      continue;
    }
    const fields = raw.split(",").map((f) => f.trim());
    if (fields.length !== 3) {
      problems.push({ line, reason: `expected 3 fields (${BINDINGS_CSV_HEADER}), got ${fields.length}` });
      continue;
    }
    const [vehicleId, obuId, msisdn] = fields;
    rows.push({ vehicleId, obuId, msisdn });
    lines.push(line);
  }
  if (rows.length === 0 && problems.length === 0) throw new BindingError([{ reason: "the file has a header but no bindings" }]);
  return { rows, lines, problems };
}
