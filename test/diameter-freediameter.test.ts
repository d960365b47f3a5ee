// Interoperability with freeDiameter's daemon (Debian freediameterd, an implementation we did
// not write): it connects to one of our nodes and one of our nodes connects to it; both complete
// CER/CEA (RFC 6733 §5.3), exchange DWR/DWA in both directions (RFC 3539, freeDiameter's Tw is
// 6 s at least) and end with DPR/DPA from either side (RFC 6733 §5.4).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiameterNode } from "../nf/common/diameter/index.js";
import { APP_RELAY, APP_ZN, decodeMessage, isRequest, readCapabilities, readResult } from "../wire/diameter/index.js";
import { type FreeDiameter, freePort, startFreeDiameter, until } from "./helpers/freediameter.js";

interface Seen {
  dir: "in" | "out";
  request: boolean;
  command: number;
  result?: number;
}

/** Records every message a node sends and receives (its tap), decoded to command and result. */
function recorder() {
  const seen: Seen[] = [];
  const message = (dir: "in" | "out", bytes: Uint8Array) => {
    const m = decodeMessage(bytes);
    const s: Seen = { dir, request: isRequest(m), command: m.commandCode };
    if (!s.request) s.result = readResult(m.avps).code;
    seen.push(s);
    if (m.commandCode === 257 && dir === "in") lastCapabilities = readCapabilities(m.avps);
  };
  let lastCapabilities: ReturnType<typeof readCapabilities> | undefined;
  const has = (dir: "in" | "out", request: boolean, command: number, result?: number) =>
    seen.some(
      (s) => s.dir === dir && s.request === request && s.command === command && (result === undefined || s.result === result),
    );
  return { seen, tap: { message }, has, capabilities: () => lastCapabilities };
}

describe("freeDiameter (freeDiameterd 1.2) as a peer", () => {
  let fd: FreeDiameter;
  const fdLog = () => fd?.log() ?? "";
  let fdPort = 0;
  const a = recorder();
  const b = recorder();
  let nodeA: DiameterNode;
  let nodeB: DiameterNode;

  beforeAll(async () => {
    fdPort = await freePort();
    const deadPort = await freePort();
    // A: freeDiameter connects to it; B: connects to freeDiameter (freeDiameter's own attempts
    // towards B go to a port where nothing listens, so B's connection is the one that opens)
    nodeA = new DiameterNode({
      originHost: "gba-a.example.org",
      originRealm: "example.org",
      applications: [APP_ZN],
      peers: [{ originHost: "fd.example.org" }],
      tap: a.tap,
    });
    const { port: portA } = await nodeA.listen(0);
    nodeB = new DiameterNode({
      originHost: "gba-b.example.org",
      originRealm: "example.org",
      applications: [APP_ZN],
      peers: [{ originHost: "fd.example.org", connect: { host: "127.0.0.1", port: fdPort } }],
      watchdogMs: 500,
      watchdogJitterMs: 0,
      reconnectMs: 500,
      tap: b.tap,
    });
    fd = await startFreeDiameter({
      identity: "fd.example.org",
      realm: "example.org",
      port: fdPort,
      peers: [
        { identity: "gba-a.example.org", port: portA },
        { identity: "gba-b.example.org", port: deadPort },
      ],
    });
    nodeB.start();
  }, 30_000);

  afterAll(async () => {
    await nodeA?.close().catch(() => {});
    await nodeB?.close().catch(() => {});
    await fd?.stop();
  });

  it("freeDiameter connects to us: its CER gets our CEA 2001 and the connection opens", async () => {
    await until(() => nodeA.status()[0].state === "open", 15_000, "freeDiameter → A open", fdLog);
    expect(a.has("in", true, 257)).toBe(true);
    expect(a.has("out", false, 257, 2001)).toBe(true);
    expect(a.capabilities()).toMatchObject({ originHost: "fd.example.org", originRealm: "example.org" });
    await until(() => /-> 'STATE_OPEN'\s+'gba-a\.example\.org'/.test(fdLog()), 5_000, "freeDiameter logs A open", fdLog);
  });

  it("we connect to freeDiameter: our CER gets its CEA 2001", async () => {
    await until(() => nodeB.status()[0].state === "open", 15_000, "B → freeDiameter open", fdLog);
    expect(b.has("out", true, 257)).toBe(true);
    expect(b.has("in", false, 257, 2001)).toBe(true);
    expect(b.capabilities()?.productName).toMatch(/freeDiameter/);
    // freeDiameter without extensions relays: it advertises the Relay application (RFC 6733 §2.4)
    expect(b.capabilities()?.authApplicationIds).toContain(APP_RELAY);
    await until(() => /-> 'STATE_OPEN'\s+'gba-b\.example\.org'/.test(fdLog()), 5_000, "freeDiameter logs B open", fdLog);
  });

  it("DWR/DWA both ways: B's DWRs answered by freeDiameter, freeDiameter's DWR to the quiet A answered by us", async () => {
    await until(() => b.has("out", true, 280) && b.has("in", false, 280, 2001), 5_000, "our DWR answered (B)", fdLog);
    // A's Tw is 30 s: freeDiameter sends its own DWR after its Tw (6 s) of silence
    await until(() => a.has("in", true, 280), 12_000, "freeDiameter's DWR to A", fdLog);
    await until(() => a.has("out", false, 280, 2001), 1_000, "our DWA", fdLog);
    expect(a.has("out", true, 280)).toBe(false);
    expect(nodeA.status()[0]).toMatchObject({ state: "open", watchdog: "okay" });
    expect(nodeB.status()[0]).toMatchObject({ state: "open", watchdog: "okay" });
  }, 20_000);

  it("DPR/DPA: we disconnect A cleanly; freeDiameter shutting down disconnects B with a DPR we answer", async () => {
    await nodeA.close();
    expect(a.has("out", true, 282)).toBe(true);
    expect(a.has("in", false, 282, 2001)).toBe(true);
    fd.proc.kill("SIGTERM");
    await until(() => b.has("in", true, 282), 10_000, "freeDiameter's DPR", fdLog);
    expect(b.has("out", false, 282, 2001)).toBe(true);
    await until(() => nodeB.status()[0].state !== "open", 5_000, "B closed", fdLog);
    await until(() => fd.proc.exitCode !== null, 10_000, "freeDiameter exit", fdLog);
  }, 30_000);
});
