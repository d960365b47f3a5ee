// `gba scenario run|validate`: scenario files (YAML, scenarios/scenario.schema.json).
import { accessSync, constants, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ScenarioError } from "../scenarios/load.js";
import { ProvisioningError } from "../scenarios/errors.js";
import { BACKENDS, type Backend, TopologyError } from "../scenarios/topology/types.js";
import type { ScenarioFeed } from "../dashboard/scenario-feed.js";
import type { EventBus } from "../nf/common/events.js";
import { pcapFromFlags } from "./nf-runner.js";
import { type Command, type FlagValues, parseFlags, requireString, synopsis, UsageError } from "./usage.js";

const RUN_HELP = `usage: gba scenario run FILE [--backend B] [--devices N] [--load | --no-load] [--report FILE|-]
       [--diagram FILE] [--diagram-device OBU] [--quiet] [--keep] [--dashboard] [--dashboard-listen HOST:PORT]
       [--pcap FILE [--pcap-keys]] [--timing-advisory]

Provisions a fresh test bed in a temporary directory (subscribers into the HSS, vehicle
bindings into the ECA, one simulated USIM per OBU), starts the NFs, runs every OBU's flow
(functional phase), then the load phase, and prints one row per OBU and the figures. Exit 0
only when every assertion holds, 1 when one fails, 2 when the file or a flag is invalid (then
nothing is started; output paths are checked first too).
  --backend B           inprocess (default): every NF in this process on ephemeral ports
                        process: each NF as a \`gba hss|bsf|naf|eca\` child process
                        netns: each NF and the UEs in their own network namespace (Linux, root)
                        container: needs Docker or podman (skipped with one line without)
                        multi-host: replicas in network namespaces behind HAProxy, stores on a
                        Redis Cluster (Linux, root, redis-server, haproxy; topology.multiHost)
  --devices N           OBUs shared among the device groups without a count (scenario deviceCount)
  --load, --no-load     run the load phase (a 5/s, 5 s one if the scenario has none) / skip it
  --report FILE|-       report: per-step counts and latency percentiles, load figures (offered,
                        achieved, CPU µs per flow for each process), provisioning times,
                        peak RSS per process, failures with their reasons, assertions (no
                        key material); JSON ("-" writes it to stdout
                        and the summary to stderr); a FILE ending in .md is Markdown, one ending
                        in .html a self-contained page with the same charts as the dashboard
  --dashboard           serve the dashboard (URL on stderr): the run's progress, then its report;
                        it stays up after the run until Ctrl-C, and the exit status is the run's.
                        With the inprocess backend its Live and Ladder tabs show the NFs' events
  --dashboard-listen HOST:PORT  its listener (default 127.0.0.1 on a free port; beyond loopback
                        it needs GBA_DASHBOARD_TOKEN)
  --diagram FILE        Mermaid sequence diagram of one OBU's flow; FILE.md gets it as a
                        \`\`\`mermaid block (GitHub renders that), any other name bare Mermaid
  --diagram-device OBU  the OBU whose flow --diagram draws (default the first, e.g. OBU-0001)
  --quiet               no live progress and no per-OBU table: the figures and the verdict only
  --keep                keep the temporary directory (data, USIM files, NF logs) and print it
  --pcap FILE           write every Ub, Ua, Zh and Zn message of the run to FILE as pcapng
                        (inprocess backend), key material zeroed; open it with
                        tshark -r FILE --enable-heuristic diameter_tcp
  --pcap-keys           keep the key material in the capture (said on stderr)
  --timing-advisory     latency and rate assertions are checked and printed (WARN when missed)
                        but do not fail the run: for CI on shared machines, where speed
                        measures the machine; every other assertion still decides the verdict`;

const VALIDATE_HELP = `usage: gba scenario validate FILE

Checks FILE against the schema (scenarios/scenario.schema.json) and its references (CSV files,
subscribers, steps). A YAML syntax error is shown once, with its line and column; a schema
problem names the line, the column and the field, and an unknown field the known one it is
closest to. Exit 0 valid, 2 invalid.`;

const HELP = `usage: gba scenario <run|validate> FILE [options]

${synopsis(RUN_HELP)}
        provisions and starts a test bed, runs every OBU's flow and the load phase, judges the run
${synopsis(VALIDATE_HELP)}
        checks a scenario file only

\`gba scenario run --help\` and \`gba scenario validate --help\` show each in full.`;

function positiveInt(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^[1-9][0-9]*$/.test(String(v)) || n > 100_000)
    throw new UsageError(`--${flag}: expected a whole number 1..100000, got "${String(v)}"`);
  return n;
}

/** An output path must be writable before anything starts, not after the whole run. */
function checkWritable(flag: string, path: string): void {
  const full = resolve(path);
  const dir = dirname(full);
  const refuse = (why: string) => {
    throw new UsageError(`--${flag}: cannot write ${path}: ${why}`);
  };
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(full);
  } catch {
    // not there yet: its directory must be
  }
  if (st?.isDirectory()) refuse("it is a directory");
  try {
    if (!statSync(dir).isDirectory()) refuse(`${dir} is not a directory`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    refuse(`directory ${dir} does not exist`);
  }
  try {
    accessSync(st ? full : dir, constants.W_OK);
  } catch {
    refuse(st ? "permission denied" : `directory ${dir} is not writable`);
  }
}

