// `gba provision add|import|list|show|remove`: writes the HSS store in <data>/hss/ directly
// (LMDB is multi-process, so this works while the HSS runs). `gba provision vehicle ...` is the
// ECA's binding registry (cli/provision-vehicle.ts).
import { readFileSync } from "node:fs";
import { type ImportPhase, type ImportRow, type RowError, checkRows, writeRows } from "../nf/hss/bulk.js";
import { CSV_COLUMNS, parseSubscriberCsv } from "../nf/hss/csv.js";
import { ExistsError, type HssStore, viewOf } from "../nf/hss/store.js";
import { openHssStore } from "../nf/hss/store-open.js";
import { validateCreate } from "../nf/hss/subscriber.js";
import { ConfigError, type GbaConfig, loadConfig } from "../nf/config.js";
import { describeFsError, requireExistingStore, StoreError } from "../nf/common/store.js";
import { storeMessage, VEHICLE_HELP } from "./provision-vehicle.js";
import {
  type Command,
  type FlagValues,
  parseFlags,
  printJson,
  requireString,
  STORE_HELP,
  storeFlag,
  synopsis,
  UsageError,
} from "./usage.js";

const STORE_OPTIONS = `options:
  --data DIR       data root; the store is DIR/hss/ (default .gba-data). Only add and import create
                   a store; the other commands refuse a data root without one (LMDB)
  --config FILE    config file: its data root, store, hss.defaultAmf (AMF when --amf is not given)
                   and hss.indBits (IND length, fixed when the store is created)
${STORE_HELP}`;

const VALUES = `K, OP and OPc are 16 bytes (32 hex digits), AMF 2 bytes, SQN 6 bytes: the HSS's SQN (SEQ || IND);
the first vector then carries SEQ + 1 (TS 33.102 Annex C). IMSI and MSISDN are 5..15 digits (a
leading + on the MSISDN is dropped). Without --impu the IMPU is sip:<IMPI>; a subscriber with an
MSISDN and no tel: IMPU also gets tel:+<MSISDN> (it reaches the NAF in the GUSS on Zn).
The master key comes from GBA_MASTER_KEY or DIR/hss/master.key (created with mode 0600).`;

const EXIT = `exit status: 0 done; 2 the command line is wrong (unknown command or flag, a missing flag, a flag
value that is not valid such as wrong hex or both --op and --opc); 1 the command was understood
and refused (an unreadable FILE or invalid lines in it, an IMPI/IMSI/MSISDN that exists, no such
subscriber, no store or a store or master key that cannot be used). Nothing is written when the
status is not 0.`;

const SUB_HELP: Record<string, string> = {
  add: `usage: gba provision add --impi ID --k HEX (--op HEX | --opc HEX) [--amf HEX] [--sqn HEX]
       [--imsi DIGITS] [--msisdn DIGITS] [--impu URI]... [--uicc-type GBA|GBA_U] [--lifetime S]
       [--data DIR] [--config FILE]

Adds one subscriber and prints it as JSON (never K or OPc). For a simulated USIM made with
\`gba usim new --imsi IMSI\`, --impi is the "impi" that command prints. --lifetime is the
bootstrapping session lifetime in seconds the BSF gets in the GUSS (default: bsf.sessionLifetime).

${STORE_OPTIONS}

${VALUES}

${EXIT}`,
  import: `usage: gba provision import FILE [--skip-invalid] [--data DIR] [--config FILE]

FILE.csv (header ${CSV_COLUMNS.join(",")}; columns in any order, only impi and k
required; several IMPUs in one cell separated by ';'; an empty cell is an absent value) or
FILE.json (an array of subscriber objects as the provisioning API takes them); "-" reads CSV
from stdin. Every line is checked first and every bad one reported with its line number; then
all are imported or, with an invalid line, none. --skip-invalid imports the valid ones. From
1,000 lines on, progress goes to stderr.

${STORE_OPTIONS}

${VALUES}

${EXIT}`,
  list: `usage: gba provision list [--limit N] [--after IMPI] [--json] [--data DIR] [--config FILE]

Subscribers in IMPI order, N per page (default 100), as a table (impi, imsi, msisdn, uicc, key,
seqHe) or with --json as {subscribers, next}; the next page starts --after the last IMPI shown.

${STORE_OPTIONS}

${EXIT}`,
  show: `usage: gba provision show IMPI [--data DIR] [--config FILE]

One subscriber as JSON (never K or OPc) with its SQN state and its last authentication failures
(which check failed, SQN_MS / SQN_HE): the place to look when a UE reports a MAC failure.

${STORE_OPTIONS}

${EXIT}`,
  remove: `usage: gba provision remove IMPI [--data DIR] [--config FILE]

Deletes a subscriber, its SQN state and its indexes.

${STORE_OPTIONS}

${EXIT}`,
  vehicle: VEHICLE_HELP,
};

