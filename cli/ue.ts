// `gba ue`: the UE from the command line. `bootstrap` runs Ub; `fetch` is curl for GBA (Ua over
// Digest or TLS-PSK). `--trace` prints every message and derived value on stderr, keys as
// "[redacted]" unless `--show-keys`.
import { readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { formatUtcDateTime } from "../gba/bootstrapping-info.js";
import { ksNafPassword } from "../gba/digest/aka.js";
import { UA_ID, parseUaId } from "../gba/ua-id.js";
import { UeError } from "../ue/errors.js";
import type { GbaMode } from "../ue/middleware/gba-middleware.js";
import { type CardSource, openUe, type Ue } from "../ue/open-ue.js";
import { noTrace, REDACTED, TextTracer, type Tracer } from "../ue/trace.js";
import { DEFAULT_TLS12_PSK_SUITES, httpOverTls, TlsPskError } from "../ue/ua/tls-psk.js";
import { bytesToHex } from "../wire/bytes.js";
import { isDnsName } from "../wire/dns.js";
import { type Command, type FlagValues, parseFlags, printJson, requireString, synopsis, UsageError } from "./usage.js";

const CARD_HELP = `card and Ub options:
  --bsf URL          the BSF's Ub URL (gba up: "bsf.ub" of its ready line)
  --usim FILE        simulated USIM state file (gba usim new); its SQN array is saved after each run
  --pcsc [READER]    a card in a PC/SC reader (index or part of the name; default: first with a card)
  --gba-u | --gba-me force GBA_U or GBA_ME (default: GBA_U when the card offers service n°68)
  --impi ID          IMPI to use (default: derived from EF_IMSI, TS 23.003 §13.3)
  --bsf-fqdn NAME    realm of the first Ub request (default: from the IMSI, TS 23.003 §16.2)
  --trace            print every message and derived value on stderr, step by step
  --show-keys        with --trace: print key values (Ks_NAF also in base64) instead of [redacted]

A wrong or missing flag exits with status 2; a failure (BSF, NAF, card, network) prints one
line naming what failed and exits 1.`;

const BOOTSTRAP_HELP = `usage: gba ue bootstrap --bsf URL (--usim FILE | --pcsc [READER]) [--gba-u | --gba-me] [--impi ID]
       [--bsf-fqdn NAME] [--naf FQDN]... [--ua-id HEX] [--trace [--show-keys]]

Runs GBA bootstrapping over Ub (TS 24.109 §4) and prints {mode, impi, btid, lifetime}.
  --naf FQDN     also derive the NAF key for this NAF (repeatable): "nafKeys": {FQDN: {hex,
                 base64}}, the values only with --trace --show-keys ("[redacted]" otherwise);
                 base64 is the Ua Digest password (curl --digest -u "B-TID:BASE64")
  --ua-id HEX    Ua security protocol id of those keys (default 0100000002, HTTP Digest;
                 TS 33.220 Annex H)

${CARD_HELP}`;

const FETCH_HELP = `usage: gba ue fetch URL --bsf URL (--usim FILE | --pcsc [READER]) [-X|--method M]
       [-H|--header "Name: value"]... [-d|--body TEXT|@FILE] [-o|--output FILE]
       [--naf-fqdn NAME] [--tls-psk [--tls13] [--psk-suite NAME]...] [--gba-u | --gba-me]
       [--impi ID] [--bsf-fqdn NAME] [--trace [--show-keys]]

curl for GBA: answers the NAF's bootstrapping 401 (HTTP Digest, username B-TID, password
base64(Ks_NAF), TS 24.109 §5.2), bootstrapping when needed, checks rspauth, and bootstraps
again once when the NAF no longer knows the B-TID. The body goes to stdout (or --output).
Exit 1 for an HTTP status >= 400 ("gba ue fetch: HTTP 404 Not Found", on a line of its own)
or when the NAF cannot be reached ("gba ue fetch: cannot reach URL: CAUSE").
  -X, --method M           HTTP method (default GET; POST with --body)
  -H, --header "N: v"      request header (repeatable)
  -d, --body TEXT|@FILE    request body: TEXT, or the contents of FILE. It is not called --data:
                           --data is the data root in every other gba command, and
                           \`gba ue fetch --data\` is refused rather than sent as a body
  -o, --output FILE        write the body to FILE
  --naf-fqdn NAME          the NAF's FQDN (gba up: "naf.fqdn" of its ready line, default
                           naf.example.org); default the URL's host name, so a URL with an IP
                           address (as in gba up's ready line) needs it. The realm of the NAF's
                           challenge must name it, else the UE does not answer (TS 33.222 §5.3.0)
  --tls-psk                Ua over TLS-PSK instead (TS 33.222 §5.4): psk_identity
                           3GPP-bootstrapping.<B-TID>, PSK = Ks_NAF for NAF_Id = NAF FQDN || the
                           suite's Ua id
  --tls13                  TLS 1.3 external PSK (Ua id 0100000007) instead of a TLS 1.2 PSK suite
  --psk-suite NAME         TLS 1.2 PSK suite to offer, OpenSSL name (repeatable; default
                           ${DEFAULT_TLS12_PSK_SUITES.join(", ")}, one per handshake)

${CARD_HELP}`;

const HELP = `usage: gba ue <bootstrap|fetch> [options]

${synopsis(BOOTSTRAP_HELP)}
        GBA bootstrapping over Ub (TS 24.109 §4): prints {mode, impi, btid, lifetime}
${synopsis(FETCH_HELP)}
        curl for GBA: Ua over HTTP Digest or TLS-PSK, bootstrapping when needed

\`gba ue bootstrap --help\` and \`gba ue fetch --help\` show each in full.

${CARD_HELP}`;

const PCSC_CARD_WAIT_MS = 3000;

const COMMON = {
  bsf: { type: "string" },
  usim: { type: "string" },
  "gba-u": { type: "boolean" },
  "gba-me": { type: "boolean" },
  impi: { type: "string" },
  "bsf-fqdn": { type: "string" },
  trace: { type: "boolean" },
  "show-keys": { type: "boolean" },
} as const;

/** `--pcsc` takes an optional value, which parseArgs cannot express: take it out first. */
export function extractPcsc(argv: string[]): { rest: string[]; pcsc: string | true | undefined } {
  const rest: string[] = [];
  let pcsc: string | true | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--pcsc=")) {
      pcsc = a.slice("--pcsc=".length) || true;
    } else if (a === "--pcsc") {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("-") && !next.includes("://")) {
        pcsc = next;
        i++;
      } else {
        pcsc = true;
      }
    } else {
      rest.push(a);
    }
  }
  return { rest, pcsc };
}

