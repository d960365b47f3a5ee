// No key material in logs, reports or traces unless key tracing was asked for. Every key value
// of a run is computed independently from the USIMs' K and OPc and the RANDs of the B-TIDs the
// run produced: K, OPc, RES, CK, IK, Ks, and Ks_NAF / Ks_ext_NAF / Ks_int_NAF for every NAF and
// Ua security protocol id in use, in lower- and upper-case hex and in base64 (the Ua Digest
// password is base64(Ks_NAF)). Then:
// - a full `gba scenario run` of the IoT.04 scenario with the process backend, --report and
//   --diagram: none of them in its stdout, stderr, report, diagram or the NF logs;
// - `gba ue bootstrap --trace` without --show-keys: none in its output; with --show-keys the
//   same search finds RES, CK, IK, Ks and Ks_NAF (so the search itself works);
// - `gba up --dashboard` (its starters in this process, every NF reporting to its event bus):
//   none in the served page and modules, the event stream, the events and series APIs or the
//   subscriber list, after real bootstraps and Ua requests over Digest and TLS-PSK, and an
//   event that tries to smuggle Ks in (which the search finds in the emitted object).
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseBtid } from "../gba/btid.js";
import { deriveKsIntNaf, deriveKsNaf, nafId } from "../gba/keys.js";
import { UA_ID, uaIdForTls } from "../gba/ua-id.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { TLS12_PSK_SUITES } from "../nf/naf/tls-psk.js";
import { impiFromImsi } from "../ue/impi.js";
import { saveUsimStateFile } from "../ue/usim/state-file.js";
import { newUsimState } from "../ue/usim/usim-state.js";
import { withDashboard } from "../cli/dashboard.js";
import { UP_STARTERS, urlOf } from "../cli/up.js";
import { defaultConfig, withEphemeralPorts } from "../nf/config.js";
import { EventBus, type EventInput } from "../nf/common/events.js";
import { closeAll, type RunningNf } from "../nf/common/nf.js";
import { removeTempDirs, tempDir } from "./helpers/fault-procs.js";
import { type TestUe, ueThroughNaf, upUrls } from "./helpers/dashboard-ues.js";
import { startNetwork } from "./helpers/ue-network.js";

const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const DEMO = fileURLToPath(new URL("../scenarios/iot04-obu-enrolment.yaml", import.meta.url));
const NAF_FQDNS = ["naf.example.org", "eca.vehicleman.example"];
const UA_IDS = [
  UA_ID.HTTP_DIGEST,
  UA_ID.TLS13_PSK,
  ...TLS12_PSK_SUITES.map((s) => uaIdForTls(s.code)),
  ...[0x1301, 0x1302, 0x1303].map(uaIdForTls),
];
const BTID = /[A-Za-z0-9+/]{22}==@[A-Za-z0-9.-]+/g;

afterAll(removeTempDirs);

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface Subscriber {
  impi: string;
  k: Uint8Array;
  opc: Uint8Array;
}

/** label → every encoding of every key value of these subscribers and RANDs */
function keyNeedles(subs: Subscriber[], rands: Uint8Array[]): Map<string, string> {
  const needles = new Map<string, string>();
  const add = (label: string, v: Uint8Array) => {
    const hex = bytesToHex(v);
    needles.set(hex, label);
    needles.set(hex.toUpperCase(), label);
    needles.set(Buffer.from(v).toString("base64"), label);
  };
  for (const s of subs) {
    add("K", s.k);
    add("OPc", s.opc);
    const m = new Milenage(s.k, s.opc);
    for (const rand of rands) {
      const { res, ck, ik } = m.f2345(rand);
      const ks = new Uint8Array([...ck, ...ik]);
      add("RES", res);
      add("CK", ck);
      add("IK", ik);
      add("Ks", ks);
      for (const fqdn of NAF_FQDNS) {
        for (const ua of UA_IDS) {
          add("Ks_NAF", deriveKsNaf(ks, rand, s.impi, nafId(fqdn, ua)));
          add("Ks_int_NAF", deriveKsIntNaf(ks, rand, s.impi, nafId(fqdn, ua)));
        }
      }
    }
  }
  return needles;
}

