// The dashboard in a real browser: Debian's chromium driven by playwright-core (no browser
// download). `gba up --dashboard` as its starters run it (every NF in this process reporting to
// the dashboard's event bus, the dashboard last, on ephemeral ports); a few UEs (the project's,
// over simulated USIMs) bootstrap against the real BSF and reach the NAF over Digest and over
// TLS-PSK; the page's live table, its figures and the ladder of one B-TID are read from the DOM; a subscriber is
// added through the form and a bad one and a bad CSV are refused with the HSS's messages; tabs
// work from the keyboard; the page is checked and photographed at 1280×800 and 390×800.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withDashboard } from "../cli/dashboard.js";
import { UP_STARTERS, urlOf } from "../cli/up.js";
import { defaultConfig, type GbaConfig, withEphemeralPorts } from "../nf/config.js";
import { EventBus } from "../nf/common/events.js";
import { closeAll, type RunningNf } from "../nf/common/nf.js";
import { launchChromium } from "./helpers/chromium.js";
import { subscriber, type TestUe, ueThroughNaf, upUrls } from "./helpers/dashboard-ues.js";
import { runCli } from "./hss-fixtures.js";

// The page's globals that the callbacks given to page.evaluate and waitForFunction use (they run
// in chromium). Declared here: the DOM library would retype fetch and crypto for every test file.
interface PageNode {
  id: string;
  textContent: string | null;
}
declare const document: {
  querySelectorAll(selector: string): { length: number };
  querySelector(selector: string): PageNode | null;
  getElementById(id: string): PageNode | null;
  activeElement: PageNode | null;
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };
declare function getComputedStyle(e: unknown): { fontVariantNumeric: string };

const dir = mkdtempSync(join(tmpdir(), "gba-dashboard-browser-"));
const shots = join(dir, "screenshots");
let cfg: GbaConfig;
let nfs: RunningNf[] = [];
let browser: Browser;
let page: Page;
let board: string;

interface Booted {
  impi: string;
  btid: string;
}
const ues: TestUe[] = [];

/**
 * A Ub answer with a wrong RES for this IMPI: the BSF challenges (asking the HSS for a vector),
 * then refuses the answer with AUTHENTICATION_REJECTED.
 */
async function wrongRes(impi: string): Promise<void> {
  const ub = `${urlOf(nfs, "bsf", "ub")}/`;
  const realm = cfg.bsf.fqdn;
  const first = await request(ub, {
    headers: { authorization: `Digest username="${impi}", realm="${realm}", nonce="", uri="/", response=""` },
  });
  await first.body.dump();
  const www = String(first.headers["www-authenticate"]);
  const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(www)?.[1] ?? "";
  const second = await request(ub, {
    headers: {
      authorization: `Digest username="${impi}", realm="${realm}", nonce="${param("nonce")}", uri="/", qop=${param("qop")}, nc=00000001, cnonce="0a4f113b", response="00000000000000000000000000000000", opaque="${param("opaque")}", algorithm=${param("algorithm") || "AKAv1-MD5"}`,
    },
  });
  await second.body.dump();
  expect(second.statusCode).toBeGreaterThanOrEqual(400);
}

beforeAll(async () => {
  cfg = withEphemeralPorts(defaultConfig());
  cfg.data = join(dir, "data");
  cfg.logLevel = "silent";
  const starters = await Promise.all(UP_STARTERS.map((load) => load()));
  for (const start of withDashboard(starters, cfg, { host: "127.0.0.1", port: 0 }, new EventBus())) {
    nfs.push(await start(cfg, nfs));
  }
  board = urlOf(nfs, "dashboard", "url") as string;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const ue of ues) await ue.close();
  await closeAll(nfs).catch(() => {});
  nfs = [];
  // the screenshots stay for a person to look at only when asked
  if (!process.env.GBA_KEEP_SCREENSHOTS) rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`dashboard screenshots in ${shots}\n`);
});

const text = (selector: string) => page.locator(selector).textContent();

