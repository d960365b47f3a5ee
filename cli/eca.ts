// `gba eca`: the IoT.04 Enrolment CA alone in this process (it reaches the BSF at eca.bsfUrl).
import { COMMON_HELP, configFromFlags, runNfs, standardReadyLine } from "./nf-runner.js";
import type { Command } from "./usage.js";

export const eca: Command = {
  summary: "start the IoT.04 Enrolment CA (GBA-authenticated CSR in, enrolment certificate out)",
  help: `usage: gba eca [options]

Starts the Enrolment CA on its HTTP Digest listener (eca.http) and its TLS-PSK listener
(eca.tlsPsk); it asks the BSF at eca.bsfUrl over Zn. Prints one JSON line when ready:
  {"ready":true,"eca":{"url":URL,"tlsPsk":URL}}
Resources: POST /enrol (PKCS#10, application/x-pkcs10 or application/pkcs10, DER, base64
or PEM; answers application/pkix-cert), GET /ca.pem, GET /getcertificate?in=B64,
GET /certificates (newest first) and GET /bindings (by OBU ID), loopback clients only, a
page at a time (?limit=N, ?after=NEXT). Adding bindings: \`gba provision vehicle --help\`.

${COMMON_HELP}`,
  async run(argv) {
    const { cfg, pcap } = configFromFlags(argv);
    const { startEca } = await import("../nf/eca/index.js");
    return runNfs([(c, _s, d) => startEca(c, d)], cfg, standardReadyLine, pcap);
  },
};