export function modeFlag(values: FlagValues): GbaMode | "auto" {
  if (values["gba-u"] && values["gba-me"]) throw new UsageError("give either --gba-u or --gba-me, not both");
  return values["gba-u"] ? "GBA_U" : values["gba-me"] ? "GBA_ME" : "auto";
}

function urlFlag(value: string, flag: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
    return u.toString();
  } catch {
    throw new UsageError(`${flag}: "${value}" is not an http:// or https:// URL`);
  }
}

/** With --show-keys a NAF key is traced in base64 too: the Ua Digest password (TS 33.222 §5.3) curl takes. */
function withBase64NafKeys(inner: Tracer): Tracer {
  return {
    message: (m) => inner.message(m),
    note: (t) => inner.note(t),
    value(label, value, kind) {
      inner.value(label, value, kind);
      if (/^Ks_(ext_)?NAF$/.test(label) && value instanceof Uint8Array) inner.value(`${label} b64`, ksNafPassword(value), kind);
    },
  };
}

/** The card of --usim FILE or --pcsc [READER] (exactly one of them). */
export function cardFromFlags(values: FlagValues, pcsc: string | true | undefined): CardSource {
  const usimFile = values.usim as string | undefined;
  if (usimFile !== undefined && pcsc !== undefined) throw new UsageError("give either --usim or --pcsc, not both");
  if (usimFile === undefined && pcsc === undefined) throw new UsageError("missing --usim FILE or --pcsc [READER]");
  const reader = pcsc === true || pcsc === undefined ? undefined : /^\d+$/.test(pcsc) ? Number(pcsc) : pcsc;
  // a card just inserted (or a card side just attached to vpcd) shows up within a moment
  return usimFile !== undefined
    ? { kind: "simulated", file: usimFile }
    : { kind: "pcsc", reader, waitForCardMs: PCSC_CARD_WAIT_MS };
}

async function ueFromFlags(values: FlagValues, pcsc: string | true | undefined): Promise<Ue> {
  const bsfUrl = urlFlag(requireString(values, "bsf"), "--bsf");
  const card = cardFromFlags(values, pcsc);
  if (values["show-keys"] && !values.trace) throw new UsageError("--show-keys needs --trace");
  const mode = modeFlag(values);
  const showKeys = values["show-keys"] === true;
  const text = new TextTracer((line) => process.stderr.write(`${line}\n`), { showKeys });
  const tracer: Tracer = !values.trace ? noTrace : showKeys ? withBase64NafKeys(text) : text;
  return openUe({
    card,
    bsfUrl,
    bsfFqdn: values["bsf-fqdn"] as string | undefined,
    impi: values.impi as string | undefined,
    mode,
    tracer,
    // SQN and AMF as the simulated USIM sees them, for --trace (the ME alone cannot know SQN)
    traceSqn: values.trace === true,
  });
}

