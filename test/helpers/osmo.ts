// Runs libosmocore's osmo-auc-gen (Debian libosmocore-utils) as an independent MILENAGE.
// Flags (osmo-auc-gen --help, utils/osmo-auc-gen.c in libosmocore 1.7): -3 -a milenage,
// -k K, -o OPc or -O OP, -r RAND, -f AMF, -s SQN (decimal; the tool passes SEQ−1 and the IND of
// SQN to osmo_auth_gen_vec so the vector carries exactly this SQN), -A AUTS (resync: prints
// SQN.MS and a new vector for SEQ_MS+1 with IND from -i), -i IND, -l IND length (default 5).
import { execFile } from "node:child_process";

export const OSMO_AUC_GEN = process.env.OSMO_AUC_GEN ?? "osmo-auc-gen";

export interface OsmoInput {
  k: string;
  op?: string;
  opc?: string;
  rand: string;
  amf?: string;
  /** exact SQN of the vector */
  sqn?: number;
  /** resynchronisation: AUTS from the USIM for this RAND */
  auts?: string;
  /** IND slot of the vector generated after AUTS */
  ind?: number;
}

export interface OsmoResult {
  code: number;
  /** "RAND", "AUTN", "IK", "CK", "RES", "SRES", "Kc", "SQN", "IND", "SQN.MS" → value (hex without spaces, or decimal) */
  fields: Record<string, string>;
  stderr: string;
}

function argv(input: OsmoInput): string[] {
  const args = ["-3", "-a", "milenage", "-k", input.k, "-r", input.rand];
  if (input.opc !== undefined) args.push("-o", input.opc);
  if (input.op !== undefined) args.push("-O", input.op);
  if (input.amf !== undefined) args.push("-f", input.amf);
  if (input.sqn !== undefined) args.push("-s", String(input.sqn));
  if (input.auts !== undefined) args.push("-A", input.auts);
  if (input.ind !== undefined) args.push("-i", String(input.ind));
  return args;
}

export function parseOsmoOutput(stdout: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^([A-Za-z.][A-Za-z. ]*):\s*(.*)$/.exec(line);
    if (m) fields[m[1]] = m[2].replace(/\s+/g, "").toLowerCase();
  }
  return fields;
}

export function runOsmoAucGen(input: OsmoInput): Promise<OsmoResult> {
  return new Promise((resolve, reject) => {
    execFile(OSMO_AUC_GEN, argv(input), { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
        reject(
          new Error(
            `${OSMO_AUC_GEN} not found: install the Debian package libosmocore-utils (CI does), or set OSMO_AUC_GEN to its path`,
          ),
        );
        return;
      }
      const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
      resolve({ code, fields: parseOsmoOutput(stdout), stderr });
    });
  });
}

/** Maps with at most `limit` calls in flight (for parallel batches of processes). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
