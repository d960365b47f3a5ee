// The provisioning API: create / read / update / delete / list with a cursor / bulk import
// (JSON and CSV), the bad-input table (each a 4xx problem and nothing written), K and OPc
// never in a response, and the bearer token.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinSqn } from "../milenage/sqn.js";
import { ConfigError } from "../nf/config.js";
import type { RunningNf } from "../nf/common/nf.js";
import { isLoopbackHost } from "../nf/common/loopback.js";
import { startHss } from "../nf/hss/index.js";
import { expectNextSqn } from "./helpers/store-backend.js";
import { fetchAv, jsonRequest, newSub, startTestHss, type TestSub, TestUsim, tempData, testConfig } from "./hss-fixtures.js";

let hss: RunningNf;
let zh: string;
let admin: string;

beforeAll(async () => {
  ({ hss, zh, admin } = await startTestHss());
});
afterAll(async () => {
  await hss?.close();
});

const subUrl = (impi: string) => `${admin}/subscribers/${encodeURIComponent(impi)}`;
const count = async (): Promise<number> => (await jsonRequest("GET", `${admin}/status`)).body.subscribers;
const CSV_HEADER = "impi,imsi,msisdn,impu,k,op,opc,amf,sqn,uicc_type";
const csvLine = (
  s: TestSub,
  extra: Partial<Record<"imsi" | "msisdn" | "impu" | "op" | "amf" | "sqn" | "uicc_type", string>> = {},
) =>
  [
    s.impi,
    extra.imsi ?? "",
    extra.msisdn ?? "",
    extra.impu ?? "",
    s.k,
    extra.op ?? "",
    extra.op ? "" : s.opc,
    extra.amf ?? "",
    extra.sqn ?? "",
    extra.uicc_type ?? "",
  ].join(",");

function expectNoSecrets(text: string, subs: TestSub[]): void {
  for (const s of subs) {
    expect(text).not.toContain(s.k);
    expect(text).not.toContain(s.opc);
  }
}

