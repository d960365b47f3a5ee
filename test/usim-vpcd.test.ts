// attachToVpcd (ue/card/vpcd.ts) in process, against the fake vpcd: controls, APDUs, removal.
import { afterEach, describe, expect, it } from "vitest";
import { hexToBytes } from "../wire/bytes.js";
import type { Card } from "../ue/card/card.js";
import { attachToVpcd, describeCommand, type VpcdLink } from "../ue/card/vpcd.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { FakeVpcd } from "./helpers/pcsc-fake-vpcd.js";

const ATR = "3b9f96801fc78031c073d02100634742418300900096";
const card = () => new SimulatedUsim(newUsimState({ k: new Uint8Array(16), opc: new Uint8Array(16), imsi: "001010000000001" }));

let link: VpcdLink | undefined;
let vpcd: FakeVpcd | undefined;
afterEach(async () => {
  await link?.stop();
  await vpcd?.close();
});

describe("attachToVpcd", () => {
  it("answers ATR requests, ignores power controls, relays APDUs", async () => {
    vpcd = await FakeVpcd.listen();
    const c = card();
    link = attachToVpcd(c, { host: "127.0.0.1", port: vpcd.port });
    await vpcd.connected;
    expect(await vpcd.exchange("04")).toBe(ATR);
    vpcd.send("00"); // power off
    expect(await vpcd.exchange("04")).toBe(ATR); // still present
    vpcd.send("01"); // power on
    expect(await vpcd.exchange("00a4040c07a0000000871002")).toBe("9000");
    vpcd.send("02"); // reset: selection gone
    expect(await vpcd.exchange("00a4000c026f07")).toBe("6a82");
  });

  it("answers 6F00 when the card refuses and reports no ATR once the card is removed", async () => {
    vpcd = await FakeVpcd.listen();
    const c = card();
    link = attachToVpcd(c, { host: "127.0.0.1", port: vpcd.port });
    await vpcd.connected;
    vpcd.send("00"); // power off: the card refuses APDUs
    expect(await vpcd.exchange("00a4040c07a0000000871002")).toBe("6f00");
    c.remove();
    expect(await vpcd.exchange("04")).toBe("");
  });

  it("finishes the APDU in progress before stop() hangs up", async () => {
    vpcd = await FakeVpcd.listen();
    const c = card();
    const slow: Card = {
      description: "slow card",
      transmit: async (apdu) => {
        await new Promise((r) => setTimeout(r, 200));
        return c.transmit(apdu);
      },
      reset: () => c.reset(),
      powerOff: () => c.powerOff(),
      close: () => c.close(),
      onRemoved: (l) => c.onRemoved(l),
    };
    link = attachToVpcd(slow, { host: "127.0.0.1", port: vpcd.port });
    await vpcd.connected;
    const answer = vpcd.exchange("00a4040c07a0000000871002");
    await new Promise((r) => setTimeout(r, 50)); // the APDU is with the card now
    await link.stop();
    expect(await answer).toBe("9000");
  });
});

describe("describeCommand (debug log)", () => {
  it.each([
    ["00a4040c07a0000000871002", "00a4040c Lc=7 a0000000871002"],
    ["00b0000009", "00b00000 Le=9"],
    ["0088008122" + "10" + "aa".repeat(16) + "10" + "bb".repeat(16) + "00", "00880081 Lc=34 Le=0"],
    ["00d6000003010203", "00d60000 Lc=3"],
  ])("%s -> %s", (apdu, text) => {
    expect(describeCommand(hexToBytes(apdu))).toBe(text);
  });
});
