// Fuzzing the Diameter decoder in process and a live Diameter node over TCP with mutated valid
// messages: bad AVP and message lengths, missing or bad padding, unknown mandatory AVPs, wrong
// flags, truncation, deep Grouped nesting, duplicated AVPs, random bytes. The decoder and the
// message parsers either return or throw their own Diameter errors, nothing else; the node
// answers or deliberately closes, never crashes, and a well-formed request after the junk still
// gets its answer. The seed is fixed (FUZZ_SEED=n explores others); the counts are printed.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiameterNode } from "../nf/common/diameter/index.js";
import {
  APP_ZH,
  APP_ZN,
  AVP,
  type Capabilities,
  checkMessage,
  commandDef,
  DiameterError,
  DiameterFramingError,
  DiameterWriter,
  decodeMessage,
  encodeBia,
  encodeBir,
  encodeCea,
  encodeCer,
  encodeDpr,
  encodeDwr,
  encodeErrorAnswer,
  encodeMaa,
  encodeMar,
  frameLength,
  isRequest,
  parseBia,
  parseBir,
  parseMaa,
  parseMar,
  RESULT,
  readCapabilities,
  readResult,
  resultCode,
  VENDOR_3GPP,
} from "../wire/diameter/index.js";
import { type RawPeer, rawOpen } from "./helpers/diameter-raw-peer.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const DECODER_RUNS = 20_000;
const PEER_RUNS = 2_000;
const counts = { decoder: 0, peer: 0, peerAnswered: 0, peerClosed: 0 };

afterAll(() => {
  process.stderr.write(
    `fuzz-diameter (seed ${SEED}): decoder ${counts.decoder}, peer ${counts.peer} (answered ${counts.peerAnswered}, ` +
      `connection closed ${counts.peerClosed}); total ${counts.decoder + counts.peer} messages\n`,
  );
});

// ------------------------------------------------------------------ corpus of valid messages

const NAF = { originHost: "naf.example.org", originRealm: "example.org" };
const BSF = { originHost: "bsf.example.org", originRealm: "example.org" };
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const AV = {
  rand: unhex("23553cbe9637a89d218ae64dae47bf35"),
  autn: unhex("55f328b43577b9b94a9ffac354dfafb3"),
  xres: unhex("a54211d5e3ba50bf"),
  ck: unhex("b40ba9a3c58b2a05bbf0d987b21bf8cb"),
  ik: unhex("f769bcd751044604127672711c6d3441"),
};
const GUSS = {
  bsfInfo: { uiccType: "GBA" as const, lifeTime: 3600 },
  ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: "sip:a@example.org" }], flags: [{ flag: 1 }] } }],
};
const CAPS: Capabilities = {
  ...NAF,
  hostIpAddresses: ["127.0.0.1"],
  vendorId: 0,
  productName: "fuzz",
  supportedVendorIds: [VENDOR_3GPP],
  authApplicationIds: [],
  acctApplicationIds: [],
  vendorSpecificApplicationIds: [{ vendorId: VENDOR_3GPP, authApplicationId: APP_ZN }],
};
const IDS = { hopByHop: 1, endToEnd: 2 };
const birMsg = (btid = "known@bsf.example.org", ids = IDS) =>
  encodeBir(
    {
      ...NAF,
      sessionId: "naf.example.org;1;1",
      destinationRealm: "example.org",
      btid,
      nafId: { fqdn: "naf.example.org", uaId: unhex("0100000002") },
      gsIds: [1],
      gbaUAware: true,
    },
    ids,
  );
const marMsg = () =>
  encodeMar(
    {
      ...BSF,
      sessionId: "bsf.example.org;1;1",
      destinationRealm: "example.org",
      impi: "a@example.org",
      resync: { rand: AV.rand, auts: new Uint8Array(14) },
    },
    IDS,
  );

function corpus(): Uint8Array[] {
  const bir = decodeMessage(birMsg());
  const grouped = new DiameterWriter();
  grouped.utf8(AVP.SessionId, "s;1;1").identity(AVP.OriginHost, "a").identity(AVP.OriginRealm, "b");
  grouped.begin(AVP.ProxyInfo).identity(AVP.ProxyHost, "p").octets(AVP.ProxyState, unhex("0102")).end();
  grouped.begin(AVP.FailedAvp).begin(AVP.SipAuthDataItem).octets(AVP.IntegrityKey, AV.ik).end().end();
  return [
    birMsg(),
    marMsg(),
    encodeBia(
      {
        ...BSF,
        sessionId: "s;1;1",
        result: resultCode(2001),
        meKeyMaterial: new Uint8Array(32),
        keyExpiryTime: Date.UTC(2030, 0, 1),
        ussList: GUSS.ussList,
        gbaType: "3G_GBA",
      },
      { flags: 0x40, ...IDS },
    ),
    encodeMaa({ ...BSF, sessionId: "s;1;1", result: resultCode(2001), av: AV, guss: GUSS }, { flags: 0x40, ...IDS }),
    encodeCer(CAPS, IDS),
    encodeCea(CAPS, resultCode(2001), decodeMessage(encodeCer(CAPS, IDS))),
    encodeDwr(NAF, IDS, 5),
    encodeDpr(NAF, 1, IDS),
    encodeErrorAnswer(BSF, bir, bir.avps, { resultCode: RESULT.AVP_UNSUPPORTED, message: "x", failedAvp: bir.avps[3] }),
    grouped.finish({ flags: 0xc0, commandCode: 310, applicationId: APP_ZN, hopByHop: 1, endToEnd: 2 }),
  ];
}

