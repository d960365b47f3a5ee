// From a validated scenario to the concrete test bed: one entry per OBU (identities, GBA type,
// tunnel, flow, what is expected of it), the subscribers to provision into the HSS (with their
// secrets, kept apart from everything that is reported) and the vehicle bindings for the ECA.
import { randomBytes } from "node:crypto";
import { hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { bytesToSqn } from "../milenage/sqn.js";
import { bsfFqdnFromImsi, impiFromImsi } from "../ue/impi.js";
import type { LoadedScenario } from "./load.js";
import type { DeviceGroup, FlowStep, ScenarioBinding, ScenarioSubscriber } from "./types.js";

export type Uicc = "GBA_ME" | "GBA_U";
export type Tunnel = "digest" | "tls-psk";

export interface Expectation {
  outcome: "success" | "denied";
  status?: number;
  reason?: string;
  rebootstrap?: boolean;
  resync?: boolean;
}

/** One OBU: everything but its secrets (those stay in the USIM state file and the HSS). */
export interface PlannedDevice {
  obu: string;
  vehicle: string;
  group: string;
  uicc: Uicc;
  tunnel: Tunnel;
  imsi: string;
  mncLength: 2 | 3;
  impi: string;
  msisdn: string;
  flow: FlowStep[];
  expect: Expectation;
  /** ms the device clock runs behind */
  clockLagMs: number;
  /** member of the load phase's pool (not of the functional phase) */
  load: boolean;
}

/** What the HSS and the USIM are given; never reported. */
export interface SubscriberSecret {
  impi: string;
  imsi: string;
  msisdn: string;
  k: Uint8Array;
  opc: Uint8Array;
  /** SQN_HE the HSS starts from (and the USIM's SQN_MS unless drifted) */
  sqn: number;
  uiccType: "GBA" | "GBA_U";
  /** GUSS key lifetime, seconds */
  keyLifetime?: number;
  /** the USIM's SEQ is this far ahead of the HSS's (SQN drift) */
  sqnAhead?: number;
}

export interface Plan {
  name: string;
  mcc: string;
  mnc: string;
  bsfFqdn: string;
  devices: PlannedDevice[];
  loadDevices: PlannedDevice[];
  subscribers: SubscriberSecret[];
  bindings: ScenarioBinding[];
}

export interface PlanOptions {
  /** overrides deviceCount */
  devices?: number;
  /** whether the load phase runs (default: when the scenario has one) */
  load?: boolean;
  random?: (n: number) => Uint8Array;
}

export const DEFAULT_DEVICE_COUNT = 20;
const DEFAULT_FLOW: FlowStep[] = ["bootstrap", "keygen", "csr", "enrol", "verify"];

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** How many OBUs each group gets: explicit counts stay, the rest share deviceCount evenly. */
export function groupCounts(groups: DeviceGroup[], total: number): number[] {
  const free = groups.filter((g) => g.count === undefined && g.subscriber === undefined).length;
  let left = total;
  let freeSeen = 0;
  return groups.map((g) => {
    if (g.subscriber !== undefined) return 1;
    if (g.count !== undefined) return g.count;
    const share = Math.ceil(left / (free - freeSeen));
    freeSeen++;
    left -= share;
    return share;
  });
}

export function buildPlan(s: LoadedScenario, o: PlanOptions = {}): Plan {
  const random = o.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const mcc = s.operator?.mcc ?? "001";
  const mnc = s.operator?.mnc ?? "01";
  const mncLength = mnc.length as 2 | 3;
  const named = new Map<string, ScenarioSubscriber>();
  for (const sub of [...(s.subscribers?.inline ?? []), ...s.csvSubscribers]) named.set(sub.id, sub);
  const usedImsi = new Set([...named.values()].map((x) => x.imsi));
  const usedMsisdn = new Set([...named.values()].map((x) => digits(x.msisdn)));
  const explicitBindings = [...(s.bindings?.inline ?? []), ...s.csvBindings];
  for (const b of explicitBindings) usedMsisdn.add(digits(b.msisdn));

  let serial = 0;
  const nextIdentity = () => {
    for (;;) {
      serial++;
      const imsi = `${mcc}${mnc}${pad(serial, 15 - mcc.length - mnc.length)}`;
      const msisdn = `49151${pad(serial, 8)}`;
      if (!usedImsi.has(imsi) && !usedMsisdn.has(msisdn)) {
        usedImsi.add(imsi);
        usedMsisdn.add(msisdn);
        return { imsi, msisdn, n: serial };
      }
    }
  };

  const subscribers: SubscriberSecret[] = [];
  const bindings: ScenarioBinding[] = [...explicitBindings];
  const boundObus = new Set(explicitBindings.map((b) => b.obu));
  let obuNo = 0;

  const makeDevice = (g: DeviceGroup & { uicc: Uicc; tunnel: Tunnel }, flow: FlowStep[], load: boolean): PlannedDevice => {
    obuNo++;
    const sub = g.subscriber === undefined ? undefined : named.get(g.subscriber);
    const id = sub ? { imsi: sub.imsi, msisdn: digits(sub.msisdn) } : nextIdentity();
    const impi = impiFromImsi(id.imsi, mncLength);
    const k = sub?.k ? hexToBytes(sub.k, "k", 16) : random(16);
    const opc = sub?.opc
      ? hexToBytes(sub.opc, "opc", 16)
      : sub?.op
        ? Milenage.fromOp(k, hexToBytes(sub.op, "op", 16)).opc
        : random(16);
    subscribers.push({
      impi,
      imsi: id.imsi,
      msisdn: id.msisdn,
      k,
      opc,
      sqn: sub?.sqn ? bytesToSqn(hexToBytes(sub.sqn, "sqn", 6)) : 0,
      uiccType: sub?.uiccType ?? (g.uicc === "GBA_U" ? "GBA_U" : "GBA"),
      keyLifetime: g.keyLifetime ?? sub?.keyLifetime,
      sqnAhead: g.sqnAhead,
    });
    const obu = load ? `OBU-L${pad(obuNo, 4)}` : `OBU-${pad(obuNo, 4)}`;
    const vehicle = load ? `VIN-L${pad(obuNo, 4)}` : `VIN-${pad(obuNo, 4)}`;
    if (!boundObus.has(obu)) bindings.push({ vehicle, obu, msisdn: digits(g.bindMsisdn ?? id.msisdn) });
    return {
      obu,
      vehicle,
      group: g.name,
      uicc: g.uicc,
      tunnel: g.tunnel,
      imsi: id.imsi,
      mncLength,
      impi,
      msisdn: id.msisdn,
      flow,
      expect: expectation(g),
      clockLagMs: Math.round((g.clockLagSeconds ?? 0) * 1000),
      load,
    };
  };

  const counts = groupCounts(s.devices, o.devices ?? s.deviceCount ?? DEFAULT_DEVICE_COUNT);
  const devices: PlannedDevice[] = [];
  s.devices.forEach((g, gi) => {
    const uicc = g.uicc ?? (named.get(g.subscriber ?? "")?.uiccType === "GBA_U" ? "GBA_U" : "GBA_ME");
    const group = { ...g, uicc, tunnel: g.tunnel ?? "digest" } as DeviceGroup & { uicc: Uicc; tunnel: Tunnel };
    for (let i = 0; i < counts[gi]; i++) devices.push(makeDevice(group, g.flow ?? s.flow ?? DEFAULT_FLOW, false));
  });

  const loadDevices: PlannedDevice[] = [];
  const load = s.load;
  if (load && o.load !== false) {
    const flow = (load.flow ?? s.flow).filter((st) => !(typeof st === "object" && "wait" in st));
    const pool = load.devices ?? Math.max(4, Math.ceil((load.concurrency ?? load.rate ?? 1) * 1.5));
    // without a fixed GBA type or tunnel the pool mixes GBA_ME/GBA_U and Digest/TLS-PSK
    const mixes: Array<{ uicc: Uicc; tunnel: Tunnel }> = [
      { uicc: "GBA_ME", tunnel: "digest" },
      { uicc: "GBA_U", tunnel: "tls-psk" },
      { uicc: "GBA_U", tunnel: "digest" },
      { uicc: "GBA_ME", tunnel: "tls-psk" },
    ];
    // autocannon has no TLS-PSK: its pool is all Digest (load.ts refuses load.tunnel: tls-psk there)
    const tunnel = load.tunnel ?? (load.driver === "autocannon" ? "digest" : undefined);
    for (let i = 0; i < pool; i++) {
      const mix = mixes[i % mixes.length];
      const g = { name: "load", uicc: load.uicc ?? mix.uicc, tunnel: tunnel ?? mix.tunnel };
      loadDevices.push(makeDevice(g, flow, true));
    }
  }

  const bsfFqdn = s.operator?.bsfFqdn ?? bsfFqdnFromImsi(`${mcc}${mnc}0000000000`.slice(0, 15), mncLength);
  return { name: s.name, mcc, mnc, bsfFqdn, devices, loadDevices, subscribers, bindings };
}

function expectation(g: DeviceGroup): Expectation {
  const e = g.expect ?? {};
  const outcome = e.outcome ?? (e.status !== undefined && e.status >= 400 ? "denied" : "success");
  return { outcome, status: e.status, reason: e.reason, rebootstrap: e.rebootstrap, resync: e.resync };
}

function digits(msisdn: string): string {
  return msisdn.replace(/^\+/, "");
}