const HELP = `usage: gba provision <command> [options]

HSS subscribers, written to the store in DIR/hss/ directly (works while the HSS runs), and the
ECA's vehicle bindings:

${Object.values(SUB_HELP)
  .map((h) => synopsis(h))
  .join("\n")}

import reads CSV with the header ${CSV_COLUMNS.join(",")} (or a JSON array);
\`gba provision <command> --help\` shows one command in full.

${STORE_OPTIONS}

${VALUES}

${EXIT}`;

const STORE_FLAGS = { data: { type: "string" }, config: { type: "string" }, store: { type: "string" } } as const;

/** Refused data or store: exit 1 with the message on stderr. */
class Refused extends Error {}

function configOf(values: FlagValues): GbaConfig {
  let cfg: GbaConfig;
  try {
    cfg = loadConfig(values.config as string | undefined);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (typeof values.data === "string") cfg.data = values.data;
  cfg.store = storeFlag(values.store) ?? cfg.store;
  return cfg;
}

/**
 * Opens the HSS store of the data root. Only add and import create one (`create`); the other
 * commands refuse an LMDB data root without a store instead of listing an empty new one.
 */
async function withStore<T>(cfg: GbaConfig, fn: (store: HssStore) => Promise<T> | T, create = false): Promise<T> {
  if (!create && cfg.store.backend === "lmdb") requireExistingStore(cfg.data, "hss");
  const store = await openHssStore(cfg, { indBits: cfg.hss.indBits });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Validation messages in flag terms: "uiccType: ..." → "--uicc-type: ..." */
function asFlags(reason: string): string {
  return reason
    .replace(/^impus(\.\d+)?:/, "--impu:")
    .replace(/^uiccType:/, "--uicc-type:")
    .replace(/^lifeTime:/, "--lifetime:")
    .replace(/^op, opc:/, "--op, --opc:")
    .replace(/^([a-z]+):/, "--$1:");
}

function intFlag(values: FlagValues, flag: string, min: number, max: number): number | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${flag}: expected a whole number in ${min}..${max}, got "${String(v)}"`);
  }
  return Number(v);
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}, got ${positionals.length}`);
  return positionals[0];
}

// ------------------------------------------------------------------ progress on stderr

const PHASES: ImportPhase[] = ["checking", "sealing", "writing"];

/** TTY: one line rewritten in place (at most every 100 ms); otherwise a line every 10 %. */
function progressReporter(stream: NodeJS.WriteStream = process.stderr) {
  let lastDecile = -1;
  let lastDraw = 0;
  let drawn = false;
  return {
    update(phase: ImportPhase, done: number, total: number) {
      const overall = total === 0 ? 1 : (PHASES.indexOf(phase) * total + done) / (PHASES.length * total);
      const pct = Math.floor(overall * 100);
      const text = `import: ${phase} ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} (${pct}% overall)`;
      if (stream.isTTY) {
        const now = Date.now();
        if (now - lastDraw < 100 && overall < 1) return;
        lastDraw = now;
        stream.write(`\r\x1b[K${text}`);
        drawn = true;
      } else {
        const decile = Math.floor(overall * 10);
        if (decile <= lastDecile) return;
        lastDecile = decile;
        stream.write(`${text}\n`);
      }
    },
    end() {
      if (drawn) stream.write("\n");
    },
  };
}

// ------------------------------------------------------------------ subcommands

type Sub = (argv: string[]) => Promise<number>;

