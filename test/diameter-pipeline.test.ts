// Many requests outstanding on one Diameter connection (RFC 6733 §6.2: answers are matched by
// Hop-by-Hop Identifier). The node gathers the answers of one tick into one socket write
// (nf/common/diameter/connection.ts): these tests fail if that loses, duplicates or reorders an
// answer, breaks the framing, or if a peer closing while its answers are still queued costs more
// than its own connection.
import { afterEach, describe, expect, it } from "vitest";
import { DiameterNode } from "../nf/common/diameter/index.js";
import { APP_ZN, type DiameterMessage, encodeBia, encodeBir, parseBia, parseBir, resultCode } from "../wire/diameter/index.js";
import { type RawPeer, rawOpen } from "./helpers/diameter-raw-peer.js";

const NAF = "naf.example.org";
const N = 400;
const FIRST_HOP = 0x7fffff00; // the 32-bit identifiers wrap in the middle of the batch
const KEY = new Uint8Array(32).fill(7);

const nodes: DiameterNode[] = [];
const raws: RawPeer[] = [];
afterEach(async () => {
  for (const r of raws.splice(0)) r.close();
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

/** A BSF-like node; `delay(i)` (ms, per request number) makes some answers wait, as a store lookup can. */
async function server(delay?: (i: number) => number) {
  const n = new DiameterNode({
    originHost: "bsf.example.org",
    originRealm: "example.org",
    applications: [APP_ZN],
    peers: [{ originHost: NAF }],
  });
  nodes.push(n);
  let handled = 0;
  n.onRequest(APP_ZN, 310, async (msg) => {
    const r = parseBir(msg);
    handled++;
    const wait = delay?.(Number(r.sessionId.split(";")[2])) ?? -1;
    if (wait >= 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // the B-TID comes back as the IMPI: each answer names its request
    return encodeBia({ ...n.origin, sessionId: r.sessionId, result: resultCode(2001), impi: r.btid, meKeyMaterial: KEY }, msg);
  });
  const { port } = await n.listen(0);
  return { node: n, port, handled: () => handled };
}

const hopOf = (i: number) => (FIRST_HOP + i) >>> 0;

/** N BIRs in one buffer: one TCP write, so the node reads them in one or a few chunks. */
function batch(n = N): Buffer {
  return Buffer.concat(
    Array.from({ length: n }, (_, i) =>
      encodeBir(
        {
          originHost: NAF,
          originRealm: "example.org",
          destinationRealm: "example.org",
          sessionId: `${NAF};1;${i}`,
          btid: `btid-${i}@bsf.example.org`,
          nafId: { fqdn: NAF, uaId: new Uint8Array([1, 0, 0, 0, 2]) },
        },
        { hopByHop: hopOf(i), endToEnd: 1000 + i },
      ),
    ),
  );
}

async function answers(peer: RawPeer, n: number): Promise<DiameterMessage[]> {
  const out: DiameterMessage[] = [];
  for (let i = 0; i < n; i++) {
    const m = await peer.nextNonWatchdog();
    if (!m) throw new Error(`connection closed after ${out.length} of ${n} answers`);
    out.push(m);
  }
  return out;
}

/** Each answer carries its request's identifiers and Session-Id (RFC 6733 §6.2). */
function expectMatched(m: DiameterMessage): number {
  const bia = parseBia(m);
  const i = Number(bia.sessionId.split(";")[2]);
  expect(m.hopByHop).toBe(hopOf(i));
  expect(m.endToEnd).toBe(1000 + i);
  expect(bia.impi).toBe(`btid-${i}@bsf.example.org`);
  return i;
}

describe("pipelined Diameter requests on one connection", () => {
  it("answers every request once, in request order, each whole, when they all arrive at once", async () => {
    const s = await server();
    const { peer } = await rawOpen(s.port, NAF);
    raws.push(peer);
    peer.send(batch());
    const got = await answers(peer, N);
    expect(got.map(expectMatched)).toEqual(Array.from({ length: N }, (_, i) => i));
    // nothing more: no duplicate answer follows
    await expect(peer.next(300)).rejects.toThrow("no Diameter message");
  });

  it("answers every request exactly once when some answers are produced later than others", async () => {
    // every third request waits 0–5 ms: answers leave in the order they are ready
    const s = await server((i) => (i % 3 === 0 ? i % 6 : -1));
    const { peer } = await rawOpen(s.port, NAF);
    raws.push(peer);
    peer.send(batch());
    const got = (await answers(peer, N)).map(expectMatched);
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    // the immediate answers keep their order among themselves, and so do the delayed ones of one delay
    const immediate = got.filter((i) => i % 3 !== 0);
    expect(immediate).toEqual([...immediate].sort((a, b) => a - b));
    await expect(peer.next(300)).rejects.toThrow("no Diameter message");
  });

  it("a peer closing while its answers are queued costs only its connection", async () => {
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on("uncaughtException", onError);
    process.on("unhandledRejection", onError);
    try {
      // some answers come at once, the others after the peer has gone
      const s = await server((i) => (i % 2 === 0 ? 2 : -1));
      const first = await rawOpen(s.port, NAF);
      first.peer.send(batch());
      // close as soon as the first answer is in: the rest are being written or still queued
      await first.peer.next();
      first.peer.close();
      await first.peer.whenClosed;
      // the node notices, frees the peer's entry, and the same NAF reconnects and is served whole
      await expect.poll(() => s.node.status()[0]?.state, { timeout: 5000 }).toBe("closed");
      await new Promise((r) => setTimeout(r, 20));
      const again = await rawOpen(s.port, NAF, undefined, 2);
      raws.push(again.peer);
      again.peer.send(batch(50));
      expect((await answers(again.peer, 50)).map(expectMatched).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
      expect(s.handled()).toBeGreaterThanOrEqual(50);
    } finally {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onError);
    }
    expect(errors).toEqual([]);
  });
});
