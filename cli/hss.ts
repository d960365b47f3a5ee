// `gba hss`: the HSS alone in this process, with the ready line of `gba up` for one NF.
import { COMMON_HELP, configFromFlags, runNfs, standardReadyLine } from "./nf-runner.js";
import type { Command } from "./usage.js";

export const hss: Command = {
  summary: "start the HSS (Zh and provisioning API) and print the ready line",
  help: `usage: gba hss [options]

Starts the HSS and prints, once both listeners accept connections, one JSON line on stdout:
  {"ready":true,"hss":{"zh":URL,"admin":URL}}
Logs go to stderr. Stop with Ctrl-C (SIGINT) or SIGTERM. Exit 1 when the store or the
configuration is refused (e.g. "master key does not match this store"), 2 on a bad flag.

${COMMON_HELP}

Zh (TS 29.562 shapes, default 127.0.0.1:7001):
  POST /nhss-gba-ueau/v1/{ueId}/security-information/generate-auth-data   one 3G AKA vector
  GET  /nhss-gba-sdm/v1/{ueId}/subscriber-data                            the GUSS
  ueId: the IMPI, imsi-<digits> or msisdn-<digits>
Provisioning API (default 127.0.0.1:7002; bearer token required when hss.admin.token is set):
  GET /subscribers?limit=N&after=IMPI   POST /subscribers   POST /subscribers/import[?skipInvalid=true]
  GET|PATCH|DELETE /subscribers/{impi}  GET /subscribers/{impi}/auth-failures   GET /status

configuration (--config FILE, key: default):
  hss.zh.host, hss.zh.port          127.0.0.1, 7001
  hss.admin.host, hss.admin.port    127.0.0.1, 7002; a non-loopback host needs hss.admin.token
  hss.admin.token                   bearer token of the provisioning API (16+ characters)
  hss.indBits                       5: IND length of SQN = SEQ || IND (TS 33.102 Annex C); fixed per store
  hss.zhInd                         1: IND of the vectors handed out over Zh
  hss.defaultAmf                    0000: AMF of subscribers provisioned without one (separation
                                    bit 0: Zh vectors are not E-UTRAN vectors, TS 33.401 §6.1.2)
  hss.sqnCheckpointSeconds          60: each new SEQ_HE is journaled; this often the journal is
                                    folded into the per-subscriber table (also at stop)
  hss.sqnLogMax                     100000: journal entries that start a checkpoint early

environment:
  GBA_MASTER_KEY    64 hex digits: the AES-256-GCM key sealing K and OPc; without it the key is
                    DIR/hss/master.key, created with mode 0600 on first start`,
  async run(argv) {
    const { cfg, pcap } = configFromFlags(argv);
    const { hssStarter } = await import("../nf/hss/index.js");
    return runNfs([hssStarter], cfg, standardReadyLine, pcap);
  },
};
