// What the NFs report to the dashboard's event bus (issue 21), from their route layers: every NF
// of `gba up` in this process with one bus, real UEs (the project's UE over a simulated USIM)
// bootstrapping, resynchronising, reaching the NAF over Digest and over TLS-PSK and enrolling at
// the ECA, and refusals on every interface. Each event names its NF, exchange, outcome, HTTP
// status, cause and the time the NF spent; the Zh exchanges lie within the Ub exchange that
// asked for them, the Zn lookup within the Ua request (or TLS-PSK handshake) that needed it.
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_FIELDS, type EventBus, type GbaEvent } from "../nf/common/events.js";
import type { GbaConfig } from "../nf/config.js";
import { OpensslDir } from "./eca-helpers.js";
import { openTestUe, provision, subscriber, type TestUe } from "./helpers/dashboard-ues.js";
import { type NfsWithBus, startNfsWithBus } from "./helpers/events-bus.js";
import { runCli } from "./hss-fixtures.js";

let t: NfsWithBus;
let cfg: GbaConfig;
let bus: EventBus;
const url = (nf: string, listener: string) => t.url(nf, listener);
const since = (seq: number) => t.since(seq);

beforeAll(async () => {
  t = await startNfsWithBus("gba-events-nfs-");
  ({ cfg, bus } = t);
}, 30_000);

afterAll(() => t.stop());

async function ueOf(n: number, o: { sqn?: number } = {}): Promise<{ ue: TestUe; impi: string }> {
  const s = subscriber(n);
  await provision(url("hss", "admin"), s);
  const ue = await openTestUe(s, url("bsf", "ub"), o);
  t.ues.push(ue);
  return { ue, impi: s.impi };
}

/** [start, end] of an event on the bus clock: it ended at `time` after latencyMs. */
const span = (e: GbaEvent) => [e.time - (e.latencyMs ?? 0) - 1, e.time + 1] as const;
const within = (inner: GbaEvent, outer: GbaEvent) => {
  const [a, b] = span(outer);
  return inner.time >= a && inner.time <= b;
};

