// `gba up`: every NF in one process, started in dependency order, one ready line on stdout.
import { defaultConfig, type GbaConfig } from "../nf/config.js";
import type { NfDeps } from "../nf/common/deps.js";
import { peerAt } from "../nf/common/diameter/config.js";
import type { RunningNf } from "../nf/common/nf.js";
import { DASHBOARD_FLAGS, DASHBOARD_HELP } from "./dashboard-flags.js";
import { COMMON_HELP, configFromFlags, runNfs, standardReadyLine } from "./nf-runner.js";
import type { Command } from "./usage.js";

/** Starts one NF; deps.events is the dashboard's event bus with `--dashboard`. */
export type Starter = (cfg: GbaConfig, started: RunningNf[], deps?: Partial<NfDeps>) => Promise<RunningNf>;

export function urlOf(started: RunningNf[], nf: string, listener: string): string | undefined {
  return started.find((n) => n.name === nf)?.urls[listener];
}

/** The NFs of `gba up`, in start order; each starter wires itself to the URLs of those before it. */
export const UP_STARTERS: Array<() => Promise<Starter>> = [
  // one line per NF; later NFs read the URLs of earlier ones with urlOf()
  async () => {
    const { startHss } = await import("../nf/hss/index.js");
    return (cfg, _started, deps) => startHss(cfg, deps);
  },
  async () => {
    const { startBsf } = await import("../nf/bsf/index.js");
    return (cfg, started, deps) => {
      const hss = peerAt(cfg.bsf.diameter.hss, urlOf(started, "hss", "zhDiameter"));
      const hssUrl = urlOf(started, "hss", "zh") ?? cfg.bsf.hssUrl;
      return startBsf({ ...cfg, bsf: { ...cfg.bsf, hssUrl, diameter: { ...cfg.bsf.diameter, hss } } }, deps);
    };
  },
  async () => {
    const { startNaf } = await import("../nf/naf/index.js");
    return (cfg, started, deps) => startNaf({ ...cfg, naf: wiredToBsf(cfg.naf, started) }, deps);
  },
  async () => {
    const { startEca } = await import("../nf/eca/index.js");
    return (cfg, started, deps) => startEca({ ...cfg, eca: wiredToBsf(cfg.eca, started) }, deps);
  },
];

/** What each listener of `gba up` serves; its default port comes from the configuration. */
const LISTENERS: Record<string, string> = {
  "hss.zh":
    "Zh (TS 29.562): POST /nhss-gba-ueau/v1/{ueId}/security-information/generate-auth-data,\n" +
    "GET /nhss-gba-sdm/v1/{ueId}/subscriber-data",
  "hss.admin": "provisioning API: /subscribers (gba hss --help)",
  "hss.diameter": "Zh over Diameter (TS 29.109 MAR/MAA), peers hss.diameter.peers",
  "bsf.ub": "Ub (TS 24.109 §4): GET / with HTTP Digest AKA; realm bsf.fqdn",
  "bsf.zn": "Zn (TS 29.309): POST /nbsp-gba/v1/bootstrapping-info-retrieval, bearer token of bsf.nafs",
  "bsf.diameter": "Zn over Diameter (TS 29.109 BIR/BIA), the originHost of each bsf.nafs entry",
  "naf.http": "Ua over HTTP Digest (TS 24.109 §5): GET /whoami answers the authenticated identity as JSON",
  "naf.tlsPsk": "Ua over TLS-PSK (TS 33.222 §5.4): GET /whoami; NAF_Id uses naf.fqdn",
  "eca.http": "IoT.04 Enrolment CA over Digest: POST /enrol, GET /ca.pem, GET /certificates, GET /bindings",
  "eca.tlsPsk": "the Enrolment CA over TLS-PSK",
};

