// Security checks on the wire against the real HSS, BSF and two NAFs (one an authentication
// proxy in front of an echo server, one serving /whoami): nonce and nonce-count replay on Ub
// and Ua, a B-TID's key used at a NAF it was not derived for, one NAF asking Zn for another
// NAF's key, forged AUTS, and identity headers sent by the client through the proxy.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { akav1Password, parseAkaNonce, parseDigestChallenge } from "../gba/digest/index.js";
import { buildAuts } from "../milenage/aka.js";
import { bytesToHex } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { sqnToBytes } from "../milenage/sqn.js";
import { testSubscriber } from "./helpers/bsf-stack.js";
import { challengeOf, ksNafFor, type UaSession, uaAuthorization, uaRequest } from "./helpers/fault-ua.js";
import { MiniUe, ubGet } from "./helpers/mini-ue.js";
import { NAF2_FQDN, type Network, startNetwork } from "./helpers/ue-network.js";
import { jsonRequest } from "./hss-fixtures.js";

const NAF_FQDN = "naf.example.org";
const MSISDN = "491517770001";
const ZN = "/nbsp-gba/v1/bootstrapping-info-retrieval";

let net: Network;
let upstream: Server;
const seenUpstream: IncomingHttpHeaders[] = [];
const sub = testSubscriber();
let ue: MiniUe;
let session: UaSession;

async function bootstrap(u: MiniUe = ue): Promise<UaSession> {
  const b = await u.bootstrap(net.bsf.urls.ub, net.cfg.bsf.fqdn);
  return { btid: b.btid, impi: u.impi, ks: b.ks, rand: b.rand };
}

