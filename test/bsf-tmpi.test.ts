// TMPI at the BSF (TS 33.220 §4.5.2, B.4): the Server product token, a TMPI with each
// bootstrapping of a UE that announces 3gpp-gba-tmpi, a TMPI username resolved to its IMPI, an
// unknown or superseded TMPI refused so the UE retries with its IMPI, and bsf.tmpi false. The
// TMPI is computed here with node:crypto (B.2 KDF written out), not with gba/.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDigestChallenge } from "../gba/digest/index.js";
import { type Stack, startStack, testSubscriber } from "./helpers/bsf-stack.js";
import { MiniUe, ubGet } from "./helpers/mini-ue.js";

/** TS 33.220 B.2 / B.4: base64(first 24 octets of HMAC-SHA-256(Ks, S)) "@tmpi.bsf.3gppnetwork.org". */
function tmpiHere(ks: Uint8Array, rand: Uint8Array, impi: string, bsfFqdn: string): string {
  const param = (p: Buffer) => Buffer.concat([p, Buffer.from([p.length >> 8, p.length & 0xff])]);
  const bsfId = Buffer.concat([Buffer.from(bsfFqdn), Buffer.from([0x01, 0x00, 0x00, 0x01, 0x00])]);
  const s = Buffer.concat([
    Buffer.from([0x01]),
    param(Buffer.from("gba-me")),
    param(Buffer.from(rand)),
    param(Buffer.from(impi)),
    param(bsfId),
  ]);
  const out = createHmac("sha256", ks).update(s).digest();
  return `${out.subarray(0, 24).toString("base64")}@tmpi.bsf.3gppnetwork.org`;
}

const NO_TMPI_AGENT = "mini-ue; Release-6";

describe("TMPI at the BSF (bsf.tmpi true, the default)", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  const newUe = async (o: { userAgent?: string } = {}) => {
    const sub = testSubscriber();
    await s.provision(sub);
    return new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc, userAgent: o.userAgent });
  };
  const bootstrap = (ue: MiniUe) => ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn);

  it("announces 3gpp-gba-tmpi in Server on every Ub answer", async () => {
    const ue = await newUe();
    const first = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    expect(first.headers.server).toBe("gba-emu BSF; Release-6; 3gpp-gba-tmpi");
    const refused = await ubGet(s.bsf.urls.ub, undefined);
    expect(refused.headers.server).toContain("3gpp-gba-tmpi");
  });

  it("resolves the TMPI of the last bootstrapping to its IMPI: challenge for that USIM, answer with the TMPI, 200", async () => {
    const ue = await newUe();
    const first = await bootstrap(ue);
    const tmpi = tmpiHere(first.ks, first.rand, ue.impi, s.cfg.bsf.fqdn);
    ue.username = tmpi;
    const second = await bootstrap(ue);
    expect(second.response.status).toBe(200);
    expect(second.btid).not.toBe(first.btid);
    // a TMPI names one bootstrapping's successor: the one it came from is now superseded
    const again = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    expect(again.status).toBe(403);
    // the new bootstrapping made the next TMPI
    ue.username = tmpiHere(second.ks, second.rand, ue.impi, s.cfg.bsf.fqdn);
    expect((await bootstrap(ue)).response.status).toBe(200);
  });

  it("answers an unknown TMPI with 403 TMPI_UNKNOWN, not an AKA challenge", async () => {
    const ue = await newUe();
    ue.username = `${Buffer.alloc(24, 7).toString("base64")}@tmpi.bsf.3gppnetwork.org`;
    const r = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    expect(r.status).toBe(403);
    expect(r.headers["www-authenticate"]).toBeUndefined();
    expect(JSON.parse(r.body)).toMatchObject({
      status: 403,
      cause: "TMPI_UNKNOWN",
      invalidParams: [{ param: "username", reason: "unknown TMPI" }],
    });
    expect(JSON.parse(r.body).detail).toMatch(/bootstrap again with the IMPI \(TS 33\.220 §4\.5\.2\)/);
  });

  it("makes no TMPI for a UE that does not announce 3gpp-gba-tmpi", async () => {
    const ue = await newUe({ userAgent: NO_TMPI_AGENT });
    const b = await bootstrap(ue);
    ue.username = tmpiHere(b.ks, b.rand, ue.impi, s.cfg.bsf.fqdn);
    const r = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).cause).toBe("TMPI_UNKNOWN");
  });

  it("refuses an answer whose username is the IMPI to a challenge sent to the TMPI", async () => {
    const ue = await newUe();
    const b = await bootstrap(ue);
    ue.username = tmpiHere(b.ks, b.rand, ue.impi, s.cfg.bsf.fqdn);
    const first = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    expect(first.status).toBe(401);
    const ch = parseDigestChallenge(first.headers["www-authenticate"])[0];
    const { parseAkaNonce, akav1Password } = await import("../gba/digest/index.js");
    const { rand, autn } = parseAkaNonce(ch.nonce);
    const aka = ue.authenticate(rand, autn);
    if (aka.kind !== "ok") throw new Error(`USIM: ${aka.kind}`);
    const answer = await ubGet(s.bsf.urls.ub, ue.answerAuthorization(ch, akav1Password(aka.res), { username: ue.impi }).header);
    expect(answer.status).toBe(403);
  });
});

describe("TMPI at the BSF with bsf.tmpi false", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack((cfg) => {
      cfg.bsf.tmpi = false;
    });
  });
  afterAll(() => s.close());

  it("no product token, no TMPI; a TMPI username is an IMPI like any other (a decoy challenge)", async () => {
    const sub = testSubscriber();
    await s.provision(sub);
    const ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
    const b = await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn);
    expect(b.response.headers.server).toBe("gba-emu BSF; Release-6");
    ue.username = tmpiHere(b.ks, b.rand, ue.impi, s.cfg.bsf.fqdn);
    const r = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn));
    expect(r.status).toBe(401);
    await expect(ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn)).rejects.toThrow(/MAC failure/);
  });
});
