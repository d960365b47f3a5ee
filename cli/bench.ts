// `gba bench`: the benchmarks with their same-run baselines (bench/), against our own NFs or an
// external BSF / NAF / ECA.
import { BENCHES } from "../bench/index.js";
import { BenchSetupError, type BenchOptions, defaultOptions } from "../bench/lib/options.js";
import { textReport } from "../bench/lib/render.js";
import { benchRedisStore } from "../bench/lib/store-compare.js";
import { writeJson } from "../bench/lib/report.js";
import { type Command, type FlagValues, parseFlags, UsageError } from "./usage.js";

const HELP = `usage: gba bench <benchmark> [options]
       gba bench all [--duration S] [--out DIR] [--large-store N]

Every benchmark measures its baseline in the same run on the same machine and prints
throughput, p50/p95/p99/max latency, errors by cause and the ratio to the baseline:

${Object.entries(BENCHES)
  .map(([name, b]) => `  ${name.padEnd(9)} ${b.summary}`)
  .join("\n")}
  all       all of them (ub and ua also with --workers 2), then DIR/bench.md (Markdown table)
            and DIR/bench.html (report with latency histograms); default DIR bench/out;
            --only a,b,... runs those only

Our own NFs run as \`gba\` child processes (the load generator never shares their event loop);
--target points ub, zn, ua, tls-psk and enrol at any external node instead.

options:
  --duration S        measured seconds per system, split over the rounds (default 5)
  --rounds N          interleaved rounds per system (default 3; 1 when --duration < 3)
  --warmup S          untimed warm-up per system (default 1)
  --connections N     concurrent connections / loops (default 32)
  --rate R            offered load in operations/s over all connections (ub: bootstraps/s; hss: the
                      load both stores get for the p99 comparison); default: as fast as answered
  --out FILE          JSON result (default bench/out/<benchmark>.json; a directory for "all")
  --workers N         BSF (ub, zn) or NAF (ua, tls-psk) worker processes, node:cluster (default 1)
  --only a,b,...      with "all": these benchmarks only
  --target URL        an external BSF (Ub or Zn), NAF or ECA instead of our own (below)
  --bsf URL           with --target: the Ub URL the UEs bootstrap at
  --usim FILE         with --target: a simulated USIM of a subscriber of that HSS (repeatable)
  --subscribers CSV   with --target ub or zn: subscribers in the HSS import format instead
  --zn-token T        with --target zn: the bearer token of a NAF the BSF knows
  --naf-fqdn NAME     with --target zn or tls-psk: the NAF FQDN of NAF_Id
  --binding B         zn only: sbi (default) or diameter: BIR/BIA lookups at our BSF's Diameter Zn
                      against a bare Diameter echo over the same codec (target ≥ 0.8) and the
                      same-run SBI lookups
  --obu ID            with --target enrol: the OBU bound to the subscriber's MSISDN
  --store redis://HOST:PORT[,HOST:PORT…]
                      ub, zn: run the built-in HSS and BSF a second time with their state on this
                      Redis Cluster (a key prefix of their own) and report it against the LMDB run
                      of the same run: Redis ÷ LMDB, and CPU µs per operation of the HSS, the BSF
                      and the cluster's primaries for both; hss: the same for an HSS with the
                      small store's subscribers on the cluster (Zh AVs, SEQ_HE advanced, and GUSS
                      reads); each also reports the Redis commands per operation

external targets (--target URL):
  ub       --target UB_URL (--usim FILE... | --subscribers CSV): GBA_ME subscribers provisioned
           in that HSS; the CSV is the HSS import format (columns impi, k, opc or op). Each
           subscriber runs one bootstrap at a time, so connections ≤ subscribers. SQN arrays
           of --usim files are written back.
  zn       --target ZN_URL --bsf UB_URL (--usim FILE... | --subscribers CSV) --zn-token T
           --naf-fqdn NAME: bootstraps each subscriber once, then looks the B-TIDs up.
  ua       --target NAF_URL[/path] --bsf UB_URL --usim FILE: bootstraps once, then Digest
           requests with nc incrementing (default path /whoami).
  tls-psk  --target https://NAF:PORT --bsf UB_URL --usim FILE [--naf-fqdn NAME]
  enrol    --target ECA_URL --bsf UB_URL --usim FILE --obu ID (bound to the subscriber's MSISDN)

hss and sessions:
  --small-store N     subscribers in the small HSS store (default 1000)
  --large-store N     subscribers in the large HSS store (default 1000000; "all": 100000)
  --store-dir DIR     where HSS stores are built once and reused (default <tmp>/gba-bench-stores)
  --sessions N        bootstrap sessions for "sessions" (default 100000)

dashboard:
  --browser           follow the page in Debian's chromium (Live tab, charts drawing) instead of
                      reading its live stream; chromium then shares the cores with the NFs

Profiling: GBA_BENCH_CPU_PROF=DIR runs every process the bench starts under node --cpu-prof,
one directory of .cpuprofile files per process under DIR.

Exit status: 0 done (targets missed are reported, not failures); 1 a benchmark failed; 2 bad usage.`;

