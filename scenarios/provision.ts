// Provisioning of a run's stores before any NF starts: subscribers into the HSS store (the
// same checked bulk import as `gba provision import`), vehicle bindings into the ECA's registry
// (as `gba provision vehicle import`). Stores, not APIs, so every topology backend (also NFs in
// network namespaces, whose admin listeners the runner cannot reach) starts from the same data.
// The store is the configured one: LMDB in the run's data root, or the Redis Cluster of the
// multi-host topology (there from its UE host, ./topology/provision-worker.ts).
import { bytesToHex } from "../wire/bytes.js";
import { sqnToBytes } from "../milenage/sqn.js";
import type { GbaConfig } from "../nf/config.js";
import { openEcaStore } from "../nf/eca/store-open.js";
import { checkRows, writeRows } from "../nf/hss/bulk.js";
import { openHssStore } from "../nf/hss/store-open.js";
import { ProvisioningError } from "./errors.js";
import type { Plan, SubscriberSecret } from "./plan.js";
import type { ScenarioBinding } from "./types.js";
import { type Provisioned, type Provisioning, secondsText } from "./report.js";
import { writeUsims } from "./usims.js";

/** A subscriber as `gba provision import` reads it: identifiers and hex strings, no bytes. */
export interface HssRow {
  label: string;
  input: {
    impi: string;
    imsi: string;
    msisdn: string;
    k: string;
    opc: string;
    sqn: string;
    uiccType?: "GBA" | "GBA_U";
    lifeTime?: number;
  };
}

export function hssRows(subscribers: SubscriberSecret[]): HssRow[] {
  return subscribers.map((s) => ({
    label: s.impi,
    input: {
      impi: s.impi,
      imsi: s.imsi,
      msisdn: s.msisdn,
      k: bytesToHex(s.k),
      opc: bytesToHex(s.opc),
      sqn: bytesToHex(sqnToBytes(s.sqn)),
      uiccType: s.uiccType,
      ...(s.keyLifetime !== undefined ? { lifeTime: s.keyLifetime } : {}),
    },
  }));
}

export async function provisionHss(cfg: GbaConfig, subscribers: SubscriberSecret[]): Promise<number> {
  return provisionHssRows(cfg, hssRows(subscribers));
}

export async function provisionHssRows(cfg: GbaConfig, rows: HssRow[]): Promise<number> {
  const store = await openHssStore(cfg, { indBits: cfg.hss.indBits });
  try {
    const { valid, errors } = await checkRows(rows, store, { defaultAmf: cfg.hss.defaultAmf });
    if (errors.length)
      throw new ProvisioningError(`HSS refused subscribers: ${errors.map((e) => `${e.label}: ${e.reason}`).join("; ")}`);
    return await writeRows(store, valid);
  } finally {
    await store.close();
  }
}

export async function provisionEca(cfg: GbaConfig, bindings: ScenarioBinding[]): Promise<number> {
  const store = await openEcaStore(cfg);
  try {
    const r = await store.addBindings(
      bindings.map((b) => ({ vehicleId: b.vehicle, obuId: b.obu, msisdn: b.msisdn })),
      new Date(),
    );
    return r.added;
  } catch (err) {
    throw new ProvisioningError(`ECA refused bindings: ${(err as Error).message}`);
  } finally {
    await store.close();
  }
}

/** runs this large say how far provisioning got, part by part */
const LARGE_RUN = 10_000;

async function timed(what: () => Promise<number>): Promise<Provisioned> {
  const t0 = performance.now();
  const count = await what();
  return { count, ms: Math.round(performance.now() - t0) };
}

/** The USIM state files of every OBU, then the HSS subscribers, then the ECA's vehicle bindings. */
/** The state file of every USIM of the run (functional devices and load pool); resolves to their count. */
export async function writeRunUsims(cfg: GbaConfig, plan: Plan, usimDir: string): Promise<number> {
  const all = [...plan.devices, ...plan.loadDevices];
  await writeUsims(usimDir, all, plan.subscribers, { indBits: cfg.hss.indBits, autnStar: cfg.gbaU.autnStar });
  return all.length;
}

export async function provisionRun(
  cfg: GbaConfig,
  plan: Plan,
  usimDir: string,
  info: (line: string) => void,
): Promise<Provisioning> {
  const many = plan.devices.length + plan.loadDevices.length >= LARGE_RUN;
  const usims = await timed(() => writeRunUsims(cfg, plan, usimDir));
  if (many) info(`provisioning: ${usims.count} USIM state files in ${secondsText(usims.ms)}`);
  const subscribers = await timed(() => provisionHss(cfg, plan.subscribers));
  if (many) info(`provisioning: ${subscribers.count} HSS subscribers in ${secondsText(subscribers.ms)}`);
  const bindings = await timed(() => provisionEca(cfg, plan.bindings));
  if (many) info(`provisioning: ${bindings.count} ECA vehicle bindings in ${secondsText(bindings.ms)}`);
  return { usims, subscribers, bindings };
}
