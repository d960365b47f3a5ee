// Zh and Zn over Diameter in the real HSS and BSF (TS 29.109 §5, §6), on ephemeral ports: the
// BSF set to bsf.zh "diameter" bootstraps UEs through MAR/MAA; probe peers of our own stand for
// another BSF (towards the HSS) and for NAFs (towards the BSF). Vectors are checked by the USIM
// side of milenage/, NAF keys recomputed with node:crypto (test/helpers/naf-key.ts), and every
// refusal carries the TS 29.109 §6.2.2 or RFC 6733 result code it should.
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DiameterNode, parseHostPort } from "../nf/common/diameter/index.js";
import {
  APP_ZH,
  APP_ZN,
  AVP,
  type BirRequest,
  decodeAvps,
  encodeBir,
  encodeMar,
  findAvp,
  type MarRequest,
  parseBia,
  parseMaa,
  readResult,
  readUtf8,
} from "../wire/diameter/index.js";
import type { Guss } from "../wire/zh.js";
import { type Stack, startStack, type TestSubscriber, testSubscriber } from "./helpers/bsf-stack.js";
import { type Bootstrapped, MiniUe, ubGet } from "./helpers/mini-ue.js";
import { nafKey } from "./helpers/naf-key.js";

const PROBE_BSF = "probe-bsf.example.org";
const PROBE_NAF = "probe-naf.example.org";
const OTHER_NAF = "other-naf.example.org";
const NAF_FQDN = "naf.example.org";
const DIGEST_UA = new Uint8Array([1, 0, 0, 0, 2]);
const TOKEN = "probe-naf-token";

let s: Stack;
let zhProbe: DiameterNode;
let znProbe: DiameterNode;
let otherNaf: DiameterNode;
let session = 0;

/** A probe node connected to the NF listening at "host:port" (origin `host`). */
async function probe(originHost: string, peer: string, listening: string, app: number): Promise<DiameterNode> {
  const at = parseHostPort(listening);
  if (!at) throw new Error(`not host:port: ${listening}`);
  const connect = { host: at.host, port: at.port };
  const n = new DiameterNode({
    originHost,
    originRealm: "example.org",
    applications: [app],
    peers: [{ originHost: peer, connect }],
  });
  await n.connectPeer({ originHost: peer, connect });
  return n;
}

async function mar(r: Partial<MarRequest> & { impi: string }) {
  const hss = s.cfg.hss.diameter;
  const msg = await zhProbe.request(APP_ZH, (ids) =>
    encodeMar({ ...zhProbe.origin, sessionId: `${PROBE_BSF};1;${++session}`, destinationRealm: hss.originRealm, ...r }, ids),
  );
  return {
    msg,
    get maa() {
      return parseMaa(msg);
    },
  };
}

async function bir(node: DiameterNode, r: Partial<BirRequest> & { btid: string }) {
  const bsf = s.cfg.bsf.diameter;
  const msg = await node.request(APP_ZN, (ids) =>
    encodeBir(
      {
        ...node.origin,
        sessionId: `${node.origin.originHost};1;${++session}`,
        destinationRealm: bsf.originRealm,
        nafId: { fqdn: NAF_FQDN, uaId: DIGEST_UA },
        ...r,
      },
      ids,
    ),
  );
  return {
    msg,
    get bia() {
      return parseBia(msg);
    },
  };
}

async function bootstrap(extra: Partial<TestSubscriber> = {}): Promise<{ sub: TestSubscriber; b: Bootstrapped; ue: MiniUe }> {
  const sub = testSubscriber(extra);
  await s.provision(sub);
  const ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc, gbaU: sub.uiccType === "GBA_U" });
  return { sub, ue, b: await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn) };
}

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString("hex");

beforeAll(async () => {
  s = await startStack((cfg) => {
    cfg.hss.diameter.peers = [cfg.bsf.diameter.originHost, PROBE_BSF];
    cfg.bsf.zh = "diameter";
    cfg.bsf.nafs = [
      { id: "probe", token: TOKEN, fqdns: [NAF_FQDN], gbaUAware: true, originHost: PROBE_NAF },
      { id: "other", token: "other-naf-token", fqdns: ["other.example.org"], originHost: OTHER_NAF },
    ];
  });
  zhProbe = await probe(PROBE_BSF, s.cfg.hss.diameter.originHost, s.hss.urls.zhDiameter, APP_ZH);
  znProbe = await probe(PROBE_NAF, s.cfg.bsf.diameter.originHost, s.bsf.urls.znDiameter, APP_ZN);
  otherNaf = await probe(OTHER_NAF, s.cfg.bsf.diameter.originHost, s.bsf.urls.znDiameter, APP_ZN);
});
afterAll(async () => {
  for (const n of [zhProbe, znProbe, otherNaf]) await n?.close();
  await s?.close();
});