/** TS 33.220 §4.4.11: the ME powers down at the end of the run, so the keys go. */
const closeUe = (ue: Ue): Promise<void> => ue.close({ powerDown: true });

async function runBootstrap(argv: string[]): Promise<number> {
  const { rest, pcsc } = extractPcsc(argv);
  const { values } = parseFlags(rest, {
    ...COMMON,
    naf: { type: "string", multiple: true },
    "ua-id": { type: "string" },
  });
  let uaId = UA_ID.HTTP_DIGEST;
  if (values["ua-id"] !== undefined) {
    try {
      uaId = parseUaId(values["ua-id"] as string);
    } catch (err) {
      throw new UsageError(`--ua-id: ${(err as Error).message}`);
    }
  }
  const ue = await ueFromFlags(values, pcsc);
  try {
    const info = await ue.middleware.bootstrap();
    const out: Record<string, unknown> = {
      mode: info.mode,
      impi: info.impi,
      btid: info.btid,
      lifetime: formatUtcDateTime(info.lifetime),
    };
    const nafs = (values.naf as string[] | undefined) ?? [];
    if (nafs.length > 0) {
      const keys: Record<string, { hex: string; base64: string }> = {};
      const show = values["show-keys"] === true;
      for (const fqdn of nafs) {
        const k = await ue.middleware.getKsNaf(fqdn, uaId);
        keys[fqdn] = show ? { hex: bytesToHex(k.key), base64: ksNafPassword(k.key) } : { hex: REDACTED, base64: REDACTED };
        k.key.fill(0);
      }
      out.nafKeys = keys;
    }
    printJson(out);
    return 0;
  } finally {
    await closeUe(ue);
  }
}

