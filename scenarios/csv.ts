// Subscribers and vehicle bindings of a scenario given as CSV files (a header line naming the
// columns, then one row per line). Every problem names the file, the line and the column.
import { readFileSync } from "node:fs";
import type { ScenarioBinding, ScenarioSubscriber } from "./types.js";

export interface CsvRows<T> {
  rows: T[];
  /** line number of each row in the file (1-based) */
  lines: number[];
  problems: string[];
}

const HEX16 = /^[0-9a-fA-F]{32}$/;
const IMSI = /^[0-9]{6,15}$/;
const MSISDN = /^\+?[0-9]{5,15}$/;
const SQN = /^[0-9a-fA-F]{12}$/;

interface Column {
  required: boolean;
  check?: (v: string) => string | undefined;
}

function pattern(re: RegExp, what: string): (v: string) => string | undefined {
  return (v) => (re.test(v) ? undefined : `must be ${what}`);
}

const SUBSCRIBER_COLUMNS: Record<string, Column> = {
  id: { required: true },
  imsi: { required: true, check: pattern(IMSI, "6 to 15 digits") },
  msisdn: { required: true, check: pattern(MSISDN, "5 to 15 digits, optionally with a leading +") },
  k: { required: false, check: pattern(HEX16, "32 hex digits") },
  opc: { required: false, check: pattern(HEX16, "32 hex digits") },
  op: { required: false, check: pattern(HEX16, "32 hex digits") },
  sqn: { required: false, check: pattern(SQN, "12 hex digits") },
  uiccType: { required: false, check: (v) => (v === "GBA" || v === "GBA_U" ? undefined : 'must be "GBA" or "GBA_U"') },
  keyLifetime: {
    required: false,
    check: (v) => (/^[1-9][0-9]{0,8}$/.test(v) ? undefined : "must be a whole number of seconds ≥ 1"),
  },
};

const BINDING_COLUMNS: Record<string, Column> = {
  vehicle: { required: true },
  obu: { required: true },
  msisdn: { required: true, check: pattern(MSISDN, "5 to 15 digits, optionally with a leading +") },
};

function readCsv(path: string, columns: Record<string, Column>): CsvRows<Record<string, string>> {
  const problems: string[] = [];
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    return {
      rows: [],
      lines: [],
      problems: [`${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`],
    };
  }
  const lines = text.split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== "" && !l.startsWith("#"));
  if (headerAt < 0) return { rows: [], lines: [], problems: [`${path}: empty file (expected a header line)`] };
  const header = lines[headerAt].split(",").map((h) => h.trim());
  header.forEach((h, i) => {
    if (!(h in columns))
      problems.push(
        `${path} line ${headerAt + 1}, column ${i + 1}: unknown column "${h}" (known: ${Object.keys(columns).join(", ")})`,
      );
  });
  for (const [name, c] of Object.entries(columns)) {
    if (c.required && !header.includes(name)) problems.push(`${path} line ${headerAt + 1}: missing column "${name}"`);
  }
  const rows: Array<Record<string, string>> = [];
  const rowLines: number[] = [];
  for (let i = headerAt + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "" || line.startsWith("#")) continue;
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length !== header.length) {
      problems.push(`${path} line ${i + 1}: ${cells.length} fields, the header has ${header.length}`);
      continue;
    }
    const row: Record<string, string> = {};
    header.forEach((h, j) => {
      const v = cells[j];
      const c = columns[h];
      if (c === undefined) return;
      if (v === "") {
        if (c.required) problems.push(`${path} line ${i + 1}, column ${j + 1}: ${h}: empty`);
        return;
      }
      const why = c.check?.(v);
      if (why) problems.push(`${path} line ${i + 1}, column ${j + 1}: ${h}: ${why}`);
      row[h] = v;
    });
    rows.push(row);
    rowLines.push(i + 1);
  }
  return { rows, lines: rowLines, problems };
}

export function readSubscribersCsv(path: string): CsvRows<ScenarioSubscriber> {
  const r = readCsv(path, SUBSCRIBER_COLUMNS);
  const rows = r.rows.map((row) => {
    const s: ScenarioSubscriber = { id: row.id, imsi: row.imsi, msisdn: row.msisdn };
    if (row.k) s.k = row.k;
    if (row.opc) s.opc = row.opc;
    if (row.op) s.op = row.op;
    if (row.sqn) s.sqn = row.sqn;
    if (row.uiccType) s.uiccType = row.uiccType as "GBA" | "GBA_U";
    if (row.keyLifetime) s.keyLifetime = Number(row.keyLifetime);
    return s;
  });
  return { rows, lines: r.lines, problems: r.problems };
}

export function readBindingsCsv(path: string): CsvRows<ScenarioBinding> {
  const r = readCsv(path, BINDING_COLUMNS);
  return {
    rows: r.rows.map((row) => ({ vehicle: row.vehicle, obu: row.obu, msisdn: row.msisdn })),
    lines: r.lines,
    problems: r.problems,
  };
}