describe("Zh over Diameter: the HSS serves MAR/MAA", () => {
  it("hands out a vector the USIM accepts (RES = XRES, same CK/IK) and the GUSS as XML", async () => {
    const sub = testSubscriber();
    await s.provision(sub);
    const { msg, maa } = await mar({ impi: sub.impi });
    expect(maa.result).toEqual({ vendorId: 0, code: 2001 });
    expect(maa.impi).toBe(sub.impi);
    const av = maa.av!;
    const usim = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
    const r = usim.authenticate(av.rand, av.autn);
    expect(r.kind).toBe("ok");
    if (r.kind !== "ok") return;
    expect(hex(r.res)).toBe(hex(av.xres));
    expect(hex(r.ck)).toBe(hex(av.ck));
    expect(hex(r.ik)).toBe(hex(av.ik));
    // the GUSS is the one the SBI binding serves
    const sbi = await request(`${s.hss.urls.zh}/nhss-gba-sdm/v1/${encodeURIComponent(sub.impi)}/subscriber-data`);
    // the same as the SBI binding's, but for keyChoice, which the GUSS XML does not carry (README "Diameter")
    const sbiGuss = ((await sbi.body.json()) as { guss: Guss }).guss;
    for (const { uss } of sbiGuss.ussList) delete uss.keyChoice;
    expect(maa.guss).toEqual(sbiGuss);
    const xml = readUtf8(findAvp(msg.avps, AVP.GbaUserSecSettings)!);
    expect(xml).toContain('<guss xmlns="urn:3gpp:gba:GBAGUSSSchema-R9:2010-02">');
  });

  it("leaves out a GUSS the BSF holds already (GUSS-Timestamp after its last change), sends a changed one", async () => {
    const sub = testSubscriber();
    await s.provision(sub);
    expect((await mar({ impi: sub.impi, gussTimestamp: Date.now() + 5000 })).maa.guss).toBeUndefined();
    expect((await mar({ impi: sub.impi, gussTimestamp: Date.now() - 3_600_000 })).maa.guss).toBeDefined();
  });

  it("answers an unknown IMPI with Experimental-Result 10415:5401 (TS 29.109 §6.2.2.1)", async () => {
    const { maa } = await mar({ impi: "nobody@ims.mnc001.mcc001.3gppnetwork.org" });
    expect(maa.result).toEqual({ vendorId: 10415, code: 5401 });
    expect(maa.av).toBeUndefined();
  });

  it("refuses a forged AUTS with DIAMETER_AUTHENTICATION_REJECTED", async () => {
    const sub = testSubscriber();
    await s.provision(sub);
    const { maa } = await mar({ impi: sub.impi, resync: { rand: new Uint8Array(16).fill(7), auts: new Uint8Array(14).fill(9) } });
    expect(maa.result).toEqual({ vendorId: 0, code: 4001 });
  });

  it("refuses a request for another realm (RFC 6733 §6.1: this node relays nothing)", async () => {
    const { msg } = await mar({ impi: "x@example.org", destinationRealm: "elsewhere.example.org" });
    expect(readResult(msg.avps)).toEqual({ vendorId: 0, code: 3003 });
  });
});

describe("Zh over Diameter: the BSF asks the HSS (bsf.zh diameter)", () => {
  it("bootstraps a UE with vectors and GUSS from MAR/MAA", async () => {
    const { b } = await bootstrap({ lifeTime: 600 });
    expect(b.response.status).toBe(200);
    expect(b.challenges).toBe(1);
    // the GUSS came over Diameter: its lifetime is the session's
    expect(Math.abs(b.lifetime.getTime() - Date.UTC(2030, 0, 1, 12, 10, 0)) < 1500).toBe(true);
  });

  it("resynchronises through SIP-Authorization = RAND ‖ AUTS when the USIM is ahead", async () => {
    const sub = testSubscriber();
    await s.provision(sub);
    const ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
    ue.sqnArray = { indBits: 5, seq: new Array(32).fill(100_000) };
    const b = await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn);
    expect(b.response.status).toBe(200);
    expect(b.challenges).toBe(2);
  });

  it("an IMPI the HSS does not know (5401) gets the decoy challenge and then 403", async () => {
    const ue = new MiniUe({ impi: "ghost@ims.mnc001.mcc001.3gppnetwork.org", k: new Uint8Array(16), opc: new Uint8Array(16) });
    const first = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    expect(first.status).toBe(401);
    await expect(ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn)).rejects.toThrow(/403|MAC/);
  });
});

