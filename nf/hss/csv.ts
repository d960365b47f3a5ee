// Subscriber CSV (README "HSS"): RFC 4180 (quotes optional), header line
//   impi,imsi,msisdn,impu,k,op,opc,amf,sqn,uicc_type
// columns in any order, only impi and k required as columns; an empty cell is an absent value;
// several IMPUs in one cell separated by ';'. Each data line becomes the JSON shape that
// validateCreate() checks, labelled with its line number.
import type { ImportRow, RowError } from "./bulk.js";

export const CSV_COLUMNS = ["impi", "imsi", "msisdn", "impu", "k", "op", "opc", "amf", "sqn", "uicc_type"] as const;
type Column = (typeof CSV_COLUMNS)[number];

const JSON_FIELD: Record<Column, string> = {
  impi: "impi",
  imsi: "imsi",
  msisdn: "msisdn",
  impu: "impus",
  k: "k",
  op: "op",
  opc: "opc",
  amf: "amf",
  sqn: "sqn",
  uicc_type: "uiccType",
};

/** Records with the line each starts on; a quoted field may span lines. */
export function* csvRecords(text: string): Generator<{ line: number; fields: string[] }> {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let line = 1;
  let start = 1;
  let field = "";
  let fields: string[] = [];
  let quoted = false;
  let i = 0;
  while (i < s.length) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      fields.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && s[i + 1] === "\n") i++;
      fields.push(field);
      yield { line: start, fields };
      fields = [];
      field = "";
      line++;
      start = line;
    } else field += ch;
    i++;
  }
  if (field !== "" || fields.length > 0) {
    fields.push(field);
    yield { line: start, fields };
  }
}

/** CSV column names in validation messages instead of the JSON ones ("uiccType" → "uicc_type"). */
function csvReason(reason: string): string {
  return reason.replace(/^impus(\.\d+)?:/, "impu:").replace(/^uiccType:/, "uicc_type:");
}

export function csvRowError(label: string, reasons: string[]): RowError {
  return { label, reason: reasons.map(csvReason).join("; ") };
}

export function parseSubscriberCsv(text: string): { rows: ImportRow[]; errors: RowError[] } {
  const records = csvRecords(text);
  const first = records.next();
  if (first.done)
    return { rows: [], errors: [{ label: "line 1", reason: `empty file: expected the header ${CSV_COLUMNS.join(",")}` }] };
  const header = first.value.fields.map((h) => h.trim().toLowerCase());
  const headerErrors: string[] = [];
  header.forEach((h, i) => {
    if (!(CSV_COLUMNS as readonly string[]).includes(h)) headerErrors.push(`unknown column "${h}"`);
    else if (header.indexOf(h) !== i) headerErrors.push(`column "${h}" appears twice`);
  });
  for (const needed of ["impi", "k"]) if (!header.includes(needed)) headerErrors.push(`no column "${needed}"`);
  if (headerErrors.length > 0) {
    return {
      rows: [],
      errors: [{ label: `line ${first.value.line}`, reason: `${headerErrors.join("; ")} (header: ${CSV_COLUMNS.join(",")})` }],
    };
  }
  const rows: ImportRow[] = [];
  const errors: RowError[] = [];
  for (const { line, fields } of records) {
    if (fields.length === 1 && fields[0].trim() === "") continue;
    const label = `line ${line}`;
    if (fields.length !== header.length) {
      errors.push({ label, reason: `expected ${header.length} fields, got ${fields.length}` });
      continue;
    }
    const input: Record<string, unknown> = {};
    header.forEach((h, i) => {
      const v = fields[i].trim();
      if (v === "") return;
      input[JSON_FIELD[h as Column]] =
        h === "impu"
          ? v
              .split(";")
              .map((u) => u.trim())
              .filter((u) => u !== "")
          : v;
    });
    rows.push({ label, input, csv: true });
  }
  return { rows, errors };
}
