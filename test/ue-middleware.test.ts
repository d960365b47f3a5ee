// Device middleware over the in-process simulated USIM: the shared suite, plus what only a
// simulated card can show (UICC change in the same slot).
import { afterEach, describe, expect, it } from "vitest";
import type { Card } from "../ue/card/card.js";
import { GbaMiddleware } from "../ue/middleware/gba-middleware.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { FakeBsf, IMSI, K, OPC } from "./helpers/ue-fake-network.js";
import { type CardSpec, defineMiddlewareSuite } from "./helpers/ue-middleware-suite.js";

function simulated(spec: CardSpec = {}): SimulatedUsim {
  return new SimulatedUsim(newUsimState({ k: spec.k ?? K, opc: OPC, imsi: spec.imsi ?? IMSI, gbaU: spec.gbaU, sqn: spec.sqn }));
}

defineMiddlewareSuite("device middleware over the simulated USIM", async (spec) => {
  const usim = simulated(spec);
  return {
    card: usim,
    state: async () => usim.debugState(),
    ksIntNaf: (nafId) => usim.debugKsIntNaf(nafId),
    remove: async () => usim.remove(),
    close: () => usim.close(),
  };
});

/** A card slot: the test swaps the card behind it. */
class Slot implements Card {
  constructor(public inserted: SimulatedUsim) {}
  get description() {
    return "slot";
  }
  transmit(apdu: Uint8Array) {
    return this.inserted.transmit(apdu);
  }
  reset() {
    return this.inserted.reset();
  }
  powerOff() {
    return this.inserted.powerOff();
  }
  close() {
    return this.inserted.close();
  }
  onRemoved(l: (reason: string) => void) {
    return this.inserted.onRemoved(l);
  }
}

describe("key deletion on UICC change (TS 33.220 §4.4.11)", () => {
  let bsf: FakeBsf | undefined;
  afterEach(async () => {
    await bsf?.stop();
  });

  it("deletes the keys when a different UICC (other IMSI) is found in the slot", async () => {
    bsf = new FakeBsf();
    await bsf.start();
    const slot = new Slot(simulated());
    const mw = await GbaMiddleware.open({ usim: new UsimClient(slot), bsfUrl: bsf.url });
    await mw.bootstrap();
    expect(await mw.checkUicc()).toBe(true);
    expect(mw.current()).toBeDefined();
    slot.inserted = simulated({ imsi: "001010999999999" });
    const deleted: string[] = [];
    mw.onKeysDeleted((reason) => deleted.push(reason));
    expect(await mw.checkUicc()).toBe(false);
    expect(deleted).toEqual(["uicc-changed"]);
    expect(mw.current()).toBeUndefined();
  });
});
