// The BSF suite with the UE's card in a PC/SC reader (pcscd + the vsmartcard vpcd reader, with
// `gba usim serve` from dist/ answering as the card, test/helpers/pcsc-env.ts): the same verdicts
// as with a simulated USIM, but bsf.resync is skipped, saying why (a card's SQN cannot be put
// ahead). Missing tools make this test fail with a message saying what to install.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resultLine, runBsfConformance } from "../conformance/index.js";
import { type ConformanceStack, startConformanceStack } from "./helpers/conformance-stack.js";
import { pcscdWithVpcd, quickAckHost, serveUsim, type VpcdSlot } from "./helpers/pcsc-env.js";

let slot: VpcdSlot;
let stack: ConformanceStack;
beforeAll(async () => {
  slot = await pcscdWithVpcd();
  stack = await startConformanceStack();
});
afterAll(async () => {
  await stack?.close();
  await slot?.stop();
});

describe("gba conformance bsf with a PC/SC card", () => {
  it("passes what the simulated USIM passes; bsf.resync is skipped with the reason", { timeout: 120_000 }, async () => {
    const served = await serveUsim(stack.cardFile, quickAckHost().host, slot.port);
    try {
      const r = await runBsfConformance({
        url: stack.bsfUrl,
        card: { kind: "pcsc", reader: slot.readerName, waitForCardMs: 10_000 },
      });
      const verdicts = Object.fromEntries(r.results.map((x) => [x.id, x.verdict]));
      const explain = r.results.map(resultLine).join("\n");
      expect(r.ue.card).toBe("pcsc");
      expect(verdicts["bsf.bootstrap"], explain).toBe("PASS");
      expect(verdicts["bsf.wrong-res"], explain).toBe("PASS");
      expect(verdicts["bsf.resync"], explain).toBe("SKIP");
      expect(r.results.find((x) => x.id === "bsf.resync")?.detail).toMatch(/needs a simulated USIM \(--usim FILE\)/);
      // the rest as with a simulated card (test/conformance.test.ts)
      expect(r.results.filter((x) => x.verdict === "FAIL").map((x) => x.id)).toEqual([]);
    } finally {
      await served.stop();
    }
  });
});