describe("dashboard in chromium", () => {
  const booted: Booted[] = [];

  it("shows live counts and the latest events of real bootstraps", async () => {
    await page.goto(board);
    await page.waitForSelector("body[data-ready]");
    expect(await text("#connection")).toMatch(/live|connecting/);
    const figure = page.locator("#rate-ub");
    const before = await figure.boundingBox();
    for (let n = 1; n <= 3; n++) {
      // Ua over Digest (401, then the request with the Zn lookup inside it), then over TLS-PSK
      const { ue, sub, btid } = await ueThroughNaf(upUrls(nfs, cfg), n);
      ues.push(ue);
      booted.push({ impi: sub.impi, btid });
    }
    await wrongRes(booted[0].impi);

    // per UE: Zh AV (with the GUSS), Ub 401, Ub 200, Ua 401, Zn, Ua 200, Zn, TLS-PSK handshake, Ua 200;
    // then the wrong RES: Zh AV, Ub 401, Ub refused
    await page.waitForFunction((n) => document.querySelectorAll("#events tbody tr").length >= n, 30, { timeout: 5000 });
    const rows = await page.locator("#events tbody tr").evaluateAll((trs) =>
      trs.map((tr) => ({
        kind: tr.getAttribute("data-kind"),
        outcome: tr.getAttribute("data-outcome"),
        cells: [...tr.querySelectorAll("td")].map((td) => td.textContent ?? ""),
      })),
    );
    // newest first: the refusal, after the challenge it answered (and the Zh exchanges of that)
    expect(rows[0]).toMatchObject({ kind: "ub", outcome: "refused" });
    expect(rows[0].cells).toContain("AUTHENTICATION_REJECTED");
    expect(rows[0].cells).toContain(booted[0].impi);
    expect(rows[1].cells.slice(1, 4)).toEqual(["BSF", "Ub", "401 challenge (401)"]);
    for (const b of booted) {
      const ok = rows.find((r) => r.kind === "ub" && r.outcome === "ok" && r.cells.includes(b.btid));
      expect(ok?.cells, b.btid).toContain(b.impi);
      const ua = rows.filter((r) => r.kind === "ua" && r.outcome === "ok" && r.cells.includes(b.btid));
      expect(
        ua.map((r) => r.cells.slice(1, 4)),
        b.btid,
      ).toEqual([
        ["NAF", "Ua", "ok (200)"],
        ["NAF", "Ua", "ok (200)"],
      ]);
      const psk = rows.find((r) => r.kind === "ua-psk" && r.cells.includes(b.btid));
      expect(psk?.cells.slice(1, 4), b.btid).toEqual(["NAF", "Ua TLS-PSK", "ok"]);
    }
    await page.waitForFunction(() => document.getElementById("total-ub")?.textContent === "3", undefined, { timeout: 5000 });
    expect(await figure.textContent()).toMatch(/^[0-9]+\.[0-9]$/);
    // tabular figures in a fixed box: the update moved nothing
    expect(await figure.boundingBox()).toEqual(before);
    expect(await figure.evaluate((e) => getComputedStyle(e).fontVariantNumeric)).toBe("tabular-nums");
    await page.waitForSelector("#chart-rates canvas");
    await page.screenshot({ path: join(shots, "live-1280x800.png") });
  }, 60_000);

  it("draws the ladder of one B-TID: Ub 401 with the Zh inside it, Ub 200, Ua with the Zn inside it, the TLS-PSK handshake with its Zn", async () => {
    const b = booted[1];
    await page.locator("#events tbody button.link", { hasText: b.btid }).first().click();
    await page.waitForSelector("#ladder-diagram svg g.message");
    expect(await page.locator("#tab-ladder").getAttribute("aria-selected")).toBe("true");
    const messages = await page
      .locator("#ladder-diagram g.message")
      .evaluateAll((gs) =>
        gs.map(
          (g) => `${g.getAttribute("data-kind")}.${g.getAttribute("data-part")}: ${g.querySelectorAll("text")[1]?.textContent}`,
        ),
      );
    // one Zh exchange: the GUSS comes with the vector (TS 33.220 §4.5.2 step 2, GUSS timestamp)
    expect(messages.slice(1, 3)).toEqual(["zh-av.request: Zh generate-auth-data", "zh-av.answer: AV (RAND, AUTN, XRES, CK, IK)"]);
    expect([...messages.slice(0, 1), ...messages.slice(3)]).toEqual([
      "ub.request: GET / Authorization: Digest username=IMPI",
      "ub.answer: 401 WWW-Authenticate: Digest AKA (RAND, AUTN)",
      "ub.request: GET / Digest AKA response (RES as password)",
      "ub.answer: 200 BootstrappingInfo (B-TID, key lifetime)",
      "ua.request: request, Authorization: Digest username=B-TID",
      "zn.request: Zn bootstrapping-info-retrieval (B-TID, NAF_Id)",
      "zn.answer: Ks_NAF, key lifetime, USS",
      "ua.answer: 200 OK",
      "ua-psk.request: TLS ClientHello, psk_identity=3GPP-bootstrapping.B-TID",
      "zn.request: Zn bootstrapping-info-retrieval (B-TID, NAF_Id)",
      "zn.answer: Ks_NAF, key lifetime, USS",
      "ua-psk.answer: TLS handshake done (PSK: Ks_NAF)",
      "ua.request: request over the TLS-PSK tunnel",
      "ua.answer: 200 OK",
    ]);
    expect(await text("#ladder-status")).toContain(b.btid);
    await page.screenshot({ path: join(shots, "ladder-1280x800.png") });
    // the IMPI's ladder holds the refusal too (for the first UE)
    await page.fill("#ladder-id", booted[0].impi);
    await page.press("#ladder-id", "Enter");
    await page.waitForFunction(() => document.querySelector('#ladder-diagram g.message[data-outcome="refused"]') !== null);
  });

  it("moves between tabs with the keyboard", async () => {
    await page.locator("#tab-ladder").focus();
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-subscribers");
    expect(await page.locator("#subscribers").isVisible()).toBe(true);
    await page.keyboard.press("End");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-scenario");
    await page.keyboard.press("Home");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-live");
    await page.keyboard.press("ArrowLeft");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-scenario");
    await page.locator("#tab-subscribers").click();
    // every form control has a label
    const unlabelled = await page
      .locator("#subscribers input, #subscribers select")
      .evaluateAll((els) =>
        els
          .filter(
            (e) => (e as unknown as { labels: { length: number } | null }).labels?.length === 0 && !e.getAttribute("aria-label"),
          )
          .map((e) => e.id),
      );
    expect(unlabelled).toEqual([]);
  });

  it("adds a subscriber through the form, refuses a bad one with the HSS's message, never shows K back", async () => {
    const k = "465b5ce8b199b49faa5f0a2ee238a6bc";
    const opc = "cd63cb71954a9f4e48a5994e37a02baf";
    const impi = "001019990000042@ims.mnc001.mcc001.3gppnetwork.org";
    await page.getByLabel("IMPI", { exact: true }).fill(impi);
    await page.getByLabel("K", { exact: true }).fill(k);
    await page.getByLabel("OPc / OP").fill(opc);
    await page.getByLabel("MSISDN (optional)").fill("+491701234567");
    await page.getByRole("button", { name: "Add subscriber" }).click();
    await page.waitForSelector("#add-result .done");
    expect(await text("#add-result")).toContain(`added ${impi}`);
    await page.waitForSelector(`#subscriber-table tr[data-impi="${impi}"]`);
    expect(await page.getByLabel("K", { exact: true }).inputValue()).toBe("");
    const html = await page.content();
    expect(html).not.toContain(k);
    expect(html).not.toContain(opc);

    await page.getByLabel("IMPI", { exact: true }).fill("001019990000043@ims.mnc001.mcc001.3gppnetwork.org");
    await page.getByLabel("K", { exact: true }).fill("465b5ce8");
    await page.getByLabel("OPc / OP").fill(opc);
    await page.getByRole("button", { name: "Add subscriber" }).click();
    await page.waitForSelector("#add-result .errors");
    expect(await text("#add-result")).toMatch(/^k: /m);
    expect(await page.locator("#add-k").getAttribute("aria-invalid")).toBe("true");

    // a CSV with a bad line: nothing imported, the line named as `gba provision import` names it
    await page.setInputFiles("#import-file", {
      name: "subs.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(`impi,k,opc\nok1@example.org,${k},${opc}\nbad@example.org,00,${opc}\n`),
    });
    await page.getByRole("button", { name: "Import" }).click();
    await page.waitForSelector("#import-result .errors");
    const lines = await text("#import-result");
    expect(lines).toContain("1 invalid row(s); nothing imported");
    expect(lines).toMatch(/line 3: k: /);
    const res = await request(`${urlOf(nfs, "hss", "admin")}/subscribers/ok1@example.org`);
    await res.body.dump();
    expect(res.statusCode).toBe(404);

    await page.fill("#search", "001019990000042");
    await page.press("#search", "Enter");
    await page.waitForFunction(() => document.querySelectorAll("#subscriber-table tbody tr").length === 1);
    await page.screenshot({ path: join(shots, "subscribers-1280x800.png"), fullPage: true });
  });

  it("lists the ECA's certificates (none yet) and its vehicle bindings", async () => {
    const bound = await runCli([
      ...["provision", "vehicle", "add", "--data", cfg.data],
      ...["--vehicle", "VIN-DASH-1", "--obu", "OBU-DASH-1", "--msisdn", subscriber(1).msisdn],
    ]);
    expect(bound.code, bound.stderr).toBe(0);
    await page.locator("#tab-eca").click();
    await page.waitForFunction(() => /binding\(s\)/.test(document.getElementById("bindings-status")?.textContent ?? ""));
    expect(await text("#eca-status")).toBe("0 certificate(s), newest first");
    expect(await text("#bindings-status")).toBe("1 binding(s), by OBU ID");
    const row = await page.locator('#bindings tr[data-obu="OBU-DASH-1"] td').allTextContents();
    expect(row.slice(0, 3)).toEqual(["OBU-DASH-1", "VIN-DASH-1", subscriber(1).msisdn]);
    expect(await page.locator("#bindings-more").isHidden()).toBe(true);
    expect(await page.locator("#eca-unavailable").isHidden()).toBe(true);
  });

  it("stays readable on a narrow window: no sideways scrolling of the page", async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    for (const tab of ["live", "ladder", "subscribers"]) {
      await page.locator(`#tab-${tab}`).click();
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, tab).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(shots, `${tab}-390x800.png`) });
    }
  });
});
