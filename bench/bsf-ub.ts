// Full Ub bootstraps per second (two Ub exchanges + Zh to the HSS per bootstrap) against a bare
// Fastify GET route measured in the same run, both driven by autocannon from this process
// while the servers run in child processes; the two are measured alternately, medians reported.
//
//   node dist/bench/bsf-ub.js [--duration S] [--connections N] [--rounds N] [--out FILE]
//
// Each autocannon connection runs bootstraps back to back: request 1 is the TS 24.109 A.3 first
// GET, its 401 challenge is answered by request 2 (a USIM check and Digest AKA computed here,
// so the load generator does the UE's work too). Target: bootstraps/s ≥ 0.8 × (bare req/s ÷ 3).
import { alternate, parseBenchArgs, runAutocannon, startTarget } from "./lib/bsf-load.js";
import { BenchUe, benchSubscriber, UePool } from "./lib/bsf-ue.js";
import { machineInfo } from "./lib/machine.js";
import { formatTable, writeJson } from "./lib/report.js";

const TARGET_RATIO = 0.8;
const REQUESTS_PER_BOOTSTRAP = 3;

interface Ctx {
  ue?: BenchUe;
  challenge?: string;
}

async function main(): Promise<void> {
  const { durationS, connections, rounds, out } = parseBenchArgs("bsf-ub", process.argv.slice(2));
  const subscribers = connections * 2;
  const bareTarget = await startTarget("bare-get");
  const stack = await startTarget("stack", [String(subscribers)]);
  const { ub, fqdn } = stack.info;
  const pool = new UePool(Array.from({ length: subscribers }, (_, i) => new BenchUe(benchSubscriber(i))));
  let refused = 0;

  const bootstraps = () =>
    runAutocannon({
      url: ub,
      connections,
      duration: durationS,
      pipelining: 1,
      requests: [
        {
          method: "GET",
          path: "/",
          setupRequest: (req, context) => {
            const ctx = context as Ctx;
            ctx.ue = pool.take();
            return { ...req, headers: { authorization: ctx.ue.initialAuthorization(fqdn) } };
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
            const ue = ctx.ue as BenchUe;
            const answer = ctx.challenge === undefined ? undefined : ue.answer(ctx.challenge);
            if (answer === undefined) {
              refused++;
              pool.give(ue);
              return null as unknown as typeof req;
            }
            return { ...req, headers: { authorization: answer } };
          },
          onResponse: (_status, _body, context) => pool.give((context as Ctx).ue as BenchUe),
        },
      ],
    });

  let result: Awaited<ReturnType<typeof alternate>>;
  try {
    result = await alternate(
      rounds,
      () => runAutocannon({ url: bareTarget.info.url, connections, duration: durationS, pipelining: 1 }),
      async () => {
        const figures = await bootstraps();
        pool.reclaim();
        return figures;
      },
    );
  } finally {
    await Promise.all([bareTarget.stop(), stack.stop()]);
  }

  const { baseline: bare, subject: bsf } = result;
  const floor = bare.reqPerSec / REQUESTS_PER_BOOTSTRAP;
  const ratio = bsf.okPerSec / floor;
  const row = (measurement: string, f: typeof bare, okPerSec: number) => ({
    measurement,
    "ok/s": Math.round(okPerSec),
    "req/s": Math.round(f.reqPerSec),
    "p50 ms": f.latencyMs.p50,
    "p99 ms": f.latencyMs.p99,
    errors: f.errors,
    "all rounds ok/s": (f === bare ? result.runs.baseline : result.runs.subject).map((r) => Math.round(r.okPerSec)).join(" "),
  });
  const machine = machineInfo();
  process.stdout.write(
    `BSF Ub bootstraps, ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${connections} connections, ${rounds} × ${durationS} s each, medians\n\n`,
  );
  process.stdout.write(
    `${formatTable([row("bare Fastify GET /", bare, bare.reqPerSec), row("BSF bootstraps (2 Ub + Zh)", bsf, bsf.okPerSec)])}\n\n`,
  );
  process.stdout.write(
    `bootstraps/s ÷ (bare req/s ÷ ${REQUESTS_PER_BOOTSTRAP}) = ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO}); USIM refusals ${refused}\n`,
  );
  await writeJson(out, {
    benchmark: "bsf-ub",
    machine,
    config: { durationS, connections, rounds, subscribers, requestsPerBootstrap: REQUESTS_PER_BOOTSTRAP },
    results: {
      bare,
      bsf,
      runs: result.runs,
      bootstrapsPerSec: bsf.okPerSec,
      floorBootstrapsPerSec: floor,
      ratio,
      targetRatio: TARGET_RATIO,
      meetsTarget: ratio >= TARGET_RATIO,
      usimRefusals: refused,
    },
  });
  process.stdout.write(`wrote ${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench bsf-ub: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
