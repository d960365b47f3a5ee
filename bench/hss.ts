// HSS: AVs/s over Zh (TS 29.562 generate-auth-data; one durable LMDB commit per vector, batched
// per event turn) against a bare JSON route in the same run, and AV latency with a small and a
// large subscriber store. Each request names a random subscriber, so with the large store the
// key cache mostly misses and reads spread over the whole file. Throughput is taken at
// saturation; latency is compared at one fixed offered load both stores carry (--rate, default
// half the lower saturation rate), where it shows service time rather than queueing.
// Targets: AV/s ÷ bare req/s reported (no target: an AV pays a flushed commit);
// p99(large) ÷ p99(small) ≤ 1.2. The SEQ_HE journal's checkpoint (a periodic commit folding up
// to CHECKPOINT_CHUNK entries, nf/hss/sqn-journal.ts) is timed on the large store afterwards.
// --store redis://…: the same HSS with the small store's subscribers on that Redis Cluster runs
// in the same rounds: its AVs (SEQ_HE advanced by one script on the subscriber's slot) and its
// GUSS reads (TS 29.562 subscriber data) against the LMDB HSS's, with CPU µs per operation of
// each HSS and of the cluster's primaries (bench/lib/store-compare.ts).
import type autocannon from "autocannon";
import { str } from "./lib/child.js";
import { CHECKPOINT_CHUNK } from "../nf/hss/index.js";
import { cachedStore, hssChildEnv, provisionBenchSubscribers, timeCheckpoint } from "./lib/hss-store.js";
import { interleave, metered, runAutocannon, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, roundPlan } from "./lib/options.js";
import { type BenchResult, type Comparison, compare, goal, type Measurement } from "./lib/result.js";
import { Rig } from "./lib/rig.js";
import { benchImpi } from "./lib/ue-load.js";
import { openCluster, RedisCpuMeter } from "./lib/store-compare.js";
import { storeUrl } from "../nf/common/store/redis-config.js";
import type { RedisStore } from "../nf/common/store/redis.js";
import { ZH_SUBSCRIBER_DATA_ROUTE } from "../wire/zh.js";

export const P99_RATIO_TARGET = 1.2;
/** CPU report name of the HSS whose subscribers are on the Redis Cluster (--store). */
const REDIS_HSS = "HSS (Redis)";

const randomImpi = (subscribers: number) => encodeURIComponent(benchImpi(Math.floor(Math.random() * subscribers)));

/** Zh AV requests (generate-auth-data: SEQ_HE advances) for random subscribers 0..n-1. */
function zhLoad(url: string, subscribers: number, o: BenchOptions, seconds: number, rate?: number): autocannon.Options {
  return {
    url,
    connections: o.connections,
    duration: seconds,
    overallRate: rate,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
        setupRequest: (req) => ({
          ...req,
          path: `/nhss-gba-ueau/v1/${randomImpi(subscribers)}/security-information/generate-auth-data`,
        }),
      },
    ],
  };
}

/** Zh GUSS reads (TS 29.562 subscriber data: the record read, nothing written) for random subscribers. */
function gussLoad(url: string, subscribers: number, o: BenchOptions, seconds: number): autocannon.Options {
  return {
    url,
    connections: o.connections,
    duration: seconds,
    requests: [
      {
        method: "GET",
        setupRequest: (req) => ({ ...req, path: ZH_SUBSCRIBER_DATA_ROUTE.replace(":ueId", randomImpi(subscribers)) }),
      },
    ],
  };
}

