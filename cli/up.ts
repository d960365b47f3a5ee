// `gba up`: every NF in one process, started in dependency order, one ready line on stdout.
import type { GbaConfig } from "../nf/config.js";
import type { RunningNf } from "../nf/common/nf.js";
import { COMMON_HELP, configFromFlags, runNfs, standardReadyLine } from "./nf-runner.js";
import type { Command } from "./usage.js";

type Starter = (cfg: GbaConfig, started: RunningNf[]) => Promise<RunningNf>;

export function urlOf(started: RunningNf[], nf: string, listener: string): string | undefined {
  return started.find((n) => n.name === nf)?.urls[listener];
}

/** The NFs of `gba up`, in start order; each starter wires itself to the URLs of those before it. */
export const UP_STARTERS: Array<() => Promise<Starter>> = [
  // one line per NF; later NFs read the URLs of earlier ones with urlOf()
  async () => (await import("../nf/hss/index.js")).hssStarter,
  async () => {
    const { startBsf } = await import("../nf/bsf/index.js");
    return (cfg, started) => startBsf({ ...cfg, bsf: { ...cfg.bsf, hssUrl: urlOf(started, "hss", "zh") ?? cfg.bsf.hssUrl } });
  },
  async () => {
    const { startNaf } = await import("../nf/naf/index.js");
    return (cfg, started) => startNaf({ ...cfg, naf: { ...cfg.naf, bsfUrl: urlOf(started, "bsf", "zn") ?? cfg.naf.bsfUrl } });
  },
  async () => {
    const { startEca } = await import("../nf/eca/index.js");
    return (cfg, started) => startEca({ ...cfg, eca: { ...cfg.eca, bsfUrl: urlOf(started, "bsf", "zn") ?? cfg.eca.bsfUrl } });
  },
];

export const up: Command = {
  summary: "start every NF (HSS, BSF, NAF, ECA) in one process and print the ready line",
  help: `usage: gba up [options]

Starts every network function in this process and prints, once every listener accepts
connections, exactly one JSON line on stdout:
  {"ready":true,"hss":{"zh":URL,"admin":URL},"bsf":{"ub":URL,"zn":URL,"fqdn":NAME},...}
Logs go to stderr. Stop with Ctrl-C (SIGINT) or SIGTERM.

${COMMON_HELP}`,
  async run(argv) {
    const { cfg } = configFromFlags(argv);
    const starters = await Promise.all(UP_STARTERS.map((load) => load()));
    return runNfs(starters, cfg, standardReadyLine);
  },
};
