// freeDiameter's daemon (freediameterd, an implementation we did not write) as a configured peer
// of our HSS and BSF as their start functions run them: it connects to the HSS's Zh listener
// (hss.diameter.peers admits it), and the BSF, set to bsf.zh "diameter", connects to it as its
// HSS peer. Both connections complete CER/CEA (RFC 6733 §5.3) and DWR/DWA (RFC 3539: the HSS
// answers freeDiameter's DWR, freeDiameter answers the BSF's), and both end with DPR/DPA when our
// NFs stop. What went over the wire is read back from the NFs' pcapng capture by tshark.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startBsf } from "../nf/bsf/index.js";
import { Capture } from "../nf/common/capture/index.js";
import { parseHostPort } from "../nf/common/diameter/index.js";
import type { RunningNf } from "../nf/common/nf.js";
import { defaultConfig, withEphemeralPorts } from "../nf/config.js";
import { startHss } from "../nf/hss/index.js";
import { type FreeDiameter, freePort, startFreeDiameter, until } from "./helpers/freediameter.js";

const dir = mkdtempSync(join(tmpdir(), "gba-fd-nf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FD_HOST = "fd.example.org";

function tshark(file: string, ports: number[], args: string[]): string {
  try {
    const decode = ports.flatMap((p) => ["-d", `tcp.port==${p},diameter`]);
    return execFileSync("/usr/bin/tshark", ["-n", "-r", file, ...decode, ...args], { maxBuffer: 64 << 20 }).toString();
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT")
      throw new Error("tshark is not installed: install the Debian package tshark");
    throw err;
  }
}

describe("freeDiameter as a configured peer of the HSS and the BSF (start functions)", () => {
  it("CER/CEA and DWR/DWA with both, DPR/DPA when they stop", async () => {
    const cfg = withEphemeralPorts(defaultConfig());
    cfg.data = join(dir, "data");
    cfg.logLevel = "silent";
    cfg.hss.diameter.peers = [FD_HOST];
    const fdPort = await freePort();
    cfg.bsf.zh = "diameter";
    cfg.bsf.diameter.enabled = false;
    cfg.bsf.diameter.watchdogSeconds = 6;
    cfg.bsf.diameter.hss = { originHost: FD_HOST, realm: "example.org", host: "127.0.0.1", port: fdPort };
    const file = join(dir, "fd.pcapng");
    const capture = Capture.toFile(file);
    const nfs: RunningNf[] = [];
    let fd: FreeDiameter | undefined;
    const fdLog = () => fd?.log() ?? "";
    try {
      nfs.push(await startHss(cfg, { capture }));
      const hssPort = parseHostPort(nfs[0].urls.zhDiameter)?.port as number;
      fd = await startFreeDiameter({
        identity: FD_HOST,
        realm: "example.org",
        port: fdPort,
        // freeDiameter dials the HSS; the BSF dials freeDiameter (its own attempts go nowhere)
        peers: [
          { identity: cfg.hss.diameter.originHost, port: hssPort },
          { identity: cfg.bsf.diameter.originHost, port: await freePort() },
        ],
      });
      nfs.push(await startBsf(cfg, { capture }));
      for (const host of [cfg.hss.diameter.originHost, cfg.bsf.diameter.originHost]) {
        const open = new RegExp(`-> 'STATE_OPEN'\\s+'${host.replaceAll(".", "\\.")}'`);
        await until(() => open.test(fdLog()), 15_000, `freeDiameter ↔ ${host} open`, fdLog);
      }
      // freeDiameter's Tw (6 s) for the quiet HSS connection; the BSF's Tw is 6 s ± 2 s
      await new Promise((r) => setTimeout(r, 9_000));
      for (const nf of nfs.splice(0).reverse()) await nf.close();
      await capture.close();

      const F = [
        "tcp.srcport",
        "tcp.dstport",
        "diameter.cmd.code",
        "diameter.flags.request",
        "diameter.Origin-Host",
        "diameter.Result-Code",
      ];
      const rows = tshark(file, [hssPort, fdPort], ["-Y", "diameter", "-T", "fields", ...F.flatMap((f) => ["-e", f])])
        .trimEnd()
        .split("\n")
        .map((l) => l.split("\t"))
        .map(([src, dst, cmd, req, origin, result]) => ({
          conn: src === String(hssPort) || dst === String(hssPort) ? "hss" : "bsf",
          what: `${cmd} ${req === "1" ? "request" : "answer"} from ${origin}${result ? ` ${result}` : ""}`,
        }));
      const on = (conn: string) => rows.filter((r) => r.conn === conn).map((r) => r.what);
      const hss = cfg.hss.diameter.originHost;
      const bsf = cfg.bsf.diameter.originHost;
      // HSS: freeDiameter's CER answered 2001, its DWR answered 2001 (the HSS's Tw is 30 s), our DPR answered
      expect(on("hss")).toEqual(
        expect.arrayContaining([
          `257 request from ${FD_HOST}`,
          `257 answer from ${hss} 2001`,
          `280 request from ${FD_HOST}`,
          `280 answer from ${hss} 2001`,
          `282 request from ${hss}`,
          `282 answer from ${FD_HOST} 2001`,
        ]),
      );
      // BSF: our CER answered 2001 by freeDiameter, a DWR answered whichever Tw ran out first (any
      // traffic restarts the other side's, RFC 3539 §3.4.1), our DPR answered
      const bsfRows = on("bsf");
      expect(bsfRows).toEqual(
        expect.arrayContaining([
          `257 request from ${bsf}`,
          `257 answer from ${FD_HOST} 2001`,
          `282 request from ${bsf}`,
          `282 answer from ${FD_HOST} 2001`,
        ]),
      );
      const dwr =
        (bsfRows.includes(`280 request from ${bsf}`) && bsfRows.includes(`280 answer from ${FD_HOST} 2001`)) ||
        (bsfRows.includes(`280 request from ${FD_HOST}`) && bsfRows.includes(`280 answer from ${bsf} 2001`));
      expect(dwr, bsfRows.join("\n")).toBe(true);
      const problems = tshark(file, [hssPort, fdPort], ["-Y", "_ws.malformed || _ws.expert.severity >= 6291456"]);
      expect(problems.trim()).toBe("");
    } finally {
      for (const nf of nfs.reverse()) await nf.close().catch(() => {});
      await capture.close().catch(() => {});
      await fd?.stop();
    }
  }, 60_000);
});
