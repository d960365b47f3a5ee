// The device middleware suite over a PC/SC card: pcscd + the vsmartcard vpcd reader, with
// `gba usim serve` (from dist/) answering as the card (test/helpers/pcsc-env.ts). Missing
// tools make these tests fail with a message saying what to install.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { highestSqn } from "../milenage/sqn.js";
import { openPcscCard } from "../ue/card/pcsc.js";
import { loadUsimStateFile, saveUsimStateFile } from "../ue/usim/state-file.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { MAIN, pcscdWithVpcd, quickAckHost, serveUsim, type VpcdSlot } from "./helpers/pcsc-env.js";
import { FakeBsf, IMPI, IMSI, K, OPC } from "./helpers/ue-fake-network.js";
import { type CardSpec, defineMiddlewareSuite } from "./helpers/ue-middleware-suite.js";

let slot: VpcdSlot;
let host: string;
const dir = mkdtempSync(join(tmpdir(), "ue-pcsc-"));
let files = 0;

beforeAll(async () => {
  slot = await pcscdWithVpcd();
  host = quickAckHost().host;
});

afterAll(async () => {
  await slot?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function newCardFile(spec: CardSpec = {}): Promise<string> {
  const file = join(dir, `usim-${++files}.json`);
  const state = newUsimState({ k: spec.k ?? K, opc: OPC, imsi: spec.imsi ?? IMSI, gbaU: spec.gbaU, sqn: spec.sqn });
  await saveUsimStateFile(file, state, { exclusive: true });
  return file;
}

defineMiddlewareSuite("device middleware over a PC/SC card (pcscd + vpcd)", async (spec) => {
  const file = await newCardFile(spec);
  const served = await serveUsim(file, host, slot.port);
  let card: Awaited<ReturnType<typeof openPcscCard>>;
  try {
    card = await openPcscCard({ reader: slot.readerName, waitForCardMs: 10_000 });
  } catch (err) {
    await served.stop();
    throw err;
  }
  return {
    card,
    state: () => loadUsimStateFile(file),
    remove: async () => {
      await served.stop();
    },
    close: async () => {
      await card.close().catch(() => undefined);
      await served.stop();
    },
  };
});

describe("gba ue bootstrap --pcsc READER", () => {
  it("bootstraps with the card in the PC/SC reader; the card side saves its new SQN", async () => {
    const bsf = new FakeBsf();
    await bsf.start();
    const file = await newCardFile();
    const served = await serveUsim(file, host, slot.port);
    try {
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [MAIN, "ue", "bootstrap", "--bsf", bsf.url, "--pcsc", slot.readerName],
          { timeout: 30_000 },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
        );
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { impi: string; btid: string };
      expect(out.impi).toBe(IMPI);
      expect(bsf.sessions.has(out.btid)).toBe(true);
      expect(highestSqn((await loadUsimStateFile(file)).sqn)).toBeGreaterThan(0);
    } finally {
      await served.stop();
      await bsf.stop();
    }
  });
});
