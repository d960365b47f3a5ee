// `gba provision vehicle ...`: the VehicleMan binding registry of the Enrolment CA (GSMA IoT.04
// scenario 7: vehicle ID ↔ OBU device ID ↔ MSISDN), kept in the ECA's store under <data>/eca/.
import { readFileSync } from "node:fs";
import { ConfigError, type GbaConfig, loadConfig } from "../nf/config.js";
import { describeFsError, NoStoreError, requireExistingStore, StoreError } from "../nf/common/store.js";
import { parseBindingsCsv } from "../nf/eca/bindings-csv.js";
import { BindingError } from "../nf/eca/bindings.js";
import type { EcaStore } from "../nf/eca/store.js";
import { openEcaStore, openEcaStoreToRead } from "../nf/eca/store-open.js";
import { parseFlags, printJson, requireString, STORE_HELP, storeFlag, UsageError } from "./usage.js";

export const VEHICLE_HELP = `usage: gba provision vehicle add --vehicle ID --obu ID --msisdn N [--data DIR] [--config FILE]
       gba provision vehicle import FILE.csv [--data DIR] [--config FILE]
       gba provision vehicle list|certificates [--data DIR] [--config FILE]

The VehicleMan binding registry of the Enrolment CA (GSMA IoT.04 scenario 7), in DIR/eca/:
  add            bind an OBU (device ID) and its SIM's MSISDN to a vehicle
  import         FILE.csv with header vehicle_id,obu_id,msisdn; every line or none is added,
                 and every bad line is reported
  list           the bindings (JSON)
  certificates   the enrolment certificates issued so far (JSON)

IDs: 1..64 characters A-Z a-z 0-9 . : - (the vehicle ID becomes the certificate subject
serialNumber). MSISDN: 5..15 digits, optionally with a leading +. An OBU is bound to one
vehicle and one MSISDN; a vehicle may carry several OBUs. Adding a binding that is already
there unchanged is not an error.

options:
  --data DIR      data root; the registry is in DIR/eca/ (default .gba-data). add and import create
                  it; list and certificates refuse a data root without one (LMDB)
  --config FILE   config file (its "data" and "store" are used when the flags are not given)
${STORE_HELP}`;

/** A store error for the user; a missing store says how to name the right data root. */
export function storeMessage(err: Error): string {
  if (!(err instanceof NoStoreError)) return err.message;
  return `${err.message}: name the data root it was provisioned in with --data DIR (or "data" in --config)`;
}

/** Understood but refused (exit 1), like `gba provision`. */
class Refused extends Error {}

const STORE_FLAGS = { data: { type: "string" }, config: { type: "string" }, store: { type: "string" } } as const;

function storeConfig(values: Record<string, unknown>): Pick<GbaConfig, "data" | "store"> {
  let cfg: GbaConfig;
  try {
    cfg = loadConfig(values.config as string | undefined);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  return { data: typeof values.data === "string" ? values.data : cfg.data, store: storeFlag(values.store) ?? cfg.store };
}

async function addRows(cfg: Pick<GbaConfig, "data" | "store">, run: (store: EcaStore) => Promise<unknown>): Promise<number> {
  const store = await openEcaStore(cfg);
  try {
    printJson(await run(store));
    return 0;
  } finally {
    await store.close();
  }
}

/** Listings read an existing registry; a data root without one is refused, never listed as empty. */
async function listing(cfg: Pick<GbaConfig, "data" | "store">, read: (store: EcaStore) => Promise<unknown[]>): Promise<number> {
  if (cfg.store.backend === "lmdb") requireExistingStore(cfg.data, "eca");
  const store = await openEcaStoreToRead(cfg);
  if (!store) throw new NoStoreError(cfg.data, "eca");
  try {
    printJson(await read(store));
    return 0;
  } finally {
    await store.close();
  }
}

type Sub = (argv: string[]) => Promise<number> | number;

const subs: Record<string, Sub> = {
  add(argv) {
    const { values } = parseFlags(argv, {
      ...STORE_FLAGS,
      vehicle: { type: "string" },
      obu: { type: "string" },
      msisdn: { type: "string" },
    });
    const row = {
      vehicleId: requireString(values, "vehicle"),
      obuId: requireString(values, "obu"),
      msisdn: requireString(values, "msisdn"),
    };
    return addRows(storeConfig(values), async (store) => ({
      ...(await store.addBindings([row], new Date())),
      binding: await store.bindingOf(row.obuId),
    }));
  },
  import(argv) {
    const { values, positionals } = parseFlags(argv, STORE_FLAGS, true);
    if (positionals.length !== 1) throw new UsageError("import needs exactly one FILE.csv");
    let text: string;
    try {
      text = readFileSync(positionals[0], "utf8");
    } catch (err) {
      throw new Refused(`cannot read ${positionals[0]}: ${describeFsError(err)}`);
    }
    const { rows, lines, problems } = parseBindingsCsv(text);
    return addRows(storeConfig(values), (store) => store.addBindings(rows, new Date(), lines, problems));
  },
  list(argv) {
    const { values } = parseFlags(argv, STORE_FLAGS);
    return listing(storeConfig(values), (store) => store.listBindings());
  },
  certificates(argv) {
    const { values } = parseFlags(argv, STORE_FLAGS);
    return listing(storeConfig(values), (store) => store.listCertificates());
  },
};

/** Runs `gba provision vehicle <what> ...`; binding and store problems exit 1 with every reason on stderr. */
export async function provisionVehicle(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === undefined) throw new UsageError(`missing vehicle command: one of ${Object.keys(subs).join(", ")}`);
  const sub = subs[what];
  if (!sub) throw new UsageError(`unknown vehicle command "${what}": one of ${Object.keys(subs).join(", ")}`);
  try {
    return await sub(rest);
  } catch (err) {
    if (err instanceof BindingError) {
      process.stderr.write(`gba provision vehicle ${what}: nothing written:\n${err.message}\n`);
      return 1;
    }
    if (err instanceof StoreError || err instanceof Refused) {
      process.stderr.write(`gba provision vehicle ${what}: ${storeMessage(err)}\n`);
      return 1;
    }
    throw err;
  }
}
