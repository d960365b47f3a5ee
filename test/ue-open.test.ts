// The UE factory (ue/open-ue.ts) against the real HSS and BSF: a simulated USIM from its state
// file, the middleware it opens (mode from EF_UST, IMPI from EF_IMSI), SQN traced only when
// asked, the card written back and closed, keys deleted on power-down, and the card closed
// again when the middleware cannot start.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UeError } from "../ue/errors.js";
import { openUe } from "../ue/open-ue.js";
import { TextTracer } from "../ue/trace.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { loadUsimStateFile, saveUsimStateFile } from "../ue/usim/state-file.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { IMPI, IMSI, K, OPC } from "./helpers/ue-fake-network.js";
import { type Network, startNetwork } from "./helpers/ue-network.js";

const dir = mkdtempSync(join(tmpdir(), "ue-open-"));
let net: Network;

beforeAll(async () => {
  net = await startNetwork();
  await net.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI });
});
afterAll(async () => {
  await net.close();
  rmSync(dir, { recursive: true, force: true });
});

async function usimFile(name: string): Promise<string> {
  const file = join(dir, name);
  await saveUsimStateFile(file, newUsimState({ k: K, opc: OPC, imsi: IMSI }), { exclusive: true });
  return file;
}

describe("openUe", () => {
  it("opens a simulated USIM and its middleware; bootstraps, saves the card's SQN, powers down and closes", async () => {
    const file = await usimFile("me.json");
    const lines: string[] = [];
    const ue = await openUe({
      card: { kind: "simulated", file },
      bsfUrl: net.bsf.urls.ub,
      tracer: new TextTracer((l) => lines.push(l), { showKeys: false }),
      traceSqn: true,
    });
    expect(ue.middleware.mode).toBe("GBA_ME");
    expect(ue.middleware.impi).toBe(IMPI);
    expect(ue.client.middleware).toBe(ue.middleware);
    const info = await ue.middleware.bootstrap();
    expect(info.btid).toMatch(/@bsf\.mnc001\.mcc001\.pub\.3gppnetwork\.org$/);
    expect(lines.some((l) => /^SQN:\s+[0-9a-f]{12}$/.test(l))).toBe(true);
    await ue.close({ powerDown: true });
    expect(lines.at(-1)).toBe(`--- keys of ${info.btid} deleted: power-down`);
    await expect(ue.card.transmit(Uint8Array.of(0, 0xa4, 0, 0, 0))).rejects.toMatchObject({ code: "CLOSED" });
    expect((await loadUsimStateFile(file)).sqn.seq.some((s) => s > 0)).toBe(true);
  });

  it("traces no SQN unless asked, and closing without power-down keeps the keys' note out", async () => {
    const file = await usimFile("quiet.json");
    const lines: string[] = [];
    const ue = await openUe({
      card: { kind: "simulated", file },
      bsfUrl: net.bsf.urls.ub,
      tracer: new TextTracer((l) => lines.push(l), { showKeys: false }),
    });
    await ue.middleware.bootstrap();
    await ue.close();
    expect(lines.some((l) => l.startsWith("SQN:"))).toBe(false);
    expect(lines.some((l) => l.includes("deleted: power-down"))).toBe(false);
  });

  it("closes the card again when the middleware cannot start (GBA_U asked of a GBA_ME card)", async () => {
    const card = new SimulatedUsim(newUsimState({ k: K, opc: OPC, imsi: IMSI }));
    const err = await openUe({ card: { kind: "card", card }, bsfUrl: net.bsf.urls.ub, mode: "GBA_U" }).catch((e) => e);
    expect(err).toBeInstanceOf(UeError);
    expect(err).toMatchObject({ name: "MiddlewareError", code: "NOT_GBA_U_CAPABLE" });
    await expect(card.transmit(Uint8Array.of(0, 0xa4, 0, 0, 0))).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("takes a card the caller opened, GBA_U on a GBA_U card, and closes it with the UE", async () => {
    const card = new SimulatedUsim(newUsimState({ k: K, opc: OPC, imsi: IMSI, gbaU: true }));
    const ue = await openUe({ card: { kind: "card", card }, bsfUrl: net.bsf.urls.ub });
    expect(ue.card).toBe(card);
    expect(ue.middleware.mode).toBe("GBA_U");
    await ue.close();
    await expect(card.transmit(Uint8Array.of(0, 0xa4, 0, 0, 0))).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("a missing state file is a UeError naming the file", async () => {
    const missing = join(dir, "missing.json");
    await expect(openUe({ card: { kind: "simulated", file: missing }, bsfUrl: net.bsf.urls.ub })).rejects.toMatchObject({
      code: "USIM_STATE",
      message: expect.stringContaining(missing),
    });
  });
});
