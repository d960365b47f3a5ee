// Memory of live bootstrap sessions: a running BSF (`gba bsf`), its RSS and its LMDB file before
// and after N sessions (default 100,000) are put into its store, and after the BSF has read
// every one of them (one Zn lookup per B-TID, which maps their pages into its RSS). The sessions
// are written straight into <data>/bsf/ through the BSF's store from this process (LMDB
// is multi-process), each as a real bootstrap leaves it (Ks, RAND, lifetime, the default GUSS),
// because N full bootstraps would take minutes. RSS is the kernel's VmRSS of the BSF process;
// the store's size is the LMDB file's allocated blocks.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { makeBtid } from "../gba/btid.js";
import { LmdbBsfStore } from "../nf/bsf/store-lmdb.js";
import { defaultConfig } from "../nf/config.js";
import { nfDataDir } from "../nf/common/store.js";
import { runAutocannon } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import type { BenchOptions } from "./lib/options.js";
import type { BenchResult } from "./lib/result.js";
import { Rig } from "./lib/rig.js";
import { str } from "./lib/child.js";
import { benchImpi } from "./lib/ue-load.js";

const BATCH = 2000;
const MiB = 2 ** 20;

/** VmRSS of a process, and its anonymous part (heap, stacks) and file-backed part (the LMDB map). */
function rss(pid: number): { total: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    if (!m) throw new Error(`no ${field} for process ${pid}`);
    return Number(m[1]) * 1024;
  };
  return { total: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
}

/** Bytes the LMDB file really occupies (it is sparse: its length is the map size). */
function storeBytes(data: string): number {
  return statSync(join(nfDataDir(data, "bsf"), "store.mdb")).blocks * 512;
}

function sessionOf(i: number, now: number, fqdn: string) {
  const rand = new Uint8Array(16);
  new DataView(rand.buffer).setUint32(12, i + 1);
  rand[0] = 0xbe;
  const impi = benchImpi(i);
  return {
    btid: makeBtid(rand, fqdn),
    impi,
    ks: new Uint8Array(32).fill(i & 0xff),
    rand,
    createdAt: now,
    expiresAt: now + 3_600_000,
    uiccType: "GBA" as const,
    guss: { bsfInfo: { uiccType: "GBA" as const }, ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: `sip:${impi}` }] } }] },
  };
}

export async function benchSessions(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  try {
    const data = rig.tmp("sessions");
    const cfg = defaultConfig();
    // no HSS: the sessions are put into the store, Zh is never asked
    const bsf = await rig.gba(["bsf", "--ephemeral-ports", "--log-level", "warn", "--data", data, "--hss", "http://127.0.0.1:9"]);
    const zn = str(bsf.info, "bsf", "zn");
    const naf = cfg.bsf.nafs[0];
    const rss0 = rss(bsf.pid);
    const store0 = storeBytes(data);

    o.log(`sessions: writing ${o.sessions.toLocaleString("en-US")} sessions into the BSF's store`);
    const sessions = LmdbBsfStore.open(data, cfg.bsf.nonceTtl * 1000);
    const btids: string[] = [];
    const started = performance.now();
    try {
      const now = Date.now();
      for (let from = 0; from < o.sessions; from += BATCH) {
        const batch = [];
        for (let i = from; i < Math.min(o.sessions, from + BATCH); i++) {
          const s = sessionOf(i, now, cfg.bsf.fqdn);
          btids.push(s.btid);
          batch.push(sessions.createSession(s));
        }
        await Promise.all(batch);
      }
    } finally {
      await sessions.close();
    }
    const writeS = (performance.now() - started) / 1000;
    const rss1 = rss(bsf.pid);
    const store1 = storeBytes(data);

    o.log(`sessions: one Zn lookup per session through the BSF`);
    let next = 0;
    const sweep = await runAutocannon({
      opts: {
        url: zn,
        connections: o.connections,
        amount: btids.length,
        requests: [
          {
            method: "POST",
            path: "/nbsp-gba/v1/bootstrapping-info-retrieval",
            setupRequest: (req) => ({
              ...req,
              headers: { "content-type": "application/json", authorization: `Bearer ${naf.token}` },
              body: JSON.stringify({
                btId: btids[next++ % btids.length],
                nafId: { nafFqdn: naf.fqdns[0], uaSecProtId: "0100000002" },
              }),
            }),
          },
        ],
      },
    });
    const rss2 = rss(bsf.pid);
    const per100k = (bytes: number) => (bytes / o.sessions) * 100_000;
    return {
      bench: "sessions",
      title: `BSF memory and store size with ${o.sessions.toLocaleString("en-US")} live bootstrap sessions`,
      target: "built-in",
      machine,
      config: { sessions: o.sessions, batch: BATCH, connections: o.connections },
      comparisons: [],
      facts: {
        sessions: o.sessions,
        "BSF RSS before, MiB": rss0.total / MiB,
        "BSF RSS after the sessions were written, MiB": rss1.total / MiB,
        "BSF RSS after a Zn lookup of every session, MiB": rss2.total / MiB,
        "RSS per 100,000 live sessions, MiB": per100k(rss2.total - rss0.total) / MiB,
        "  of which anonymous (heap), MiB": per100k(rss2.anon - rss0.anon) / MiB,
        "  of which file-backed (LMDB pages), MiB": per100k(rss2.file - rss0.file) / MiB,
        "LMDB store before, MiB": store0 / MiB,
        "LMDB store after, MiB": store1 / MiB,
        "LMDB per 100,000 sessions, MiB": per100k(store1 - store0) / MiB,
        "LMDB bytes per session": (store1 - store0) / o.sessions,
        "sessions written per second": o.sessions / writeS,
        "Zn lookups over all sessions per second": sweep.ok / sweep.seconds,
        "Zn lookups failed": [...sweep.errors.values()].reduce((a, b) => a + b, 0),
      },
      notes: [
        "RSS counts the pages of the memory-mapped LMDB file the BSF has touched (shared, reclaimable page cache), not only its heap",
      ],
    };
  } finally {
    await rig.close();
  }
}
