// Zn: key lookups per second (TS 29.309 bootstrapping-info-retrieval: NAF token and
// authorisation, B-TID lookup in LMDB, one KDF per answer) against a bare Fastify JSON POST
// route answering the same size, sent the same requests. Target ≥ 0.8.
// Built-in: `gba hss` + `gba bsf [--workers N]`, SESSIONS subscribers bootstrapped first.
// --target ZN_URL: any BSF's Zn; --bsf UB_URL and --usim/--subscribers bootstrap the sessions,
// --zn-token and --naf-fqdn name a NAF that BSF authorises.
import type autocannon from "autocannon";
import { interleave, metered, runAutocannon, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, BenchSetupError, loadConfig, roundPlan, workersText } from "./lib/options.js";
import { type BenchResult, compare } from "./lib/result.js";
import { LOAD_GENERATOR, ownStack, Rig } from "./lib/rig.js";
import { LoadUe } from "../ue/load-ue.js";
import { ZN_PATH } from "../wire/zn.js";
import { benchSubscriber, bootstrapOnce, externalUes } from "./lib/ue-load.js";

export const ZN_TARGET = 0.8;
export const SESSIONS = 256;
export const BOOTSTRAPS_AT_ONCE = 32;

export function znLoad(
  url: string,
  btids: string[],
  naf: { token: string; fqdn: string },
  o: BenchOptions,
  seconds: number,
): autocannon.Options {
  let i = 0;
  return {
    url,
    connections: o.connections,
    duration: seconds,
    overallRate: o.rate,
    requests: [
      {
        method: "POST",
        path: ZN_PATH,
        setupRequest: (req) => ({
          ...req,
          headers: { "content-type": "application/json", authorization: `Bearer ${naf.token}` },
          body: JSON.stringify({ btId: btids[i++ % btids.length], nafId: { nafFqdn: naf.fqdn, uaSecProtId: "0100000002" } }),
        }),
      },
    ],
  };
}

export async function benchZn(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  let save = async () => {};
  try {
    const bare = await rig.target("bare-zn", [], "bare route");
    let zn: string;
    let ub: string;
    let realm: string;
    let naf: { token: string; fqdn: string };
    let ues: LoadUe[];
    if (o.target) {
      if (o.bsf === undefined || o.znToken === undefined || o.nafFqdn === undefined)
        throw new BenchSetupError("bench zn --target needs --bsf UB_URL, --zn-token TOKEN and --naf-fqdn NAME");
      const ext = await externalUes(o.usims, o.subscribers);
      ({ ues, save } = ext);
      zn = o.target;
      ub = o.bsf;
      realm = new URL(o.bsf).hostname;
      naf = { token: o.znToken, fqdn: o.nafFqdn };
    } else {
      const stack = await ownStack(rig, { subscribers: SESSIONS, workers: o.workers });
      ues = Array.from({ length: SESSIONS }, (_, i) => new LoadUe(benchSubscriber(i)));
      ({ zn, ub, fqdn: realm } = stack);
      naf = { token: stack.znToken, fqdn: stack.nafFqdn };
    }
    o.log(`zn: bootstrapping ${ues.length} sessions`);
    const btids: string[] = [];
    for (let i = 0; i < ues.length; i += BOOTSTRAPS_AT_ONCE)
      btids.push(...(await Promise.all(ues.slice(i, i + BOOTSTRAPS_AT_ONCE).map((ue) => bootstrapOnce(ub, realm, ue)))));
    const run =
      (url: string) =>
      (seconds: number): Promise<Sample> =>
        runAutocannon({ opts: znLoad(url, btids, naf, o, seconds) });
    const subject = metered(o.target ? [LOAD_GENERATOR] : rig.cpu("BSF"), run(zn));
    o.log(`zn: ${o.target ?? `built-in BSF, ${workersText(o.workers)}`} vs bare JSON route, ${o.durationS} s each`);
    const [s, b] = await interleave([subject, metered(rig.cpu("bare route"), run(bare))], roundPlan(o));
    return {
      bench: "zn",
      title: "Zn: NAF key lookups (B-TID in LMDB, authorisation, Ks_NAF derivation)",
      target: o.target ?? "built-in",
      machine,
      config: loadConfig(o, { sessions: btids.length }),
      comparisons: [
        compare(
          `zn (${workersText(o.workers)})`,
          toMeasurement(o.target ? `BSF Zn ${o.target}` : "BSF Zn lookup", "lookup", s),
          toMeasurement("bare Fastify JSON POST route, same size", "request", b),
          { ratioOf: "lookups/s ÷ bare req/s", goal: { kind: "min", value: ZN_TARGET } },
        ),
      ],
    };
  } finally {
    await save();
    await rig.close();
  }
}