const FLAGS = {
  duration: { type: "string" },
  rounds: { type: "string" },
  warmup: { type: "string" },
  connections: { type: "string" },
  rate: { type: "string" },
  target: { type: "string" },
  out: { type: "string" },
  workers: { type: "string" },
  bsf: { type: "string" },
  usim: { type: "string", multiple: true },
  subscribers: { type: "string" },
  "zn-token": { type: "string" },
  "naf-fqdn": { type: "string" },
  obu: { type: "string" },
  "small-store": { type: "string" },
  "large-store": { type: "string" },
  "store-dir": { type: "string" },
  sessions: { type: "string" },
  only: { type: "string" },
  browser: { type: "boolean" },
  binding: { type: "string" },
  store: { type: "string" },
} as const;

function num(values: FlagValues, flag: string, o: { integer?: boolean; min: number }): number | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < o.min || (o.integer && !Number.isInteger(n)))
    throw new UsageError(`--${flag}: expected ${o.integer ? "an integer" : "a number"} ≥ ${o.min}, got "${String(v)}"`);
  return n;
}

function url(values: FlagValues, flag: string): string | undefined {
  const v = values[flag] as string | undefined;
  if (v === undefined) return undefined;
  try {
    const u = new URL(v);
    if (u.protocol === "http:" || u.protocol === "https:") return v;
  } catch {}
  throw new UsageError(`--${flag}: "${v}" is not an http:// or https:// URL`);
}

/** The benchmarks that run the built-in NFs a second time on a Redis Cluster (--store). */
const STORE_BENCHES = ["ub", "zn", "hss"];

export function benchOptions(values: FlagValues, all: boolean): BenchOptions {
  const o = defaultOptions();
  o.durationS = num(values, "duration", { min: 0.1 }) ?? o.durationS;
  o.rounds = num(values, "rounds", { integer: true, min: 1 }) ?? (o.durationS < 3 ? 1 : o.rounds);
  o.warmupS = num(values, "warmup", { min: 0 }) ?? o.warmupS;
  o.connections = num(values, "connections", { integer: true, min: 1 }) ?? o.connections;
  o.rate = num(values, "rate", { min: 0.1 });
  o.workers = num(values, "workers", { integer: true, min: 1 }) ?? o.workers;
  o.target = url(values, "target");
  o.bsf = url(values, "bsf");
  o.usims = (values.usim as string[] | undefined) ?? [];
  o.subscribers = values.subscribers as string | undefined;
  o.znToken = values["zn-token"] as string | undefined;
  o.nafFqdn = values["naf-fqdn"] as string | undefined;
  o.obu = values.obu as string | undefined;
  o.smallStore = num(values, "small-store", { integer: true, min: 1 }) ?? o.smallStore;
  o.largeStore = num(values, "large-store", { integer: true, min: 1 }) ?? (all ? 100_000 : o.largeStore);
  o.storeDir = (values["store-dir"] as string | undefined) ?? o.storeDir;
  o.sessions = num(values, "sessions", { integer: true, min: 1 }) ?? o.sessions;
  o.browser = values.browser === true;
  const binding = values.binding as string | undefined;
  if (binding !== undefined && binding !== "sbi" && binding !== "diameter")
    throw new UsageError(`--binding: "${binding}" is not sbi or diameter`);
  o.binding = binding ?? o.binding;
  if (values.store !== undefined) {
    if (o.target) throw new UsageError("--store runs the built-in NFs on a Redis Cluster; it does not go with --target");
    try {
      o.store = benchRedisStore(values.store as string);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return o;
}

export const bench: Command = {
  summary: "benchmarks with same-run baselines: ub, zn, ua, tls-psk, enrol, x509, milenage, hss, sessions, all",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, FLAGS, true);
    const [name, ...extra] = positionals;
    if (name === undefined) throw new UsageError(`which benchmark? ${[...Object.keys(BENCHES), "all"].join(", ")}`);
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const all = name === "all";
    const b = BENCHES[name];
    if (!all && !b) throw new UsageError(`unknown benchmark "${name}"; one of ${[...Object.keys(BENCHES), "all"].join(", ")}`);
    const o = benchOptions(values, all);
    if (o.target && (all || !b.external)) throw new UsageError(`--target: bench ${name} runs against our own NFs only`);
    if (values.only !== undefined && !all) throw new UsageError("--only goes with bench all");
    if (values.binding !== undefined && name !== "zn") throw new UsageError("--binding goes with bench zn");
    if (o.store && !STORE_BENCHES.includes(name))
      throw new UsageError(`--store goes with bench ${STORE_BENCHES.join(", ")}, not ${name}`);
    if (o.store && o.binding === "diameter")
      throw new UsageError("--store goes with the SBI Zn of bench zn, not --binding diameter");
    if (all) {
      const { ALL_PLAN, benchAll } = await import("../bench/all.js");
      const only = values.only === undefined ? undefined : (values.only as string).split(",").filter(Boolean);
      const unknown = only?.find((n) => !BENCHES[n]);
      if (unknown !== undefined) throw new UsageError(`--only: unknown benchmark "${unknown}"`);
      const plan = only ? ALL_PLAN.filter(([n]) => only.includes(n)) : ALL_PLAN;
      const { failures } = await benchAll(o, (values.out as string | undefined) ?? "bench/out", plan);
      return failures.length ? 1 : 0;
    }
    let result: Awaited<ReturnType<typeof b.run>>;
    try {
      result = await b.run(o);
    } catch (err) {
      if (err instanceof BenchSetupError) throw new UsageError(err.message);
      throw err;
    }
    process.stdout.write(textReport(result));
    const out = (values.out as string | undefined) ?? `bench/out/${name}.json`;
    await writeJson(out, result);
    process.stdout.write(`wrote ${out}\n`);
    return 0;
  },
};
