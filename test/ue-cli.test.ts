// `gba ue bootstrap` and `gba ue fetch` from dist/ (run `npx tsc -p .` first) against the scripted
// BSF and NAFs of test/helpers/ue-fake-network.ts.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UA_ID } from "../gba/ua-id.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { highestSqn } from "../milenage/sqn.js";
import { loadUsimStateFile, saveUsimStateFile } from "../ue/usim/state-file.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { close, FakeBsf, FakeNaf, IMPI, IMSI, K, OPC, startFakeTlsPskNaf } from "./helpers/ue-fake-network.js";

const MAIN = new URL("../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "ue-cli-"));
let files = 0;

function gba(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function usimFile(o: { gbaU?: boolean } = {}): Promise<string> {
  const file = join(dir, `usim-${++files}.json`);
  await saveUsimStateFile(file, newUsimState({ k: K, opc: OPC, imsi: IMSI, gbaU: o.gbaU }), { exclusive: true });
  return file;
}

let bsf: FakeBsf;
const stops: Array<() => Promise<void>> = [];

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` first`);
});

afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function startBsf(): Promise<FakeBsf> {
  bsf = new FakeBsf();
  await bsf.start();
  stops.push(() => bsf.stop());
  return bsf;
}

/** RES, CK, IK, Ks for the RAND the trace shows, computed here from K/OPc with Milenage. */
function secretsFor(rand: Uint8Array): string[] {
  const out = new Milenage(K, OPC).f2345(rand);
  return [out.res, out.ck, out.ik].map(bytesToHex).concat(bytesToHex(out.ck) + bytesToHex(out.ik));
}

function tracedRand(stderr: string): Uint8Array {
  const m = /^RAND:\s+([0-9a-f]{32})$/m.exec(stderr);
  if (!m) throw new Error(`no RAND line in the trace:\n${stderr}`);
  return hexToBytes(m[1]);
}