/** `gba up --help`: the whole ready line, the listeners with their default ports, the config sections. */
function upHelp(): string {
  const cfg = defaultConfig() as unknown as Record<string, unknown>;
  const listeners: string[] = [];
  const sections: string[] = [];
  for (const [name, section] of Object.entries(cfg)) {
    if (typeof section !== "object" || section === null) {
      sections.push(
        `  ${name.padEnd(10)} default ${JSON.stringify(section)}${name === "data" ? " (--data)" : name === "logLevel" ? " (--log-level)" : ""}`,
      );
      continue;
    }
    sections.push(`  ${name.padEnd(10)} ${Object.keys(section).join(", ")}`);
    for (const [key, v] of Object.entries(section)) {
      // an HTTP listener's section has a port, a Diameter section its listen address
      const l = v as { port?: unknown; listen?: { port?: unknown } } | null;
      const port = l?.port ?? l?.listen?.port;
      if (typeof port !== "number") continue;
      const what = (LISTENERS[`${name}.${key}`] ?? "").split("\n");
      listeners.push(
        `  ${`${name}.${key}`.padEnd(12)} ${String(port).padEnd(5)} ${what[0]}`,
        ...what.slice(1).map((l) => `${" ".repeat(21)}${l}`),
      );
    }
  }
  return `usage: gba up [--data DIR] [--config FILE] [--ephemeral-ports] [--log-level LEVEL] [--dashboard] [--pcap FILE [--pcap-keys]]

Starts the HSS, BSF, NAF and ECA in this process, in that order, each wired to the URLs of the
ones before it, and prints, once every listener accepts connections, exactly one JSON line on
stdout:
  {"ready":true,"hss":{"zh":URL,"admin":URL,"zhDiameter":NAME},"bsf":{"ub":URL,"zn":URL,"znDiameter":NAME,"fqdn":NAME},"naf":{"http":URL,"tlsPsk":URL,"fqdn":NAME},"eca":{"url":URL,"tlsPsk":URL},"diameter":{"realm":NAME,"hssHost":NAME,"bsfHost":NAME}}
(zhDiameter and znDiameter are "host:port"; "diameter" names the operator's realm and the
Origin-Host of each NF that speaks Diameter: a NAF or ECA set to zn "diameter" adds its own)
Logs go to stderr; each NF logs its absolute data root when it is ready ("HSS ready" also
counts the subscribers). Stop with Ctrl-C (SIGINT) or SIGTERM. A first run: the README's
"Walk-through".

listeners (host 127.0.0.1 unless the config says otherwise; --ephemeral-ports picks free ports):
${listeners.join("\n")}

configuration sections (--config FILE, YAML or JSON over the defaults; an unknown key or a wrong
type is refused with its path; README "Configuration", gba hss|bsf|naf --help):
${sections.join("\n")}

${COMMON_HELP}
${DASHBOARD_HELP}`;
}

/** A NAF application's section pointed at the BSF's Zn listeners (SBI and Diameter). */
function wiredToBsf<C extends { bsfUrl: string; diameter: { peer: { host: string; port: number } } }>(
  c: C,
  started: RunningNf[],
): C {
  const peer = peerAt(c.diameter.peer, urlOf(started, "bsf", "znDiameter"));
  return { ...c, bsfUrl: urlOf(started, "bsf", "zn") ?? c.bsfUrl, diameter: { ...c.diameter, peer } };
}

export const up: Command = {
  summary: "start every NF (HSS, BSF, NAF, ECA) in one process and print the ready line",
  get help() {
    return upHelp();
  },
  async run(argv) {
    const { cfg, values, pcap } = configFromFlags(argv, DASHBOARD_FLAGS);
    const starters = await Promise.all(UP_STARTERS.map((load) => load()));
    if (values.dashboard || values["dashboard-listen"] !== undefined) {
      return (await import("./dashboard.js")).upWithDashboard(starters, cfg, values, pcap);
    }
    return runNfs(starters, cfg, standardReadyLine, pcap);
  },
};
