// Issue 15 item 8: `gba usim new|show` print the IMPI the card presents (the value
// `gba provision add --impi` needs) and the BSF realm it asks first; `--trace --show-keys`
// prints Ks_NAF in hex and in base64 (the Ua Digest password curl takes).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UA_ID } from "../gba/ua-id.js";
import { saveUsimStateFile } from "../ue/usim/state-file.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { requireBuiltCli, runGba } from "./helpers/gba-cli.js";
import { FakeBsf, IMSI, K, OPC } from "./helpers/ue-fake-network.js";

const dir = mkdtempSync(join(tmpdir(), "cli-impi-keys-"));

const gba = (args: string[]) => runGba(args);

beforeAll(requireBuiltCli);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("gba usim new|show: the identities the network must know", () => {
  // TS 23.003 §13.3 and §16.2 examples: IMSI 234150999999999, MCC 234, MNC 15
  const expected = {
    impi: "234150999999999@ims.mnc015.mcc234.3gppnetwork.org",
    bsfRealm: "bsf.mnc015.mcc234.pub.3gppnetwork.org",
  };

  /** `gba usim new` for an IMSI (any keys): the card file and what the command printed. */
  async function newCard(name: string, imsi: string, extra: string[] = []) {
    const out = join(dir, name);
    const r = await gba([
      "usim",
      "new",
      "--k",
      "00".repeat(16),
      "--opc",
      "11".repeat(16),
      "--imsi",
      imsi,
      "--out",
      out,
      ...extra,
    ]);
    expect(r.code, r.stderr).toBe(0);
    return { out, printed: JSON.parse(r.stdout) as Record<string, unknown> };
  }

  it("new prints impi and bsfRealm; show prints the same", async () => {
    const { out, printed } = await newCard("card.json", "234150999999999");
    expect(printed).toMatchObject(expected);
    const shown = await gba(["usim", "show", "--usim", out]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject(expected);
  });

  it("a 3-digit MNC (EF_AD) changes both", async () => {
    const { printed } = await newCard("card3.json", "310150123456789", ["--mnc-length", "3"]);
    expect(printed).toMatchObject({
      impi: "310150123456789@ims.mnc150.mcc310.3gppnetwork.org",
      bsfRealm: "bsf.mnc150.mcc310.pub.3gppnetwork.org",
    });
  });
});

describe("gba ue bootstrap --naf: Ks_NAF in hex and base64", () => {
  it("--trace --show-keys prints both, in the trace and in nafKeys; without them both are [redacted]", async () => {
    const bsf = new FakeBsf();
    await bsf.start();
    try {
      const usim = join(dir, "ue.json");
      await saveUsimStateFile(usim, newUsimState({ k: K, opc: OPC, imsi: IMSI }), { exclusive: true });
      const base = ["ue", "bootstrap", "--bsf", bsf.url, "--usim", usim, "--naf", "naf.example.org"];
      const shown = await gba([...base, "--trace", "--show-keys"]);
      expect(shown.code, shown.stderr).toBe(0);
      const out = JSON.parse(shown.stdout) as { btid: string; nafKeys: Record<string, { hex: string; base64: string }> };
      const key = bsf.keyFor(out.btid, "naf.example.org", UA_ID.HTTP_DIGEST)!;
      const hex = Buffer.from(key).toString("hex");
      const b64 = Buffer.from(key).toString("base64");
      expect(out.nafKeys["naf.example.org"]).toEqual({ hex, base64: b64 });
      expect(shown.stderr).toContain(`Ks_NAF:      ${hex}\n`);
      expect(shown.stderr).toContain(`Ks_NAF b64:  ${b64}\n`);

      const quiet = await gba(base);
      expect(quiet.code, quiet.stderr).toBe(0);
      expect(JSON.parse(quiet.stdout).nafKeys["naf.example.org"]).toEqual({ hex: "[redacted]", base64: "[redacted]" });
    } finally {
      await bsf.stop();
    }
  });

  it("the help says --naf keys need --trace --show-keys", async () => {
    const r = await gba(["ue", "bootstrap", "--help"]);
    expect(r.stdout).toMatch(/--naf FQDN[\s\S]*only with --trace --show-keys/);
    expect((await gba(["ue", "bootstrap", "--bsf", "http://127.0.0.1:9/", "--usim", "x.json", "--show-keys"])).stderr).toContain(
      "--show-keys needs --trace",
    );
  });
});