// ------------------------------------------------------------------ mutations

type Rng = () => number;
const int = (rng: Rng, n: number) => Math.floor(rng() * n);

/** Offsets of the top-level AVPs of a valid message. */
function avpOffsets(m: Uint8Array): number[] {
  const out: number[] = [];
  for (let o = 20; o + 8 <= m.length; ) {
    out.push(o);
    const len = (m[o + 5] << 16) | (m[o + 6] << 8) | m[o + 7];
    if (len < 8) break;
    o += (len + 3) & ~3;
  }
  return out;
}

const setLength = (m: Uint8Array, len: number) => {
  m[1] = (len >> 16) & 0xff;
  m[2] = (len >> 8) & 0xff;
  m[3] = len & 0xff;
};

function nest(depth: number, inner: Uint8Array): Uint8Array {
  const w = new DiameterWriter();
  const open = (d: number) => (d % 2 ? w.begin(AVP.SipAuthDataItem) : w.raw(0, 0, 0, new Uint8Array()) && w.begin(AVP.FailedAvp));
  for (let d = 0; d < depth; d++) open(d);
  w.raw(9999, 0x40, 0, inner.subarray(0, 8));
  for (let d = 0; d < depth; d++) w.end();
  return w.finish({ flags: 0, commandCode: 0, applicationId: 0, hopByHop: 0, endToEnd: 0 }).subarray(20);
}

/**
 * One mutation of a valid message. `honest` keeps the header's length equal to the octets (the
 * stream stays framed); otherwise the header length may lie too.
 */
function mutate(valid: Uint8Array, rng: Rng, honest: boolean): Uint8Array {
  let m = new Uint8Array(valid);
  const offs = avpOffsets(m);
  const at = offs[int(rng, offs.length)] ?? 20;
  switch (int(rng, 10)) {
    case 0: // random octets anywhere after the header
      for (let k = 1 + int(rng, 4); k > 0; k--) m[20 + int(rng, m.length - 20)] = int(rng, 256);
      break;
    case 1: {
      // an AVP length off by a little or a lot
      const len = ((m[at + 5] << 16) | (m[at + 6] << 8) | m[at + 7]) + [-9, -4, -1, 1, 3, 5, 64, 0x7fffff][int(rng, 8)];
      m[at + 5] = (len >> 16) & 0xff;
      m[at + 6] = (len >> 8) & 0xff;
      m[at + 7] = len & 0xff;
      break;
    }
    case 2: // truncated
      m = m.subarray(0, 20 + int(rng, m.length - 20));
      break;
    case 3: {
      // an unknown AVP, mandatory or not, vendor or not, inserted before a random AVP
      const w = new DiameterWriter();
      w.raw(1000 + int(rng, 60000), rng() < 0.7 ? 0x40 : 0, rng() < 0.5 ? VENDOR_3GPP : 0, new Uint8Array(int(rng, 9)));
      const extra = w.finish({ flags: 0, commandCode: 0, applicationId: 0, hopByHop: 0, endToEnd: 0 }).subarray(20);
      m = Buffer.concat([m.subarray(0, at), extra, m.subarray(at)]);
      break;
    }
    case 4: // header flags (R, P, E, T, reserved) or an AVP's flags
      if (rng() < 0.5) m[4] = int(rng, 256);
      else m[at + 4] = int(rng, 256);
      break;
    case 5: {
      // bad padding: the AVP length no longer covers the data and the padding is gone
      const len = (m[at + 5] << 16) | (m[at + 6] << 8) | m[at + 7];
      const padded = (len + 3) & ~3;
      m = Buffer.concat([m.subarray(0, at + len), m.subarray(at + padded)]);
      break;
    }
    case 6: // deep Grouped nesting
      m = Buffer.concat([m, nest(1 + int(rng, 40), m.subarray(at))]);
      break;
    case 7: {
      // an AVP twice
      const len = (m[at + 5] << 16) | (m[at + 6] << 8) | m[at + 7];
      m = Buffer.concat([m, m.subarray(at, at + ((len + 3) & ~3))]);
      break;
    }
    case 8: // version, command code, application id
      m[[0, 5, 6, 7, 8, 11][int(rng, 6)]] = int(rng, 256);
      break;
    default: // random bytes after a plausible header
      m = Buffer.concat([m.subarray(0, 20), Uint8Array.from({ length: int(rng, 64) }, () => int(rng, 256))]);
  }
  if (honest) setLength(m, m.length);
  else if (rng() < 0.5) setLength(m, int(rng, 0x1000000));
  return new Uint8Array(m);
}

