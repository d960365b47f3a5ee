// Captures as pcapng that Wireshark reads (tshark, an implementation we did not write): Diameter
// between two in-process nodes appears once per message on its real 4-tuple, split segments are
// reassembled, TCP analysis finds nothing wrong, and key material is zeroed unless asked for.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Capture } from "../nf/common/capture/index.js";
import { DiameterNode } from "../nf/common/diameter/index.js";
import { APP_ZN, encodeBia, encodeBir, parseBia, parseBir, resultCode } from "../wire/diameter/index.js";

const dir = mkdtempSync(join(tmpdir(), "gba-capture-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KS_NAF = Buffer.from("9fd3a0c1".repeat(8), "hex");

/** tshark with its Diameter-over-TCP heuristic on: our listeners are not on port 3868. */
function tshark(file: string, args: string[]): string {
  try {
    return execFileSync("/usr/bin/tshark", ["-n", "-r", file, "--enable-heuristic", "diameter_tcp", ...args], {
      maxBuffer: 64 << 20,
    }).toString();
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT")
      throw new Error("tshark is not installed: install the Debian package tshark");
    throw err;
  }
}

/** BSF and NAF nodes in one process, one capture; a BIR/BIA exchange, then DPR/DPA. */
async function run(file: string, keys: boolean): Promise<{ port: number }> {
  const capture = Capture.toFile(file, { keys, maxSegment: 64 });
  const bsf = new DiameterNode({
    originHost: "bsf.example.org",
    originRealm: "example.org",
    applications: [APP_ZN],
    peers: [{ originHost: "naf.example.org" }],
    tap: capture.diameterTap(),
  });
  bsf.onRequest(APP_ZN, 310, (msg) =>
    encodeBia({ ...bsf.origin, sessionId: parseBir(msg).sessionId, result: resultCode(2001), meKeyMaterial: KS_NAF }, msg),
  );
  const { port } = await bsf.listen(0);
  const naf = new DiameterNode({
    originHost: "naf.example.org",
    originRealm: "example.org",
    applications: [APP_ZN],
    peers: [{ originHost: "bsf.example.org", connect: { host: "127.0.0.1", port } }],
    tap: capture.diameterTap(),
  });
  await naf.connectPeer({ originHost: "bsf.example.org", connect: { host: "127.0.0.1", port } });
  const bia = parseBia(
    await naf.request(APP_ZN, (ids) =>
      encodeBir(
        {
          ...naf.origin,
          sessionId: "naf.example.org;1;1",
          destinationRealm: "example.org",
          btid: "dGVzdA==@bsf.example.org",
          nafId: { fqdn: "naf.example.org", uaId: new Uint8Array([1, 0, 0, 0, 2]) },
        },
        ids,
      ),
    ),
  );
  expect(Buffer.from(bia.meKeyMaterial!).equals(KS_NAF)).toBe(true);
  await naf.close();
  await bsf.close();
  await capture.close();
  return { port };
}

describe("pcapng capture of Diameter", () => {
  it("each message once, on the real ports, reassembled from 64-octet segments; keys zeroed", async () => {
    const file = join(dir, "zeroed.pcapng");
    const { port } = await run(file, false);
    const F = [
      "diameter.cmd.code",
      "diameter.flags.request",
      "tcp.dstport",
      "diameter.Transaction-Identifier",
      "diameter.ME-Key-Material",
    ];
    const rows = tshark(file, [
      ...["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"],
      ...["-Y", "diameter || (tcp.flags.syn == 1 && tcp.flags.ack == 0) || _ws.malformed || _ws.expert.severity >= 6291456"],
      ...["-T", "fields", "-e", "_ws.expert.severity", "-e", "_ws.expert.message", ...F.flatMap((f) => ["-e", f])],
    ])
      .trimEnd()
      .split("\n")
      .map((r) => r.split("\t"))
      .map(([severity, message, ...rest]) => {
        const warn = severity.split(",").some((v) => Number(v) >= 0x600000) || message.includes("Malformed");
        return [warn ? message : "", ...rest];
      });
    // no malformed packet, no TCP or Diameter warning (handshake, sequence numbers, checksums)
    expect(rows.filter((r) => r[0] !== "").map((r) => r[0])).toEqual([]);
    // one SYN: the two nodes' taps recorded one connection, each message once
    expect(rows.filter((r) => r[1] === "")).toHaveLength(1);
    const d = rows.filter((r) => r[1] !== "");
    expect(d.map((r) => `${r[1]} ${r[2]}`)).toEqual(["257 1", "257 0", "310 1", "310 0", "282 1", "282 0"]);
    // requests go to the BSF's listening port
    expect(d.filter((r) => r[2] === "1").map((r) => r[3])).toEqual([String(port), String(port), String(port)]);
    expect(d[2][4].replaceAll(":", "")).toBe(Buffer.from("dGVzdA==@bsf.example.org").toString("hex"));
    expect(d[3][5].replaceAll(":", "")).toBe("00".repeat(32));
  });

  it("with keys asked for, ME-Key-Material is the real Ks_NAF", async () => {
    const file = join(dir, "keys.pcapng");
    await run(file, true);
    const key = tshark(file, ["-Y", "diameter.ME-Key-Material", "-T", "fields", "-e", "diameter.ME-Key-Material"]).trim();
    expect(key.replaceAll(":", "")).toBe(KS_NAF.toString("hex"));
  });
});
