// The NAF's Ua Digest procedure (nf/naf/procedures/ua.ts) without HTTP: each refusal is a tagged
// outcome with its cause and challenge, Zn failures are mapped by their typed code (anything
// else stays an exception), and a cached key with in-process nonce-counts answers without a
// promise. Answers are computed by the fixtures' own RFC 7616 client, not by gba/digest.
import { describe, expect, it } from "vitest";
import { makeBtid } from "../gba/btid.js";
import { createNonceIssuer } from "../gba/digest/nonce.js";
import { createDigestServer } from "../gba/digest/server.js";
import { UA_ID } from "../gba/ua-id.js";
import { type UaOutcome, type UaRefusal, UaDigest } from "../nf/naf/procedures/ua.js";
import { NonceCounter } from "../nf/naf/store-memory.js";
import { BsfUnavailable, BtidUnknown, NafNotAuthorized, type ZnAnswer, type ZnClientHandle } from "../nf/naf/zn-client.js";
import { answerChallenge, b64, DEFAULT_USS, NAF_FQDN } from "./naf-fixtures.js";

const NOW = 1_900_000_000_000;
const clock = () => NOW;
const REALM = `3GPP-bootstrapping@${NAF_FQDN}`;
const UICC_REALM = `3GPP-bootstrapping-uicc@${NAF_FQDN}`;
const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const BTID = makeBtid(new Uint8Array(16).fill(1), "bsf.example.org");

function answer(over: Partial<ZnAnswer> = {}): ZnAnswer {
  return {
    btid: BTID,
    nafFqdn: NAF_FQDN,
    uaId: UA_ID.HTTP_DIGEST,
    meKeyMaterial: KEY,
    impi: "001010000000001@ims.mnc001.mcc001.3gppnetwork.org",
    ussList: DEFAULT_USS,
    gbaType: "3G_GBA",
    keyExpiryTime: "2030-03-17T17:46:40Z",
    expiresAt: NOW + 3_600_000,
    ...over,
  };
}

/** A ZnClientHandle whose cache holds `cached` and whose lookup settles as `lookup` says. */
function zn(cached: ZnAnswer | undefined, lookup: () => Promise<ZnAnswer> = () => Promise.reject(new Error("no Zn here"))) {
  const client: ZnClientHandle = {
    cached: (btid) => (cached && btid === cached.btid ? cached : undefined),
    lookup,
    close: async () => {},
  };
  return client;
}

function procedure(client: ZnClientHandle) {
  const nonces = createNonceIssuer({
    secret: new Uint8Array(32).fill(5),
    ttlSeconds: 60,
    fqdn: NAF_FQDN,
    clock,
    randomBytes: (n) => new Uint8Array(n).fill(7),
  });
  const digest = createDigestServer({ realms: [UICC_REALM, REALM], algorithm: "MD5", nonces });
  const ua = new UaDigest({
    fqdn: NAF_FQDN,
    zn: client,
    digest,
    nonces,
    counts: new NonceCounter(60_000, 100, clock),
    realmUicc: UICC_REALM,
  });
  return { ua, nonce: nonces.issue() };
}

function request(
  nonce: string,
  o: { username?: string; realm?: string; nc?: number; qop?: "auth" | "auth-int"; body?: string } = {},
) {
  const a = answerChallenge({
    username: o.username ?? BTID,
    password: b64(KEY),
    realm: o.realm ?? REALM,
    nonce,
    method: "POST",
    uri: "/enrol",
    qop: o.qop ?? "auth",
    nc: o.nc ?? 1,
    body: o.body,
  });
  return { method: "POST", target: "/enrol", authorization: a.header, hasBody: o.body !== undefined };
}

const refusal = (o: UaOutcome): UaRefusal => {
  expect(o.kind).toBe("refused");
  return o as UaRefusal;
};

