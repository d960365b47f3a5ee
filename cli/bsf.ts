// `gba bsf`: the BSF alone (Ub and Zn listeners), talking Zh to an HSS given by URL.
import type { GbaConfig } from "../nf/config.js";
import { asWorker, isClusterWorker, runPrimary, WORKERS_HELP, workersFlag } from "./cluster.js";
import { COMMON_HELP, configFromFlags, runNfs, standardReadyLine } from "./nf-runner.js";
import { type Command, dnsNameFlag, httpUrlFlag, UsageError } from "./usage.js";

const ALGORITHMS = new Set<GbaConfig["bsf"]["algorithm"]>(["AKAv1-MD5", "AKAv2-MD5"]);

export const bsf: Command = {
  summary: "start the BSF alone (Ub bootstrapping, Zn key retrieval)",
  help: `usage: gba bsf [options]

Starts the BSF (TS 33.220): Ub on bsf.ub (GET / with HTTP Digest AKA, TS 24.109), Zn on
bsf.zn (POST /nbsp-gba/v1/bootstrapping-info-retrieval, TS 29.309), and asks the HSS for
vectors and GUSS over Zh at bsf.hssUrl. Prints one ready line on stdout:
  {"ready":true,"bsf":{"ub":URL,"zn":URL,"fqdn":NAME}}
Bootstrap sessions and pending challenges are kept in DATA/bsf/.

bsf options:
  --hss URL             Zh base URL of the HSS (overrides bsf.hssUrl, default http://127.0.0.1:7001)
  --fqdn NAME           BSF FQDN: Ub realm and B-TID suffix (overrides bsf.fqdn)
  --algorithm ALG       AKAv1-MD5 (default) or AKAv2-MD5 (overrides bsf.algorithm)
${WORKERS_HELP}
                        BSF workers keep nothing per process: pending challenges and sessions are
                        in DATA/bsf/, so a challenge may be answered on any worker

Other settings (config file, section "bsf"): sessionLifetime (s, when the GUSS names none),
nonceTtl (s), zhTimeoutMs, zhGussCheck (true: the GUSS comes with the vector when it changed, one Zh
exchange per bootstrap), gussCacheEntries (GUSSs held for it per process, 20000), nafs (the NAFs
allowed on Zn: id, token, fqdns, group, gbaUAware).

${COMMON_HELP}`,
  async run(argv) {
    const { cfg, values, pcap } = configFromFlags(argv, {
      hss: { type: "string" },
      fqdn: { type: "string" },
      algorithm: { type: "string" },
      workers: { type: "string" },
    });
    const workers = workersFlag(values.workers);
    if (pcap && workers > 1) throw new UsageError("--pcap records one process: use it without --workers");
    if (values.hss !== undefined) cfg.bsf.hssUrl = httpUrlFlag("hss", values.hss as string);
    if (values.fqdn !== undefined) {
      cfg.bsf.fqdn = dnsNameFlag("fqdn", values.fqdn as string);
    }
    if (values.algorithm !== undefined) {
      const alg = values.algorithm as GbaConfig["bsf"]["algorithm"];
      if (!ALGORITHMS.has(alg)) throw new UsageError(`--algorithm: "${alg}" is not AKAv1-MD5 or AKAv2-MD5`);
      cfg.bsf.algorithm = alg;
    }
    if (workers > 1 && !isClusterWorker()) return runPrimary("bsf", workers);
    const { startBsf } = await import("../nf/bsf/index.js");
    const run = runNfs([(c, _s, d) => startBsf(c, d)], cfg, standardReadyLine, pcap);
    return workers > 1 ? asWorker(run) : run;
  },
};