describe("create, read, update, delete", () => {
  it("creates (201 + Location), shows, never returns K or OPc", async () => {
    const sub = newSub({ imsi: "001010123456789", msisdn: "+491511234567" });
    const created = await jsonRequest("POST", `${admin}/subscribers`, { ...sub, amf: "9001", sqn: "0000000003e1" });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe(`/subscribers/${encodeURIComponent(sub.impi)}`);
    expect(created.body).toMatchObject({
      impi: sub.impi,
      imsi: "001010123456789",
      msisdn: "491511234567",
      impus: [`sip:${sub.impi}`, "tel:+491511234567"],
      keyInput: "OPc",
      amf: "9001",
      uiccType: "GBA",
      gussSource: "default",
      sqn: { seqHe: 31, indBits: 5 },
    });
    const shown = await jsonRequest("GET", subUrl(sub.impi));
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual(created.body);
    expectNoSecrets(created.text + shown.text, [sub]);
    // AMF and SQN as provisioned reach the vector
    const av = (await fetchAv(zh, sub.impi)).body["3gAkaAv"];
    const usim = new TestUsim(sub);
    expectNextSqn(usim.sqnOf(av), 31, 1);
    const r = usim.authenticate(av);
    expect(r.kind === "success" && Buffer.from(r.amf).toString("hex")).toBe("9001");
  });

  it("updates: new K and OP take effect at once (cached keys dropped); MSISDN change moves index and tel: IMPU", async () => {
    const sub = newSub({ msisdn: "4911111111" });
    expect((await jsonRequest("POST", `${admin}/subscribers`, sub)).status).toBe(201);
    expect(new TestUsim(sub).authenticate((await fetchAv(zh, sub.impi)).body["3gAkaAv"]).kind).toBe("success");
    const next = newSub();
    const patched = await jsonRequest("PATCH", subUrl(sub.impi), { k: next.k, op: next.opc, msisdn: "4922222222" });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.keyInput).toBe("OP");
    expect(patched.body.impus).toEqual([`sip:${sub.impi}`, "tel:+4922222222"]);
    expectNoSecrets(patched.text, [sub, next]);
    const fresh = new TestUsim({ k: next.k, op: next.opc }, 5, joinSqn(1, 1));
    expect(fresh.authenticate((await fetchAv(zh, sub.impi)).body["3gAkaAv"]).kind).toBe("success");
    expect((await fetchAv(zh, "msisdn-4911111111")).status).toBe(404);
    expect((await fetchAv(zh, "msisdn-4922222222")).body.impi).toBe(sub.impi);
    // OPc alone keeps K
    const opcOnly = newSub();
    expect((await jsonRequest("PATCH", subUrl(sub.impi), { opc: opcOnly.opc })).status).toBe(200);
    const third = new TestUsim({ k: next.k, opc: opcOnly.opc }, 5, joinSqn(2, 1));
    expect(third.authenticate((await fetchAv(zh, sub.impi)).body["3gAkaAv"]).kind).toBe("success");
    // null removes
    const cleared = await jsonRequest("PATCH", subUrl(sub.impi), { msisdn: null });
    expect(cleared.body.msisdn).toBeUndefined();
    expect(cleared.body.impus).toEqual([`sip:${sub.impi}`]);
  });

  it("refuses bad updates with 4xx and changes nothing", async () => {
    const a = newSub({ imsi: "001010000000777" });
    const b = newSub();
    for (const s of [a, b]) expect((await jsonRequest("POST", `${admin}/subscribers`, s)).status).toBe(201);
    const before = (await jsonRequest("GET", subUrl(b.impi))).body;
    const table: Array<[unknown, number, RegExp]> = [
      [{ k: newSub().k }, 400, /op, opc: one of them is required with k/],
      [{ imsi: "001010000000777" }, 409, /imsi: 001010000000777 belongs to/],
      [{ impi: "other@x" }, 400, /impi: unknown field/],
      [{}, 400, /fewer than 1 properties/],
      [{ amf: "xyz" }, 400, /amf/],
    ];
    for (const [body, status, detail] of table) {
      const res = await jsonRequest("PATCH", subUrl(b.impi), body);
      expect(res.status, res.text).toBe(status);
      expect(res.body.detail).toMatch(detail);
    }
    expect((await jsonRequest("PATCH", subUrl("nobody@x"), { amf: "0000" })).status).toBe(404);
    expect((await jsonRequest("GET", subUrl(b.impi))).body).toEqual(before);
  });

  it("deletes: 204, then 404 on the API and on Zh; the IMSI is free again", async () => {
    const sub = newSub({ imsi: "001010000000555" });
    expect((await jsonRequest("POST", `${admin}/subscribers`, sub)).status).toBe(201);
    expect((await jsonRequest("DELETE", subUrl(sub.impi))).status).toBe(204);
    expect((await jsonRequest("GET", subUrl(sub.impi))).status).toBe(404);
    expect((await jsonRequest("DELETE", subUrl(sub.impi))).status).toBe(404);
    expect((await fetchAv(zh, sub.impi)).status).toBe(404);
    expect((await fetchAv(zh, "imsi-001010000000555")).status).toBe(404);
    expect((await jsonRequest("POST", `${admin}/subscribers`, newSub({ imsi: "001010000000555" }))).status).toBe(201);
  });
});

