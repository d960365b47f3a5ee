// Zn key lookups per second (TS 29.309 bootstrapping-info-retrieval: NAF token and authorisation,
// B-TID lookup in LMDB, one KDF) against a bare Fastify JSON POST route answering the same
// size, driven by autocannon from this process while the servers run in child processes; the
// two are measured alternately, medians reported.
//
//   node dist/bench/bsf-zn.js [--duration S] [--connections N] [--rounds N] [--out FILE]
//
// Target: Zn lookups/s ≥ 0.8 × bare req/s.
import { alternate, parseBenchArgs, runAutocannon, startTarget } from "./lib/bsf-load.js";
import { BenchUe, benchSubscriber, bootstrapOnce } from "./lib/bsf-ue.js";
import { machineInfo } from "./lib/machine.js";
import { formatTable, writeJson } from "./lib/report.js";

const TARGET_RATIO = 0.8;
const SESSIONS = 256;
const ZN_PATH = "/nbsp-gba/v1/bootstrapping-info-retrieval";

function znRequests(btids: string[], nafFqdn: string, token: string) {
  let i = 0;
  return [
    {
      method: "POST" as const,
      path: ZN_PATH,
      setupRequest: (req: object) => ({
        ...req,
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ btId: btids[i++ % btids.length], nafId: { nafFqdn, uaSecProtId: "0100000002" } }),
      }),
    },
  ];
}

async function main(): Promise<void> {
  const { durationS, connections, rounds, out } = parseBenchArgs("bsf-zn", process.argv.slice(2));
  const stack = await startTarget("stack", [String(SESSIONS)]);
  const bareTarget = await startTarget("bare-post");
  const { ub, zn, fqdn, znToken, nafFqdn } = stack.info;
  let result: Awaited<ReturnType<typeof alternate>>;
  try {
    const btids: string[] = [];
    for (let i = 0; i < SESSIONS; i++) btids.push(await bootstrapOnce(ub, fqdn, new BenchUe(benchSubscriber(i))));
    const load = (url: string) => () =>
      runAutocannon({ url, connections, duration: durationS, pipelining: 1, requests: znRequests(btids, nafFqdn, znToken) });
    result = await alternate(rounds, load(bareTarget.info.url), load(zn));
  } finally {
    await Promise.all([bareTarget.stop(), stack.stop()]);
  }

  const { baseline: bare, subject: bsf } = result;
  const ratio = bsf.okPerSec / bare.okPerSec;
  const row = (measurement: string, f: typeof bare, all: typeof result.runs.baseline) => ({
    measurement,
    "ok/s": Math.round(f.okPerSec),
    "p50 ms": f.latencyMs.p50,
    "p99 ms": f.latencyMs.p99,
    errors: f.errors,
    "all rounds ok/s": all.map((r) => Math.round(r.okPerSec)).join(" "),
  });
  const machine = machineInfo();
  process.stdout.write(
    `BSF Zn lookups, ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${connections} connections, ${rounds} × ${durationS} s each, medians\n\n`,
  );
  process.stdout.write(
    `${formatTable([row("bare Fastify JSON POST", bare, result.runs.baseline), row("BSF Zn lookup", bsf, result.runs.subject)])}\n\n`,
  );
  process.stdout.write(
    `Zn lookups/s ÷ bare req/s = ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO}); non-200 Zn answers ${bsf.total - bsf.ok}\n`,
  );
  await writeJson(out, {
    benchmark: "bsf-zn",
    machine,
    config: { durationS, connections, rounds, sessions: SESSIONS },
    results: { bare, bsf, runs: result.runs, ratio, targetRatio: TARGET_RATIO, meetsTarget: ratio >= TARGET_RATIO },
  });
  process.stdout.write(`wrote ${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench bsf-zn: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
