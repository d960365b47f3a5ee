// Output helpers shared by the benchmarks: an aligned text table and a JSON file.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export type Row = Record<string, string | number>;

/** Formats rows as an aligned table; numbers are right-aligned with thousands separators. */
export function formatTable(rows: readonly Row[]): string {
  if (rows.length === 0) return "";
  const columns = Object.keys(rows[0]);
  const cell = (v: string | number | undefined) =>
    typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 2 }) : (v ?? "");
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: (string | number | undefined)[]) =>
    values
      .map((v, i) => (typeof v === "number" ? cell(v).padStart(width[i]) : cell(v).padEnd(width[i])))
      .join("  ")
      .trimEnd();
  return [line(columns), line(width.map((w) => "-".repeat(w))), ...rows.map((r) => line(columns.map((c) => r[c])))].join("\n");
}

export async function writeJson(path: string, data: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(data, null, 2)}\n`);
}