const subs: Record<string, Sub> = {
  async add(argv) {
    const { values } = parseFlags(argv, {
      ...STORE_FLAGS,
      impi: { type: "string" },
      k: { type: "string" },
      op: { type: "string" },
      opc: { type: "string" },
      amf: { type: "string" },
      sqn: { type: "string" },
      imsi: { type: "string" },
      msisdn: { type: "string" },
      impu: { type: "string", multiple: true },
      "uicc-type": { type: "string" },
      lifetime: { type: "string" },
    });
    requireString(values, "impi");
    requireString(values, "k");
    if (values.op !== undefined && values.opc !== undefined) throw new UsageError("give either --op or --opc, not both");
    if (values.op === undefined && values.opc === undefined) throw new UsageError("missing required flag --op or --opc");
    const cfg = configOf(values);
    const input: Record<string, unknown> = {};
    for (const f of ["impi", "k", "op", "opc", "amf", "sqn", "imsi", "msisdn"]) if (values[f] !== undefined) input[f] = values[f];
    if (values.impu !== undefined) input.impus = values.impu;
    if (values["uicc-type"] !== undefined) input.uiccType = values["uicc-type"];
    const lifetime = intFlag(values, "lifetime", 1, 2147483647);
    if (lifetime !== undefined) input.lifeTime = lifetime;
    const v = validateCreate(input, { defaultAmf: cfg.hss.defaultAmf });
    if (!v.ok) throw new UsageError(v.errors.map(asFlags).join("; "));
    return withStore(
      cfg,
      async (store) => {
        try {
          await store.create([store.secrets.seal(v.value)], [v.value.sqn]);
        } catch (err) {
          if (err instanceof ExistsError) throw new Refused(`nothing written: ${err.message}`);
          throw err;
        }
        const r = (await store.get(v.value.impi))!;
        printJson(await viewOf(store, r));
        return 0;
      },
      true,
    );
  },

  async import(argv) {
    const { values, positionals } = parseFlags(argv, { ...STORE_FLAGS, "skip-invalid": { type: "boolean" } }, true);
    const file = onePositional(positionals, "FILE (CSV or JSON)");
    const cfg = configOf(values);
    let text: string;
    try {
      text = readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (err) {
      throw new Refused(`cannot read ${file}: ${describeFsError(err)}`);
    }
    let rows: ImportRow[];
    let errors: RowError[];
    if (/\.json$/i.test(file)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new Refused(`${file} is not valid JSON: ${(err as Error).message}`);
      }
      if (!Array.isArray(parsed)) throw new Refused(`${file}: expected a JSON array of subscribers`);
      rows = parsed.map((input, i) => ({ label: `item ${i}`, input }));
      errors = [];
    } else {
      ({ rows, errors } = parseSubscriberCsv(text));
    }
    const progress = rows.length >= 1000 ? progressReporter() : undefined;
    const skipInvalid = values["skip-invalid"] === true;
    return withStore(
      cfg,
      async (store) => {
        const started = performance.now();
        const checked = await checkRows(rows, store, { defaultAmf: cfg.hss.defaultAmf }, progress?.update);
        errors.push(...checked.errors);
        if (errors.length > 0) {
          progress?.end();
          const list = errors.map((e) => `  ${e.label}: ${e.reason}`).join("\n");
          if (!skipInvalid) throw new Refused(`${errors.length} invalid, nothing imported:\n${list}`);
          process.stderr.write(`gba provision import: skipping ${errors.length} invalid:\n${list}\n`);
        }
        let imported: number;
        try {
          imported = await writeRows(store, checked.valid, progress?.update);
        } catch (err) {
          if (err instanceof ExistsError) throw new Refused(`nothing imported: the store changed meanwhile: ${err.message}`);
          throw err;
        } finally {
          progress?.end();
        }
        const seconds = (performance.now() - started) / 1000;
        printJson({ imported, skipped: errors.length, seconds: Math.round(seconds * 100) / 100 });
        return 0;
      },
      true,
    );
  },

  async list(argv) {
    const { values } = parseFlags(argv, {
      ...STORE_FLAGS,
      limit: { type: "string" },
      after: { type: "string" },
      json: { type: "boolean" },
    });
    const limit = intFlag(values, "limit", 1, 1_000_000) ?? 100;
    const cfg = configOf(values);
    return withStore(cfg, async (store) => {
      const page = await store.list(limit, values.after as string | undefined);
      if (values.json) {
        printJson({ subscribers: await Promise.all(page.items.map((r) => viewOf(store, r))), next: page.next ?? null });
        return 0;
      }
      const lines: string[] = [];
      for (const r of page.items) {
        lines.push([r.impi, r.imsi ?? "-", r.msisdn ?? "-", r.uiccType, r.keyInput, String(await store.seqHe(r))].join("\t"));
      }
      process.stdout.write(
        `${["impi", "imsi", "msisdn", "uicc", "key", "seqHe"].join("\t")}\n${lines.map((l) => `${l}\n`).join("")}`,
      );
      if (page.next !== undefined) process.stderr.write(`more: gba provision list --after ${page.next}\n`);
      return 0;
    });
  },

  async show(argv) {
    const { values, positionals } = parseFlags(argv, STORE_FLAGS, true);
    const impi = onePositional(positionals, "IMPI");
    return withStore(configOf(values), async (store) => {
      const r = await store.get(impi);
      if (!r) throw new Refused(`no subscriber ${impi}`);
      printJson({ ...(await viewOf(store, r)), authFailures: await store.authFailures(impi) });
      return 0;
    });
  },

  async remove(argv) {
    const { values, positionals } = parseFlags(argv, STORE_FLAGS, true);
    const impi = onePositional(positionals, "IMPI");
    return withStore(configOf(values), async (store) => {
      if (!(await store.remove(impi))) throw new Refused(`no subscriber ${impi}`);
      printJson({ removed: impi });
      return 0;
    });
  },

  async vehicle(argv) {
    const { provisionVehicle } = await import("./provision-vehicle.js");
    return provisionVehicle(argv);
  },
};

export const provision: Command = {
  summary: "add, import, list, show and remove HSS subscribers (works while the HSS runs); ECA vehicle bindings",
  help: HELP,
  subcommands: SUB_HELP,
  async run(argv) {
    const [what, ...rest] = argv;
    if (what === undefined) throw new UsageError(`missing command: one of ${Object.keys(subs).join(", ")}`);
    const sub = subs[what];
    if (!sub) throw new UsageError(`unknown command "${what}": one of ${Object.keys(subs).join(", ")}`);
    try {
      return await sub(rest);
    } catch (err) {
      if (err instanceof Refused || err instanceof StoreError || err instanceof ConfigError) {
        process.stderr.write(`gba provision ${what}: ${storeMessage(err)}\n`);
        return 1;
      }
      throw err;
    }
  },
};
