// Ub: full bootstraps per second (TS 24.109 A.3 first GET → 401 AKA challenge, Zh to the HSS
// for the vector and the GUSS; the answer GET → 200 with the B-TID, the session committed)
// against the protocol floor measured in the same run: a stub chain making the same exchanges
// (2 Ub, ZH_EXCHANGES Zh) with no crypto and no storage (bench/lib/stub-chain.ts), same number
// of processes, same load generator. Target: bootstraps/s ≥ 0.8 × the floor with as many Zh
// exchanges as our BSF makes; the floor with the other count is reported beside it. Every
// measurement carries the CPU µs per bootstrap of each process (BSF, HSS, load generator).
// The load generator plays the UEs (USIM check and Digest AKA per bootstrap), each subscriber
// running one bootstrap at a time so its SQN sequence stays in order; latency is per bootstrap.
// --rate R offers R bootstraps/s (2R Ub requests/s) to ours and to the stub chains alike.
// Built-in: `gba hss` (bench subscribers) + `gba bsf [--workers N]`. --target UB_URL: any BSF,
// with subscribers provisioned in its HSS (--usim FILE..., --subscribers CSV; GBA_ME).
import type autocannon from "autocannon";
import { countError, interleave, metered, runAutocannon, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, loadConfig, roundPlan, workersText } from "./lib/options.js";
import { type BenchResult, compare } from "./lib/result.js";
import { LOAD_GENERATOR, ownStack, Rig } from "./lib/rig.js";
import { STUB_UE_HEADERS } from "./lib/stub-chain.js";
import { LoadUe, type LoadUbRun } from "../ue/load-ue.js";
import { ubHeaders } from "../ue/ub/run.js";
import { benchSubscriber, externalUes, UePool } from "./lib/ue-load.js";
import { openCluster, REDIS_STACK, RedisCpuMeter } from "./lib/store-compare.js";
import type { RedisStore } from "../nf/common/store/redis.js";

export const UB_TARGET = 0.8;
/** Ub requests per bootstrap: the challenge and the answer (TS 24.109 A.3, A.4) */
export const UB_PER_BOOTSTRAP = 2;
/**
 * Zh exchanges our BSF makes per bootstrap: the vector, with the GUSS in its answer only when the
 * BSF does not hold the current one (the GUSS timestamp option, TS 33.220 §4.5.2 step 2;
 * nf/bsf/zh-client.ts). The target's floor is the stub chain with this many.
 */
export const BSF_ZH_EXCHANGES = 1;
const EMPTY = new Uint8Array(0);

interface Ctx {
  ue?: LoadUe;
  run?: LoadUbRun;
  challenge?: string;
  t0?: number;
}

/**
 * A load run of bootstraps against the Ub URL: `connections` autocannon connections running
 * bootstraps back to back (with `rate`, that many bootstraps/s over all), a bootstrap counted
 * when its 200 arrives; the UEs of a cut-off exchange go back to the pool.
 */
export function bootstrapLoad(o: {
  url: string;
  realm: string;
  pool: UePool;
  connections: number;
  rate?: number;
}): (seconds: number) => Promise<Sample> {
  return async (seconds) => {
    const s = await runAutocannon({
      opts: (x) => ({
        url: o.url,
        connections: o.connections,
        duration: seconds,
        overallRate: o.rate && o.rate * 2,
        requests: bootstrapRequests(o.pool, o.realm, x),
      }),
      classify: (status) => (status === 200 ? "ok" : status === 401 ? "step" : "error"),
      recordLatency: false,
    });
    o.pool.reclaim();
    return s;
  };
}