export async function benchHss(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const small = await cachedStore(o.storeDir, o.smallStore, o.log);
  const large = await cachedStore(o.storeDir, o.largeStore, o.log);
  const rig = new Rig();
  let cluster: RedisStore | undefined;
  try {
    const hss = async (data: string, name: string, more: string[] = []) =>
      str(
        (await rig.gba(["hss", "--ephemeral-ports", "--log-level", "warn", "--data", data, ...more], hssChildEnv(), name)).info,
        "hss",
        "zh",
      );
    const subs = (n: number) => `HSS ${n.toLocaleString("en-US")} subs`;
    const bare = await rig.target("bare-zh", [], "bare route");
    let onRedis: { url: string; av: RedisCpuMeter; guss: RedisCpuMeter } | undefined;
    if (o.store) {
      cluster = await openCluster(o.store);
      const data = rig.tmp("hss-redis");
      o.log(`hss: provisioning ${o.smallStore} subscribers on the Redis Cluster`);
      await provisionBenchSubscribers(data, o.smallStore, undefined, o.store);
      const url = await hss(data, REDIS_HSS, ["--store", storeUrl(o.store)]);
      onRedis = { url, av: new RedisCpuMeter(cluster), guss: new RedisCpuMeter(cluster) };
    }
    const systems = [
      { url: bare, n: o.smallStore, name: "bare route" },
      { url: await hss(small, subs(o.smallStore)), n: o.smallStore, name: subs(o.smallStore) },
      { url: await hss(large, subs(o.largeStore)), n: o.largeStore, name: subs(o.largeStore) },
    ];
    const run = (s: { url: string; n: number; name: string }, rate?: number) =>
      metered(
        rig.cpu(s.name),
        (seconds: number): Promise<Sample> => runAutocannon({ opts: zhLoad(s.url, s.n, o, seconds, rate) }),
      );
    o.log(`hss: bare route, ${o.smallStore} and ${o.largeStore} subscribers at saturation, ${o.durationS} s each`);
    const redisRun = onRedis && { url: onRedis.url, n: o.smallStore, name: REDIS_HSS };
    const sat = await interleave(
      [
        ...systems.map((s) => run(s)),
        ...(onRedis && redisRun
          ? [
              metered(
                rig.cpu(REDIS_HSS),
                onRedis.av.wrap((t) => runAutocannon({ opts: zhLoad(redisRun.url, redisRun.n, o, t) })),
              ),
            ]
          : []),
      ],
      roundPlan(o),
    );
    const [bareM, smallM, largeM] = sat
      .slice(0, 3)
      .map((x, i) =>
        toMeasurement(
          i === 0 ? "bare Fastify JSON route (Zh path)" : `HSS Zh, ${systems[i].n.toLocaleString("en-US")} subscribers`,
          i === 0 ? "request" : "AV",
          x,
        ),
      );
    const onStore = onRedis && (await storeComparison(rig, o, systems[1], onRedis, sat[3], smallM));
    const rate = o.rate ?? Math.max(1, Math.round(Math.min(smallM.perSec, largeM.perSec) / 2));
    o.log(`hss: both stores at ${rate} AV/s`);
    const fixed = await interleave(
      systems.slice(1).map((s) => run(s, rate)),
      { ...roundPlan(o), warmupSeconds: 0 },
    );
    const at = (m: Measurement, n: number) => ({
      ...m,
      label: `HSS Zh, ${n.toLocaleString("en-US")} subscribers, ${rate} AV/s offered`,
    });
    const fSmall = at(toMeasurement("", "AV", fixed[0]), o.smallStore);
    const fLarge = at(toMeasurement("", "AV", fixed[1]), o.largeStore);
    const p99Ratio = (fLarge.latencyMs?.p99 ?? 0) / (fSmall.latencyMs?.p99 || Number.NaN);
    // rounds run back to back (small, large, small, ...): each pair shares the machine's state
    // of the moment, so the median of per-round ratios shows how much of the pooled ratio is noise
    const roundP99 = (x: Sample) => x.latency.summary().p99;
    const pairRatios = fixed[1].map((l, r) => roundP99(l) / roundP99(fixed[0][r])).sort((a, b) => a - b);
    const pairMedian = pairRatios[Math.floor(pairRatios.length / 2)];
    // what the vectors above left in the SEQ_HE journal, folded as the HSS's checkpoint does
    const fold = await timeCheckpoint(large, CHECKPOINT_CHUNK);
    return {
      bench: "hss",
      title: "HSS Zh authentication vectors (durable SQN) and AV latency vs store size",
      target: "built-in",
      machine,
      config: {
        durationS: o.durationS,
        rounds: o.rounds,
        connections: o.connections,
        smallStore: o.smallStore,
        largeStore: o.largeStore,
        fixedRate: rate,
      },
      comparisons: [
        compare("hss Zh", smallM, bareM, { ratioOf: "AV/s ÷ bare req/s" }),
        compare(`hss Zh ${o.largeStore.toLocaleString("en-US")} subs`, largeM, bareM, { ratioOf: "AV/s ÷ bare req/s" }),
        {
          name: "hss AV p99 large vs small",
          subject: fLarge,
          baseline: fSmall,
          ratioOf: `p99 ${o.largeStore.toLocaleString("en-US")} ÷ p99 ${o.smallStore.toLocaleString("en-US")} subscribers at ${rate} AV/s`,
          ratio: p99Ratio,
          goal: goal("max", P99_RATIO_TARGET, p99Ratio),
        },
        ...(onStore?.comparisons ?? []),
      ],
      facts: {
        "p99 ratio at saturation": (largeM.latencyMs?.p99 ?? 0) / (smallM.latencyMs?.p99 || Number.NaN),
        "p99 ratio at the fixed load, median of per-round pairs": Math.round(pairMedian * 1000) / 1000,
        "p99 ratio at the fixed load, per-round pairs": pairRatios.map((x) => x.toFixed(2)).join(" "),
        [`SEQ_HE checkpoint, ${o.largeStore.toLocaleString("en-US")} subs: entries folded in one commit`]: fold.entries,
        "SEQ_HE checkpoint commit ms": Math.round(fold.ms * 10) / 10,
        ...onStore?.facts,
      },
    };
  } finally {
    await rig.close();
    await cluster?.close();
  }
}