/** Everything the receiving side runs on a message; only Diameter errors may come out. */
function decodeAndParse(bytes: Uint8Array): void {
  try {
    frameLength(bytes, 0, 1 << 20);
    const m = decodeMessage(bytes);
    const cmd = commandDef(m.applicationId, m.commandCode);
    if (cmd) checkMessage(m.avps, cmd, isRequest(m));
    const req = isRequest(m);
    if (m.commandCode === 310) req ? parseBir(m) : parseBia(m);
    else if (m.commandCode === 303) req ? parseMar(m) : parseMaa(m);
    else if (m.commandCode === 257) readCapabilities(m.avps);
  } catch (err) {
    if (err instanceof DiameterError || err instanceof DiameterFramingError) return;
    throw err;
  }
}

describe("Diameter decoder and parsers, in process", () => {
  it(`${DECODER_RUNS} mutated messages: only Diameter errors, never anything else`, () => {
    const valid = corpus();
    for (const v of valid) decodeAndParse(v);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer(), fc.boolean(), (i, seed, honest) => {
        counts.decoder++;
        let s = seed >>> 0 || 1;
        const rng = () => {
          // xorshift32: one stream per fast-check sample
          s ^= s << 13;
          s ^= s >>> 17;
          s ^= s << 5;
          return (s >>> 0) / 0x100000000;
        };
        decodeAndParse(mutate(valid[i], rng, honest));
      }),
      { seed: SEED, numRuns: DECODER_RUNS },
    );
    expect(counts.decoder).toBeGreaterThanOrEqual(DECODER_RUNS);
  });
});

describe("a live Diameter node over TCP", () => {
  let n: DiameterNode;
  let port = 0;
  // error-level log lines mean a bug of ours cost a connection (the node survives it, but must not need to)
  const errors: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn() {},
    error: (o: object, msg: string) => errors.push(`${msg} ${JSON.stringify(o)}`),
  };

  beforeAll(async () => {
    n = new DiameterNode({
      ...BSF,
      applications: [APP_ZN, APP_ZH],
      peers: [{ originHost: "naf.example.org" }],
      capabilitiesTimeoutMs: 2000,
      logger,
    });
    n.onRequest(APP_ZN, 310, (msg) => {
      const r = parseBir(msg);
      return encodeBia({ ...n.origin, sessionId: r.sessionId, result: resultCode(2001), meKeyMaterial: new Uint8Array(32) }, msg);
    });
    n.onRequest(APP_ZH, 303, (msg) => {
      const r = parseMar(msg);
      return encodeMaa({ ...n.origin, sessionId: r.sessionId, result: resultCode(2001), av: AV, guss: GUSS }, msg);
    });
    ({ port } = await n.listen(0));
  });

  afterAll(async () => {
    await n.close();
  });

  it(`${PEER_RUNS} mutated messages: each is answered or the connection is closed on purpose; a valid request after it is answered`, async () => {
    const valid = corpus().filter((m) => m[4] & 0x80 && !(m[5] === 0 && m[6] === 1 && m[7] === 1)); // requests, not CER
    let rs = SEED >>> 0 || 1;
    const rng = () => {
      rs = (Math.imul(rs ^ (rs >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return rs / 0x100000000;
    };
    let peer: RawPeer | undefined;
    let restarts = 1;
    const reopen = async () => {
      peer?.close();
      // a new Origin-State-Id each time, as a restarted peer has (it replaces a dead connection)
      const o = await rawOpen(port, "naf.example.org", [APP_ZN, APP_ZH], ++restarts);
      expect(readResult(o.cea.avps)).toEqual({ vendorId: 0, code: 2001 });
      peer = o.peer;
      return peer;
    };
    let p = await reopen();
    for (let i = 0; i < PEER_RUNS; i++) {
      counts.peer++;
      const honest = rng() < 0.9;
      const junk = mutate(valid[int(rng, valid.length)], rng, honest);
      const probeId = (0xf0000000 + i) >>> 0;
      p.send(junk);
      if (!honest) {
        // the stream may now be out of step: give the node a moment, then start afresh
        await Promise.race([p.whenClosed, new Promise((r) => setTimeout(r, 5))]);
        if (p.closed) counts.peerClosed++;
        p = await reopen();
        continue;
      }
      p.send(birMsg("known@bsf.example.org", { hopByHop: probeId, endToEnd: probeId }));
      for (;;) {
        const m = await p.next(5000);
        if (m === undefined) {
          // closed on purpose: the junk was a DPR, or an unframeable stream
          counts.peerClosed++;
          p = await reopen();
          break;
        }
        if (m.hopByHop === probeId) {
          expect(m.commandCode).toBe(310);
          counts.peerAnswered++;
          break;
        }
      }
    }
    // the node still serves a fresh peer
    p = await reopen();
    p.send(marMsg());
    const maa = await p.nextNonWatchdog();
    expect(parseMaa(maa!).result).toEqual({ vendorId: 0, code: 2001 });
    p.close();
    expect(counts.peerAnswered).toBeGreaterThan(PEER_RUNS * 0.5);
    expect(errors).toEqual([]);
  }, 120_000);
});