/** autocannon requests running bootstraps back to back on each connection. */
export function bootstrapRequests(pool: UePool, realm: string, s: Sample): autocannon.Request[] {
  return [
    {
      method: "GET",
      path: "/",
      setupRequest: (req, context) => {
        const ctx = context as Ctx;
        ctx.ue = pool.take();
        ctx.t0 = performance.now();
        ctx.run = ctx.ue.bootstrap(realm);
        return { ...req, headers: { authorization: ubHeaders(ctx.run.first()).authorization } };
      },
      onResponse: (status, _body, context, headers) => {
        if (status === 401) (context as Ctx).challenge = (headers as Record<string, string>)["www-authenticate"];
      },
    },
    {
      method: "GET",
      path: "/",
      setupRequest: (req, context) => {
        const ctx = context as Ctx;
        const ue = ctx.ue as LoadUe;
        const step =
          ctx.challenge === undefined
            ? undefined
            : (ctx.run as LoadUbRun).next({ status: 401, headers: { "www-authenticate": ctx.challenge }, body: EMPTY });
        // only an answer with RES makes a bootstrap: a resynchronisation or a MAC failure report does not
        if (step?.kind !== "send" || step.usim !== "success") {
          countError(s, ctx.challenge === undefined ? "no challenge" : "USIM refused AUTN");
          pool.give(ue);
          return null as unknown as typeof req;
        }
        return { ...req, headers: { authorization: ubHeaders(step.request).authorization } };
      },
      onResponse: (status, _body, context) => {
        const ctx = context as Ctx;
        if (status === 200) s.latency.add(performance.now() - (ctx.t0 as number));
        pool.give(ctx.ue as LoadUe);
      },
    },
  ];
}

/** The stub chain's two requests per bootstrap: UE-shaped headers, nothing computed; latency per bootstrap. */
function stubRequests(s: Sample): autocannon.Request[] {
  return [
    {
      method: "GET",
      path: "/",
      headers: { authorization: STUB_UE_HEADERS.initial },
      setupRequest: (req, context) => {
        (context as Ctx).t0 = performance.now();
        return req;
      },
    },
    {
      method: "GET",
      path: "/",
      headers: { authorization: STUB_UE_HEADERS.answer },
      onResponse: (status, _body, context) => {
        if (status === 200) s.latency.add(performance.now() - ((context as Ctx).t0 as number));
      },
    },
  ];
}