/**
 * --store: the Redis HSS's AVs (measured in the saturation rounds) against the LMDB HSS's with the
 * same subscribers, then both HSSes' GUSS reads in rounds of their own.
 */
async function storeComparison(
  rig: Rig,
  o: BenchOptions,
  lmdb: { url: string; name: string },
  redis: { url: string; av: RedisCpuMeter; guss: RedisCpuMeter },
  redisAv: Sample[],
  lmdbAv: Measurement,
): Promise<{ comparisons: Comparison[]; facts: Record<string, number | string> }> {
  o.log(`hss: GUSS reads, ${o.smallStore} subscribers on LMDB and on the Redis Cluster, ${o.durationS} s each`);
  const reads = (url: string) => (seconds: number) => runAutocannon({ opts: gussLoad(url, o.smallStore, o, seconds) });
  const [gL, gR] = await interleave(
    [metered(rig.cpu(lmdb.name), reads(lmdb.url)), metered(rig.cpu(REDIS_HSS), redis.guss.wrap(reads(redis.url)))],
    roundPlan(o),
  );
  const subs = `${o.smallStore.toLocaleString("en-US")} subscribers`;
  return {
    comparisons: [
      compare(
        "hss Zh AV on the Redis Cluster vs LMDB",
        toMeasurement(`HSS Zh, ${subs} on the Redis Cluster`, "AV", redisAv),
        lmdbAv,
        {
          ratioOf: "Redis AV/s ÷ LMDB AV/s",
        },
      ),
      compare(
        "hss Zh GUSS on the Redis Cluster vs LMDB",
        toMeasurement(`HSS Zh GUSS reads, ${subs} on the Redis Cluster`, "GUSS read", gR),
        toMeasurement(`HSS Zh GUSS reads, ${subs} on LMDB`, "GUSS read", gL),
        { ratioOf: "Redis GUSS reads/s ÷ LMDB GUSS reads/s" },
      ),
    ],
    facts: { ...redis.av.perOp("AV"), ...redis.guss.perOp("GUSS read") },
  };
}