describe("the NFs report every exchange to the event bus", () => {
  it("a bootstrap: one Zh exchange (the vector, with the GUSS) within the Ub 401, then the Ub 200 with the B-TID", async () => {
    const { ue, impi } = await ueOf(1);
    const seq = bus.lastSeq;
    const { btid } = await ue.middleware.bootstrap();
    const events = since(seq);
    // TS 33.220 §4.5.2 step 2: the GUSS comes with the vector when the BSF's copy is not current
    expect(events).toEqual([
      { nf: "hss", kind: "zh-av", outcome: "ok", status: 200, impi },
      { nf: "bsf", kind: "ub", outcome: "challenge", status: 401, impi },
      { nf: "bsf", kind: "ub", outcome: "ok", status: 200, impi, btid },
    ]);
    const all = bus.query({ afterSeq: seq });
    expect(within(all[0], all[1]), "the Zh exchange happens while the Ub 401 is made").toBe(true);
    for (const e of all) for (const field of Object.keys(e)) expect(EVENT_FIELDS as readonly string[]).toContain(field);
  });

  it("a USIM ahead of the HSS: the AUTS reaches the HSS as a resynchronisation", async () => {
    // the HSS hands out IND 1 (hss.zhInd); an SQN_MS at IND 1 far ahead makes its vector stale
    const { ue, impi } = await ueOf(2, { sqn: 4000 * 32 + 1 });
    const seq = bus.lastSeq;
    await ue.middleware.bootstrap();
    const av = since(seq).filter((e) => e.kind === "zh-av");
    expect(av).toEqual([
      { nf: "hss", kind: "zh-av", outcome: "ok", status: 200, impi },
      { nf: "hss", kind: "zh-av", outcome: "ok", status: 200, impi, resync: true },
    ]);
  });

  it("Ua over Digest: the 401 challenge, then the request with the Zn lookup within it", async () => {
    const { ue, impi } = await ueOf(3);
    const { btid } = await ue.middleware.bootstrap();
    const seq = bus.lastSeq;
    const res = await ue.client.gbaFetch(`${url("naf", "http")}/whoami`, { nafFqdn: cfg.naf.fqdn });
    expect(res.status).toBe(200);
    await res.text();
    const nafFqdn = cfg.naf.fqdn;
    expect(since(seq)).toEqual([
      { nf: "naf", kind: "ua", outcome: "challenge", status: 401, cause: "FST_GBA_NO_CREDENTIALS", nafFqdn, auth: "digest" },
      { nf: "bsf", kind: "zn", outcome: "ok", status: 200, btid, nafFqdn, peer: "naf" },
      { nf: "naf", kind: "ua", outcome: "ok", status: 200, impi, btid, nafFqdn, auth: "digest" },
    ]);
    const [, zn, ua] = bus.query({ afterSeq: seq });
    expect(within(zn, ua), "the Zn lookup happens while the Ua request is answered").toBe(true);
  });

  it("Ua over TLS-PSK: the handshake with its Zn lookup, then the request over the tunnel", async () => {
    const { ue, impi } = await ueOf(4);
    const { btid } = await ue.middleware.bootstrap();
    const nafFqdn = cfg.naf.fqdn;
    for (const tls13 of [false, true]) {
      const seq = bus.lastSeq;
      const res = await ue.overTlsPsk(url("naf", "tlsPsk"), nafFqdn, "/whoami", tls13);
      expect(res.status).toBe(200);
      expect(since(seq), tls13 ? "TLS 1.3" : "TLS 1.2").toEqual([
        { nf: "bsf", kind: "zn", outcome: "ok", status: 200, btid, nafFqdn, peer: "naf" },
        { nf: "naf", kind: "ua-psk", outcome: "ok", impi, btid, nafFqdn, auth: "tls-psk" },
        { nf: "naf", kind: "ua", outcome: "ok", status: 200, impi, btid, nafFqdn, auth: "tls-psk" },
      ]);
      const [zn, handshake] = bus.query({ afterSeq: seq });
      expect(within(zn, handshake), "the Zn lookup happens during the handshake").toBe(true);
    }
  });

  it("an enrolment at the ECA: Ua with its Zn lookup, then the certificate; a refused one with its cause", async () => {
    const n = 5;
    const { ue, impi } = await ueOf(n);
    const bound = await runCli([
      ...["provision", "vehicle", "add", "--data", cfg.data],
      ...["--vehicle", "VIN-EV-1", "--obu", "OBU-EV-1", "--msisdn", subscriber(n).msisdn],
    ]);
    expect(bound.code, bound.stderr).toBe(0);
    const { btid } = await ue.middleware.bootstrap();
    const ossl = new OpensslDir();
    const key = ossl.ecKey("obu.key");
    const enrol = async (subject: string) => {
      const res = await ue.client.gbaFetch(`${url("eca", "url")}/enrol`, {
        nafFqdn: cfg.eca.fqdn,
        method: "POST",
        headers: { "content-type": "application/pkcs10" },
        body: new Uint8Array(ossl.csr(key, subject, "DER")),
      });
      await res.arrayBuffer();
      return res.status;
    };
    let seq = bus.lastSeq;
    expect(await enrol("/CN=OBU-EV-1/serialNumber=VIN-EV-1")).toBe(200);
    const nafFqdn = cfg.eca.fqdn;
    expect(since(seq)).toEqual([
      { nf: "eca", kind: "ua", outcome: "challenge", status: 401, cause: "FST_GBA_NO_CREDENTIALS", nafFqdn, auth: "digest" },
      { nf: "bsf", kind: "zn", outcome: "ok", status: 200, btid, nafFqdn, peer: "eca" },
      { nf: "eca", kind: "enrol", outcome: "ok", status: 200, impi, btid },
      { nf: "eca", kind: "ua", outcome: "ok", status: 200, impi, btid, nafFqdn, auth: "digest" },
    ]);
    seq = bus.lastSeq;
    expect(await enrol("/CN=OBU-EV-2")).toBe(403);
    expect(since(seq).filter((e) => e.kind === "enrol")).toEqual([
      { nf: "eca", kind: "enrol", outcome: "refused", status: 403, cause: "OBU_UNKNOWN", impi, btid },
    ]);
  });

  it("refusals carry their cause and status: Ub, Zh, Zn and Ua", async () => {
    let seq = bus.lastSeq;
    const ub = await request(`${url("bsf", "ub")}/`, { headers: { authorization: "Basic eA==" } });
    await ub.body.dump();
    expect(since(seq)).toEqual([{ nf: "bsf", kind: "ub", outcome: "refused", status: 400, cause: "MALFORMED_AUTHORIZATION" }]);

    // an unknown IMPI: the HSS refuses, the BSF answers with a decoy challenge (the existence does not leak)
    seq = bus.lastSeq;
    const unknown = "001019999999999@ims.mnc001.mcc001.3gppnetwork.org";
    const first = await request(`${url("bsf", "ub")}/`, {
      headers: { authorization: `Digest username="${unknown}", realm="${cfg.bsf.fqdn}", nonce="", uri="/", response=""` },
    });
    await first.body.dump();
    expect(first.statusCode).toBe(401);
    const refusedZh = since(seq).filter((e) => e.nf === "hss");
    expect(refusedZh).toContainEqual({ nf: "hss", kind: "zh-av", outcome: "refused", status: 404, cause: "USER_NOT_FOUND" });

    seq = bus.lastSeq;
    const zn = await request(`${url("bsf", "zn")}/nbsp-gba/v1/bootstrapping-info-retrieval`, {
      method: "POST",
      headers: { authorization: "Bearer not-a-naf-token", "content-type": "application/json" },
      body: "{}",
    });
    await zn.body.dump();
    expect(since(seq)).toEqual([{ nf: "bsf", kind: "zn", outcome: "refused", status: 401, cause: "NAF_NOT_AUTHENTICATED" }]);

    // a Digest answer with a B-TID the BSF never issued: the NAF's Zn lookup fails, the UE must bootstrap again
    seq = bus.lastSeq;
    const challenge = await request(`${url("naf", "http")}/whoami`);
    await challenge.body.dump();
    const www = String(challenge.headers["www-authenticate"]);
    const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(www)?.[1] ?? "";
    const btid = "AAAAAAAAAAAAAAAAAAAAAA==@bsf.mnc001.mcc001.pub.3gppnetwork.org";
    const ua = await request(`${url("naf", "http")}/whoami`, {
      headers: {
        authorization: `Digest username="${btid}", realm="${param("realm")}", nonce="${param("nonce")}", uri="/whoami", qop=auth, nc=00000001, cnonce="0a4f113b", response="00000000000000000000000000000000", opaque="${param("opaque")}"`,
      },
    });
    await ua.body.dump();
    expect(ua.statusCode).toBe(401);
    expect(since(seq).slice(1)).toEqual([
      {
        nf: "bsf",
        kind: "zn",
        outcome: "refused",
        status: 404,
        cause: "BTID_NOT_FOUND",
        btid,
        nafFqdn: cfg.naf.fqdn,
        peer: "naf",
      },
      {
        nf: "naf",
        kind: "ua",
        outcome: "refused",
        status: 401,
        cause: "FST_GBA_BTID_UNKNOWN",
        btid,
        nafFqdn: cfg.naf.fqdn,
        auth: "digest",
      },
    ]);
  });

  it("counts every outcome per second, by exchange and by refusal cause", () => {
    const totals = bus.totals();
    expect(totals["ub.ok"]).toBeGreaterThanOrEqual(5);
    expect(totals["ua.ok"]).toBeGreaterThanOrEqual(4);
    expect(totals["ua-psk.ok"]).toBe(2);
    expect(totals["enrol.ok"]).toBe(1);
    const refusals = bus.series(600).refusals;
    for (const key of [
      "ub MALFORMED_AUTHORIZATION",
      "zn NAF_NOT_AUTHENTICATED",
      "ua FST_GBA_BTID_UNKNOWN",
      "enrol OBU_UNKNOWN",
    ]) {
      expect(
        refusals[key]?.reduce((a, b) => a + b, 0),
        key,
      ).toBeGreaterThan(0);
    }
  });
});