describe("gba ue bootstrap", () => {
  it("bootstraps, prints the B-TID and saves the card's new SQN", async () => {
    await startBsf();
    const file = await usimFile();
    const before = highestSqn((await loadUsimStateFile(file)).sqn);
    const r = await gba(["ue", "bootstrap", "--bsf", bsf.url, "--usim", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { mode: string; impi: string; btid: string; lifetime: string };
    expect(out).toMatchObject({ mode: "GBA_ME", impi: IMPI });
    expect(bsf.sessions.has(out.btid)).toBe(true);
    expect(highestSqn((await loadUsimStateFile(file)).sqn)).toBeGreaterThan(before);
  });

  it("--trace prints the messages and values but no key material", async () => {
    await startBsf();
    const file = await usimFile();
    const r = await gba(["ue", "bootstrap", "--bsf", bsf.url, "--usim", file, "--trace", "--naf", "naf.example.org"]);
    expect(r.code).toBe(0);
    for (const expected of [
      ">>> Ub request",
      "<<< Ub response",
      "HTTP/1.1 401 Unauthorized",
      "www-authenticate: Digest",
      "AUTN:",
      "SQN:",
      "B-TID:",
      "Ks_NAF:",
    ]) {
      expect(r.stderr).toContain(expected);
    }
    expect(r.stderr).toContain("[redacted]");
    const btid = (JSON.parse(r.stdout) as { btid: string }).btid;
    const ksNaf = bytesToHex(bsf.keyFor(btid, "naf.example.org", UA_ID.HTTP_DIGEST)!);
    const text = (r.stderr + r.stdout).toLowerCase();
    for (const secret of [...secretsFor(tracedRand(r.stderr)), ksNaf]) expect(text).not.toContain(secret);
  });

  it("--trace --show-keys prints RES, CK, IK, Ks and Ks_NAF (hex and base64)", async () => {
    await startBsf();
    const file = await usimFile();
    const r = await gba([
      "ue",
      "bootstrap",
      "--bsf",
      bsf.url,
      "--usim",
      file,
      "--trace",
      "--show-keys",
      "--naf",
      "naf.example.org",
    ]);
    expect(r.code).toBe(0);
    const [res, ck, ik, ks] = secretsFor(tracedRand(r.stderr));
    expect(r.stderr).toMatch(new RegExp(`^RES:\\s+${res}$`, "m"));
    expect(r.stderr).toMatch(new RegExp(`^CK:\\s+${ck}$`, "m"));
    expect(r.stderr).toMatch(new RegExp(`^IK:\\s+${ik}$`, "m"));
    expect(r.stderr).toMatch(new RegExp(`^Ks:\\s+${ks}$`, "m"));
    const out = JSON.parse(r.stdout) as { btid: string; nafKeys: Record<string, { hex: string; base64: string }> };
    const ksNaf = bsf.keyFor(out.btid, "naf.example.org", UA_ID.HTTP_DIGEST)!;
    // base64 is the Ua Digest password curl takes (TS 33.222 §5.3)
    expect(out.nafKeys["naf.example.org"]).toEqual({ hex: bytesToHex(ksNaf), base64: Buffer.from(ksNaf).toString("base64") });
    expect(r.stderr).toMatch(new RegExp(`^Ks_NAF:\\s+${bytesToHex(ksNaf)}$`, "m"));
    expect(r.stderr).toContain(`Ks_NAF b64:  ${Buffer.from(ksNaf).toString("base64")}\n`);
  });

  it("runs GBA_U on a GBA_U card and writes EF_GBABP to the state file", async () => {
    bsf = new FakeBsf({ gbaU: true });
    await bsf.start();
    stops.push(() => bsf.stop());
    const file = await usimFile({ gbaU: true });
    const r = await gba(["ue", "bootstrap", "--bsf", bsf.url, "--usim", file]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { mode: string; btid: string };
    expect(out.mode).toBe("GBA_U");
    expect(readFileSync(file, "utf8")).toContain(Buffer.from(out.btid).toString("hex"));
  });

  it("prints one line and exits 1 when the BSF refuses", async () => {
    bsf = new FakeBsf({ tamperRspauth: true });
    await bsf.start();
    stops.push(() => bsf.stop());
    const r = await gba(["ue", "bootstrap", "--bsf", bsf.url, "--usim", await usimFile()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("rspauth");
  });

  it("--pcsc without a usable PC/SC reader: one clear line, exit 1", async () => {
    const r = await gba(["ue", "bootstrap", "--bsf", "http://127.0.0.1:9/", "--pcsc", "no-such-reader-here"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^gba ue bootstrap: PC\/SC/);
  });

  it("rejects bad usage with exit 2", async () => {
    expect((await gba(["ue", "bootstrap", "--usim", "x.json"])).code).toBe(2);
    expect((await gba(["ue", "bootstrap", "--bsf", "http://127.0.0.1:9/", "--usim", "x.json", "--pcsc"])).code).toBe(2);
    expect((await gba(["ue", "bootstrap", "--bsf", "ftp://x/", "--usim", "x.json"])).code).toBe(2);
    expect((await gba(["ue", "fetch", "--bsf", "http://127.0.0.1:9/", "--usim", "x.json"])).code).toBe(2);
  });
});

describe("gba ue fetch", () => {
  it("fetches through the NAF's Digest, bootstrapping on the way, body to stdout", async () => {
    await startBsf();
    const naf = new FakeNaf(bsf);
    await naf.start();
    stops.push(() => naf.stop());
    const r = await gba([
      "ue",
      "fetch",
      `${naf.url}/svc`,
      "--bsf",
      bsf.url,
      "--usim",
      await usimFile(),
      "--naf-fqdn",
      naf.fqdn,
      "-H",
      "X-Test: 1",
      "--body",
      "payload",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ method: "POST", path: "/svc", body: "payload" });
  });

  it("fetches over TLS-PSK", async () => {
    await startBsf();
    const psk = await startFakeTlsPskNaf(bsf, { ciphers: "PSK-AES128-CBC-SHA" });
    stops.push(() => close(psk.server));
    const r = await gba([
      "ue",
      "fetch",
      `https://127.0.0.1:${psk.port}/`,
      "--bsf",
      bsf.url,
      "--usim",
      await usimFile(),
      "--tls-psk",
      "--psk-suite",
      "PSK-AES128-CBC-SHA",
      "--naf-fqdn",
      "naf.example.org",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ suite: "TLS_PSK_WITH_AES_128_CBC_SHA" });
  });

  it("exits 1 with the status line when the NAF answers >= 400", async () => {
    await startBsf();
    const naf = new FakeNaf(bsf, { forgetEveryBtid: true });
    await naf.start();
    stops.push(() => naf.stop());
    const r = await gba(["ue", "fetch", `${naf.url}/x`, "--bsf", bsf.url, "--usim", await usimFile(), "--naf-fqdn", naf.fqdn]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("HTTP 401");
  });

  it("refuses a NAF whose realm names another host than the one contacted (TS 33.222 §5.3.0)", async () => {
    await startBsf();
    const naf = new FakeNaf(bsf, { realm: "3GPP-bootstrapping@bank.example.com" });
    await naf.start();
    stops.push(() => naf.stop());
    const usim = await usimFile();
    const other = await gba(["ue", "fetch", `${naf.url}/x`, "--bsf", bsf.url, "--usim", usim, "--naf-fqdn", naf.fqdn]);
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(
      `gba ue fetch: the NAF at ${new URL(naf.url).host} names bank.example.com in its realm, not naf.example.org, the server contacted: its key belongs to another NAF, so the UE does not answer (TS 33.222 §5.3.0)\n`,
    );
    // the UE never answered the challenge: no key of another NAF was derived and proven
    expect(naf.seen.filter((x) => x.authorization !== undefined)).toEqual([]);
  });
});
