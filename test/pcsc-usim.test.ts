// The PC/SC path end to end: pcscd + vsmartcard vpcd + `gba usim serve` (from dist) behind it,
// reached through PcscCard. The high-level suite runs once over PC/SC and once over the direct
// simulated card from the same initial state file; both APDU transcripts must be identical.
// Needs pcscd and vsmartcard-vpcd (the test fails, with what to install, when they are missing).
import { spawnSync } from "node:child_process";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAuthVector } from "../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { joinSqn, sqnToBytes } from "../milenage/sqn.js";
import { CardError } from "../ue/card/card.js";
import { openPcscCard, type PcscCard } from "../ue/card/pcsc.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { MAIN, muteCardSide, pcscdWithVpcd, quickAckHost, type Served, serveUsim, type VpcdSlot } from "./helpers/pcsc-env.js";
import { defineUsimClientSuite, type Exchange, SUITE_CARD } from "./helpers/pcsc-suite.js";

let dir: string;
let slot: VpcdSlot;
let served: Served;
let host: { host: string; quickAck: boolean };
let directFile: string;
const openCard = () => openPcscCard({ reader: slot.readerName, waitForCardMs: 10_000 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pcsc-usim-"));
  const file = join(dir, "pcsc.json");
  const made = spawnSync(process.execPath, [
    MAIN,
    ...["usim", "new", "--k", SUITE_CARD.k, "--opc", SUITE_CARD.opc, "--imsi", SUITE_CARD.imsi],
    ...["--mnc-length", String(SUITE_CARD.mncLength), "--gba-u", "--out", file],
  ]);
  if (made.status !== 0) throw new Error(`gba usim new failed: ${made.stderr}`);
  directFile = join(dir, "direct.json");
  await copyFile(file, directFile);
  slot = await pcscdWithVpcd();
  host = quickAckHost();
  served = await serveUsim(file, host.host, slot.port);
}, 120_000); // pcscd may need to wait out a TIME_WAIT on a vpcd port (see helpers/pcsc-env.ts)

afterAll(async () => {
  await served?.stop();
  await slot?.stop();
  await rm(dir, { recursive: true, force: true });
});

const overPcsc: Exchange[] = [];
const direct: Exchange[] = [];
defineUsimClientSuite("UsimClient over PC/SC (pcscd + vpcd + gba usim serve)", openCard, overPcsc);
defineUsimClientSuite(
  "UsimClient over the direct simulated USIM, same initial state file",
  () => SimulatedUsim.fromFile(directFile),
  direct,
);

describe("PC/SC and direct paths", () => {
  it("exchanged exactly the same APDUs and responses", () => {
    expect(overPcsc.length).toBeGreaterThan(40);
    expect(overPcsc).toEqual(direct);
  });
});

describe("PcscCard", () => {
  let card: PcscCard;
  beforeAll(async () => {
    card = await openCard();
  });
  afterAll(async () => {
    await card?.close();
  });

  it("round trips an APDU through pcscd and vpcd quickly", async () => {
    const apdu = hexToBytes("00a4040c07a0000000871002");
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = process.hrtime.bigint();
      expect(bytesToHex(await card.transmit(apdu))).toBe("9000");
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    const p50 = times[25];
    console.log(
      `vpcd round trip via ${host.host}${host.quickAck ? " (quickack route)" : ""}: p50 ${p50.toFixed(3)} ms, max ${times[49].toFixed(3)} ms`,
    );
    expect(p50).toBeLessThan(host.quickAck ? 5 : 200);
  }, 30_000);

  it("resets to the UICC ATR and can be powered off and on again", async () => {
    expect(bytesToHex(await card.reset())).toBe("3b9f96801fc78031c073d02100634742418300900096");
    await card.powerOff();
    await expect(card.transmit(hexToBytes("00a4040c07a0000000871002"))).rejects.toMatchObject({ code: "NOT_POWERED" });
    expect(bytesToHex(await card.reset())).toBe("3b9f96801fc78031c073d02100634742418300900096");
    expect(bytesToHex(await card.transmit(hexToBytes("00a4040c07a0000000871002")))).toBe("9000");
  });
});

const spaced = (b: Uint8Array) =>
  bytesToHex(b)
    .toUpperCase()
    .replace(/(..)(?!$)/g, "$1 ");