function scenarioFile(positionals: string[]): string {
  if (positionals.length !== 1)
    throw new UsageError(positionals.length ? `one FILE expected, got ${positionals.join(" ")}` : "missing FILE");
  return positionals[0];
}

async function validate(argv: string[]): Promise<number> {
  const { positionals } = parseFlags(argv, {}, true);
  const file = scenarioFile(positionals);
  const { loadScenario } = await import("../scenarios/load.js");
  const s = loadScenario(file);
  process.stdout.write(`${file}: valid scenario "${s.name}" (${s.devices.length} device groups)\n`);
  return 0;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      backend: { type: "string" },
      devices: { type: "string" },
      load: { type: "boolean" },
      "no-load": { type: "boolean" },
      report: { type: "string" },
      diagram: { type: "string" },
      "diagram-device": { type: "string" },
      quiet: { type: "boolean" },
      keep: { type: "boolean" },
      dashboard: { type: "boolean" },
      "dashboard-listen": { type: "string" },
      pcap: { type: "string" },
      "pcap-keys": { type: "boolean" },
      "timing-advisory": { type: "boolean" },
    },
    true,
  );
  const pcap = pcapFromFlags(values);
  const file = scenarioFile(positionals);
  const backend = values.backend as string | undefined;
  if (backend !== undefined && !BACKENDS.includes(backend as Backend)) {
    throw new UsageError(`--backend: "${backend}" is not one of ${BACKENDS.join(", ")}`);
  }
  if (values.load && values["no-load"]) throw new UsageError("give --load or --no-load, not both");
  for (const f of ["report", "diagram", "diagram-device"]) if (values[f] !== undefined) requireString(values, f);
  for (const f of ["report", "diagram"]) if (values[f] !== undefined && values[f] !== "-") checkWritable(f, values[f] as string);
  if (values.diagram === "-") throw new UsageError("--diagram: give a FILE (.mmd, or .md for a fenced block); - is for --report");
  const board = values.dashboard || values["dashboard-listen"] !== undefined ? await scenarioDashboard(values) : undefined;
  const { runScenario } = await import("../scenarios/run.js");
  const stop = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write("\ngba scenario: interrupted, stopping (Ctrl-C again to quit at once)\n");
    stop.abort();
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  let code: number;
  try {
    code = await runScenario(file, {
      dashboard: board?.show,
      backend: backend as Backend | undefined,
      devices: positiveInt("devices", values.devices),
      load: values.load ? true : values["no-load"] ? false : undefined,
      report: values.report as string | undefined,
      diagram: values.diagram as string | undefined,
      diagramDevice: values["diagram-device"] as string | undefined,
      quiet: values.quiet === true,
      keep: values.keep === true,
      pcap,
      timingAdvisory: values["timing-advisory"] === true,
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      tty: process.stderr.isTTY === true,
      signal: stop.signal,
    });
  } catch (err) {
    await board?.close();
    if (err instanceof TopologyError) {
      process.stderr.write(`gba scenario: ${err.message}\n`);
      return 1;
    }
    // the scenario's subscribers or bindings contradict each other: found before any NF starts
    if (err instanceof ProvisioningError) {
      process.stderr.write(`gba scenario: ${file}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
  }
  if (board) await board.stayUntilInterrupted();
  return code;
}

/** --dashboard: a dashboard for the run's feed; after the run it serves the report until Ctrl-C. */
async function scenarioDashboard(values: FlagValues) {
  const { parseListen } = await import("./dashboard.js");
  const { startDashboard } = await import("../dashboard/server.js");
  const listen =
    typeof values["dashboard-listen"] === "string"
      ? parseListen(values["dashboard-listen"], "dashboard-listen")
      : { host: "127.0.0.1", port: 0 };
  let running: Awaited<ReturnType<typeof startDashboard>> | undefined;
  return {
    async show(feed: ScenarioFeed, events?: EventBus) {
      running = await startDashboard({
        listen,
        token: process.env.GBA_DASHBOARD_TOKEN || undefined,
        scenario: feed,
        events,
        logLevel: "silent",
        title: `scenario ${(feed.snapshot() as { name: string }).name}`,
      });
      process.stderr.write(`gba scenario: dashboard at ${running.url}/#scenario\n`);
    },
    async stayUntilInterrupted() {
      if (!running) return;
      process.stderr.write(`gba scenario: the report stays on the dashboard at ${running.url}/#scenario; Ctrl-C to quit\n`);
      await new Promise((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await running.close();
    },
    async close() {
      await running?.close();
    },
  };
}

export const scenario: Command = {
  summary: "run or validate a scenario file (test bed + OBU flows + load phase + assertions)",
  help: HELP,
  subcommands: { run: RUN_HELP, validate: VALIDATE_HELP },
  async run(argv) {
    const [sub, ...rest] = argv;
    try {
      if (sub === "run") return await run(rest);
      if (sub === "validate") return await validate(rest);
    } catch (err) {
      if (err instanceof ScenarioError) {
        process.stderr.write(`gba scenario: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    throw new UsageError(
      sub === undefined ? "missing subcommand: run or validate" : `unknown subcommand "${sub}": run or validate`,
    );
  },
};
