// What the dashboard costs the NFs (issue 21: ≤ 5 % of their throughput when open with live
// updates): `gba up --dashboard` with a page following its live stream, against `gba up` without
// a dashboard, measured in the same run, interleaved, under the same Ub bootstrap load as `gba
// bench ub` (2 Ub exchanges + 1 Zh each; the NFs report 3 events per bootstrap). The page is a
// reader of the Server-Sent Events stream in this process (every byte the server writes to a
// browser), or with --browser Debian's chromium on the Live tab (charts drawing, on the same
// cores, so it measures the machine too). Besides the ratio, CPU µs per bootstrap of each
// `gba up` process (utime + stime from /proc), which the load elsewhere on the machine
// disturbs less than throughput.
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { LoadUe } from "../ue/load-ue.js";
import { type Child, str } from "./lib/child.js";
import { hssChildEnv, provisionBenchSubscribers } from "./lib/hss-store.js";
import { interleave, metered, runAutocannon, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, loadConfig, roundPlan } from "./lib/options.js";
import { type BenchResult, compare } from "./lib/result.js";
import { Rig } from "./lib/rig.js";
import { benchSubscriber, UePool } from "./lib/ue-load.js";
import { bootstrapRequests } from "./ub.js";

export const DASHBOARD_COST_TARGET = 0.95;
interface Up {
  child: Child;
  ub: string;
  realm: string;
  dashboard?: string;
  pool: UePool;
  /** how the process is named in the CPU figures */
  name: string;
}

async function startUp(rig: Rig, subscribers: number, withDashboard: boolean): Promise<Up> {
  const data = rig.tmp(withDashboard ? "up-dashboard" : "up");
  await provisionBenchSubscribers(data, subscribers);
  const args = ["up", "--ephemeral-ports", "--log-level", "warn", "--data", data, ...(withDashboard ? ["--dashboard"] : [])];
  const name = withDashboard ? "gba up --dashboard" : "gba up";
  const child = await rig.gba(args, hssChildEnv(), name);
  return {
    child,
    ub: str(child.info, "bsf", "ub"),
    realm: str(child.info, "bsf", "fqdn"),
    dashboard: withDashboard ? str(child.info, "dashboard") : undefined,
    pool: new UePool(Array.from({ length: subscribers }, (_, i) => new LoadUe(benchSubscriber(i)))),
    name,
  };
}

interface Viewer {
  messages: number;
  bytes: number;
  close(): Promise<void>;
}

/** A page following the live stream: reads and parses every message, as the browser does. */
async function streamReader(url: string): Promise<Viewer> {
  const res = await request(`${url}/api/stream`);
  if (res.statusCode !== 200) throw new Error(`dashboard stream answered ${res.statusCode}`);
  const viewer: Viewer = {
    messages: 0,
    bytes: 0,
    close: async () => {
      res.body.destroy();
    },
  };
  let buffer = "";
  res.body.setEncoding("utf8");
  res.body.on("data", (chunk: string) => {
    viewer.bytes += chunk.length;
    buffer += chunk;
    for (let i = buffer.indexOf("\n\n"); i >= 0; i = buffer.indexOf("\n\n")) {
      const data = /^data: (.*)$/m.exec(buffer.slice(0, i))?.[1];
      buffer = buffer.slice(i + 2);
      if (data) {
        JSON.parse(data);
        viewer.messages++;
      }
    }
  });
  res.body.on("error", () => {});
  return viewer;
}

/** --browser: chromium on the Live tab (playwright-core, a development dependency of gba-emu). */
async function browserViewer(url: string): Promise<Viewer> {
  let pw: typeof import("playwright-core");
  try {
    pw = await import("playwright-core");
  } catch {
    throw new Error("--browser needs playwright-core (npm install in a checkout of gba-emu) and Debian's chromium");
  }
  const browser = await pw.chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-sync",
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${url}/#live`);
  await page.waitForSelector("body[data-ready]");
  return { messages: 0, bytes: 0, close: () => browser.close() };
}

export async function benchDashboard(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  let viewer: Viewer | undefined;
  try {
    const subscribers = o.connections * 2;
    const plain = await startUp(rig, subscribers, false);
    const watched = await startUp(rig, subscribers, true);
    viewer = o.browser ? await browserViewer(watched.dashboard as string) : await streamReader(watched.dashboard as string);
    await sleep(500);
    const bootstraps = (up: Up) =>
      metered(rig.cpu(up.name), async (seconds: number): Promise<Sample> => {
        const s = await runAutocannon({
          opts: (x) => ({
            url: up.ub,
            connections: o.connections,
            duration: seconds,
            overallRate: o.rate && o.rate * 2,
            requests: bootstrapRequests(up.pool, up.realm, x),
          }),
          classify: (status) => (status === 200 ? "ok" : status === 401 ? "step" : "error"),
          recordLatency: false,
        });
        up.pool.reclaim();
        return s;
      });
    o.log(
      `dashboard: gba up --dashboard (${o.browser ? "chromium on the Live tab" : "live stream read"}) vs gba up, ${o.durationS} s each`,
    );
    const [withBoard, without] = await interleave([bootstraps(watched), bootstraps(plain)], { ...roundPlan(o), balanced: true });
    return {
      bench: "dashboard",
      title: "Dashboard cost: Ub bootstraps of gba up with the dashboard open and live, vs without it",
      target: "built-in",
      machine,
      config: loadConfig(o, { subscribers, viewer: o.browser ? "chromium" : "stream reader" }),
      comparisons: [
        compare(
          "dashboard open",
          toMeasurement("gba up --dashboard, page live", "bootstrap", withBoard),
          toMeasurement("gba up, no dashboard", "bootstrap", without),
          { ratioOf: "bootstraps/s with ÷ without", goal: { kind: "min", value: DASHBOARD_COST_TARGET } },
        ),
      ],
      // the stream reader counts what it read; chromium reads its own stream
      facts: o.browser ? {} : { "live messages read": viewer.messages, "live bytes read": viewer.bytes },
      notes: [
        "CPU µs per bootstrap: the gba up process (all four NFs and the dashboard) from /proc, and the load generator",
        "with the dashboard each bootstrap makes 3 events (Zh AV with the GUSS, Ub 401, Ub 200), recorded and streamed to the page; without it the NFs build none",
      ],
    };
  } finally {
    await viewer?.close();
    await rig.close();
  }
}
