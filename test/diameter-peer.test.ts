// The Diameter node over TCP (RFC 6733 §2, §5, §6, §7; RFC 3539 watchdog): capabilities
// exchange and the peer table, application requests and answers, watchdog, disconnection, and the
// answer (or the closed connection) that each kind of malformed input gets.
import { afterEach, describe, expect, it } from "vitest";
import {
  DiameterNode,
  DiameterTimeoutError,
  DiameterUnavailableError,
  type DiameterNodeOptions,
} from "../nf/common/diameter/index.js";
import {
  APP_ZH,
  APP_ZN,
  AVP,
  type BirRequest,
  DiameterWriter,
  type DiameterMessage,
  decodeMessage,
  encodeBia,
  encodeBir,
  encodeCer,
  encodeDpa,
  encodeDwa,
  encodeDwr,
  EXPERIMENTAL_RESULT_3GPP,
  findAvp,
  isError,
  parseBia,
  parseBir,
  readCapabilities,
  readGrouped,
  readResult,
  readUnsigned32,
  readUtf8,
  RESULT,
  resultCode,
  VENDOR_3GPP,
} from "../wire/diameter/index.js";
import { RawPeer, rawCapabilities, rawOpen } from "./helpers/diameter-raw-peer.js";

const KS_NAF = new Uint8Array(32).fill(7);
const nodes: DiameterNode[] = [];
const raws: RawPeer[] = [];
afterEach(async () => {
  for (const r of raws.splice(0)) r.close();
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

function node(o: Partial<DiameterNodeOptions> & Pick<DiameterNodeOptions, "originHost">): DiameterNode {
  const n = new DiameterNode({ originRealm: "example.org", applications: [APP_ZN], peers: [], ...o });
  nodes.push(n);
  return n;
}

/** A BSF node answering BIRs: B-TID "known@bsf.example.org" has a key, others get 5403. */
async function bsf(o: Partial<DiameterNodeOptions> = {}) {
  const n = node({ originHost: "bsf.example.org", peers: [{ originHost: "naf.example.org" }], ...o });
  n.onRequest(APP_ZN, 310, (msg) => {
    const r = parseBir(msg);
    const known = r.btid === "known@bsf.example.org";
    return encodeBia(
      {
        ...n.origin,
        sessionId: r.sessionId,
        result: known
          ? resultCode(RESULT.SUCCESS)
          : { vendorId: VENDOR_3GPP, code: EXPERIMENTAL_RESULT_3GPP.TRANSACTION_IDENTIFIER_INVALID },
        ...(known ? { meKeyMaterial: KS_NAF, impi: "alice@example.org" } : {}),
      },
      msg,
    );
  });
  const { port } = await n.listen(0);
  return { n, port };
}

/** A NAF node connected to the BSF node `bsf` (which starts listening). */
async function nafConnectedTo(bsfNode: DiameterNode): Promise<DiameterNode> {
  const { port } = await bsfNode.listen(0);
  const naf = node({
    originHost: "naf.example.org",
    peers: [{ originHost: "bsf.example.org", connect: { host: "127.0.0.1", port } }],
  });
  naf.start();
  await naf.waitOpen("bsf.example.org");
  return naf;
}

const birFields = (btid: string): BirRequest => ({
  originHost: "naf.example.org",
  originRealm: "example.org",
  sessionId: `naf.example.org;1;${Math.floor(Math.random() * 1e9)}`,
  destinationRealm: "example.org",
  btid,
  nafId: { fqdn: "naf.example.org", uaId: new Uint8Array([1, 0, 0, 0, 2]) },
});
const bir = (btid: string, ids = { hopByHop: 77, endToEnd: 88 }) => encodeBir(birFields(btid), ids);

const result = (m: DiameterMessage | undefined) => {
  if (!m) throw new Error("connection closed instead of an answer");
  return readResult(m.avps);
};
const failedCode = (m: DiameterMessage | undefined) => {
  const f = findAvp(m!.avps, AVP.FailedAvp);
  return f ? readGrouped(f)[0] : undefined;
};

describe("capabilities exchange and the peer table (RFC 6733 §5.3)", () => {
  it("a NAF node connects to the BSF node, both open, and a BIR gets its BIA", async () => {
    const { port } = await bsf();
    const naf = node({
      originHost: "naf.example.org",
      peers: [{ originHost: "bsf.example.org", connect: { host: "127.0.0.1", port } }],
    });
    await naf.connectPeer({ originHost: "bsf.example.org", connect: { host: "127.0.0.1", port } });
    expect(naf.status()).toEqual([
      expect.objectContaining({ originHost: "bsf.example.org", state: "open", watchdog: "okay", applications: [APP_ZN] }),
    ]);
    const ok = parseBia(await naf.request(APP_ZN, (ids) => encodeBir(birFields("known@bsf.example.org"), ids)));
    expect(ok.result).toEqual({ vendorId: 0, code: 2001 });
    expect(Buffer.from(ok.meKeyMaterial!).equals(Buffer.from(KS_NAF))).toBe(true);
    const unknown = parseBia(await naf.request(APP_ZN, (ids) => encodeBir(birFields("gone@bsf.example.org"), ids)));
    expect(unknown.result).toEqual({ vendorId: VENDOR_3GPP, code: 5403 });
  });

  it("the CEA carries Origin-Host/Realm, Host-IP-Address, Vendor-Id, Product-Name and the 3GPP application", async () => {
    const { port } = await bsf();
    const { peer, cea } = await rawOpen(port, "naf.example.org");
    raws.push(peer);
    expect(result(cea)).toEqual({ vendorId: 0, code: 2001 });
    const caps = readCapabilities(cea.avps);
    expect(caps).toMatchObject({
      originHost: "bsf.example.org",
      originRealm: "example.org",
      hostIpAddresses: ["127.0.0.1"],
      vendorId: 0,
      productName: "gba-emu",
      supportedVendorIds: [VENDOR_3GPP],
      vendorSpecificApplicationIds: [{ vendorId: VENDOR_3GPP, authApplicationId: APP_ZN }],
    });
    expect(caps.originStateId).toBeGreaterThan(0);
  });

  it("a CER from an Origin-Host not in the peer table: CEA DIAMETER_UNKNOWN_PEER (3010, E bit), then the connection closes", async () => {
    const { port } = await bsf();
    const { peer, cea } = await rawOpen(port, "intruder.example.net");
    raws.push(peer);
    expect(result(cea)).toEqual({ vendorId: 0, code: RESULT.UNKNOWN_PEER });
    expect(isError(cea)).toBe(true);
    await peer.whenClosed;
  });

  it("no application in common: DIAMETER_NO_COMMON_APPLICATION (5010) and close", async () => {
    const { port } = await bsf();
    const { peer, cea } = await rawOpen(port, "naf.example.org", [APP_ZH]);
    raws.push(peer);
    expect(result(cea).code).toBe(RESULT.NO_COMMON_APPLICATION);
    await peer.whenClosed;
  });

  it("a second connection from an open peer is refused and the first stays open", async () => {
    const { n, port } = await bsf();
    const first = await rawOpen(port, "naf.example.org");
    raws.push(first.peer);
    const second = await rawOpen(port, "naf.example.org");
    raws.push(second.peer);
    expect(result(second.cea).code).toBe(RESULT.UNABLE_TO_COMPLY);
    await second.peer.whenClosed;
    first.peer.send(bir("known@bsf.example.org"));
    expect(result(await first.peer.next())).toEqual({ vendorId: 0, code: 2001 });
    expect(n.status()[0].state).toBe("open");
  });

  it("a restarted peer (a new Origin-State-Id) replaces its old connection at once", async () => {
    const { port } = await bsf();
    const old = await rawOpen(port, "naf.example.org", [APP_ZN], 1);
    raws.push(old.peer);
    const restarted = await rawOpen(port, "naf.example.org", [APP_ZN], 2);
    raws.push(restarted.peer);
    expect(result(restarted.cea).code).toBe(2001);
    await old.peer.whenClosed;
    restarted.peer.send(bir("known@bsf.example.org"));
    expect(result(await restarted.peer.next())).toEqual({ vendorId: 0, code: 2001 });
  });

  it("anything but a CER first closes the connection; so does silence past the CER timeout", async () => {
    const { port } = await bsf({ capabilitiesTimeoutMs: 200 });
    const a = await RawPeer.open(port);
    raws.push(a);
    a.send(bir("known@bsf.example.org"));
    await a.whenClosed;
    const b = await RawPeer.open(port);
    raws.push(b);
    await b.whenClosed;
  });

  it("a node refuses a CEA from a peer that is not who it was configured to be", async () => {
    const { port } = await bsf({ peers: [{ originHost: "naf.example.org" }] });
    const naf = node({ originHost: "naf.example.org", reconnectMs: 60_000 });
    await expect(naf.connectPeer({ originHost: "hss.example.org", connect: { host: "127.0.0.1", port } })).rejects.toThrow(
      /identifies as bsf/,
    );
  });
});

describe("requests, answers and timeouts (RFC 6733 §6.2)", () => {
  it("answers are matched by Hop-by-Hop Identifier even when they come out of order", async () => {
    const n = node({ originHost: "bsf.example.org", peers: [{ originHost: "naf.example.org" }] });
    const delays = new Map([
      ["a@x", 60],
      ["b@x", 0],
      ["c@x", 30],
    ]);
    n.onRequest(APP_ZN, 310, async (msg) => {
      const r = parseBir(msg);
      await new Promise((res) => setTimeout(res, delays.get(r.btid)));
      return encodeBia(
        { ...n.origin, sessionId: r.sessionId, result: resultCode(2001), impi: r.btid, meKeyMaterial: KS_NAF },
        msg,
      );
    });
    const naf = await nafConnectedTo(n);
    const answers = await Promise.all(
      ["a@x", "b@x", "c@x"].map((b) => naf.request(APP_ZN, (ids) => encodeBir(birFields(b), ids))),
    );
    expect(answers.map((a) => parseBia(a).impi)).toEqual(["a@x", "b@x", "c@x"]);
  });

  it("a request without an answer times out; the late answer is discarded", async () => {
    const n = node({ originHost: "bsf.example.org", peers: [{ originHost: "naf.example.org" }] });
    let release: () => void = () => {};
    n.onRequest(APP_ZN, 310, async (msg) => {
      await new Promise<void>((r) => {
        release = r;
      });
      return encodeBia({ ...n.origin, sessionId: "s", result: resultCode(2001), meKeyMaterial: KS_NAF }, msg);
    });
    const naf = await nafConnectedTo(n);
    await expect(naf.request(APP_ZN, (ids) => encodeBir(birFields("a@x"), ids), { timeoutMs: 100 })).rejects.toBeInstanceOf(
      DiameterTimeoutError,
    );
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(naf.status()[0].state).toBe("open");
  });

  it("no open peer for the application: DiameterUnavailableError at once", async () => {
    const naf = node({ originHost: "naf.example.org" });
    await expect(naf.request(APP_ZN, (ids) => bir("a@x", ids))).rejects.toBeInstanceOf(DiameterUnavailableError);
  });

  it("a handler that throws gets DIAMETER_UNABLE_TO_COMPLY, not a crash", async () => {
    const n = node({ originHost: "bsf.example.org", peers: [{ originHost: "naf.example.org" }] });
    n.onRequest(APP_ZN, 310, () => {
      throw new Error("boom");
    });
    const { port } = await n.listen(0);
    const { peer } = await rawOpen(port, "naf.example.org");
    raws.push(peer);
    peer.send(bir("a@x"));
    expect(result(await peer.next()).code).toBe(RESULT.UNABLE_TO_COMPLY);
  });
});

describe("malformed input gets the RFC 6733 §7 answer or a closed connection, never a crash", () => {
  const open = async () => {
    const { port } = await bsf();
    const { peer } = await rawOpen(port, "naf.example.org");
    raws.push(peer);
    return peer;
  };
  const stillServes = async (peer: RawPeer) => {
    peer.send(bir("known@bsf.example.org", { hopByHop: 999, endToEnd: 999 }));
    const a = await peer.next();
    expect(a?.hopByHop).toBe(999);
    expect(result(a)).toEqual({ vendorId: 0, code: 2001 });
  };
  const withAvps = (build: (w: DiameterWriter) => void, app = APP_ZN, code = 310, flags = 0xc0) => {
    const w = new DiameterWriter();
    w.utf8(AVP.SessionId, "naf.example.org;1;1");
    w.begin(AVP.VendorSpecificApplicationId).unsigned32(AVP.VendorId, VENDOR_3GPP).unsigned32(AVP.AuthApplicationId, app).end();
    w.identity(AVP.OriginHost, "naf.example.org")
      .identity(AVP.OriginRealm, "example.org")
      .identity(AVP.DestinationRealm, "example.org");
    build(w);
    return w.finish({ flags, commandCode: code, applicationId: app, hopByHop: 5, endToEnd: 6 });
  };
  const good = (w: DiameterWriter) =>
    w.utf8(AVP.TransactionIdentifier, "known@bsf.example.org").octets(AVP.NafId, new Uint8Array([0x61, 1, 0, 0, 0, 2]));

  it("E bit on a request: DIAMETER_INVALID_HDR_BITS (3008) with the E bit; the same ids", async () => {
    const peer = await open();
    peer.send(withAvps(good, APP_ZN, 310, 0xe0));
    const a = await peer.next();
    expect(result(a).code).toBe(RESULT.INVALID_HDR_BITS);
    expect(a).toMatchObject({ flags: 0x60, commandCode: 310, applicationId: APP_ZN, hopByHop: 5, endToEnd: 6 });
    await stillServes(peer);
  });

  it("unknown mandatory AVP: 5001 with the AVP in Failed-AVP; unknown optional AVP: ignored", async () => {
    const peer = await open();
    peer.send(withAvps((w) => good(w).raw(55555, 0xc0, VENDOR_3GPP, new Uint8Array([1, 2, 3]))));
    const a = await peer.next();
    expect(result(a).code).toBe(RESULT.AVP_UNSUPPORTED);
    expect(isError(a!)).toBe(false);
    expect(failedCode(a)).toMatchObject({ code: 55555, vendorId: VENDOR_3GPP, data: new Uint8Array([1, 2, 3]) });
    expect(readUtf8(findAvp(a!.avps, AVP.SessionId)!)).toBe("naf.example.org;1;1");
    peer.send(withAvps((w) => good(w).raw(55555, 0x80, VENDOR_3GPP, new Uint8Array([1]))));
    expect(result(await peer.next()).code).toBe(2001);
  });

  it("missing required AVP: 5005 with a placeholder; AVP twice: 5009; wrong M bit: 3009; bad value: 5004", async () => {
    const peer = await open();
    peer.send(withAvps((w) => w.utf8(AVP.TransactionIdentifier, "known@bsf.example.org")));
    let a = await peer.next();
    expect(result(a).code).toBe(RESULT.MISSING_AVP);
    expect(failedCode(a)).toMatchObject({ code: 402, vendorId: VENDOR_3GPP });
    peer.send(withAvps((w) => good(w).utf8(AVP.TransactionIdentifier, "x@y")));
    expect(result(await peer.next()).code).toBe(RESULT.AVP_OCCURS_TOO_MANY_TIMES);
    peer.send(withAvps((w) => good(w).raw(269, 0x40, 0, new TextEncoder().encode("p"))));
    a = await peer.next();
    expect(result(a).code).toBe(RESULT.INVALID_AVP_BITS);
    expect(isError(a!)).toBe(true);
    peer.send(withAvps((w) => good(w).octets(AVP.UserName, new Uint8Array([0xff]))));
    expect(result(await peer.next()).code).toBe(RESULT.INVALID_AVP_VALUE);
    await stillServes(peer);
  });

  it("AVP length past the message: 5014; message length not a multiple of 4: 5015; version 2: 5011", async () => {
    const peer = await open();
    const m = withAvps(good);
    const bad = new Uint8Array(m);
    bad[20 + 7] = 0xff; // Session-Id length 255, beyond the message
    peer.send(bad);
    const a = await peer.next();
    expect(result(a).code).toBe(RESULT.INVALID_AVP_LENGTH);
    expect(failedCode(a)).toMatchObject({ code: 263 });
    const odd = new Uint8Array(m.length + 2);
    odd.set(m);
    odd[3] = odd.length & 0xff;
    odd[2] = odd.length >> 8;
    peer.send(odd);
    expect(result(await peer.next()).code).toBe(RESULT.INVALID_MESSAGE_LENGTH);
    const v2 = new Uint8Array(m);
    v2[0] = 2;
    peer.send(v2);
    expect(result(await peer.next()).code).toBe(RESULT.UNSUPPORTED_VERSION);
    await stillServes(peer);
  });

  it("unknown command: 3001; unknown application: 3007 (both with the E bit)", async () => {
    const peer = await open();
    peer.send(withAvps(good, APP_ZN, 311));
    let a = await peer.next();
    expect(result(a).code).toBe(RESULT.COMMAND_UNSUPPORTED);
    expect(isError(a!)).toBe(true);
    peer.send(withAvps(good, 16777216, 300));
    a = await peer.next();
    expect(result(a).code).toBe(RESULT.APPLICATION_UNSUPPORTED);
    await stillServes(peer);
  });

  it("a length below the header loses the framing: the connection is closed", async () => {
    const peer = await open();
    peer.send(new Uint8Array([1, 0, 0, 8, 0x80, 0, 1, 0x18]));
    expect(await peer.nextNonWatchdog()).toBeUndefined();
    await peer.whenClosed;
  });

  it("a message split across many TCP segments is reassembled", async () => {
    const peer = await open();
    const m = bir("known@bsf.example.org", { hopByHop: 4242, endToEnd: 1 });
    for (let i = 0; i < m.length; i += 3) {
      peer.send(m.subarray(i, i + 3));
      await new Promise((r) => setImmediate(r));
    }
    const a = await peer.next();
    expect(a?.hopByHop).toBe(4242);
  });
});

describe("watchdog (RFC 3539) and disconnection (RFC 6733 §5.4, §5.5)", () => {
  it("a DWR gets a DWA with Origin-State-Id", async () => {
    const { n, port } = await bsf();
    const { peer } = await rawOpen(port, "naf.example.org");
    raws.push(peer);
    peer.send(encodeDwr({ originHost: "naf.example.org", originRealm: "example.org" }, { hopByHop: 3, endToEnd: 3 }));
    const a = await peer.next();
    expect(a).toMatchObject({ commandCode: 280, flags: 0, hopByHop: 3 });
    expect(result(a).code).toBe(2001);
    expect(readUnsigned32(findAvp(a!.avps, AVP.OriginStateId)!)).toBe(n.originStateId);
  });

  it("after Tw of silence the node sends DWR; answered it stays open, unanswered it goes suspect and then down", async () => {
    const { n, port } = await bsf({ watchdogMs: 150, watchdogJitterMs: 0 });
    const { peer } = await rawOpen(port, "naf.example.org");
    raws.push(peer);
    const dwr = await peer.next();
    expect(dwr).toMatchObject({ commandCode: 280, flags: 0x80 });
    peer.send(encodeDwa({ originHost: "naf.example.org", originRealm: "example.org" }, resultCode(2001), dwr!));
    const dwr2 = await peer.next();
    expect(dwr2?.commandCode).toBe(280);
    expect(n.status()[0]).toMatchObject({ state: "open", watchdog: "okay" });
    // no answer now: suspect after one more Tw, closed after another
    await new Promise((r) => setTimeout(r, 200));
    expect(n.status()[0]).toMatchObject({ state: "open", watchdog: "suspect" });
    await peer.whenClosed;
    expect(n.status()[0].state).toBe("closed");
  });

  it("close() sends DPR and waits for the DPA; a peer's DPR gets a DPA and the connection closes", async () => {
    const { n, port } = await bsf();
    const { peer } = await rawOpen(port, "naf.example.org");
    const closing = n.close();
    const dpr = await peer.next();
    expect(dpr).toMatchObject({ commandCode: 282, flags: 0x80 });
    expect(readUnsigned32(findAvp(dpr!.avps, AVP.DisconnectCause)!)).toBe(0);
    peer.send(encodeDpa({ originHost: "naf.example.org", originRealm: "example.org" }, resultCode(2001), dpr!));
    await closing;
    await peer.whenClosed;

    const b = await bsf();
    const second = await rawOpen(b.port, "naf.example.org");
    raws.push(second.peer);
    const w = new DiameterWriter();
    w.identity(AVP.OriginHost, "naf.example.org").identity(AVP.OriginRealm, "example.org").enumerated(AVP.DisconnectCause, 2);
    second.peer.send(w.finish({ flags: 0x80, commandCode: 282, applicationId: 0, hopByHop: 9, endToEnd: 9 }));
    const dpa = await second.peer.next();
    expect(dpa).toMatchObject({ commandCode: 282, flags: 0, hopByHop: 9 });
    expect(result(dpa).code).toBe(2001);
    await second.peer.whenClosed;
    expect(b.n.status()[0].state).not.toBe("open");
  });

  it("a connector reconnects after Tc when the peer went away (DPR REBOOTING)", async () => {
    const first = await bsf();
    const naf = node({
      originHost: "naf.example.org",
      reconnectMs: 100,
      peers: [{ originHost: "bsf.example.org", connect: { host: "127.0.0.1", port: first.port } }],
    });
    naf.start();
    await naf.waitOpen("bsf.example.org");
    await first.n.close();
    while (["open", "closing"].includes(naf.status()[0].state)) await new Promise((r) => setTimeout(r, 10));
    const second = node({ originHost: "bsf.example.org", peers: [{ originHost: "naf.example.org" }] });
    await second.listen(first.port);
    await naf.waitOpen("bsf.example.org", 5000);
    expect(second.status()[0].state).toBe("open");
  });
});

it("the CER of a raw peer and the encoders used above are what the codec reads back", () => {
  const cer = decodeMessage(encodeCer(rawCapabilities("x.example.org"), { hopByHop: 1, endToEnd: 2 }));
  expect(readCapabilities(cer.avps).originHost).toBe("x.example.org");
  expect(parseBir(decodeMessage(bir("a@b"))).btid).toBe("a@b");
});