function headerFlags(values: FlagValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of (values.header as string[] | undefined) ?? []) {
    const colon = h.indexOf(":");
    if (colon <= 0) throw new UsageError(`-H: "${h}" is not "Name: value"`);
    out[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  return out;
}

/** -d/--body TEXT or @FILE. --data is refused: it is the data root everywhere else. */
async function bodyFlag(values: FlagValues): Promise<Uint8Array | undefined> {
  if (values.data !== undefined)
    throw new UsageError(
      "--data is the data root in the other gba commands, never a request body: give the body with -d/--body TEXT or @FILE",
    );
  const d = values.body as string | undefined;
  if (d === undefined) return undefined;
  if (!d.startsWith("@")) return new TextEncoder().encode(d);
  try {
    return new Uint8Array(await readFile(d.slice(1)));
  } catch (err) {
    throw new UsageError(`--body: cannot read ${d.slice(1)}: ${(err as Error).message}`);
  }
}

/** NAF FQDN of NAF_Id for TLS-PSK: --naf-fqdn, else the URL's host name, never an IP address. */
/**
 * The NAF's FQDN: --naf-fqdn, else the URL's host name. TLS-PSK needs it for NAF_Id (TS 33.220
 * §4.5.3); Digest checks the realm of the NAF's challenge against it (TS 33.222 §5.3.0). A URL with
 * an IP address names no NAF, so it needs --naf-fqdn.
 */
function nafFqdnFlag(values: FlagValues, target: URL): string {
  const given = values["naf-fqdn"] as string | undefined;
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const fqdn = given ?? host;
  if (isIP(fqdn) || !isDnsName(fqdn)) {
    const why = values["tls-psk"]
      ? "NAF_Id needs the NAF's FQDN (TS 33.220 §4.5.3)"
      : "the realm of the NAF's challenge must name the server contacted (TS 33.222 §5.3.0)";
    throw new UsageError(
      given !== undefined
        ? `--naf-fqdn: "${given}" is not a DNS name (${why})`
        : `${values["tls-psk"] ? "--tls-psk: " : ""}the URL's host ${host} is an IP address, but ${why}: ` +
            `give --naf-fqdn NAME (gba up prints it as "naf.fqdn" in its ready line)`,
    );
  }
  return fqdn;
}

/** A fetch that got no HTTP answer, or a TLS-PSK failure: one line naming the URL and the cause. */
class FetchFailure extends Error {}

/** The message of a system call that failed (connect ECONNREFUSED, getaddrinfo ENOTFOUND...). */
function errnoCause(err: unknown): string | undefined {
  const e = err as { message?: string; syscall?: unknown; errors?: unknown[] } | null;
  if (!e) return undefined;
  if (Array.isArray(e.errors) && e.errors.length > 0) return errnoCause(e.errors[0]);
  return typeof e.syscall === "string" && e.message ? e.message : undefined;
}

function fetchFailure(err: unknown, target: URL): Error {
  if (err instanceof TlsPskError) {
    const cause = errnoCause(err.cause);
    if (cause !== undefined) return new FetchFailure(`cannot reach ${target}: ${cause}`);
    return new FetchFailure(
      `TLS-PSK with ${target}: ${err.message}${err.code === "REJECTED" ? "; give the NAF's FQDN with --naf-fqdn" : ""}`,
    );
  }
  if (err instanceof TypeError && err.message === "fetch failed") {
    const cause = errnoCause(err.cause) ?? (err.cause as Error | undefined)?.message ?? "no answer";
    return new FetchFailure(`cannot reach ${target}: ${cause}`);
  }
  return err as Error;
}

async function emit(status: number, statusText: string, body: Uint8Array, output: string | undefined): Promise<number> {
  if (output !== undefined) {
    try {
      await writeFile(output, body);
    } catch (err) {
      throw new FetchFailure(`--output: cannot write ${output}: ${(err as Error).message}`);
    }
  } else process.stdout.write(body);
  if (status >= 400) {
    // the error line starts a line of its own even when the body (on the same terminal) did not end one
    const newline = output === undefined && body.length > 0 && body[body.length - 1] !== 0x0a ? "\n" : "";
    process.stderr.write(`${newline}gba ue fetch: HTTP ${status}${statusText ? ` ${statusText}` : ""}\n`);
    return 1;
  }
  return 0;
}

async function runFetch(argv: string[]): Promise<number> {
  const { rest, pcsc } = extractPcsc(argv);
  const { values, positionals } = parseFlags(
    rest,
    {
      ...COMMON,
      method: { type: "string", short: "X" },
      header: { type: "string", short: "H", multiple: true },
      body: { type: "string", short: "d" },
      data: { type: "string" },
      output: { type: "string", short: "o" },
      "tls-psk": { type: "boolean" },
      tls13: { type: "boolean" },
      "psk-suite": { type: "string", multiple: true },
      "naf-fqdn": { type: "string" },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError("give exactly one URL to fetch");
  const target = new URL(urlFlag(positionals[0], "URL"));
  const headers = headerFlags(values);
  const body = await bodyFlag(values);
  const method = ((values.method as string | undefined) ?? (body ? "POST" : "GET")).toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new UsageError(`--method: "${method}" is not an HTTP method`);
  if (!values["tls-psk"] && (values.tls13 || values["psk-suite"])) {
    throw new UsageError("--tls13 and --psk-suite go with --tls-psk");
  }
  const nafFqdn = nafFqdnFlag(values, target);
  const output = values.output as string | undefined;
  const ue = await ueFromFlags(values, pcsc);
  const { client } = ue;
  try {
    if (values["tls-psk"]) {
      const port = Number(target.port || (target.protocol === "https:" ? 443 : 80));
      const socket = await client.tlsPskConnect(target.hostname.replace(/^\[(.*)\]$/, "$1"), port, {
        nafFqdn,
        tls13: values.tls13 === true,
        suites: values["psk-suite"] as string[] | undefined,
      });
      const res = await httpOverTls(socket, {
        method,
        path: `${target.pathname}${target.search}`,
        host: target.host,
        headers,
        body,
      });
      return emit(res.status, "", res.body, output);
    }
    const res = await client.gbaFetch(target, { method, headers, body, nafFqdn });
    return emit(res.status, res.statusText, new Uint8Array(await res.arrayBuffer()), output);
  } catch (err) {
    throw fetchFailure(err, target);
  } finally {
    await closeUe(ue);
  }
}

/** Failures of the run itself: one line, exit 1 (usage errors stay exit 2). */
function oneLine(err: unknown): string | undefined {
  return err instanceof UeError || err instanceof FetchFailure ? err.message.split("\n")[0] : undefined;
}

export const ue: Command = {
  summary: "the UE: bootstrap over Ub, fetch from a NAF over Ua (curl for GBA)",
  help: HELP,
  subcommands: { bootstrap: BOOTSTRAP_HELP, fetch: FETCH_HELP },
  async run(argv) {
    const [sub, ...rest] = argv;
    const subs: Record<string, (a: string[]) => Promise<number>> = { bootstrap: runBootstrap, fetch: runFetch };
    if (sub === undefined) throw new UsageError("missing subcommand: bootstrap or fetch");
    const run = subs[sub];
    if (!run) throw new UsageError(`unknown subcommand "${sub}": bootstrap or fetch`);
    try {
      return await run(rest);
    } catch (err) {
      const line = oneLine(err);
      if (line === undefined) throw err;
      process.stderr.write(`gba ue ${sub}: ${line}\n`);
      return 1;
    }
  },
};