describe("Zn over Diameter: the BSF serves BIR/BIA", () => {
  it("gives the NAF Ks_NAF (TS 33.220 B.3), the IMPI, expiry, creation time and USSs; the same key as SBI Zn", async () => {
    const { sub, b } = await bootstrap();
    const { bia } = await bir(znProbe, { btid: b.btid });
    expect(bia.result).toEqual({ vendorId: 0, code: 2001 });
    expect(hex(bia.meKeyMaterial)).toBe(nafKey("gba-me", b.ks, b.rand, sub.impi, NAF_FQDN, "0100000002"));
    expect(bia.uiccKeyMaterial).toBeUndefined();
    expect(bia.impi).toBe(sub.impi);
    expect(bia.gbaType).toBe("3G_GBA");
    expect(bia.keyExpiryTime).toBe(Math.floor(b.lifetime.getTime() / 1000) * 1000);
    const sbi = await request(`${s.bsf.urls.zn}/nbsp-gba/v1/bootstrapping-info-retrieval`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "0100000002" } }),
    });
    const json = (await sbi.body.json()) as { meKeyMaterial: string; ussList: unknown; bootstrappingInfoCreationTime: string };
    expect(json.meKeyMaterial).toBe(hex(bia.meKeyMaterial));
    expect(bia.ussList).toEqual(json.ussList);
    expect(bia.bootstrapInfoCreationTime).toBe(Date.parse(json.bootstrappingInfoCreationTime));
    // asked again: the answer cache gives the same body
    expect(hex((await bir(znProbe, { btid: b.btid })).bia.meKeyMaterial)).toBe(hex(bia.meKeyMaterial));
  });

  it("gives a GBA_U subscriber's GBA_U-aware NAF Ks_ext_NAF and Ks_int_NAF", async () => {
    const { sub, b } = await bootstrap({ uiccType: "GBA_U" });
    const { bia } = await bir(znProbe, { btid: b.btid, gbaUAware: true });
    expect(hex(bia.meKeyMaterial)).toBe(nafKey("gba-me", b.ks, b.rand, sub.impi, NAF_FQDN, "0100000002"));
    expect(hex(bia.uiccKeyMaterial)).toBe(nafKey("gba-u", b.ks, b.rand, sub.impi, NAF_FQDN, "0100000002"));
  });

  it("answers an unknown B-TID with 10415:5403 and another NAF's key with 10415:5402 (TS 29.109 §6.2.2)", async () => {
    const unknown = await bir(znProbe, { btid: "AAAAAAAAAAAAAAAAAAAAAA==@bsf.mnc001.mcc001.pub.3gppnetwork.org" });
    expect(unknown.bia.result).toEqual({ vendorId: 10415, code: 5403 });
    expect(unknown.bia.meKeyMaterial).toBeUndefined();
    const { b } = await bootstrap();
    // OTHER_NAF is configured for other.example.org only
    const other = await bir(otherNaf, { btid: b.btid });
    expect(other.bia.result).toEqual({ vendorId: 10415, code: 5402 });
    expect(other.bia.meKeyMaterial).toBeUndefined();
  });

  it("answers a malformed B-TID with DIAMETER_INVALID_AVP_VALUE and the Transaction-Identifier as Failed-AVP", async () => {
    const { msg } = await bir(znProbe, { btid: "not a b-tid" });
    expect(readResult(msg.avps)).toEqual({ vendorId: 0, code: 5004 });
    const failed = decodeAvps(findAvp(msg.avps, AVP.FailedAvp)!.data);
    expect(readUtf8(findAvp(failed, AVP.TransactionIdentifier)!)).toBe("not a b-tid");
  });

  it("refuses at the capabilities exchange an Origin-Host no bsf.nafs entry has (DIAMETER_UNKNOWN_PEER)", async () => {
    await expect(probe("stranger.example.org", s.cfg.bsf.diameter.originHost, s.bsf.urls.znDiameter, APP_ZN)).rejects.toThrow(
      /UNKNOWN_PEER|3010/,
    );
  });
});