/** The key values found in `text`: every hex and base64 run is cut into windows of key sizes. */
function keysIn(text: string, needles: Map<string, string>): string[] {
  const found = new Set<string>();
  const look = (run: string, sizes: number[]) => {
    for (const n of sizes)
      for (let i = 0; i + n <= run.length; i++) {
        const label = needles.get(run.slice(i, i + n));
        if (label) found.add(`${label} ${run.slice(i, i + n)}`);
      }
  };
  // RES is 8 octets here (16 hex digits), CK/IK/K/OPc 16, Ks and the NAF keys 32
  for (const m of text.matchAll(/[0-9a-fA-F]{16,}/g)) look(m[0], [16, 32, 64]);
  for (const m of text.matchAll(/[A-Za-z0-9+/]{12,}={0,2}/g)) look(m[0], [12, 24, 44]);
  return [...found];
}

function randsIn(text: string): Uint8Array[] {
  const out = new Map<string, Uint8Array>();
  for (const m of text.matchAll(BTID)) {
    try {
      const { rand } = parseBtid(m[0]);
      out.set(bytesToHex(rand), rand);
    } catch {
      // not a B-TID after all
    }
  }
  return [...out.values()];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe("key material in logs, reports and traces", () => {
  it("a full scenario run (process backend, --report, --diagram) leaves none in its output, report, diagram or NF logs", async () => {
    const out = tempDir("gba-secrets-");
    const report = join(out, "report.json");
    const diagram = join(out, "diagram.mmd");
    // timing assertions reported, not enforced: this test is about key material, not speed
    const r = await run([
      "scenario",
      "run",
      DEMO,
      "--backend",
      "process",
      "--report",
      report,
      "--diagram",
      diagram,
      "--keep",
      "--timing-advisory",
    ]);
    const kept = /kept (\S+)/.exec(r.stderr)?.[1];
    expect(kept, r.stderr).toBeDefined();
    try {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const logs = filesUnder(join(kept!, "logs"));
      expect(logs.map((f) => f.split("/").pop()).sort()).toEqual(["bsf.log", "eca.log", "hss.log", "naf.log"]);
      const haystacks: Array<[string, string]> = [
        ["stdout", r.stdout],
        ["stderr", r.stderr],
        ["report", readFileSync(report, "utf8")],
        ["diagram", readFileSync(diagram, "utf8")],
        ...logs.map((f): [string, string] => [f, readFileSync(f, "utf8")]),
      ];
      // K and OPc of every OBU from its USIM state file (which holds them by design)
      const usims = filesUnder(join(kept!, "usim"));
      const subs: Subscriber[] = usims.map((f) => {
        const s = JSON.parse(readFileSync(f, "utf8")) as { k: string; opc: string; imsi: string; mncLength: number };
        return { impi: impiFromImsi(s.imsi, s.mncLength), k: hexToBytes(s.k), opc: hexToBytes(s.opc) };
      });
      const rands = randsIn(haystacks.map(([, t]) => t).join("\n"));
      expect(subs.length).toBeGreaterThan(20);
      expect(rands.length, "no B-TID in the logs to derive the run's keys from").toBeGreaterThan(subs.length);
      const needles = keyNeedles(subs, rands);
      // the search works: K is found in the USIM files, which are not output
      expect(keysIn(readFileSync(usims[0], "utf8"), needles).some((k) => k.startsWith("K "))).toBe(true);
      for (const [name, text] of haystacks) expect(keysIn(text, needles), name).toEqual([]);
    } finally {
      if (kept) rmSync(kept, { recursive: true, force: true });
    }
  }, 90_000);

  it("gba ue bootstrap --trace prints keys as [redacted]; only --show-keys shows them", async () => {
    const net = await startNetwork();
    try {
      const imsi = "001010000004242";
      const sub: Subscriber = {
        impi: impiFromImsi(imsi, 2),
        k: hexToBytes("6f0fe7a1b2c3d4e5f60718293a4b5c6d"),
        opc: hexToBytes("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
      };
      await net.provision({ ...sub, imsi });
      const dir = tempDir("gba-secrets-ue-");
      const trace = async (showKeys: boolean) => {
        const usim = join(dir, `usim-${showKeys}.json`);
        await saveUsimStateFile(usim, newUsimState({ k: sub.k, opc: sub.opc, imsi, mncLength: 2, sqn: showKeys ? 64 : 0 }));
        const args = ["ue", "bootstrap", "--bsf", net.bsf.urls.ub, "--usim", usim, "--naf", "naf.example.org", "--trace"];
        const r = await run(showKeys ? [...args, "--show-keys"] : args);
        expect(r.code, r.stderr).toBe(0);
        return `${r.stdout}\n${r.stderr}`;
      };
      const quiet = await trace(false);
      const loud = await trace(true);
      const needles = keyNeedles([sub], randsIn(`${quiet}\n${loud}`));
      expect(quiet).toContain("[redacted]");
      expect(keysIn(quiet, needles)).toEqual([]);
      const shown = new Set(keysIn(loud, needles).map((k) => k.split(" ")[0]));
      for (const label of ["RES", "CK", "IK", "Ks", "Ks_NAF"]) expect(shown, `--show-keys prints ${label}`).toContain(label);
    } finally {
      await net.close();
    }
  }, 60_000);
});

describe("key material on the dashboard", () => {
  it("gba up --dashboard: none in the page, its modules, the event stream or the APIs", async () => {
    const cfg = withEphemeralPorts(defaultConfig());
    cfg.data = tempDir("gba-secrets-dashboard-");
    cfg.logLevel = "silent";
    const bus = new EventBus();
    const nfs: RunningNf[] = [];
    const ues: TestUe[] = [];
    try {
      const starters = await Promise.all(UP_STARTERS.map((load) => load()));
      for (const start of withDashboard(starters, cfg, { host: "127.0.0.1", port: 0 }, bus)) nfs.push(await start(cfg, nfs));
      const board = urlOf(nfs, "dashboard", "url") as string;
      const get = async (path: string) => (await fetch(`${board}${path}`)).text();
      const stream = await fetch(`${board}/api/stream`);
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      const subs: Subscriber[] = [];
      const rands: Uint8Array[] = [];
      for (let n = 1; n <= 3; n++) {
        // the NFs report what they do: Zh, Ub, then Ua over Digest and over TLS-PSK with their Zn
        const { ue, sub, btid } = await ueThroughNaf(upUrls(nfs, cfg), n, n === 3);
        ues.push(ue);
        subs.push(sub);
        const { rand } = parseBtid(btid);
        rands.push(rand);
        // an emitter that tries to put keys into an event: the bus keeps its known fields only
        const m = new Milenage(sub.k, sub.opc).f2345(rand);
        const ks = new Uint8Array([...m.ck, ...m.ik]);
        const smuggled = {
          nf: "naf",
          kind: "ua",
          outcome: "ok",
          btid,
          ks: bytesToHex(ks),
          password: Buffer.from(ks).toString("base64"),
        };
        const needles = keyNeedles([sub], [rand]);
        expect(keysIn(JSON.stringify(smuggled), needles).some((k) => k.startsWith("Ks "))).toBe(true);
        bus.emit(smuggled as unknown as EventInput);
      }
      let streamed = "";
      while (!/"ub\.ok":3/.test(streamed) || !streamed.includes('"kind":"ua"')) {
        const { value, done } = await reader.read();
        if (done) break;
        streamed += value;
      }
      await reader.cancel();
      const needles = keyNeedles(subs, rands);
      const files = readdirSync(fileURLToPath(new URL("../dashboard/public/", import.meta.url)));
      const haystacks: Array<[string, string]> = [
        ["stream", streamed],
        ["events", await get("/api/events?limit=2000")],
        ["series", await get("/api/series?seconds=600")],
        ["subscribers", await get("/api/subscribers")],
        ["ladder", await get(`/api/events?impi=${encodeURIComponent(subs[0].impi)}`)],
        ...(await Promise.all(files.map(async (f): Promise<[string, string]> => [f, await get(`/${f}`)]))),
      ];
      expect(streamed).toContain(subs[2].impi);
      for (const [name, text] of haystacks) expect(keysIn(text, needles), name).toEqual([]);
    } finally {
      for (const ue of ues) await ue.close();
      await closeAll(nfs).catch(() => {});
    }
  }, 60_000);
});
