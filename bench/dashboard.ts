// What the dashboard costs the NFs (issue 21: ≤ 5 % of their throughput when open with live
// updates): `gba up --dashboard` with a page following its live stream, against `gba up`
// without a dashboard, under the same Ub bootstrap load as `gba bench ub` (2 Ub exchanges + 1
// Zh each; with the dashboard the NFs report 3 events per bootstrap).
//
// The method, so that the only difference between the two is the dashboard:
// - one `gba up` alive at a time: each phase starts a fresh one (fresh data root, same
//   subscribers, fresh UEs), warms it up for --warmup seconds, measures, and stops it, so an idle
//   second instance never shares the cores or the page cache with the measured one;
// - the same load generator (autocannon in this process) and the same process layout in both;
// - the page is a process of its own, as a browser tab is: a stream reader (`node
//   stream-reader.js`, an EventSource parsing every message) or, with --browser, Debian's
//   chromium on the Live tab (charts drawing); it connects after the dashboard is up and before
//   the warm-up, and stops with its phase;
// - phases alternate with and without in A B B A order each round, so neither always follows
//   the other.
// CPU µs per bootstrap are reported per process: `gba up` (the four NFs and, with it, the
// dashboard, one process), the page, the load generator.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LoadUe } from "../ue/load-ue.js";
import { type Child, startChild, startGba, stopAll, str } from "./lib/child.js";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "./lib/chromium.js";
import type { CpuSource } from "./lib/cpu.js";
import { hssChildEnv, provisionBenchSubscribers } from "./lib/hss-store.js";
import { metered, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, loadConfig } from "./lib/options.js";
import { type BenchResult, compare } from "./lib/result.js";
import { LOAD_GENERATOR, Rig } from "./lib/rig.js";
import { benchSubscriber, UePool } from "./lib/ue-load.js";
import { bootstrapLoad } from "./ub.js";

export const DASHBOARD_COST_TARGET = 0.95;
const STREAM_READER = fileURLToPath(new URL("./lib/stream-reader.js", import.meta.url));
/** how the processes are named in the CPU figures */
const UP = "gba up";
const PAGE_NAME = { stream: "page (stream reader)", chromium: "page (chromium)" } as const;

/** A page following the dashboard's live stream, in its own process (tree). */
interface Page {
  source: CpuSource;
  /** messages and bytes read, when the page counts them */
  counts(): { messages: number; bytes: number } | undefined;
  close(): Promise<void>;
}

async function streamReaderPage(rig: Rig, dashboard: string): Promise<Page> {
  const countsFile = join(rig.tmp("reader"), "counts.json");
  const child = await startChild([STREAM_READER, dashboard, countsFile]);
  let counts: { messages: number; bytes: number } | undefined;
  return {
    source: { name: PAGE_NAME.stream, pid: child.pid },
    counts: () => counts,
    close: async () => {
      await child.stop();
      counts = JSON.parse(readFileSync(countsFile, "utf8")) as { messages: number; bytes: number };
    },
  };
}

/** --browser: chromium on the Live tab (playwright-core, a development dependency of gba-emu). */
async function chromiumPage(dashboard: string): Promise<Page> {
  requireChromium();
  let pw: typeof import("playwright-core");
  try {
    pw = await import("playwright-core");
  } catch {
    throw new Error("--browser needs playwright-core (npm install in a checkout of gba-emu)");
  }
  // launchServer, not launch: the browser's own process (and its renderers under it) is measured
  // spawns: chromium
  const server = await pw.chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const pid = server.process().pid;
  try {
    const browser = await pw.chromium.connect(server.wsEndpoint());
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${dashboard}/#live`);
    await page.waitForSelector("body[data-ready]");
    if (pid === undefined) throw new Error("chromium started without a pid");
    return {
      source: { name: PAGE_NAME.chromium, pid },
      counts: () => undefined,
      close: async () => {
        await browser.close();
        await server.close();
      },
    };
  } catch (err) {
    await server.close();
    throw err;
  }
}