describe("independent PC/SC clients", () => {
  const m = new Milenage(hexToBytes(SUITE_CARD.k), hexToBytes(SUITE_CARD.opc));
  const authApdu = (seq: number, rand: string) => {
    const av = generateAuthVector(m, hexToBytes(rand.repeat(16)), sqnToBytes(joinSqn(seq, 9)), hexToBytes("8000"));
    return { av, apdu: `00 88 00 81 22 10 ${spaced(av.rand)} 10 ${spaced(av.autn)} 00` };
  };

  it("opensc-tool sends SELECT + AUTHENTICATE and gets 9000 with RES, CK, IK", () => {
    expect(spawnSync("sh", ["-c", "command -v opensc-tool"]).status, "opensc-tool (package opensc) is not installed").toBe(0);
    const index = String(Number(slot.readerName.slice(-2)));
    const { av, apdu } = authApdu(1000, "c1");
    const r = spawnSync(
      "opensc-tool",
      ["-r", index, "-c", "default", "-s", "00 A4 04 04 07 A0 00 00 00 87 10 02 00", "-s", apdu],
      {
        encoding: "utf8",
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const received = r.stdout.split("Received").slice(1);
    expect(received.map((s) => s.slice(0, 20))).toEqual([" (SW1=0x90, SW2=0x00", " (SW1=0x90, SW2=0x00"]);
    // opensc prints 16 bytes per line followed by ASCII: keep only the hex columns
    const hexDump = received[1]
      .split("\n")
      .slice(1)
      .map((l) => l.slice(0, 48).trim())
      .join(" ");
    expect(hexDump).toContain(`DB 08 ${spaced(av.xres)} 10 ${spaced(av.ck)}`);
  });

  it("scriptor (pcsc-tools) sends SELECT + AUTHENTICATE and gets 90 00", () => {
    expect(spawnSync("sh", ["-c", "command -v scriptor"]).status, "scriptor (package pcsc-tools) is not installed").toBe(0);
    const { av, apdu } = authApdu(1001, "c2");
    const r = spawnSync("scriptor", ["-r", slot.readerName], {
      input: `00 A4 04 04 07 A0 00 00 00 87 10 02 00\n${apdu}\n`,
      encoding: "utf8",
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    // each answer: "< " + hex bytes over one or more lines + " : " + status text
    const answers = [...r.stdout.matchAll(/^< ([0-9A-F \n]+?) : (.*)$/gm)].map((a) => [a[1].replace(/\s+/g, " "), a[2]]);
    expect(answers.map(([bytes, text]) => [bytes.slice(-5), text])).toEqual([
      ["90 00", "Normal processing."],
      ["90 00", "Normal processing."],
    ]);
    expect(answers[1][0]).toBe(`DB 08 ${spaced(av.xres)} 10 ${spaced(av.ck)} 10 ${spaced(av.ik)} 90 00`);
  });
});

describe("card removal", () => {
  it("is reported to listeners and rejects later transmits", async () => {
    const card = await openCard();
    const usim = new UsimClient(card);
    await usim.selectUsim();
    const removed = new Promise<string>((r) => card.onRemoved(r));
    expect(await served.stop()).toBe(0); // the card side leaves vpcd: pcscd sees the card go
    expect(await removed).toMatch(/removed/);
    const err = await card.transmit(hexToBytes("00a4040c07a0000000871002")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CardError);
    expect((err as CardError).code).toBe("REMOVED");
    await card.close();
  }, 15_000);

  it("rejects a transmit pending when the card goes away", async () => {
    const cardSide = await muteCardSide(host.host, slot.port, hexToBytes("3b9f96801fc78031c073d02100634742418300900096"));
    const card = await openCard();
    const removed = new Promise<string>((r) => card.onRemoved(r));
    const pending = card.transmit(hexToBytes("00a4040c07a0000000871002")).catch((e: unknown) => e);
    setTimeout(() => cardSide.close(), 300);
    const err = await pending;
    expect(err).toBeInstanceOf(CardError);
    expect((err as CardError).code).toBe("REMOVED");
    expect(await removed).toMatch(/removed/);
    await card.close();
  }, 15_000);
});
