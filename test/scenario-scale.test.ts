// Issue 18 goal 5 (100,000 OBUs in one scenario run): what made a run of that size slow or large,
// each guarded by what it does rather than by how long it takes.
// - the load phase's device pool: first in, first out without Array.shift (which moves the whole
//   array once it is large: a pool of 100,000 made every hand-out O(n));
// - the run's USIM state files: created without an fsync each (the directory is the run's own);
// - the load threads: devices beyond keepOpen are opened at their flow and closed after it, so
//   the devices held open stay bounded whatever the pool's size;
// - provisioning: the HSS subscribers and the ECA bindings each go in one store transaction.
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openNfStore } from "../nf/common/store.js";
import { defaultConfig } from "../nf/config.js";
import type { Endpoints } from "../scenarios/engine/events.js";
import { LoadThreads } from "../scenarios/engine/load-threads.js";
import { usimFileOf } from "../scenarios/engine/engine.js";
import { driveLoad, Fifo, type LoadPlan } from "../scenarios/load/driver.js";
import { parseScenario } from "../scenarios/load.js";
import { buildPlan } from "../scenarios/plan.js";
import { provisionRun } from "../scenarios/provision.js";
import { writeUsims } from "../scenarios/usims.js";
import { loadUsimStateFile } from "../ue/usim/state-file.js";