/** One phase: a fresh `gba up` (with the dashboard and a page, or without), warmed up, then measured. */
async function phase(rig: Rig, o: BenchOptions, withDashboard: boolean, seconds: number, pages: Page[]): Promise<Sample> {
  const subscribers = o.connections * 2;
  const data = rig.tmp(withDashboard ? "up-dashboard" : "up");
  await provisionBenchSubscribers(data, subscribers);
  const args = ["up", "--ephemeral-ports", "--log-level", "warn", "--data", data, ...(withDashboard ? ["--dashboard"] : [])];
  let up: Child | undefined;
  let page: Page | undefined;
  try {
    up = await startGba(args, hssChildEnv());
    if (withDashboard) {
      const board = str(up.info, "dashboard");
      page = o.browser ? await chromiumPage(board) : await streamReaderPage(rig, board);
    }
    const ub = str(up.info, "bsf", "ub");
    const realm = str(up.info, "bsf", "fqdn");
    const pool = new UePool(Array.from({ length: subscribers }, (_, i) => new LoadUe(benchSubscriber(i))));
    const load = bootstrapLoad({ url: ub, realm, pool, connections: o.connections, rate: o.rate });
    if (o.warmupS > 0) await load(o.warmupS);
    const sources = [{ name: UP, pid: up.pid }, ...(page ? [page.source] : []), LOAD_GENERATOR];
    const sample = await metered(sources, load)(seconds);
    const perOp = Object.entries(sample.cpu?.us ?? {}).map(
      ([n, us]) => `${n} ${us === undefined ? "n/a" : Math.round(us / Math.max(1, sample.ok))} µs`,
    );
    o.log(
      `  ${withDashboard ? "with   " : "without"}: ${Math.round(sample.ok / sample.seconds)} bootstraps/s; ${perOp.join(", ")}`,
    );
    return sample;
  } finally {
    if (page) {
      await page.close();
      pages.push(page);
    }
    await stopAll([up]);
  }
}

export async function benchDashboard(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  try {
    const pageKind = o.browser ? "chromium" : "stream";
    o.log(
      `dashboard: gba up --dashboard (${o.browser ? "chromium on the Live tab" : "a stream reader"}) vs gba up, ${o.durationS} s each, ${o.rounds} rounds A B B A, one gba up alive at a time, ${o.warmupS} s warm-up per phase`,
    );
    const withBoard: Sample[] = [];
    const without: Sample[] = [];
    const pages: Page[] = [];
    const half = o.durationS / o.rounds / 2;
    for (let r = 0; r < o.rounds; r++) {
      for (const on of [true, false, false, true]) (on ? withBoard : without).push(await phase(rig, o, on, half, pages));
      o.log(`dashboard: round ${r + 1} of ${o.rounds} done`);
    }
    const counts = pages.map((p) => p.counts()).filter((c) => c !== undefined);
    const read = counts.reduce((a, c) => ({ messages: a.messages + c.messages, bytes: a.bytes + c.bytes }), {
      messages: 0,
      bytes: 0,
    });
    return {
      bench: "dashboard",
      title: "Dashboard cost: Ub bootstraps of gba up with the dashboard open and live, vs without it",
      target: "built-in",
      machine,
      config: loadConfig(o, {
        subscribers: o.connections * 2,
        warmupS: o.warmupS,
        page: PAGE_NAME[pageKind],
        order: "A B B A per round, one gba up alive at a time",
      }),
      comparisons: [
        compare(
          "dashboard open",
          toMeasurement("gba up --dashboard, page live", "bootstrap", withBoard),
          toMeasurement("gba up, no dashboard", "bootstrap", without),
          { ratioOf: "bootstraps/s with ÷ without", goal: { kind: "min", value: DASHBOARD_COST_TARGET } },
        ),
      ],
      // the stream reader counts what it read; chromium reads its own stream
      facts: pageKind === "stream" ? { "live messages read": read.messages, "live bytes read": read.bytes } : {},
      notes: [
        `CPU µs per bootstrap: ${UP} (the four NFs and, with --dashboard, the dashboard: one process) and the page from /proc, the load generator (autocannon, this process) from process.cpuUsage()`,
        "each phase is a fresh gba up (fresh data root and UEs) warmed up before it is measured; the other one is not running",
        "with the dashboard each bootstrap makes 3 events (Zh AV with the GUSS check, Ub 401, Ub 200), recorded and streamed to the page; without it the NFs build none",
        ...(pageKind === "chromium"
          ? ["chromium runs on the same cores as the NFs and the load generator: its CPU is the machine's, not the NFs'"]
          : []),
      ],
    };
  } finally {
    await rig.close();
  }
}