export async function benchUb(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  let save = async () => {};
  let cluster: RedisStore | undefined;
  let onRedis: { ub: string; pool: UePool; meter: RedisCpuMeter } | undefined;
  try {
    let ub: string;
    let realm: string;
    let ues: LoadUe[];
    if (o.target) {
      const ext = await externalUes(o.usims, o.subscribers);
      ues = ext.ues;
      save = ext.save;
      ub = o.target;
      realm = new URL(o.target).hostname;
    } else {
      const stack = await ownStack(rig, { subscribers: o.connections * 2, workers: o.workers });
      ues = Array.from({ length: o.connections * 2 }, (_, i) => new LoadUe(benchSubscriber(i)));
      ub = stack.ub;
      realm = stack.fqdn;
      if (o.store) {
        cluster = await openCluster(o.store);
        const rs = await ownStack(rig, { subscribers: o.connections * 2, workers: o.workers, store: o.store });
        const pool = new UePool(Array.from({ length: o.connections * 2 }, (_, i) => new LoadUe(benchSubscriber(i))));
        onRedis = { ub: rs.ub, pool, meter: new RedisCpuMeter(cluster) };
      }
    }
    const connections = Math.min(o.connections, ues.length);
    const bootstraps = bootstrapLoad({ url: ub, realm, pool: new UePool(ues), connections, rate: o.rate });
    const stubHss = await rig.target("stub-hss", [], "stub HSS");
    const floor = async (zh: number) => {
      const name = `stub BSF (${zh} Zh)`;
      const url = await rig.target("stub-bsf", [stubHss, String(zh), String(o.workers)], name);
      return metered(rig.cpu(name, "stub HSS"), (seconds: number) =>
        runAutocannon({
          opts: (x) => ({
            url,
            connections,
            duration: seconds,
            overallRate: o.rate && o.rate * UB_PER_BOOTSTRAP,
            requests: stubRequests(x),
          }),
          classify: (status) => (status === 200 ? "ok" : status === 401 ? "step" : "error"),
          recordLatency: false,
        }),
      );
    };
    const ours = [BSF_ZH_EXCHANGES, 3 - BSF_ZH_EXCHANGES];
    const [same, other] = [await floor(ours[0]), await floor(ours[1])];
    const subject = o.target ? metered([LOAD_GENERATOR], bootstraps) : metered(rig.cpu("BSF", "HSS"), bootstraps);
    o.log(
      `ub: ${o.target ?? `built-in BSF, ${workersText(o.workers)}`} vs stub chains with ${ours.join(" and ")} Zh exchanges, ${o.durationS} s each`,
    );
    const systems = [subject, same, other];
    if (onRedis)
      systems.push(
        metered(
          rig.cpu(...REDIS_STACK),
          onRedis.meter.wrap(bootstrapLoad({ url: onRedis.ub, realm, pool: onRedis.pool, connections, rate: o.rate })),
        ),
      );
    const [s, f1, f2, r] = await interleave(systems, roundPlan(o));
    const workers = o.target ? "" : `, ${workersText(o.workers)}`;
    const real = toMeasurement(
      `BSF bootstraps${workers}`,
      "bootstrap",
      s,
      o.target ? "CPU of the load generator only: the BSF under test is external" : undefined,
    );
    const floorOf = (zh: number, x: Sample[]) =>
      toMeasurement(`stub chain, ${UB_PER_BOOTSTRAP} Ub + ${zh} Zh, no crypto, no storage${workers}`, "bootstrap", x);
    const ratioOf = (zh: number) => `bootstraps/s ÷ stub-chain bootstraps/s (${UB_PER_BOOTSTRAP} Ub + ${zh} Zh)`;
    return {
      bench: "ub",
      title: "Ub: full GBA bootstraps (2 Ub exchanges + Zh, Digest AKA, session committed)",
      target: o.target ?? "built-in",
      machine,
      config: loadConfig(o, {
        connections,
        subscribers: ues.length,
        ubPerBootstrap: UB_PER_BOOTSTRAP,
        bsfZhExchanges: BSF_ZH_EXCHANGES,
      }),
      comparisons: [
        compare(`ub (${workersText(o.workers)})`, real, floorOf(ours[0], f1), {
          ratioOf: ratioOf(ours[0]),
          goal: { kind: "min", value: UB_TARGET },
        }),
        compare(`ub (${workersText(o.workers)}) vs ${ours[1]}-Zh floor`, real, floorOf(ours[1], f2), {
          ratioOf: ratioOf(ours[1]),
        }),
        ...(onRedis && r
          ? [
              compare(
                `ub on the Redis Cluster vs LMDB (${workersText(o.workers)})`,
                toMeasurement(`BSF bootstraps, HSS and BSF on the Redis Cluster${workers}`, "bootstrap", r),
                real,
                { ratioOf: "Redis bootstraps/s ÷ LMDB bootstraps/s" },
              ),
            ]
          : []),
      ],
      ...(onRedis && { facts: onRedis.meter.perOp("bootstrap") }),
      notes: [
        ...(o.target
          ? []
          : [
              "the HSS (Zh) runs in its own process on the same machine; the load generator computes the UE side (MILENAGE, Digest AKA)",
            ]),
        `floor: a Fastify "BSF" calling a Fastify "HSS" over an undici pool (${ours.join(" or ")} Zh exchanges per challenge: the vector with the GUSS timestamp option, or vector and GUSS in parallel), the same autocannon load generator sending UE-shaped headers without computing them; target: ratio to the ${ours[0]}-Zh floor (as many Zh exchanges as our BSF makes)`,
      ],
    };
  } finally {
    await save();
    await rig.close();
    await cluster?.close();
  }
}
