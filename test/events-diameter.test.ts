// The Diameter Zh and Zn routes report to the dashboard's event bus as the HTTP ones do: every NF
// of `gba up` in this process with one bus, the BSF asking the HSS over Diameter (bsf.zh) and the
// NAF asking the BSF over Diameter (naf.zn), a real UE (simulated USIM) bootstrapping and reaching
// the NAF over Digest. One "zh-av" event per MAR (the GUSS travels in the MAA), no HTTP status on
// a Diameter exchange, a refusal named by its cause.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Starter, UP_STARTERS, urlOf } from "../cli/up.js";
import { EventBus, type GbaEvent } from "../nf/common/events.js";
import { closeAll, type RunningNf } from "../nf/common/nf.js";
import { defaultConfig, type GbaConfig, withEphemeralPorts } from "../nf/config.js";
import { openTestUe, provision, subscriber, type TestUe } from "./helpers/dashboard-ues.js";
import { removeTempDirs, tempDir } from "./helpers/fault-procs.js";

let cfg: GbaConfig;
let nfs: RunningNf[] = [];
const bus = new EventBus();
const ues: TestUe[] = [];
const url = (nf: string, listener: string) => urlOf(nfs, nf, listener) as string;

beforeAll(async () => {
  cfg = withEphemeralPorts(defaultConfig());
  cfg.data = tempDir("gba-events-diameter-");
  cfg.logLevel = "silent";
  cfg.bsf.zh = "diameter";
  cfg.naf.zn = "diameter";
  bus.record();
  const starters: Starter[] = await Promise.all(UP_STARTERS.map((load) => load()));
  for (const start of starters) nfs.push(await start(cfg, nfs, { events: bus }));
}, 30_000);

afterAll(async () => {
  for (const ue of ues) await ue.close();
  await closeAll(nfs).catch(() => {});
  nfs = [];
  removeTempDirs();
});

/** The events after `seq`, without seq, time and latency (checked present). */
function since(seq: number): Array<Omit<GbaEvent, "seq" | "time" | "latencyMs">> {
  return bus.query({ afterSeq: seq, limit: 1000 }).map(({ seq: _s, time: _t, latencyMs, ...e }) => {
    expect(latencyMs, `${e.nf} ${e.kind} ${e.outcome} has its latency`).toBeGreaterThanOrEqual(0);
    return Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as Omit<
      GbaEvent,
      "seq" | "time" | "latencyMs"
    >;
  });
}

it("a bootstrap over Zh/Diameter and a Digest request with its Zn/Diameter lookup", async () => {
  const s = subscriber(1);
  await provision(url("hss", "admin"), s);
  const ue = await openTestUe(s, url("bsf", "ub"));
  ues.push(ue);
  let seq = bus.lastSeq;
  const { btid } = await ue.middleware.bootstrap();
  expect(since(seq)).toEqual([
    { nf: "hss", kind: "zh-av", outcome: "ok", impi: s.impi },
    { nf: "bsf", kind: "ub", outcome: "challenge", status: 401, impi: s.impi },
    { nf: "bsf", kind: "ub", outcome: "ok", status: 200, impi: s.impi, btid },
  ]);

  seq = bus.lastSeq;
  const res = await ue.client.gbaFetch(`${url("naf", "http")}/whoami`);
  expect(res.status).toBe(200);
  await res.text();
  const nafFqdn = cfg.naf.fqdn;
  expect(since(seq)).toEqual([
    { nf: "naf", kind: "ua", outcome: "challenge", status: 401, cause: "FST_GBA_NO_CREDENTIALS", nafFqdn, auth: "digest" },
    { nf: "bsf", kind: "zn", outcome: "ok", btid, nafFqdn, peer: "naf" },
    { nf: "naf", kind: "ua", outcome: "ok", status: 200, impi: s.impi, btid, nafFqdn, auth: "digest" },
  ]);
});

it("an unknown IMPI is refused at the HSS over Diameter, with its cause", async () => {
  const s = subscriber(2); // never provisioned
  const ue = await openTestUe(s, url("bsf", "ub"));
  ues.push(ue);
  const seq = bus.lastSeq;
  await expect(ue.middleware.bootstrap()).rejects.toThrow();
  expect(since(seq)[0]).toEqual({ nf: "hss", kind: "zh-av", outcome: "refused", cause: "USER_NOT_FOUND" });
});