async function zn(token: string, btid: string, nafFqdn: string) {
  return jsonRequest(
    "POST",
    `${net.bsf.urls.zn}${ZN}`,
    { btId: btid, nafId: { nafFqdn, uaSecProtId: "0100000002" } },
    { authorization: `Bearer ${token}` },
  );
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seenUpstream.push(req.headers);
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  net = await startNetwork({ secondNaf: true, upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
  await net.provision({ impi: sub.impi, k: sub.k, opc: sub.opc });
  const patch = await jsonRequest("PATCH", `${net.hss.urls.admin}/subscribers/${encodeURIComponent(sub.impi)}`, {
    msisdn: MSISDN,
  });
  expect(patch.status).toBe(200);
  ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
  session = await bootstrap();
});

afterAll(async () => {
  await net?.close();
  await new Promise((r) => upstream?.close(r));
});

describe("Ub replay (RFC 3310, RFC 7616 §3.3)", () => {
  it("an answered nonce is refused when replayed, with the same or a higher nonce-count; the first session stays", async () => {
    const realm = net.cfg.bsf.fqdn;
    const fresh = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
    fresh.sqnArray = ue.sqnArray;
    const r1 = await ubGet(net.bsf.urls.ub, fresh.initialAuthorization(realm));
    expect(r1.status).toBe(401);
    const ch = parseDigestChallenge(r1.headers["www-authenticate"])[0];
    const { rand, autn } = parseAkaNonce(ch.nonce);
    const aka = fresh.authenticate(rand, autn);
    if (aka.kind !== "ok") throw new Error(`USIM: ${aka.kind}`);
    ue.sqnArray = fresh.sqnArray;
    const answer = fresh.answerAuthorization(ch, akav1Password(aka.res));
    const ok = await ubGet(net.bsf.urls.ub, answer.header);
    expect(ok.status).toBe(200);
    const btid = /<btid>([^<]+)<\/btid>/.exec(ok.body)?.[1];
    expect(btid).toBeDefined();

    const replay = await ubGet(net.bsf.urls.ub, answer.header);
    expect(replay.status).toBe(403);
    expect(JSON.parse(replay.body).cause).toBe("NONCE_ALREADY_USED");
    const higher = fresh.answerAuthorization(ch, akav1Password(aka.res), { nc: "00000002" });
    const r3 = await ubGet(net.bsf.urls.ub, higher.header);
    expect(r3.status).toBe(403);
    expect(JSON.parse(r3.body).cause).toBe("NONCE_ALREADY_USED");
    expect(r3.body).not.toContain(bytesToHex(aka.res));
    // the session of the first answer is the live one
    expect((await zn("naf-zn-token", btid!, NAF_FQDN)).status).toBe(200);
    session = { btid: btid!, impi: sub.impi, ks: new Uint8Array([...aka.ck, ...aka.ik]), rand };
  });
});

describe("Ua replay (RFC 7616 §3.4, §5.4)", () => {
  it("a nonce-count is accepted once; replays, reused counts and foreign or forged nonces get 401", async () => {
    const url = `${net.naf2!.urls.http}/whoami`;
    const key = ksNafFor(session, NAF2_FQDN);
    const ch = await challengeOf(url);
    const auth = (nc: number, o: { cnonce?: string; nonce?: string } = {}) =>
      uaAuthorization(o.nonce ? { ...ch, nonce: o.nonce } : ch, {
        btid: session.btid,
        key,
        uri: "/whoami",
        nc,
        cnonce: o.cnonce,
      });
    const get = async (authorization: string) => uaRequest(url, { headers: { authorization } });

    const first = auth(1);
    expect((await get(first)).status).toBe(200);
    const replay = await get(first);
    expect(replay.status).toBe(401);
    expect(replay.json.cause).toBe("FST_GBA_NC_REPLAY");
    expect(replay.headers["www-authenticate"]).toMatch(/^Digest /);
    expect((await get(auth(1, { cnonce: "other-cnonce" }))).status).toBe(401);
    expect((await get(auth(2))).status).toBe(200);
    expect((await get(auth(2))).status).toBe(401);
    expect((await get(auth(1))).status).toBe(401);
    expect((await get(auth(3))).status).toBe(200);

    // a nonce this NAF never issued, and one issued by the other NAF
    const forged = Buffer.alloc(36, 0x41).toString("base64");
    const f = await get(auth(1, { nonce: forged }));
    expect(f.status).toBe(401);
    expect(f.json.cause).toBe("FST_GBA_BAD_NONCE");
    const foreign = (await challengeOf(`${net.naf.urls.http}/anything`)).nonce;
    const g = await get(auth(1, { nonce: foreign }));
    expect(g.status).toBe(401);
    expect(g.json.cause).toBe("FST_GBA_BAD_NONCE");
  });
});

describe("keys bound to their NAF (TS 33.220 §4.5.3, §4.4.3)", () => {
  it("the Ks_NAF of one NAF does not open another; the right one does", async () => {
    const url = `${net.naf2!.urls.http}/whoami`;
    const wrong = await uaRequest(url, {
      headers: {
        authorization: uaAuthorization(await challengeOf(url), {
          btid: session.btid,
          key: ksNafFor(session, NAF_FQDN),
          uri: "/whoami",
        }),
      },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json.cause).toBe("FST_GBA_BAD_DIGEST");
    // nor does naming the other NAF's realm
    const realm = await uaRequest(url, {
      headers: {
        authorization: uaAuthorization(await challengeOf(url), {
          btid: session.btid,
          key: ksNafFor(session, NAF_FQDN),
          uri: "/whoami",
          realm: `3GPP-bootstrapping@${NAF_FQDN}`,
        }),
      },
    });
    expect(realm.status).toBe(401);
    expect(realm.json.cause).toBe("FST_GBA_REALM_MISMATCH");
    const right = await uaRequest(url, {
      headers: {
        authorization: uaAuthorization(await challengeOf(url), {
          btid: session.btid,
          key: ksNafFor(session, NAF2_FQDN),
          uri: "/whoami",
        }),
      },
    });
    expect(right.status).toBe(200);
    expect(right.json.impi).toBe(sub.impi);
  });

  it("a NAF asking Zn for another NAF's key gets 403 and no key material", async () => {
    const naf2Token = net.cfg.bsf.nafs.find((n) => n.id === "naf2")!.token;
    for (const [token, fqdn] of [
      ["naf-zn-token", NAF2_FQDN],
      [naf2Token, NAF_FQDN],
      ["eca-zn-token", NAF_FQDN],
      ["naf-zn-token", "eca.vehicleman.example"],
    ]) {
      const r = await zn(token, session.btid, fqdn);
      expect(r.status, `${token} → ${fqdn}`).toBe(403);
      expect(r.body.cause).toBe("NAF_NOT_AUTHORIZED");
      expect(r.text).not.toMatch(/KeyMaterial/);
      expect(r.text).not.toContain(bytesToHex(ksNafFor(session, fqdn)));
    }
    expect((await zn("naf-zn-token-but-wrong", session.btid, NAF_FQDN)).status).toBe(401);
    expect((await zn("naf-zn-token", session.btid, NAF_FQDN)).status).toBe(200);
  });
});

describe("forged AUTS (TS 33.102 §6.3.5)", () => {
  it("is refused with 403, logged as a MAC-S failure, and moves no SQN", async () => {
    const realm = net.cfg.bsf.fqdn;
    const other = testSubscriber();
    const forgeries: Array<[string, (rand: Uint8Array) => Uint8Array]> = [
      ["random octets", () => new Uint8Array(14).map((_, i) => (i * 37 + 11) & 0xff)],
      // a well-formed AUTS for SQN_MS far ahead, but under another subscriber's K
      ["another subscriber's K", (rand) => buildAuts(new Milenage(other.k, other.opc), rand, sqnToBytes(2 ** 40))],
      // the right K, but for another RAND: MAC-S covers RAND
      ["another RAND", () => buildAuts(new Milenage(sub.k, sub.opc), new Uint8Array(16).fill(3), sqnToBytes(2 ** 40))],
    ];
    for (const [what, forge] of forgeries) {
      const r1 = await ubGet(net.bsf.urls.ub, ue.initialAuthorization(realm));
      const ch = parseDigestChallenge(r1.headers["www-authenticate"])[0];
      const { rand } = parseAkaNonce(ch.nonce);
      const header = ue.answerAuthorization(ch, new Uint8Array(0), { auts: forge(rand) }).header;
      const r = await ubGet(net.bsf.urls.ub, header);
      expect(r.status, what).toBe(403);
      expect(JSON.parse(r.body).cause).toBe("AUTHENTICATION_REJECTED");
    }
    const failures = await jsonRequest("GET", `${net.hss.urls.admin}/subscribers/${encodeURIComponent(sub.impi)}/auth-failures`);
    const rejected = (failures.body.failures as Array<{ check: string; outcome: string }>).filter(
      (f) => f.check === "MAC-S" && f.outcome === "rejected",
    );
    expect(rejected.length).toBeGreaterThanOrEqual(forgeries.length);
    // the HSS's SQN did not jump: the card accepts the next challenge without a resynchronisation
    const b = await ue.bootstrap(net.bsf.urls.ub, realm);
    expect(b.challenges).toBe(1);
    session = { btid: b.btid, impi: sub.impi, ks: b.ks, rand: b.rand };
  });
});

describe("identity headers through the authentication proxy (TS 33.222 §6, TS 24.109 §7)", () => {
  const forged = {
    "x-3gpp-asserted-identity": '"sip:mallory@evil.example"',
    "x-gba-impi": "mallory@evil.example",
    "X-Gba-Method": "tls-psk",
  };

  it("an unauthenticated request never reaches the application, whatever it claims", async () => {
    const before = seenUpstream.length;
    const r = await uaRequest(`${net.naf.urls.http}/account`, { headers: forged });
    expect(r.status).toBe(401);
    expect(seenUpstream.length).toBe(before);
  });

  it("the application sees only the identities the proxy asserts", async () => {
    const url = `${net.naf.urls.http}/account`;
    const authorization = uaAuthorization(await challengeOf(url), {
      btid: session.btid,
      key: ksNafFor(session, NAF_FQDN),
      uri: "/account",
    });
    const r = await uaRequest(url, { headers: { ...forged, authorization } });
    expect(r.status).toBe(200);
    const h = seenUpstream.at(-1)!;
    expect(h["x-gba-impi"]).toBe(sub.impi);
    expect(h["x-gba-method"]).toBeUndefined();
    expect(h["x-3gpp-asserted-identity"]).not.toContain("mallory");
    expect(h["x-3gpp-asserted-identity"]).toContain(`tel:+${MSISDN}`);
    expect(h.authorization).toBeUndefined();
  });

  it("an intended identity that is not the subscriber's is refused before the application", async () => {
    const before = seenUpstream.length;
    const url = `${net.naf.urls.http}/account`;
    const authorization = uaAuthorization(await challengeOf(url), {
      btid: session.btid,
      key: ksNafFor(session, NAF_FQDN),
      uri: "/account",
    });
    const r = await uaRequest(url, { headers: { authorization, "x-3gpp-intended-identity": '"sip:mallory@evil.example"' } });
    expect(r.status).toBe(403);
    expect(seenUpstream.length).toBe(before);
  });
});
