// Zh against a real HSS on ephemeral ports: vectors checked by the USIM side of milenage/
// (checkAutn), SQN = SEQ ‖ IND with the Zh IND, resynchronisation from a USIM that is ahead,
// a forged AUTS refused, the GUSS as Nhss_gbaSDM, ueId forms, malformed bodies, and 200
// concurrent requests for one subscriber.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAuts } from "../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { joinSqn, splitSqn, sqnToBytes } from "../milenage/sqn.js";
import type { RunningNf } from "../nf/common/nf.js";
import { expectNextSqn } from "./helpers/store-backend.js";
import { avUrl, fetchAv, gussUrl, jsonRequest, newSub, runCli, startTestHss, TestUsim, type ZhAv } from "./hss-fixtures.js";

let hss: RunningNf;
let zh: string;
let admin: string;
let data: string;
const ZH_IND = 3;

beforeAll(async () => {
  ({ hss, zh, admin, data } = await startTestHss((c) => {
    c.hss.zhInd = ZH_IND;
  }));
});
afterAll(async () => {
  await hss?.close();
});

async function provision(sub: object): Promise<void> {
  const res = await jsonRequest("POST", `${admin}/subscribers`, sub);
  expect(res.status, res.text).toBe(201);
}

describe("generate-auth-data", () => {
  it("hands out vectors the USIM accepts: RES = XRES, same CK/IK, SQN = (SEQ_HE+1) ‖ zhInd", async () => {
    const sub = newSub();
    await provision(sub);
    const usim = new TestUsim(sub);
    let prev = 0;
    for (let i = 1; i <= 5; i++) {
      const res = await fetchAv(zh, sub.impi);
      expect(res.status).toBe(200);
      expect(res.body.impi).toBe(sub.impi);
      const av = res.body["3gAkaAv"] as ZhAv;
      for (const f of ["rand", "autn", "ck", "ik"] as const) expect(av[f]).toMatch(/^[0-9a-f]{32}$/);
      expect(av.xres).toMatch(/^[0-9a-f]{16}$/);
      const r = usim.authenticate(av);
      expect(r.kind).toBe("success");
      if (r.kind !== "success") return;
      expect(bytesToHex(r.res)).toBe(av.xres);
      expect(bytesToHex(r.ck)).toBe(av.ck);
      expect(bytesToHex(r.ik)).toBe(av.ik);
      // hss.defaultAmf: the separation bit clear, as for any non-E-UTRAN vector (TS 33.401 §6.1.2)
      expect(bytesToHex(r.amf)).toBe("0000");
      expectNextSqn(usim.sqnOf(av), prev, ZH_IND);
      prev = splitSqn(usim.sqnOf(av)).seq;
    }
  });

  it("works with OP provisioned (converted to OPc) and with IMSI / MSISDN ueIds", async () => {
    const base = newSub({ imsi: "001019876543210", msisdn: "491701234567" });
    const sub = { ...base, op: base.opc, opc: undefined };
    await provision(sub);
    const usim = new TestUsim(sub);
    for (const ueId of [sub.impi, "imsi-001019876543210", "msisdn-491701234567"]) {
      const res = await fetchAv(zh, ueId);
      expect(res.status).toBe(200);
      expect(res.body.impi).toBe(sub.impi);
      expect(usim.authenticate(res.body["3gAkaAv"]).kind).toBe("success");
    }
  });

  it("resolves an IMPU as ueId (TS 29.562 UeId: IMPI, IMPU, IMSI or MSISDN) on both operations", async () => {
    const sub = newSub({ msisdn: "491709876543", impus: ["sip:alice@ims.example.org"] });
    await provision(sub);
    for (const ueId of ["sip:alice@ims.example.org", "tel:+491709876543"]) {
      const av = await fetchAv(zh, ueId);
      expect(av.status, ueId).toBe(200);
      expect(av.body.impi).toBe(sub.impi);
      expect((await jsonRequest("GET", gussUrl(zh, ueId))).status, ueId).toBe(200);
    }
    // an IMPU two subscribers share names neither of them
    const a = newSub({ impus: ["sip:shared@ims.example.org"] });
    const b = newSub({ impus: ["sip:shared@ims.example.org", "sip:bob@ims.example.org"] });
    await provision(a);
    await provision(b);
    expect((await fetchAv(zh, "sip:shared@ims.example.org")).body.cause).toBe("USER_NOT_FOUND");
    expect((await fetchAv(zh, "sip:bob@ims.example.org")).body.impi).toBe(b.impi);
    // a changed IMPU list moves the index with it
    const patched = await jsonRequest("PATCH", `${admin}/subscribers/${encodeURIComponent(b.impi)}`, {
      impus: ["sip:carol@ims.example.org"],
    });
    expect(patched.status).toBe(200);
    expect((await fetchAv(zh, "sip:bob@ims.example.org")).status).toBe(404);
    expect((await fetchAv(zh, "sip:shared@ims.example.org")).body.impi).toBe(a.impi);
    expect((await fetchAv(zh, "sip:carol@ims.example.org")).body.impi).toBe(b.impi);
  });

  it("uses operator r/c constants when provisioned (TS 35.206 §4.1)", async () => {
    const sub = newSub();
    const c = Array.from({ length: 5 }, () => newSub().k);
    const r = [8, 16, 24, 40, 120];
    await provision({ ...sub, milenage: { r, c } });
    const constants = { r: r as [number, number, number, number, number], c: c.map((x) => hexToBytes(x)) as never };
    const av = (await fetchAv(zh, sub.impi)).body["3gAkaAv"];
    expect(new TestUsim(sub).authenticate(av).kind).toBe("mac-failure");
    expect(new TestUsim(sub, 5, 0, { constants }).authenticate(av).kind).toBe("success");
  });

  it("uses the injectable RAND source", async () => {
    const pinned = Uint8Array.from({ length: 16 }, (_, i) => i * 3);
    const other = await startTestHss(undefined, { randomBytes: (n) => pinned.slice(0, n) });
    try {
      const sub = newSub();
      const r = await jsonRequest("POST", `${other.admin}/subscribers`, sub);
      expect(r.status).toBe(201);
      const res = await fetchAv(other.zh, sub.impi);
      expect(res.body["3gAkaAv"].rand).toBe(bytesToHex(pinned));
      // the AV matches MILENAGE run independently on the card side with that RAND
      const m = new Milenage(hexToBytes(sub.k), hexToBytes(sub.opc));
      expect(res.body["3gAkaAv"].xres).toBe(bytesToHex(m.f2345(pinned).res));
    } finally {
      await other.hss.close();
    }
  });

  it("unknown ueId: 404 USER_NOT_FOUND as problem+json, on both operations", async () => {
    for (const [method, url] of [
      ["POST", avUrl(zh, "nobody@ims.example")],
      ["GET", gussUrl(zh, "nobody@ims.example")],
      ["POST", avUrl(zh, "imsi-00101000000000")],
      ["GET", gussUrl(zh, "msisdn-4900000")],
    ] as const) {
      const res = await jsonRequest(method, url, method === "POST" ? {} : undefined);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.body.cause).toBe("USER_NOT_FOUND");
    }
  });

  it("200 concurrent requests for one subscriber yield 200 distinct SQNs, all fresh to the USIM in SQN order", async () => {
    const sub = newSub();
    await provision(sub);
    const usim = new TestUsim(sub);
    const answers = await Promise.all(Array.from({ length: 200 }, () => fetchAv(zh, sub.impi)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const avs = answers.map((a) => a.body["3gAkaAv"] as ZhAv);
    const sqns = avs.map((av) => usim.sqnOf(av));
    expect(new Set(sqns).size).toBe(200);
    expect(sqns.map((s) => splitSqn(s).ind).every((ind) => ind === ZH_IND)).toBe(true);
    // LMDB: exactly SEQ 1..200 (the counter); Redis: 200 SEQs from the clock, each above the last
    const sorted = [...sqns].sort((a, b) => a - b);
    for (const [i, sqn] of sorted.entries()) expectNextSqn(sqn, i === 0 ? 0 : splitSqn(sorted[i - 1]).seq, ZH_IND);
    const inOrder = avs.map((av, i) => ({ av, sqn: sqns[i] })).sort((a, b) => a.sqn - b.sqn);
    for (const { av } of inOrder) expect(usim.authenticate(av).kind).toBe("success");
  });
});

describe("resynchronisation (TS 33.102 §6.3.5)", () => {
  it("a USIM ahead sends AUTS; the HSS adopts SQN_MS and the next vector is accepted", async () => {
    const sub = newSub();
    await provision(sub);
    // the card has accepted SEQ 10,000,000 at the Zh IND already (Annex C.2.2 checks per IND):
    // ahead of LMDB's counter and of the clock-anchored SEQ on Redis (ms since provisioning)
    const usim = new TestUsim(sub, 5, joinSqn(10_000_000, ZH_IND));
    const first = (await fetchAv(zh, sub.impi)).body["3gAkaAv"] as ZhAv;
    const failed = usim.authenticate(first);
    expect(failed.kind).toBe("sync-failure");
    if (failed.kind !== "sync-failure") return;
    const res = await fetchAv(zh, sub.impi, {
      authenticationScheme: "DIGEST_AKAV1_MD5",
      resynchronizationInfo: { rand: first.rand.toUpperCase(), auts: bytesToHex(failed.auts) },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const av = res.body["3gAkaAv"] as ZhAv;
    expect(usim.sqnOf(av)).toBe(joinSqn(10_000_001, ZH_IND));
    expect(usim.authenticate(av).kind).toBe("success");
    const diag = await jsonRequest("GET", `${admin}/subscribers/${encodeURIComponent(sub.impi)}/auth-failures`);
    expect(diag.body.failures).toHaveLength(1);
    expect(diag.body.failures[0]).toMatchObject({
      check: "MAC-S",
      outcome: "sqn-ms-adopted",
      sqnMs: bytesToHex(sqnToBytes(joinSqn(10_000_000, ZH_IND))),
      // SQN_HE before: the SQN of the vector the card refused
      sqnHe: bytesToHex(sqnToBytes(usim.sqnOf(first))),
      nextSqn: bytesToHex(sqnToBytes(joinSqn(10_000_001, ZH_IND))),
      rand: first.rand,
    });
    expect(JSON.stringify(diag.body)).not.toContain(sub.k);
  });

  it("an AUTS from a card behind the HSS keeps SEQ_HE", async () => {
    const sub = newSub();
    await provision(sub);
    const usim = new TestUsim(sub);
    let last = 0;
    for (let i = 0; i < 3; i++) last = usim.sqnOf((await fetchAv(zh, sub.impi)).body["3gAkaAv"]);
    const rand = hexToBytes("00112233445566778899aabbccddeeff");
    const auts = buildAuts(usim.m, rand, sqnToBytes(joinSqn(1, 0)));
    const res = await fetchAv(zh, sub.impi, { resynchronizationInfo: { rand: bytesToHex(rand), auts: bytesToHex(auts) } });
    expect(res.status).toBe(200);
    expectNextSqn(usim.sqnOf(res.body["3gAkaAv"]), splitSqn(last).seq, ZH_IND);
    const diag = await jsonRequest("GET", `${admin}/subscribers/${encodeURIComponent(sub.impi)}/auth-failures`);
    expect(diag.body.failures[0].outcome).toBe("sqn-he-kept");
  });

  it("a forged AUTS (other key) is 403 AUTHENTICATION_REJECTED naming MAC-S; SEQ_HE does not move", async () => {
    const sub = newSub();
    await provision(sub);
    const usim = new TestUsim(sub);
    const first = usim.sqnOf((await fetchAv(zh, sub.impi)).body["3gAkaAv"]);
    const forger = new Milenage(hexToBytes(newSub().k), hexToBytes(sub.opc));
    const rand = hexToBytes("ffeeddccbbaa99887766554433221100");
    const forged = buildAuts(forger, rand, sqnToBytes(joinSqn(5000, 0)));
    const res = await fetchAv(zh, sub.impi, { resynchronizationInfo: { rand: bytesToHex(rand), auts: bytesToHex(forged) } });
    expect(res.status).toBe(403);
    expect(res.body.cause).toBe("AUTHENTICATION_REJECTED");
    expect(res.body.detail).toMatch(/MAC-S/);
    const next = await fetchAv(zh, sub.impi);
    expectNextSqn(usim.sqnOf(next.body["3gAkaAv"]), splitSqn(first).seq, ZH_IND);
    const diag = await jsonRequest("GET", `${admin}/subscribers/${encodeURIComponent(sub.impi)}/auth-failures`);
    expect(diag.body.failures).toHaveLength(1);
    expect(diag.body.failures[0]).toMatchObject({ check: "MAC-S", outcome: "rejected", sqnHe: bytesToHex(sqnToBytes(first)) });
  });

  it("keeps the last 20 failures", async () => {
    const sub = newSub();
    await provision(sub);
    for (let i = 0; i < 23; i++) {
      const res = await fetchAv(zh, sub.impi, {
        resynchronizationInfo: { rand: "00".repeat(16), auts: i.toString(16).padStart(28, "0") },
      });
      expect(res.status).toBe(403);
    }
    const diag = await jsonRequest("GET", `${admin}/subscribers/${encodeURIComponent(sub.impi)}/auth-failures`);
    expect(diag.body.failures).toHaveLength(20);
  });
});

describe("subscriber-data (Nhss_gbaSDM)", () => {
  it("returns the default GUSS with the IMPUs and tel:+MSISDN as ueIds, no empty flags", async () => {
    const sub = newSub({ msisdn: "4930123456" });
    await provision({ ...sub, impus: ["sip:alice@ims.example"], uiccType: "GBA_U", lifeTime: 7200 });
    const res = await jsonRequest("GET", gussUrl(zh, sub.impi));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      guss: {
        bsfInfo: { uiccType: "GBA_U", lifeTime: 7200 },
        ussList: [
          {
            uss: {
              gsId: 1,
              gsType: 1,
              ueIds: [{ ueId: "sip:alice@ims.example" }, { ueId: "tel:+4930123456" }],
              keyChoice: "ME_UICC_BASED_KEYS",
            },
          },
        ],
      },
    });
  });

  it("returns a provisioned GUSS as given", async () => {
    const sub = newSub();
    const guss = {
      bsfInfo: { uiccType: "GBA", lifeTime: 600 },
      ussList: [
        {
          uss: {
            gsId: 7,
            gsType: 1,
            ueIds: [{ ueId: "sip:x@y" }],
            nafGroup: "vehicles",
            flags: [{ flag: 1 }],
            keyChoice: "ME_BASED_KEY",
          },
        },
      ],
    };
    await provision({ ...sub, guss });
    const res = await jsonRequest("GET", gussUrl(zh, sub.impi));
    expect(res.body).toEqual({ guss });
  });
});

describe("GUSS timestamp option (TS 33.220 §4.5.2 step 2): the GUSS with the vector, only when changed", () => {
  interface Check {
    version: string;
    guss?: unknown;
  }
  const check = async (impi: string, version?: string): Promise<Check> => {
    const res = await fetchAv(zh, impi, { gussCheck: version === undefined ? {} : { version } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.gussCheck as Check;
  };

  it("a BSF holding no GUSS gets it with the vector, as subscriber-data gives it; its version gets none", async () => {
    const sub = newSub({ msisdn: "4930999888" });
    await provision(sub);
    const first = await check(sub.impi);
    expect(first.version).toMatch(/^\S+$/);
    expect({ guss: first.guss }).toEqual((await jsonRequest("GET", gussUrl(zh, sub.impi))).body);
    expect(await check(sub.impi, first.version)).toEqual({ version: first.version });
    // a version that is not the current one gets the GUSS again
    expect((await check(sub.impi, `${first.version}x`)).guss).toEqual(first.guss);
    // a request without the option gets an answer without it
    expect((await fetchAv(zh, sub.impi)).body.gussCheck).toBeUndefined();
  });

  it("answers it after a resynchronisation too", async () => {
    const sub = newSub();
    await provision(sub);
    const usim = new TestUsim(sub);
    const rand = hexToBytes("00112233445566778899aabbccddeeff");
    const auts = buildAuts(usim.m, rand, sqnToBytes(joinSqn(1, 0)));
    const res = await fetchAv(zh, sub.impi, {
      resynchronizationInfo: { rand: bytesToHex(rand), auts: bytesToHex(auts) },
      gussCheck: {},
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.gussCheck).toMatchObject({ version: expect.any(String), guss: { bsfInfo: { uiccType: "GBA" } } });
  });

  it("a change through the provisioning API gives a new version and the new GUSS", async () => {
    const sub = newSub();
    await provision(sub);
    const before = await check(sub.impi);
    const res = await jsonRequest("PATCH", `${admin}/subscribers/${encodeURIComponent(sub.impi)}`, { lifeTime: 900 });
    expect(res.status, res.text).toBe(200);
    const after = await check(sub.impi, before.version);
    expect(after.version).not.toBe(before.version);
    expect(after.guss).toMatchObject({ bsfInfo: { lifeTime: 900 } });
  });

  it("a change by gba provision in another process reaches the next vector request", async () => {
    const sub = newSub();
    await provision(sub);
    const before = await check(sub.impi);
    for (const args of [
      ["provision", "remove", sub.impi, "--data", data],
      ["provision", "add", "--data", data, "--impi", sub.impi, "--k", sub.k, "--opc", sub.opc, "--uicc-type", "GBA_U"],
    ]) {
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(0);
    }
    const after = await check(sub.impi, before.version);
    expect(after.version).not.toBe(before.version);
    expect(after.guss).toMatchObject({ bsfInfo: { uiccType: "GBA_U" } });
  });
});

describe("malformed requests: 400 naming the field, nothing issued", () => {
  const table: Array<[string, unknown, RegExp]> = [
    ["rand too short", { resynchronizationInfo: { rand: "00", auts: "00".repeat(14) } }, /rand/],
    ["auts not hex", { resynchronizationInfo: { rand: "00".repeat(16), auts: "zz".repeat(14) } }, /auts/],
    ["auts missing", { resynchronizationInfo: { rand: "00".repeat(16) } }, /auts/],
    ["rand as a number", { resynchronizationInfo: { rand: 1234, auts: "00".repeat(14) } }, /rand/],
    ["empty scheme", { authenticationScheme: "" }, /authenticationScheme/],
    ["gussCheck version empty", { gussCheck: { version: "" } }, /version/],
    ["gussCheck unknown field", { gussCheck: { timestamp: 1 } }, /gussCheck/],
    ["body is a list", [], /body/],
    ["not JSON", "{nope", /JSON/],
  ];
  it.each(table)("%s", async (_, body, field) => {
    const sub = newSub();
    await provision(sub);
    const res = await fetchAv(zh, sub.impi, body);
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(field);
    const usim = new TestUsim(sub);
    const next = await fetchAv(zh, sub.impi);
    expectNextSqn(usim.sqnOf(next.body["3gAkaAv"]), 0, ZH_IND);
  });

  it("an empty body is 400, a missing content type 415, GBA_Digest 501 and so is a scheme it does not know", async () => {
    const sub = newSub();
    await provision(sub);
    const empty = await fetch(avUrl(zh, sub.impi), { method: "POST", headers: { "content-type": "application/json" } });
    expect(empty.status).toBe(400);
    const text = await fetch(avUrl(zh, sub.impi), {
      method: "POST",
      headers: { "content-type": "application/xml" },
      body: "<x/>",
    });
    expect(text.status).toBe(415);
    const digest = await fetchAv(zh, sub.impi, { authenticationScheme: "DIGEST_HTTP" });
    expect(digest.status).toBe(501);
    expect(digest.body.cause).toBe("UNSUPPORTED_AUTHENTICATION_SCHEME");
    // TS 29.562 AuthenticationScheme is an extensible enumeration (anyOf enum / string): a value
    // this HSS does not know is a valid request it cannot honour, not a malformed one
    const other = await fetchAv(zh, sub.impi, { authenticationScheme: "AKAv9" });
    expect(other.status).toBe(501);
    expect(other.body).toMatchObject({ cause: "UNSUPPORTED_AUTHENTICATION_SCHEME", detail: expect.stringContaining('"AKAv9"') });
  });
});