describe("Ua Digest procedure", () => {
  it("with a cached key and in-process nonce-counts answers without a promise; a replayed nc is refused", () => {
    const { ua, nonce } = procedure(zn(answer()));
    const first = ua.start(request(nonce));
    expect(first).not.toBeInstanceOf(Promise);
    expect(first).toMatchObject({
      kind: "accepted",
      awaitingBody: false,
      identity: { btid: BTID, method: "digest", keyKind: "ks-naf" },
    });
    const again = ua.start(request(nonce));
    expect(again).not.toBeInstanceOf(Promise);
    expect(refusal(again as UaOutcome)).toEqual({
      kind: "refused",
      cause: "FST_GBA_NC_REPLAY",
      detail: "00000001",
      challenge: "fresh",
    });
    expect(ua.start(request(nonce, { nc: 2 }))).toMatchObject({ kind: "accepted" });
  });

  it("maps each Zn failure by its code, and lets anything else through as an exception", async () => {
    const cases: Array<[Error, Partial<UaRefusal>]> = [
      [new BtidUnknown(), { cause: "FST_GBA_BTID_UNKNOWN", challenge: "fresh" }],
      [new NafNotAuthorized(), { cause: "FST_GBA_NAF_NOT_AUTHORIZED", challenge: undefined }],
      [new BsfUnavailable("no answer within 2000 ms"), { cause: "FST_GBA_BSF_UNAVAILABLE", detail: "no answer within 2000 ms" }],
    ];
    for (const [err, want] of cases) {
      const { ua, nonce } = procedure(zn(undefined, () => Promise.reject(err)));
      const o = ua.start(request(nonce));
      expect(o).toBeInstanceOf(Promise);
      expect(refusal(await o)).toMatchObject({ kind: "refused", ...want });
    }
    const bug = new TypeError("a bug in a custom Zn client");
    const { ua, nonce } = procedure(zn(undefined, () => Promise.reject(bug)));
    await expect(ua.start(request(nonce))).rejects.toBe(bug);
  });

  it("refuses a username that is no B-TID before asking Zn, and the UICC realm without Ks_int_NAF", async () => {
    let asked = 0;
    const { ua, nonce } = procedure(
      zn(undefined, () => {
        asked++;
        return Promise.resolve(answer());
      }),
    );
    expect(refusal(ua.start(request(nonce, { username: "not-a-btid" })) as UaOutcome)).toMatchObject({
      cause: "FST_GBA_BAD_BTID",
      challenge: "fresh",
    });
    expect(asked).toBe(0);
    expect(refusal(await ua.start(request(nonce, { realm: UICC_REALM })))).toMatchObject({ cause: "FST_GBA_NO_UICC_KEY" });
    expect(asked).toBe(1);
  });

  it("auth-int with a body waits for it; the response is verified over that body", async () => {
    const { ua, nonce } = procedure(zn(answer()));
    const body = '{"csr":1}';
    const waiting = ua.start(request(nonce, { qop: "auth-int", body }));
    expect(waiting).toMatchObject({ kind: "accepted", awaitingBody: true });
    if (waiting instanceof Promise || waiting.kind !== "accepted") throw new Error("expected a state");
    expect(refusal(await ua.finish({ ...waiting }, "POST", new TextEncoder().encode('{"csr":2}')))).toMatchObject({
      cause: "FST_GBA_BAD_DIGEST",
      challenge: "fresh",
    });
    expect(await ua.finish(waiting, "POST", new TextEncoder().encode(body))).toMatchObject({
      kind: "accepted",
      awaitingBody: false,
    });
  });

  it("refuses Digest over TLS whose suite has no IANA code for NAF_Id", () => {
    const { ua, nonce } = procedure(zn(answer()));
    const o = ua.start({ ...request(nonce), tls: { cipher: { name: "NO-SUCH", standardName: "TLS_NO_SUCH" } } });
    expect(refusal(o as UaOutcome)).toEqual({
      kind: "refused",
      cause: "FST_GBA_UNSUPPORTED_DIGEST",
      detail: "TLS cipher suite TLS_NO_SUCH has no known IANA code for NAF_Id",
      challenge: undefined,
    });
  });

  it("names the Digest refusals with their causes and challenges", () => {
    const { ua, nonce } = procedure(zn(answer()));
    expect(ua.start({ method: "GET", target: "/", authorization: undefined, hasBody: false })).toEqual({
      kind: "refused",
      cause: "FST_GBA_NO_CREDENTIALS",
      detail: undefined,
      challenge: "fresh",
    });
    expect(refusal(ua.start(request(nonce, { realm: "3GPP-bootstrapping@other" })) as UaOutcome)).toMatchObject({
      cause: "FST_GBA_REALM_MISMATCH",
      detail: "3GPP-bootstrapping@other",
      challenge: "fresh",
    });
    expect(refusal(ua.start({ ...request(nonce), target: "/other" }) as UaOutcome)).toMatchObject({
      cause: "FST_GBA_URI_MISMATCH",
    });
    expect(refusal(ua.start(request(`${nonce.slice(0, -2)}AA`)) as UaOutcome)).toMatchObject({
      cause: "FST_GBA_BAD_NONCE",
      challenge: "fresh",
    });
  });
});
