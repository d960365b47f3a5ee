// Golden trace: one bootstrapping against the real HSS and BSF with every random source and clock
// pinned, printed by the trace printer `gba ue ... --trace --show-keys` uses, compared line by
// line with test/golden/bootstrap-trace.txt.
//
// Pinning: the NFs are composed in this process with injected deps (HSS: RAND, clock; BSF:
// opaque, clock; UE: cnonce, clock). Inputs are 35.208 test set 1 (K, OPc, RAND, SQN ff9bb4d0b607,
// AMF b9b9) so RAND/AUTN/RES/CK/IK/B-TID/Ks_NAF are the values of test/vectors/gba-keys.json,
// which the test also checks on their own. Volatile text (ports, the HTTP Date header) is
// normalised. Regenerate after an intended change with UPDATE_GOLDEN=1 and review the diff.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { UA_ID, uaIdForTls } from "../gba/ua-id.js";
import { akaInsightFromKeys } from "../ue/middleware/aka-insight.js";
import { GbaMiddleware } from "../ue/middleware/gba-middleware.js";
import { TextTracer } from "../ue/trace.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { clock, counterBytes, expectGolden, hssRandom, normalise, patchAmf, SQN_BEFORE } from "./helpers/golden.js";
import { IMPI, IMSI, K, OPC } from "./helpers/ue-fake-network.js";
import { type Network, startNetwork } from "./helpers/ue-network.js";

const GOLDEN = new URL("./golden/bootstrap-trace.txt", import.meta.url);

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function pinnedRun(showKeys: boolean): Promise<string> {
  const n: Network = await startNetwork({
    hssDeps: { clock, randomBytes: hssRandom() },
    bsfDeps: { clock, randomBytes: counterBytes(0xa0) },
    tweak: (cfg) => {
      cfg.hss.zhInd = 7;
    },
  });
  stops.push(() => n.close());
  await n.provision({ impi: IMPI, k: K, opc: OPC, imsi: IMSI, sqn: SQN_BEFORE.toString(16).padStart(12, "0") });
  await patchAmf(n);
  const usim = new SimulatedUsim(newUsimState({ k: K, opc: OPC, imsi: IMSI, sqn: SQN_BEFORE }));
  const lines: string[] = [];
  const mw = await GbaMiddleware.open({
    usim: new UsimClient(usim),
    bsfUrl: n.bsf.urls.ub,
    deps: { clock, randomBytes: counterBytes(0x10) },
    tracer: new TextTracer((l) => lines.push(l), { showKeys }),
    akaInsight: akaInsightFromKeys(K, OPC),
  });
  await mw.bootstrap();
  await mw.getKsNaf("naf.example.com", UA_ID.HTTP_DIGEST);
  await mw.getKsNaf("naf.example.com", uaIdForTls(0x008c));
  await mw.powerDown();
  return normalise(`${lines.join("\n")}\n`);
}

const KEY_LINE = /^(RES|CK|IK|password|Ks|Ks_NAF|Ks_ext_NAF):(\s+).*$/gm;

/** test/vectors/gba-keys.json (TS 35.208 test set 1 inputs; values three independent codings agree on) */
const SPEC = {
  autn: "55f328b43577b9b94a9ffac354dfafb3",
  res: "a54211d5e3ba50bf",
  ck: "b40ba9a3c58b2a05bbf0d987b21bf8cb",
  ik: "f769bcd751044604127672711c6d3441",
  btid: "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org",
  ksNafDigest: "ae9ecc3c7c17692c1d44d6d68d53a3b1624a706039753ba991e8293f3cfdec08",
  ksNafPsk: "05112d2905d40510ca915560e135686355bdcdfa47c730dc9ff991e5049626db",
};

describe("golden bootstrap trace (pinned RAND, SQN and clocks)", () => {
  it("--show-keys: matches test/golden/bootstrap-trace.txt and the §2.8 values", async () => {
    const trace = await pinnedRun(true);
    const line = (label: string, value: string) =>
      expect(trace).toMatch(new RegExp(`^${label}:\\s+${value.replace(/[/+]/g, "\\$&")}$`, "m"));
    line("RAND", "23553cbe9637a89d218ae64dae47bf35");
    line("AUTN", SPEC.autn);
    line("SQN", "ff9bb4d0b607");
    line("AMF", "b9b9");
    line("RES", SPEC.res);
    line("CK", SPEC.ck);
    line("IK", SPEC.ik);
    line("Ks", SPEC.ck + SPEC.ik);
    line("B-TID", SPEC.btid);
    expect(trace.match(/^Ks_NAF:\s+(\S+)$/gm)?.map((l) => l.split(/\s+/)[1])).toEqual([SPEC.ksNafDigest, SPEC.ksNafPsk]);
    line("TMPI", "NdfNQvvGWK4SGbs7c17alrZHQXyhEcrW@tmpi.bsf.3gppnetwork.org");
    expectGolden("bootstrap-trace.txt", trace);
  });

  it("without --show-keys: the same trace with every key value [redacted], and no key anywhere", async () => {
    const trace = await pinnedRun(false);
    const golden = readFileSync(GOLDEN, "utf8");
    expect(trace).toBe(golden.replace(KEY_LINE, "$1:$2[redacted]"));
    for (const secret of [SPEC.res, SPEC.ck, SPEC.ik, SPEC.ksNafDigest, SPEC.ksNafPsk]) expect(trace).not.toContain(secret);
  });
});