const SCENARIO = (pool: number) => `
name: scale
deviceCount: 2
flow: [bootstrap, keygen, csr, enrol, verify]
devices:
  - { name: digest, uicc: GBA_ME, tunnel: digest }
  - { name: u-tls-psk, uicc: GBA_U, tunnel: tls-psk }
load:
  mode: concurrency
  concurrency: 2
  count: ${pool}
  devices: ${pool}
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "scenario-scale-"));
});
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function countPlan(count: number, concurrency: number): LoadPlan {
  return { mode: "concurrency", concurrency, count, poisson: false, rampSeconds: 0, graceSeconds: 5 };
}

describe("load phase device pool", () => {
  it("Fifo: first in, first out across its compactions", () => {
    const q = new Fifo<number>([0, 1, 2]);
    const out: number[] = [];
    for (let i = 3; i < 10_000; i++) {
      q.push(i);
      if (i % 3 !== 0) out.push(q.shift() as number);
    }
    for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x);
    expect(out).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(q.length).toBe(0);
  });

  it("a count-bound phase over a pool of that size runs every device exactly once, with no Array.shift", async () => {
    const pool = Array.from({ length: 20_000 }, (_, i) => i);
    const runs = new Array<number>(pool.length).fill(0);
    const shift = vi.spyOn(Array.prototype, "shift");
    let shifts: number;
    try {
      const o = await driveLoad(countPlan(pool.length, 8), pool, async (d) => {
        runs[d]++;
      });
      shifts = shift.mock.calls.length;
      expect(o.completed).toBe(pool.length);
    } finally {
      shift.mockRestore();
    }
    expect(runs.every((n) => n === 1)).toBe(true);
    // Array.shift moves the whole array once it is large: one call per hand-out was O(n) each
    expect(shifts).toBeLessThan(100);
  });
});

describe("the run's USIM state files", () => {
  it("are created 0600 and readable, without one fsync per file", async () => {
    const plan = buildPlan(parseScenario(SCENARIO(300), join(dir, "s.yaml")));
    const devices = [...plan.devices, ...plan.loadDevices];
    const probe = await open(join(dir, "probe"), "w");
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = vi.spyOn(proto, "sync");
    const usimDir = join(dir, "usim-files");
    let fsyncs: number;
    try {
      await writeUsims(usimDir, devices, plan.subscribers, { indBits: 5, autnStar: true });
      fsyncs = sync.mock.calls.length;
    } finally {
      sync.mockRestore();
    }
    expect(fsyncs).toBe(0);
    expect(readdirSync(usimDir).length).toBe(devices.length);
    const d = devices[devices.length - 1];
    expect(statSync(usimFileOf(usimDir, d.obu)).mode & 0o777).toBe(0o600);
    const state = await loadUsimStateFile(usimFileOf(usimDir, d.obu));
    expect(state.imsi).toBe(d.imsi);
    // a file that is there already is not overwritten: each run writes into its own directory
    await expect(writeUsims(usimDir, [d], plan.subscribers, { indBits: 5, autnStar: true })).rejects.toThrow(/EEXIST/);
  });
});

/** Write transactions committed in the NF's store so far (LMDB's last transaction id). */
async function commits(dataRoot: string, nf: string): Promise<number> {
  const root = openNfStore(dataRoot, nf, { readOnly: true });
  try {
    return (root.getStats() as { lastTxnId: number }).lastTxnId;
  } finally {
    await root.close();
  }
}

describe("provisioning", () => {
  it("writes every subscriber, binding and USIM; the store commits do not grow with the number of OBUs", async () => {
    const run = async (pool: number) => {
      const plan = buildPlan(parseScenario(SCENARIO(pool), join(dir, "s.yaml")));
      const cfg = defaultConfig();
      cfg.data = join(dir, `data-${pool}`);
      const p = await provisionRun(cfg, plan, join(dir, `usim-run-${pool}`), () => undefined);
      const n = plan.devices.length + plan.loadDevices.length;
      expect([p.usims.count, p.subscribers.count, p.bindings.count]).toEqual([n, n, n]);
      return { hss: await commits(cfg.data, "hss"), eca: await commits(cfg.data, "eca") };
    };
    const few = await run(3);
    const many = await run(600);
    // one transaction per provisioning batch, not one per subscriber or binding
    expect(many).toEqual(few);
  });
});

describe("load threads at fleet scale", () => {
  it("open devices stay bounded by keepOpen: the others are opened at their flow and closed after it", async () => {
    const plan = buildPlan(parseScenario(SCENARIO(40), join(dir, "s.yaml")));
    const usimDir = join(dir, "usim-threads");
    await writeUsims(usimDir, plan.loadDevices, plan.subscribers, { indBits: 5, autnStar: true });
    // nothing listens: every flow fails at once at its bootstrap (ECONNREFUSED), after its device was opened
    const nowhere = "http://127.0.0.1:1";
    const endpoints: Endpoints = {
      bsfUb: nowhere,
      bsfFqdn: plan.bsfFqdn,
      nafHttp: nowhere,
      nafTlsPsk: "https://127.0.0.1:1",
      nafFqdn: "naf.example",
      ecaHttp: nowhere,
      ecaTlsPsk: "https://127.0.0.1:1",
      ecaFqdn: "eca.example",
    };
    const keepOpen = 3;
    const pool = await LoadThreads.start(
      1,
      endpoints,
      plan.loadDevices.map((d) => ({ d, usimFile: usimFileOf(usimDir, d.obu) })),
      5000,
      { keepOpen },
    );
    const causes: string[] = [];
    try {
      expect(pool.devices.length).toBe(plan.loadDevices.length);
      const start = performance.now();
      const o = await driveLoad(countPlan(plan.loadDevices.length, 2), pool.devices, (dev) =>
        pool.run(dev, start, (r) => causes.push(`${r.failure?.step}: ${r.failure?.cause}`)),
      );
      expect(o.completed).toBe(plan.loadDevices.length);
    } finally {
      await pool.close();
    }
    expect(causes.length).toBe(plan.loadDevices.length);
    expect(causes.every((c) => c.startsWith("bootstrap: "))).toBe(true);
    // at most keepOpen kept, plus the flows in flight (2) when one ends
    expect(pool.maxOpen).toBeGreaterThanOrEqual(keepOpen);
    expect(pool.maxOpen).toBeLessThanOrEqual(keepOpen + 2);
  });
});
