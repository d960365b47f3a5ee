// Ub: full bootstraps per second (TS 24.109 A.3 first GET → 401 AKA challenge, Zh to the HSS
// for the vector; the answer GET → 200 with the B-TID, the session committed) against a bare
// route answering what the BSF answers, measured in the same run. One bootstrap costs two Ub
// exchanges and one Zh exchange, so the floor is bare req/s ÷ 3. Target ≥ 0.8 × floor.
// The load generator plays the UEs (USIM check and Digest AKA per bootstrap), each subscriber
// running one bootstrap at a time so its SQN sequence stays in order; latency is per bootstrap.
// --rate R offers R bootstraps/s (2R Ub requests/s) and the bare route 3R requests/s.
// Built-in: `gba hss` (bench subscribers) + `gba bsf [--workers N]`. --target UB_URL: any BSF,
// with subscribers provisioned in its HSS (--usim FILE..., --subscribers CSV; GBA_ME).
import type autocannon from "autocannon";
import { countError, interleave, runAutocannon, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, loadConfig, roundPlan, workersText } from "./lib/options.js";
import { type BenchResult, compare } from "./lib/result.js";
import { ownStack, Rig } from "./lib/rig.js";
import { LoadUe, type LoadUbRun } from "../ue/load-ue.js";
import { ubHeaders } from "../ue/ub/run.js";
import { benchSubscriber, externalUes, UePool } from "./lib/ue-load.js";

export const UB_TARGET = 0.8;
export const REQUESTS_PER_BOOTSTRAP = 3;
const EMPTY = new Uint8Array(0);

interface Ctx {
  ue?: LoadUe;
  run?: LoadUbRun;
  challenge?: string;
  t0?: number;
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

export async function benchUb(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  let save = async () => {};
  try {
    const bare = await rig.target("bare-ub");
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
    }
    const connections = Math.min(o.connections, ues.length);
    const pool = new UePool(ues);
    const bootstraps = async (seconds: number): Promise<Sample> => {
      const s = await runAutocannon({
        opts: (x) => ({
          url: ub,
          connections,
          duration: seconds,
          overallRate: o.rate && o.rate * 2,
          requests: bootstrapRequests(pool, realm, x),
        }),
        classify: (status) => (status === 200 ? "ok" : status === 401 ? "step" : "error"),
        recordLatency: false,
      });
      pool.reclaim();
      return s;
    };
    // the bare route gets the first request of a bootstrap; its answer is the 200 of the second
    const initial = ubHeaders(new LoadUe(benchSubscriber(0)).bootstrap(realm).first()).authorization;
    const baseline = (seconds: number) =>
      runAutocannon({
        opts: {
          url: bare,
          connections,
          duration: seconds,
          overallRate: o.rate && o.rate * REQUESTS_PER_BOOTSTRAP,
          headers: { authorization: initial },
        },
      });
    o.log(`ub: ${o.target ?? `built-in BSF, ${workersText(o.workers)}`} vs bare route, ${o.durationS} s each`);
    const [s, b] = await interleave([bootstraps, baseline], roundPlan(o));
    const workers = o.target ? "" : `, ${workersText(o.workers)}`;
    return {
      bench: "ub",
      title: "Ub: full GBA bootstraps (2 Ub exchanges + Zh, Digest AKA, session committed)",
      target: o.target ?? "built-in",
      machine,
      config: loadConfig(o, { connections, subscribers: ues.length, requestsPerBootstrap: REQUESTS_PER_BOOTSTRAP }),
      comparisons: [
        compare(
          `ub (${workersText(o.workers)})`,
          toMeasurement(`BSF bootstraps${workers}`, "bootstrap", s),
          toMeasurement("bare Fastify GET / answering like the BSF", "request", b),
          {
            ratioOf: `bootstraps/s ÷ (bare req/s ÷ ${REQUESTS_PER_BOOTSTRAP})`,
            divisor: REQUESTS_PER_BOOTSTRAP,
            goal: { kind: "min", value: UB_TARGET },
          },
        ),
      ],
      notes: o.target
        ? []
        : [
            "the HSS (Zh) runs in its own process on the same machine; the load generator computes the UE side (MILENAGE, Digest AKA)",
          ],
    };
  } finally {
    await save();
    await rig.close();
  }
}
