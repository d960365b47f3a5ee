// `gba scenario run --dashboard`: the run's progress and then its report on the dashboard (read
// over HTTP and in chromium's DOM), the dashboard staying up after the run until Ctrl-C with the
// run's exit status; `--report FILE.html` a self-contained page with the same charts. And the
// report page's renderer on its own: escaping, a load phase chart, the JSON data block.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import type { Report } from "../scenarios/report.js";
import { perSecondSvg, reportHtmlPage } from "../scenarios/report-html.js";
import { launchChromium } from "./helpers/chromium.js";

const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const DEMO = fileURLToPath(new URL("../scenarios/iot04-obu-enrolment.yaml", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "gba-dashboard-scenario-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function json(
  url: string,
): Promise<{ snapshot: { state: string; ok?: boolean; functional: { done: number } }; reportHtml: string | null }> {
  const res = await request(url);
  return (await res.body.json()) as never;
}

describe("gba scenario run --dashboard", () => {
  it("shows the run's progress, then its report, until Ctrl-C; --report FILE.html is the same report as a page", async () => {
    const html = join(dir, "report.html");
    const child = spawn(
      process.execPath,
      [MAIN, "scenario", "run", DEMO, "--no-load", "--quiet", "--dashboard", "--report", html],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
        const m = /dashboard at (http:\/\/[0-9.:]+)\//.exec(stderr);
        if (m) resolve(m[1]);
      });
      exited.then(() => reject(new Error(`exited before the dashboard: ${stderr}`)));
    });
    try {
      const states = new Set<string>();
      let last = await json(`${url}/api/scenario`);
      for (let i = 0; i < 300 && last.snapshot.state !== "done"; i++) {
        states.add(last.snapshot.state);
        await new Promise((r) => setTimeout(r, 100));
        last = await json(`${url}/api/scenario`);
      }
      expect(last.snapshot.state).toBe("done");
      expect([...states].some((s) => s === "starting" || s === "functional")).toBe(true);
      // latency bounds may fail on a busy machine: the verdict is whatever the run decided, shown alike everywhere
      const verdict = last.snapshot.ok ? "PASS" : "FAIL";
      expect(last.reportHtml).toContain(`<strong>${verdict}</strong>`);
      expect(last.reportHtml).toContain('class="chart-steps"');
      // with the inprocess backend the run's NFs report to the dashboard's bus (Live, Ladder)
      const res = await request(`${url}/api/events?limit=2000`);
      const { events } = (await res.body.json()) as { events: Array<Record<string, string>> };
      const seen = new Set(events.map((e) => `${e.nf} ${e.kind} ${e.outcome}`));
      for (const exchange of ["hss zh-av ok", "bsf ub challenge", "bsf ub ok", "bsf zn ok", "eca enrol ok"]) {
        expect(seen, exchange).toContain(exchange);
      }
      // the page shows the same report
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.goto(`${url}/#scenario`);
        await page.waitForSelector("#scenario-report .report svg.chart-steps");
        expect(await page.locator("#scenario-progress").textContent()).toContain(`finished, ${verdict}`);
        expect(await page.locator("#scenario-report .verdict").textContent()).toMatch(
          new RegExp(`^${verdict} iot04-obu-enrolment`),
        );
        await page.screenshot({ path: join(dir, "scenario-1280x800.png") });
      } finally {
        await browser.close();
      }
      // still serving after the run; Ctrl-C ends it with the run's status
      await new Promise((r) => setTimeout(r, 300));
      expect(child.exitCode).toBe(null);
      expect(stderr).toMatch(/the report stays on the dashboard/);
      child.kill("SIGINT");
      expect(await exited).toBe(last.snapshot.ok ? 0 : 1);
      expect(stdout).toContain(`${verdict} iot04-obu-enrolment`);
      const page = readFileSync(html, "utf8");
      expect(page).toMatch(/^<!doctype html>/);
      expect(page).toContain(last.reportHtml as string);
      // self-contained: nothing fetched, nothing executed
      expect(page).not.toMatch(/\s(src|href)=|<link|<script(?! type="application\/json")/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 90_000);
});

describe("the report page", () => {
  const report = {
    scenario: "s<script>",
    file: "f.yaml",
    backend: "inprocess",
    startedAt: "2030-01-01T00:00:00.000Z",
    wallMs: 1234,
    ok: false,
    devices: [
      {
        obu: "OBU-<b>1</b>",
        vehicle: "V1",
        group: "g",
        gbaType: "GBA_ME",
        tunnel: "digest",
        expected: { outcome: "success" },
        outcome: "refused 403 MSISDN_MISMATCH",
        asDesigned: false,
        why: "expected success",
        steps: [{ step: "bootstrap", ms: 5, ok: true }],
        ms: 5,
        bootstraps: 1,
        rebootstraps: 0,
        resyncs: 0,
      },
    ],
    functional: {
      wallMs: 10,
      steps: { bootstrap: { count: 1, ok: 1, failed: 0, p50: 5, p90: 5, p95: 5, p99: 5, max: 5, mean: 5 } },
      errors: {},
    },
    load: {
      driver: "scheduler",
      mode: "rate",
      targetRate: 5,
      poisson: false,
      rampSeconds: 0,
      arrivals: 10,
      started: 10,
      ok: 10,
      failed: 0,
      notStarted: 0,
      unfinished: 0,
      durationS: 2,
      steadyWindowS: 2,
      offeredRate: 5,
      achievedRate: 5,
      shed: 0,
      shedRate: 0,
      inFlightBound: 32,
      enrolmentsPerSecond: 5,
      bootstrapsPerSecond: 5,
      perSecond: [4, 6],
      steady: true,
      maxInFlight: 2,
      queueWaitMs: { p50: 0, p95: 0, p99: 0 },
      steps: {},
      errors: {},
    },
    failures: [],
    assertions: [{ name: "devices as designed", ok: false, detail: "0/1 </td>" }],
  } as unknown as Report;

  it("escapes every value, draws the load phase per second and embeds the JSON report", () => {
    const page = reportHtmlPage(report);
    expect(page).not.toContain("<script>s");
    expect(page).not.toContain("<b>1</b>");
    expect(page).toContain("OBU-&lt;b&gt;1&lt;/b&gt;");
    expect(page).toContain("0/1 &lt;/td&gt;");
    expect(page).toContain('class="chart-per-second"');
    const data = /<script type="application\/json" id="gba-report">(.*)<\/script>/s.exec(page)?.[1];
    expect(JSON.parse(data as string)).toEqual(report);
    expect(data).not.toContain("<");
  });

  it("scales the per-second chart to its largest second", () => {
    const svg = perSecondSvg([0, 10, 5], "x");
    const points = /<polyline points="([^"]+)"/
      .exec(svg)?.[1]
      .split(" ")
      .map((p) => Number(p.split(",")[1]));
    expect(points).toEqual([152, 12, 82]);
  });
});