describe("list with a cursor", () => {
  it("pages through every subscriber once, in IMPI order", async () => {
    const other = await startTestHss();
    try {
      const impis = Array.from({ length: 25 }, (_, i) => `p${String(i).padStart(2, "0")}@list.example`);
      const body = impis.map((impi) => ({ ...newSub(), impi }));
      expect((await jsonRequest("POST", `${other.admin}/subscribers/import`, body)).status).toBe(200);
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const q: string = after === null ? "" : `&after=${encodeURIComponent(after)}`;
        const page = await jsonRequest("GET", `${other.admin}/subscribers?limit=10${q}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.subscribers.map((s: { impi: string }) => s.impi));
        after = page.body.next;
        pages++;
      } while (after !== null);
      expect(pages).toBe(3);
      expect(seen).toEqual(impis);
      expect((await jsonRequest("GET", `${other.admin}/subscribers?limit=0`)).status).toBe(400);
      expect((await jsonRequest("GET", `${other.admin}/subscribers?limit=abc`)).status).toBe(400);
    } finally {
      await other.hss.close();
    }
  });
});

describe("bad input: a 4xx problem naming the problem, and nothing written", () => {
  it.each([
    ["wrong hex", (s: TestSub) => ({ ...s, k: `${s.k.slice(0, 30)}zz` }), 400, /k: .*not a hex digit/],
    ["missing IMPI", (s: TestSub) => ({ k: s.k, opc: s.opc }), 400, /impi: missing/],
    ["both OP and OPc", (s: TestSub) => ({ ...s, op: s.opc }), 400, /not both/],
    ["neither OP nor OPc", (s: TestSub) => ({ impi: s.impi, k: s.k }), 400, /one of them is required/],
    ["oversized body", (s: TestSub) => ({ ...s, impus: [`sip:${"x".repeat(70_000)}@y`] }), 413, /size limit/],
  ])("JSON: %s", async (_, make, status, detail) => {
    const sub = newSub();
    const before = await count();
    const res = await jsonRequest("POST", `${admin}/subscribers`, make(sub));
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body.detail).toMatch(detail);
    expectNoSecrets(res.text, [sub]);
    expect(await count()).toBe(before);
    expect((await jsonRequest("GET", subUrl(sub.impi))).status).toBe(404);
  });

  it("JSON: duplicate IMPI is 409 and the first subscriber is unchanged", async () => {
    const sub = newSub();
    expect((await jsonRequest("POST", `${admin}/subscribers`, sub)).status).toBe(201);
    const first = (await jsonRequest("GET", subUrl(sub.impi))).body;
    const again = await jsonRequest("POST", `${admin}/subscribers`, { ...newSub(), impi: sub.impi });
    expect(again.status).toBe(409);
    expect(again.body.cause).toBe("SUBSCRIBER_EXISTS");
    expect((await jsonRequest("GET", subUrl(sub.impi))).body).toEqual(first);
    expect(new TestUsim(sub).authenticate((await fetchAv(zh, sub.impi)).body["3gAkaAv"]).kind).toBe("success");
  });

  it("CSV import: every bad line reported with its number, nothing imported", async () => {
    const good = newSub();
    const dup = newSub();
    const existing = newSub();
    expect((await jsonRequest("POST", `${admin}/subscribers`, existing)).status).toBe(201);
    const lines = [
      CSV_HEADER,
      csvLine(good),
      csvLine({ ...newSub(), k: "0g".repeat(16) }),
      [newSub().impi, "", "", "", newSub().k, "22".repeat(16), "33".repeat(16), "", "", ""].join(","),
      csvLine(dup),
      csvLine({ ...newSub(), impi: dup.impi }),
      csvLine(existing),
      csvLine(newSub(), { uicc_type: "SIM" }),
      csvLine({ ...newSub(), impi: "" }),
    ];
    const before = await count();
    const res = await jsonRequest("POST", `${admin}/subscribers/import`, lines.join("\n"), { "content-type": "text/csv" });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/nothing imported/);
    const byLine = Object.fromEntries(res.body.invalidParams.map((p: { param: string; reason: string }) => [p.param, p.reason]));
    expect(Object.keys(byLine)).toEqual(["line 3", "line 4", "line 6", "line 7", "line 8", "line 9"]);
    expect(byLine["line 3"]).toMatch(/^k: /);
    expect(byLine["line 4"]).toMatch(/not both/);
    expect(byLine["line 6"]).toMatch(/repeats line 5/);
    expect(byLine["line 7"]).toMatch(/already provisioned/);
    expect(byLine["line 8"]).toMatch(/uicc_type/);
    expect(byLine["line 9"]).toMatch(/impi: missing/);
    expect(await count()).toBe(before);
    expect((await jsonRequest("GET", subUrl(good.impi))).status).toBe(404);

    const skipping = await jsonRequest("POST", `${admin}/subscribers/import?skipInvalid=true`, lines.join("\n"), {
      "content-type": "text/csv",
    });
    expect(skipping.status).toBe(200);
    expect(skipping.body.imported).toBe(2);
    expect(skipping.body.skipped).toHaveLength(6);
    expect(await count()).toBe(before + 2);
    expect(new TestUsim(good).authenticate((await fetchAv(zh, good.impi)).body["3gAkaAv"]).kind).toBe("success");
  });

  it("JSON import: items labelled by index, all or nothing; a body that is neither list nor CSV is 400", async () => {
    const a = newSub();
    const before = await count();
    const bad = await jsonRequest("POST", `${admin}/subscribers/import`, [
      a,
      { ...newSub(), k: "00" },
      { ...newSub(), impi: a.impi },
    ]);
    expect(bad.status).toBe(400);
    expect(bad.body.invalidParams.map((p: { param: string }) => p.param)).toEqual(["item 1", "item 2"]);
    expect(await count()).toBe(before);
    const ok = await jsonRequest("POST", `${admin}/subscribers/import`, [a, newSub()]);
    expect(ok.body).toEqual({ imported: 2, skipped: [] });
    expect((await jsonRequest("POST", `${admin}/subscribers/import`, { impi: "x" })).status).toBe(400);
  });

  it("unknown routes and IMPIs are problem+json 404s", async () => {
    const res = await jsonRequest("GET", `${admin}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/problem\+json/);
    expect((await jsonRequest("GET", `${subUrl("ghost@x")}/auth-failures`)).body.cause).toBe("USER_NOT_FOUND");
  });
});

describe("access", () => {
  it("with a token configured every request needs it (401 without, with a wrong one)", async () => {
    const token = "a-long-enough-admin-token";
    const guarded = await startTestHss((c) => {
      c.hss.admin.token = token;
    });
    try {
      const url = `${guarded.admin}/status`;
      const none = await jsonRequest("GET", url);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await jsonRequest("GET", url, undefined, { authorization: "Bearer a-long-enough-admin-tokeN" })).status).toBe(401);
      expect((await jsonRequest("GET", url, undefined, { authorization: `Basic ${token}` })).status).toBe(401);
      expect((await jsonRequest("GET", url, undefined, { authorization: `Bearer ${token}` })).status).toBe(200);
      const sub = newSub();
      expect((await jsonRequest("POST", `${guarded.admin}/subscribers`, sub)).status).toBe(401);
      expect((await jsonRequest("GET", `${guarded.admin}/subscribers/${encodeURIComponent(sub.impi)}`)).status).toBe(401);
      // Zh is a different listener and takes no admin token
      expect((await fetchAv(guarded.zh, sub.impi)).status).toBe(404);
    } finally {
      await guarded.hss.close();
    }
  });

  it("refuses to start on a non-loopback admin host without a token, before listening", async () => {
    const cfg = testConfig(tempData(), (c) => {
      c.hss.admin.host = "0.0.0.0";
    });
    await expect(startHss(cfg)).rejects.toThrow(ConfigError);
    await expect(startHss(cfg)).rejects.toThrow(/not a loopback address: set hss\.admin\.token/);
    const short = testConfig(tempData(), (c) => {
      c.hss.admin.token = "short";
    });
    await expect(startHss(short)).rejects.toThrow(/at least 16 characters/);
  });

  it("knows loopback hosts (nf/common/loopback, shared with the dashboard and the ECA)", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"])
      expect(isLoopbackHost(h)).toBe(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.org", "127.0.0.1.example"])
      expect(isLoopbackHost(h)).toBe(false);
  });
});
