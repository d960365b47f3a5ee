// Zn (TS 29.309 Nbsp_GBA shape) end to end: a UE bootstraps over Ub, a NAF asks Zn for its key.
// NAF keys are recomputed with node:crypto (test/helpers/naf-key.ts), independently of gba/keys.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack, type TestSubscriber, testSubscriber } from "./helpers/bsf-stack.js";
import { type Bootstrapped, MiniUe } from "./helpers/mini-ue.js";
import { nafKey } from "./helpers/naf-key.js";
import { ON_REDIS, openRawRedis, testStore } from "./helpers/store-backend.js";

const ZN = "/nbsp-gba/v1/bootstrapping-info-retrieval";
const NAF_TOKEN = "naf-zn-token";
const NAF_FQDN = "naf.example.org";
const ECA_TOKEN = "eca-zn-token";
const DIGEST_UA = "0100000002";

async function zn(s: Stack, body: unknown, token: string | null = NAF_TOKEN, contentType = "application/json") {
  const headers: Record<string, string> = { "content-type": contentType };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const r = await request(`${s.bsf.urls.zn}${ZN}`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, body: text ? JSON.parse(text) : undefined };
}

/**
 * Stores a session through a BSF store of its own in a separate Node process, as another
 * `gba bsf --workers N` process sharing the BSF's LMDB environment does; resolves to the B-TID it
 * superseded. Needs the compiled tree (`npx tsc -p .`).
 */
