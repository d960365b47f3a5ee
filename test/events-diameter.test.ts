// The Diameter Zh and Zn routes report to the dashboard's event bus as the HTTP ones do: every NF
// of `gba up` in this process with one bus, the BSF asking the HSS over Diameter (bsf.zh) and the
// NAF asking the BSF over Diameter (naf.zn), a real UE (simulated USIM) bootstrapping and reaching
// the NAF over Digest. One "zh-av" event per MAR (the GUSS travels in the MAA), no HTTP status on
// a Diameter exchange, a refusal named by its cause.
import { afterAll, beforeAll, expect, it } from "vitest";
import { openTestUe, provision, subscriber } from "./helpers/dashboard-ues.js";
import { type NfsWithBus, startNfsWithBus } from "./helpers/events-bus.js";

let t: NfsWithBus;

beforeAll(async () => {
  t = await startNfsWithBus("gba-events-diameter-", (cfg) => {
    cfg.bsf.zh = "diameter";
    cfg.naf.zn = "diameter";
  });
}, 30_000);

afterAll(() => t.stop());

/** The events after `seq` as since() gives them, fields without a value left out. */
const since = (seq: number) => t.since(seq).map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)));

it("a bootstrap over Zh/Diameter and a Digest request with its Zn/Diameter lookup", async () => {
  const s = subscriber(1);
  await provision(t.url("hss", "admin"), s);
  const ue = await openTestUe(s, t.url("bsf", "ub"));
  t.ues.push(ue);
  let seq = t.bus.lastSeq;
  const { btid } = await ue.middleware.bootstrap();
  expect(since(seq)).toEqual([
    { nf: "hss", kind: "zh-av", outcome: "ok", impi: s.impi },
    { nf: "bsf", kind: "ub", outcome: "challenge", status: 401, impi: s.impi },
    { nf: "bsf", kind: "ub", outcome: "ok", status: 200, impi: s.impi, btid },
  ]);

  seq = t.bus.lastSeq;
  const res = await ue.client.gbaFetch(`${t.url("naf", "http")}/whoami`, { nafFqdn: t.cfg.naf.fqdn });
  expect(res.status).toBe(200);
  await res.text();
  const nafFqdn = t.cfg.naf.fqdn;
  expect(since(seq)).toEqual([
    { nf: "naf", kind: "ua", outcome: "challenge", status: 401, cause: "FST_GBA_NO_CREDENTIALS", nafFqdn, auth: "digest" },
    { nf: "bsf", kind: "zn", outcome: "ok", btid, nafFqdn, peer: "naf" },
    { nf: "naf", kind: "ua", outcome: "ok", status: 200, impi: s.impi, btid, nafFqdn, auth: "digest" },
  ]);
});

it("an unknown IMPI is refused at the HSS over Diameter, with its cause", async () => {
  const s = subscriber(2); // never provisioned
  const ue = await openTestUe(s, t.url("bsf", "ub"));
  t.ues.push(ue);
  const seq = t.bus.lastSeq;
  await expect(ue.middleware.bootstrap()).rejects.toThrow();
  expect(since(seq)[0]).toEqual({ nf: "hss", kind: "zh-av", outcome: "refused", cause: "USER_NOT_FOUND" });
});
