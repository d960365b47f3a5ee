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
import { openCluster, REDIS_STACK, RedisCpuMeter } from "./lib/store-compare.js";
import type { RedisStore } from "../nf/common/store/redis.js";

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
  let cluster: RedisStore | undefined;
  let onRedis: { zn: string; ub: string; meter: RedisCpuMeter; btids: string[] } | undefined;
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
      if (o.store) {
        cluster = await openCluster(o.store);
        const rs = await ownStack(rig, { subscribers: SESSIONS, workers: o.workers, store: o.store });
        onRedis = { zn: rs.zn, ub: rs.ub, meter: new RedisCpuMeter(cluster), btids: [] };
      }
    }
    const sessions = async (at: string, ues: LoadUe[]): Promise<string[]> => {
      o.log(`zn: bootstrapping ${ues.length} sessions at ${at}`);
      const out: string[] = [];
      for (let i = 0; i < ues.length; i += BOOTSTRAPS_AT_ONCE)
        out.push(...(await Promise.all(ues.slice(i, i + BOOTSTRAPS_AT_ONCE).map((ue) => bootstrapOnce(at, realm, ue)))));
      return out;
    };
    const btids = await sessions(ub, ues);
    if (onRedis)
      onRedis.btids = await sessions(
        onRedis.ub,
        Array.from({ length: SESSIONS }, (_, i) => new LoadUe(benchSubscriber(i))),
      );
    const run =
      (url: string, ids = btids) =>
      (seconds: number): Promise<Sample> =>
        runAutocannon({ opts: znLoad(url, ids, naf, o, seconds) });
    const subject = metered(o.target ? [LOAD_GENERATOR] : rig.cpu("BSF"), run(zn));
    o.log(`zn: ${o.target ?? `built-in BSF, ${workersText(o.workers)}`} vs bare JSON route, ${o.durationS} s each`);
    const systems = [subject, metered(rig.cpu("bare route"), run(bare))];
    if (onRedis) systems.push(metered(rig.cpu(...REDIS_STACK), onRedis.meter.wrap(run(onRedis.zn, onRedis.btids))));
    const [s, b, r] = await interleave(systems, roundPlan(o));
    const onLmdb = toMeasurement(o.target ? `BSF Zn ${o.target}` : "BSF Zn lookup", "lookup", s);
    return {
      bench: "zn",
      title: "Zn: NAF key lookups (B-TID in LMDB, authorisation, Ks_NAF derivation)",
      target: o.target ?? "built-in",
      machine,
      config: loadConfig(o, { sessions: btids.length }),
      comparisons: [
        compare(
          `zn (${workersText(o.workers)})`,
          onLmdb,
          toMeasurement("bare Fastify JSON POST route, same size", "request", b),
          { ratioOf: "lookups/s ÷ bare req/s", goal: { kind: "min", value: ZN_TARGET } },
        ),
        ...(onRedis && r
          ? [
              compare(
                `zn on the Redis Cluster vs LMDB (${workersText(o.workers)})`,
                toMeasurement("BSF Zn lookup, sessions on the Redis Cluster", "lookup", r),
                onLmdb,
                { ratioOf: "Redis lookups/s ÷ LMDB lookups/s" },
              ),
            ]
          : []),
      ],
      ...(onRedis && { facts: onRedis.meter.perOp("lookup") }),
    };
  } finally {
    await save();
    await rig.close();
    await cluster?.close();
  }
}