async function createSessionInAnotherProcess(dataRoot: string, s: Record<string, unknown>): Promise<string | null> {
  const storeJs = resolve("dist/nf/bsf/store-open.js");
  expect(existsSync(storeJs), "run `npx tsc -p .` first").toBe(true);
  const cfg = { data: dataRoot, store: testStore(dataRoot) };
  const code = `
    const { openBsfStore } = await import(${JSON.stringify(storeJs)});
    const s = ${JSON.stringify(s)};
    const store = await openBsfStore(${JSON.stringify(cfg)}, 60000);
    const superseded = await store.createSession({ ...s, ks: Buffer.from(s.ks, "hex"), rand: Buffer.from(s.rand, "hex") });
    await store.close();
    process.stdout.write(JSON.stringify(superseded ?? null));
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (c) => {
    out += c;
  });
  const exit = await new Promise<number | null>((r) => child.on("close", r));
  expect(exit).toBe(0);
  return JSON.parse(out) as string | null;
}

describe("Zn", () => {
  let s: Stack;
  const bootstrap = async (extra: Partial<TestSubscriber> = {}): Promise<{ sub: TestSubscriber; b: Bootstrapped }> => {
    const sub = testSubscriber(extra);
    await s.provision(sub);
    const ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc, gbaU: sub.uiccType === "GBA_U" });
    return { sub, b: await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn) };
  };

  beforeAll(async () => {
    s = await startStack((cfg) => {
      cfg.bsf.nafs = [
        { id: "naf", token: NAF_TOKEN, fqdns: [NAF_FQDN], gbaUAware: true, group: "vehicles" },
        { id: "eca", token: ECA_TOKEN, fqdns: ["eca.vehicleman.example"], gbaUAware: false },
      ];
    });
  });
  afterAll(() => s.close());

  it("gives a NAF Ks_NAF for a GBA_ME subscriber, with expiry, creation time, IMPI, gbaType", async () => {
    const { sub, b } = await bootstrap();
    const r = await zn(s, { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA } });
    expect(r.status).toBe(200);
    expect(r.body.meKeyMaterial).toBe(nafKey("gba-me", b.ks, b.rand, sub.impi, NAF_FQDN, DIGEST_UA));
    expect(r.body.uiccKeyMaterial).toBeUndefined();
    expect(r.body.impi).toBe(sub.impi);
    expect(r.body.gbaType).toBe("3G_GBA");
    expect(r.body.keyExpiryTime).toBe(`${b.lifetime.toISOString().slice(0, 19)}Z`);
    expect(r.body.bootstrappingInfoCreationTime).toBe(`${new Date(s.clock.now).toISOString().slice(0, 19)}Z`);
    // no NAF group, no GSIDs asked: the subscriber's whole USS list, as the HSS holds it
    const guss = await request(`${s.hss.urls.zh}/nhss-gba-sdm/v1/${encodeURIComponent(sub.impi)}/subscriber-data`);
    expect(r.body.ussList).toEqual(((await guss.body.json()) as { guss: { ussList: unknown } }).guss.ussList);
  });

  it("derives per Ua security protocol id (TS 33.220 H.3)", async () => {
    const { sub, b } = await bootstrap();
    const psk = "010001008c";
    const r = await zn(s, { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: psk.toUpperCase() } });
    expect(r.body.meKeyMaterial).toBe(nafKey("gba-me", b.ks, b.rand, sub.impi, NAF_FQDN, psk));
  });

  it("gives a GBA_U subscriber's NAFs Ks_ext_NAF, and Ks_int_NAF only to a GBA_U-aware NAF that asks", async () => {
    const { sub, b } = await bootstrap({ uiccType: "GBA_U" });
    const ext = nafKey("gba-me", b.ks, b.rand, sub.impi, NAF_FQDN, DIGEST_UA);
    const int = nafKey("gba-u", b.ks, b.rand, sub.impi, NAF_FQDN, DIGEST_UA);
    const aware = await zn(s, { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA }, gbaUAware: true });
    expect(aware.body.meKeyMaterial).toBe(ext);
    expect(aware.body.uiccKeyMaterial).toBe(int);
    const notAsking = await zn(s, { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA }, gbaUAware: false });
    expect(notAsking.body.meKeyMaterial).toBe(ext);
    expect(notAsking.body.uiccKeyMaterial).toBeUndefined();
    // a NAF not configured as GBA_U-aware gets the ME key only, even when it claims awareness
    const eca = await zn(
      s,
      { btId: b.btid, nafId: { nafFqdn: "eca.vehicleman.example", uaSecProtId: DIGEST_UA }, gbaUAware: true },
      ECA_TOKEN,
    );
    expect(eca.body.meKeyMaterial).toBe(nafKey("gba-me", b.ks, b.rand, sub.impi, "eca.vehicleman.example", DIGEST_UA));
    expect(eca.body.uiccKeyMaterial).toBeUndefined();
  });

  it("filters the USS list by requested GSIDs and NAF group; the GUSS lifetime wins", async () => {
    const ussList = [
      {
        uss: {
          gsId: 1,
          gsType: 1,
          ueIds: [{ ueId: "sip:alice@example.org" }],
          nafGroup: "vehicles",
          flags: [{ flag: 1 }],
          keyChoice: "ME_BASED_KEY" as const,
        },
      },
      { uss: { gsId: 2, gsType: 1, ueIds: [{ ueId: "sip:alice@example.org" }], nafGroup: "elsewhere" } },
      { uss: { gsId: 4, gsType: 4, ueIds: [{ ueId: "tel:+15550100" }] } },
    ];
    const { b } = await bootstrap({ lifeTime: 120, ussList });
    expect(b.lifetime.getTime()).toBe(Math.floor(s.clock.now / 1000) * 1000 + 120_000);
    const all = await zn(s, { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA } });
    expect(all.body.ussList).toEqual([ussList[0], ussList[2]]);
    const one = await zn(s, { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA }, gsIds: [4] });
    expect(one.body.ussList).toEqual([ussList[2]]);
    const other = await zn(s, { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA }, gsIds: [2] });
    // TS 29.309 BootstrappingInfoResponse: ussList has minItems 1, so no relevant USS = no ussList
    expect(other.status).toBe(200);
    expect(Object.keys(other.body)).not.toContain("ussList");
  });

  it("refuses a NAF asking for another NAF's key with 403 NAF_NOT_AUTHORIZED", async () => {
    const { b } = await bootstrap();
    const r = await zn(s, { btId: b.btid, nafId: { nafFqdn: "eca.vehicleman.example", uaSecProtId: DIGEST_UA } });
    expect(r.status).toBe(403);
    expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(r.body.cause).toBe("NAF_NOT_AUTHORIZED");
    expect(JSON.stringify(r.body)).not.toMatch(/[0-9a-f]{64}/);
  });

  it("refuses requests without or with an unknown bearer token with 401", async () => {
    const { b } = await bootstrap();
    const body = { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA } };
    for (const token of [null, "wrong", `${NAF_TOKEN}x`, NAF_TOKEN.slice(0, -1)]) {
      const r = await zn(s, body, token);
      expect(r.status).toBe(401);
      expect(r.body.cause).toBe("NAF_NOT_AUTHENTICATED");
      expect(r.headers["www-authenticate"]).toMatch(/^Bearer/);
    }
  });

  it("answers an unknown B-TID with 404 BTID_NOT_FOUND", async () => {
    const r = await zn(s, {
      btId: `${Buffer.alloc(16, 3).toString("base64")}@${s.cfg.bsf.fqdn}`,
      nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA },
    });
    expect(r.status).toBe(404);
    expect(r.body.cause).toBe("BTID_NOT_FOUND");
  });

  it("answers an expired B-TID with 404 (injected clock), and the sweep removes it", async () => {
    const { b } = await bootstrap();
    const body = { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA } };
    expect((await zn(s, body)).status).toBe(200);
    const saved = s.clock.now;
    s.clock.now = b.lifetime.getTime() - 1;
    expect((await zn(s, body)).status).toBe(200);
    s.clock.now = b.lifetime.getTime();
    const r = await zn(s, body);
    expect(r.status).toBe(404);
    expect(r.body.cause).toBe("BTID_NOT_FOUND");
    await s.bsf.sweep();
    if (ON_REDIS) {
      // no sweep on Redis: the session's keys expire by themselves at its lifetime (PEXPIREAT)
      const redis = await openRawRedis(s.cfg.data);
      try {
        const impi = await redis.client.get(redis.keys.key(`btid:${b.btid}`, "bsf", "btid"));
        for (const key of [redis.keys.key(`btid:${b.btid}`, "bsf", "btid"), redis.keys.key(impi!, "bsf", "sess")])
          expect(await redis.client.call("PEXPIRETIME", key), key).toBe(b.lifetime.getTime());
      } finally {
        await redis.close();
      }
      return;
    }
    // gone from the store, not merely hidden by the clock
    s.clock.now = saved;
    expect((await zn(s, body)).status).toBe(404);
  });

  it("invalidates the old B-TID when the same IMPI bootstraps again (TS 33.220 §4.5.2)", async () => {
    const sub = testSubscriber();
    await s.provision(sub);
    const ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
    const first = await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn);
    const second = await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn);
    expect(second.btid).not.toBe(first.btid);
    const nafId = { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA };
    expect((await zn(s, { btId: first.btid, nafId })).status).toBe(404);
    const r = await zn(s, { btId: second.btid, nafId });
    expect(r.body.meKeyMaterial).toBe(nafKey("gba-me", second.ks, second.rand, sub.impi, NAF_FQDN, DIGEST_UA));
  });

  it("refuses a B-TID answered before once another BSF process bootstraps the IMPI again", async () => {
    const { sub, b } = await bootstrap();
    const nafId = { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA };
    const first = await zn(s, { btId: b.btid, nafId });
    const again = await zn(s, { btId: b.btid, nafId });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const rand = Buffer.alloc(16, 0x5a);
    const ks = Buffer.alloc(32, 0xa5);
    const next = {
      btid: `${rand.toString("base64")}@${s.cfg.bsf.fqdn}`,
      impi: sub.impi,
      ks: ks.toString("hex"),
      rand: rand.toString("hex"),
      createdAt: s.clock.now,
      expiresAt: b.lifetime.getTime(),
      uiccType: "GBA",
      guss: { bsfInfo: { uiccType: "GBA" }, ussList: [] },
    };
    expect(await createSessionInAnotherProcess(s.cfg.data, next)).toBe(b.btid);
    const gone = await zn(s, { btId: b.btid, nafId });
    expect(gone.status).toBe(404);
    expect(gone.body.cause).toBe("BTID_NOT_FOUND");
    const r = await zn(s, { btId: next.btid, nafId });
    expect(r.status).toBe(200);
    expect(r.body.meKeyMaterial).toBe(nafKey("gba-me", ks, rand, sub.impi, NAF_FQDN, DIGEST_UA));
  });

  it("derives for the NAF FQDN as sent: another spelling is not answered from the first one's cache", async () => {
    const { sub, b } = await bootstrap();
    const upper = NAF_FQDN.toUpperCase();
    await zn(s, { btId: b.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA } });
    const r = await zn(s, { btId: b.btid, nafId: { nafFqdn: upper, uaSecProtId: DIGEST_UA } });
    expect(r.status).toBe(200);
    expect(r.body.meKeyMaterial).toBe(nafKey("gba-me", b.ks, b.rand, sub.impi, upper, DIGEST_UA));
  });

  describe("schema validation names the field", () => {
    const btId = `${Buffer.alloc(16, 1).toString("base64")}@bsf.example`;
    const cases: Array<[string, unknown, RegExp]> = [
      ["missing btId", { nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA } }, /btId/],
      ["missing nafId", { btId }, /nafId/],
      ["missing uaSecProtId", { btId, nafId: { nafFqdn: NAF_FQDN } }, /uaSecProtId/],
      ["uaSecProtId of 9 digits", { btId, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "010000000" } }, /uaSecProtId/],
      ["uaSecProtId not hex", { btId, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "01000000zz" } }, /uaSecProtId/],
      ["organisation 00 with a protocol", { btId, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: "0000000001" } }, /uaSecProtId/],
      ["gbaUAware as a string", { btId, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA }, gbaUAware: "true" }, /gbaUAware/],
      ["gsIds with a negative", { btId, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA }, gsIds: [-1] }, /gsIds/],
      ["btId without @", { btId: "abc", nafId: { nafFqdn: NAF_FQDN, uaSecProtId: DIGEST_UA } }, /btId/],
      ["nafFqdn with a space", { btId, nafId: { nafFqdn: "naf example", uaSecProtId: DIGEST_UA } }, /nafFqdn/],
    ];
    for (const [name, body, field] of cases) {
      it(name, async () => {
        const r = await zn(s, body);
        expect(r.status).toBe(400);
        expect(r.body.detail).toMatch(field);
        expect(r.body.cause).toMatch(/^MANDATORY_IE_/);
      });
    }
    it("not JSON", async () => {
      const r = await zn(s, "{btId:");
      expect(r.status).toBe(400);
    });
    it("wrong content type", async () => {
      const r = await zn(s, "btId=x", NAF_TOKEN, "application/x-www-form-urlencoded");
      expect(r.status).toBe(415);
    });
  });
});
