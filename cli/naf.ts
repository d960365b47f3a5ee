// `gba naf`: the NAF alone (Ua over HTTP Digest and PSK-TLS), asking a BSF over Zn; optionally an
// authenticating reverse proxy in front of an existing service.
import { randomBytes } from "node:crypto";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import type { GbaConfig } from "../nf/config.js";
import { asWorker, isClusterWorker, runPrimary, sharedFromPrimary, WORKERS_HELP, workersFlag } from "./cluster.js";
import { COMMON_HELP, configFromFlags, runNfs, standardReadyLine } from "./nf-runner.js";
import { type Command, dnsNameFlag, httpUrlFlag, UsageError } from "./usage.js";

const ALGORITHMS = new Set<GbaConfig["naf"]["digestAlgorithm"]>(["MD5", "SHA-256"]);
const REALMS = new Set<GbaConfig["naf"]["realms"]>(["gba-me", "gba-u", "both"]);

export const naf: Command = {
  summary: "start the NAF alone (GBA Digest + TLS-PSK on Ua), optionally as an authenticating proxy",
  help: `usage: gba naf [options]

Starts the NAF (TS 33.220 / TS 24.109 §5 / TS 33.222): HTTP Digest on naf.http (username =
B-TID, password = base64(Ks_NAF), realm 3GPP-bootstrapping@<fqdn>) and PSK-TLS on naf.tlsPsk
(psk_identity 3GPP-bootstrapping.<B-TID>, TLS 1.2 PSK suites and TLS 1.3 external PSK). Keys
come from the BSF over Zn (POST /nbsp-gba/v1/bootstrapping-info-retrieval, bearer token) and
are cached until they expire. Prints one ready line on stdout:
  {"ready":true,"naf":{"http":URL,"tlsPsk":URL,"fqdn":NAME}}

Without --upstream the NAF serves GET /whoami (the authenticated identity as JSON). With
Every request in the protected space (naf.protectedPaths, default the whole origin, minus
naf.publicPaths) is challenged before routing: a client without credentials gets the
bootstrapping 401 whatever path it asks for, and only an authenticated one gets a 404. With
--upstream it is an authentication proxy (TS 24.109 §7): every request is authenticated, then
forwarded with
  X-3GPP-Asserted-Identity: "<IMPU>", "<IMPU>"...   (or only the X-3GPP-Intended-Identity
                                                     the UE asked for, if it is one of them)
  X-GBA-IMPI: <IMPI>
Copies of these headers (and any X-GBA-* header) sent by the client are removed, and so is
the Authorization header the NAF consumed. Answers: 401 + challenge (no or bad credentials,
unknown/expired B-TID: bootstrap again), 400 (malformed Digest), 403 (BSF refuses this NAF,
identity not allowed), 503 + Retry-After (BSF unreachable); bodies are ProblemDetails with
the error code (FST_GBA_...) as cause.

naf options:
  --bsf URL             Zn base URL of the BSF (overrides naf.bsfUrl, default http://127.0.0.1:8081)
  --zn-token TOKEN      bearer token presented on Zn (overrides naf.znToken; must match bsf.nafs)
  --fqdn NAME           NAF FQDN: realm and NAF_Id (overrides naf.fqdn, default naf.example.org)
  --upstream URL        proxy every authenticated request to this service (overrides naf.upstream)
  --digest-algorithm A  MD5 (default, TS 24.109) or SHA-256 (RFC 7616)
  --realms R            gba-me (default), gba-u or both (TS 24.109 §5.2.4)
  --qop LIST            qop values offered: auth-int,auth (default), auth or auth-int (RFC 7616 §3.3;
                        offer one value for clients that split WWW-Authenticate on commas)
${WORKERS_HELP}
                        NAF workers share one nonce secret and keep nonce-counts in
                        DATA/naf/nonce-counts.mdb, so a Digest replayed to another worker is refused

Other settings (config file, section "naf"): http and tlsPsk listeners, nonceTtl (s),
protectedPaths, publicPaths.

${COMMON_HELP}`,
  async run(argv) {
    const { cfg, values, pcap } = configFromFlags(argv, {
      bsf: { type: "string" },
      "zn-token": { type: "string" },
      fqdn: { type: "string" },
      upstream: { type: "string" },
      "digest-algorithm": { type: "string" },
      realms: { type: "string" },
      qop: { type: "string" },
      workers: { type: "string" },
    });
    const workers = workersFlag(values.workers);
    if (pcap && workers > 1) throw new UsageError("--pcap records one process: use it without --workers");
    if (values.bsf !== undefined) cfg.naf.bsfUrl = httpUrlFlag("bsf", values.bsf as string);
    if (values.upstream !== undefined) cfg.naf.upstream = httpUrlFlag("upstream", values.upstream as string);
    if (values["zn-token"] !== undefined) {
      const token = values["zn-token"] as string;
      if (token === "" || !/^[\x21-\x7e]+$/.test(token))
        throw new UsageError("--zn-token: must be printable ASCII without spaces");
      cfg.naf.znToken = token;
    }
    if (values.fqdn !== undefined) {
      cfg.naf.fqdn = dnsNameFlag("fqdn", values.fqdn as string);
    }
    if (values["digest-algorithm"] !== undefined) {
      const alg = values["digest-algorithm"] as GbaConfig["naf"]["digestAlgorithm"];
      if (!ALGORITHMS.has(alg)) throw new UsageError(`--digest-algorithm: "${alg}" is not MD5 or SHA-256`);
      cfg.naf.digestAlgorithm = alg;
    }
    if (values.realms !== undefined) {
      const r = values.realms as GbaConfig["naf"]["realms"];
      if (!REALMS.has(r)) throw new UsageError(`--realms: "${r}" is not gba-me, gba-u or both`);
      cfg.naf.realms = r;
    }
    if (values.qop !== undefined) cfg.naf.qop = qopFlag(values.qop as string);
    if (workers > 1 && !isClusterWorker()) return runPrimary("naf", workers, { nonceSecret: bytesToHex(randomBytes(32)) });
    const { startNaf } = await import("../nf/naf/index.js");
    if (workers === 1) return runNfs([(c, _s, d) => startNaf(c, d)], cfg, standardReadyLine, pcap);
    const shared = await sharedFromPrimary();
    const nonceSecret = hexToBytes(shared.nonceSecret, "nonceSecret", 32);
    return asWorker(runNfs([(c) => startNaf(c, undefined, { nonceSecret })], cfg, standardReadyLine));
  },
};

/** `--qop auth-int,auth | auth | auth-int` (RFC 7616 §3.3). */
function qopFlag(v: string): GbaConfig["naf"]["qop"] {
  const list = v.split(",").map((q) => q.trim());
  if (list.length === 0 || new Set(list).size !== list.length || !list.every((q) => q === "auth-int" || q === "auth")) {
    throw new UsageError(`--qop: "${v}" is not auth-int,auth, auth or auth-int`);
  }
  return list as GbaConfig["naf"]["qop"];
}
