// `gba scenario run --pcap` with every reference point over Diameter (operator.binding), read by
// tshark (an implementation we did not write): Zh MAR/MAA and Zn BIR/BIA each once, dissected with
// no malformed packet and no expert warning, B-TID in Transaction-Identifier equal to the Digest
// username the OBU sent the ECA, NAF-Id naming the ECA, keys zeroed unless --pcap-keys; the HTTP
// Digest headers of Ub and Ua visible, TLS-PSK Ua decrypted and marked as such. Then `gba up
// --pcap --pcap-keys` with bsf.zh and naf.zn diameter: curl's Digest request at the NAF and the
// Ks_NAF in the captured BIA are the UE's.
// Runs the compiled CLI: build with `npx tsc -p .` first.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { runGba, startGbaUp } from "./helpers/gba-cli.js";

const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const DEMO = fileURLToPath(new URL("../scenarios/iot04-obu-enrolment.yaml", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "gba-capture-scenario-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The demo's four plain groups (GBA_ME/GBA_U × Digest/TLS-PSK), one OBU each, no load, over Diameter. */
function scenario(): string {
  const s = parse(readFileSync(DEMO, "utf8")) as Record<string, unknown>;
  s.operator = { ...(s.operator as object), binding: "diameter" };
  s.devices = (s.devices as unknown[]).slice(0, 4);
  s.deviceCount = 4;
  delete s.load;
  s.assertions = { successRatio: 1 };
  const file = join(dir, "diameter.yaml");
  writeFileSync(file, stringify(s));
  return file;
}

function gba(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { timeout: 120_000, env: { ...process.env, TMPDIR: dir } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** tshark -T fields, one array per packet; the README's way of opening a capture. */
function fields(file: string, filter: string, names: string[]): string[][] {
  let out: string;
  try {
    out = execFileSync(
      "tshark",
      ["-n", "-r", file, "--enable-heuristic", "diameter_tcp", "-Y", filter, "-T", "fields", ...names.flatMap((f) => ["-e", f])],
      { maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "pipe"] },
    ).toString();
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT")
      throw new Error("tshark is not installed: install the Debian package tshark");
    throw err;
  }
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

const text = (hex: string) => Buffer.from(hex.replaceAll(":", ""), "hex").toString("latin1");
const zero = (hex: string) => /^0+$/.test(hex.replaceAll(":", ""));

describe("gba scenario run --pcap, Zh and Zn over Diameter", () => {
  const file = join(dir, "zeroed.pcapng");
  const keysFile = join(dir, "keys.pcapng");
  const yaml = scenario();

  it("writes a capture tshark dissects without a warning; keys zeroed", async () => {
    const r = await gba(["scenario", "run", yaml, "--quiet", "--pcap", file]);
    expect(r.stderr).toContain(`capturing Ub, Ua, Zh and Zn to ${file} (key material zeroed)`);
    expect(r.stderr).toContain(`capture written: tshark -r ${file} --enable-heuristic diameter_tcp`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // nothing malformed, no expert info of warning severity or above, in any packet
    expect(fields(file, "_ws.malformed || _ws.expert.severity >= 6291456", ["frame.number", "_ws.expert.message"])).toEqual([]);

    const d = fields(file, "diameter", [
      "diameter.cmd.code",
      "diameter.flags.request",
      "diameter.hopbyhopid",
      "diameter.Transaction-Identifier",
      "diameter.NAF-Hostname",
      "diameter.ME-Key-Material",
      "diameter.Confidentiality-Key",
      "diameter.Integrity-Key",
    ]);
    const of = (code: string, request: string) => d.filter((r) => r[0] === code && r[1] === request);
    // four bootstraps: four MAR/MAA on Zh; four enrolments: four BIR/BIA on Zn; each message once
    for (const code of ["303", "310"]) {
      expect(of(code, "1")).toHaveLength(4);
      expect(
        of(code, "0")
          .map((r) => r[2])
          .sort(),
      ).toEqual(
        of(code, "1")
          .map((r) => r[2])
          .sort(),
      );
    }
    for (const maa of of("303", "0")) expect(zero(maa[6]) && zero(maa[7]) && maa[6] !== "").toBe(true);
    for (const bia of of("310", "0")) expect(zero(bia[5]) && bia[5].replaceAll(":", "").length === 64).toBe(true);
    // NAF-Id = the ECA's FQDN ‖ Ua security protocol id (TS 33.220 Annex H)
    for (const bir of of("310", "1")) expect(text(bir[4]).startsWith("eca.vehicleman.example")).toBe(true);

    // Ub and Ua Digest: challenges and answers visible, Digest responses zeroed
    const http = fields(file, "http.authorization || http.www_authenticate", ["http.authorization", "http.www_authenticate"]);
    const challenges = http.map((r) => r[1]).filter((v) => v !== "");
    expect(challenges.filter((c) => c.includes("algorithm=AKAv1-MD5"))).toHaveLength(4);
    expect(challenges.some((c) => c.includes('realm="3GPP-bootstrapping@eca.vehicleman.example"'))).toBe(true);
    // (the first Ub request names the user with an empty response, RFC 3310 §3.1)
    const answers = http.map((r) => r[0]).filter((v) => /response="[0-9a-f]+"/.test(v));
    expect(answers.length).toBeGreaterThanOrEqual(6);
    for (const a of answers) expect(a).toMatch(/response="0{32}"/);
    // the B-TID the BSF was asked about is the one the OBU presented at the ECA over Digest
    const uaUsers = answers.filter((a) => a.includes('uri="/enrol"')).map((a) => /username="([^"]+)"/.exec(a)?.[1]);
    const btids = of("310", "1").map((r) => text(r[3]));
    expect(uaUsers.length).toBe(2);
    for (const u of uaUsers) expect(btids).toContain(u);

    // the TLS-PSK enrolments, decrypted and marked on every segment
    const tls = fields(file, 'frame.comment contains "TLS-PSK, decrypted" && http.request', ["http.request.uri"]);
    expect(tls.map((r) => r[0])).toEqual(["/enrol", "/enrol"]);
  }, 150_000);

  it("--pcap-keys keeps the key material and says so on stderr", async () => {
    const r = await gba(["scenario", "run", yaml, "--quiet", "--pcap", keysFile, "--pcap-keys"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(`--pcap-keys: ${keysFile} holds key material in clear`);
    // every Ks_NAF in a BIA is the one `gba calc ks-naf` derives (TS 33.220 B.3) from the CK, IK
    // and RAND of the MAA of that bootstrap (RAND = the B-TID's local part, TS 33.220 §4.5.2)
    // and the IMPI and NAF-Id of the lookup, all read from the capture by tshark
    const hex = (v: string) => v.replaceAll(":", "");
    const birs = new Map(
      fields(keysFile, "diameter.cmd.code == 310 && diameter.flags.request == 1", [
        "diameter.hopbyhopid",
        "diameter.Transaction-Identifier",
        "diameter.NAF-Hostname",
      ]).map(([id, btid, nafId]) => [id, { btid: text(btid), nafId: hex(nafId) }]),
    );
    const maas = fields(keysFile, "diameter.cmd.code == 303 && diameter.flags.request == 0", [
      "diameter.3GPP-SIP-Authenticate",
      "diameter.Confidentiality-Key",
      "diameter.Integrity-Key",
    ]).map(([authenticate, ck, ik]) => ({ rand: hex(authenticate).slice(0, 32), ck: hex(ck), ik: hex(ik) }));
    const bias = fields(keysFile, "diameter.cmd.code == 310 && diameter.flags.request == 0", [
      "diameter.hopbyhopid",
      "diameter.User-Name",
      "diameter.ME-Key-Material",
    ]);
    expect(bias).toHaveLength(4);
    for (const [id, impi, key] of bias) {
      const bir = birs.get(id);
      expect(bir).toBeDefined();
      const rand = Buffer.from(bir!.btid.split("@")[0], "base64").toString("hex");
      const maa = maas.find((m) => m.rand === rand);
      expect(maa, `MAA of RAND ${rand}`).toBeDefined();
      const nafId = Buffer.from(bir!.nafId, "hex");
      const calc = await gba([
        ...["calc", "ks-naf", "--ck", maa!.ck, "--ik", maa!.ik, "--rand", rand, "--impi", impi],
        ...["--naf-fqdn", nafId.subarray(0, -5).toString("latin1"), "--ua-id", nafId.subarray(-5).toString("hex")],
      ]);
      expect(calc.code, calc.stderr).toBe(0);
      expect(hex(key)).toBe((JSON.parse(calc.stdout) as { ks_naf: string }).ks_naf);
    }
  }, 150_000);

  it("the process backend runs the same scenario over Diameter (peers wired to the ports the NFs report)", async () => {
    const r = await gba(["scenario", "run", yaml, "--quiet", "--backend", "process"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("4/4 OBUs enrolled or refused as designed");
  }, 150_000);

  it("refuses --pcap on a backend whose NFs run in other processes, and --pcap-keys alone", async () => {
    const r = await gba(["scenario", "run", yaml, "--quiet", "--backend", "process", "--pcap", join(dir, "p.pcapng")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--pcap records the NFs of the inprocess backend only, not process");
    const k = await gba(["scenario", "run", yaml, "--pcap-keys"]);
    expect(k.code).toBe(2);
    expect(k.stderr).toContain("--pcap-keys needs --pcap FILE");
  });
});

describe("gba up --pcap --pcap-keys with bsf.zh and naf.zn diameter", () => {
  it("curl's Digest request at the NAF gets the UE's Ks_NAF over Zn/Diameter, as the capture shows", async () => {
    const work = mkdtempSync(join(dir, "up-"));
    const file = join(work, "up.pcapng");
    const config = join(work, "config.yaml");
    writeFileSync(config, stringify({ bsf: { zh: "diameter" }, naf: { zn: "diameter" } }));
    const up = await startGbaUp(join(work, "data"), {
      logLevel: "warn",
      args: ["--config", config, "--pcap", file, "--pcap-keys"],
    });
    let stopped = false;
    try {
      const ready = JSON.parse(up.readyLine) as { bsf: { ub: string }; naf: { http: string; fqdn: string } };
      const card = join(work, "card.json");
      const keys = ["--k", "465b5ce8b199b49faa5f0a2ee238a6bc", "--opc", "cd63cb71954a9f4e48a5994e37a02baf"];
      expect((await runGba(["usim", "new", "--imsi", "001010000000001", ...keys, "--out", card])).code).toBe(0);
      const impi = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org";
      const add = ["provision", "add", "--data", join(work, "data"), "--impi", impi, "--imsi", "001010000000001", ...keys];
      expect((await runGba(add)).code).toBe(0);
      const boot = await runGba([
        "ue",
        "bootstrap",
        "--bsf",
        ready.bsf.ub,
        "--usim",
        card,
        "--naf",
        ready.naf.fqdn,
        "--trace",
        "--show-keys",
      ]);
      expect(boot.code, boot.stderr).toBe(0);
      const ue = JSON.parse(boot.stdout) as { btid: string; nafKeys: Record<string, { hex: string; base64: string }> };
      const key = ue.nafKeys[ready.naf.fqdn];
      // curl (a Digest client we did not write): username B-TID, password base64(Ks_NAF)
      const whoami = execFileSync("curl", [
        "-sS",
        "--digest",
        "-u",
        `${ue.btid}:${key.base64}`,
        `${ready.naf.http}/whoami`,
      ]).toString();
      expect(JSON.parse(whoami)).toMatchObject({ btid: ue.btid, impi });
      await up.stop();
      stopped = true;
      expect(up.log()).toContain(`--pcap-keys: ${file} holds key material in clear`);
      expect(up.log()).toContain(`capture written: tshark -r ${file} --enable-heuristic diameter_tcp`);

      expect(fields(file, "_ws.malformed || _ws.expert.severity >= 6291456", ["frame.number"])).toEqual([]);
      // Zh over Diameter for the bootstrap, Zn over Diameter for curl's request
      expect(fields(file, "diameter.cmd.code == 303", ["diameter.flags.request"]).map((r) => r[0])).toEqual(["1", "0"]);
      const bia = fields(file, "diameter.cmd.code == 310 && diameter.flags.request == 0", ["diameter.ME-Key-Material"]);
      expect(bia.map((r) => r[0].replaceAll(":", ""))).toEqual([key.hex]);
      const ua = fields(file, 'http.authorization contains "3GPP-bootstrapping@"', ["http.authorization"]);
      expect(ua.map((r) => /username="([^"]+)"/.exec(r[0])?.[1])).toEqual([ue.btid]);
    } finally {
      if (!stopped) await up.stop();
    }
  }, 120_000);
});
