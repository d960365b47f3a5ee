// `gba ue`: the UE from the command line. `bootstrap` runs Ub; `fetch` is curl for GBA (Ua over
// Digest or TLS-PSK). `--trace` prints every message and derived value on stderr, keys as
// "[redacted]" unless `--show-keys`.
import { readFile, writeFile } from "node:fs/promises";
import { formatUtcDateTime } from "../gba/bootstrapping-info.js";
import { UA_ID, parseUaId } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";
import { UeError } from "../ue/errors.js";
import type { GbaMode } from "../ue/middleware/gba-middleware.js";
import { type CardSource, openUe, type Ue } from "../ue/open-ue.js";
import { noTrace, TextTracer, type Tracer } from "../ue/trace.js";
import { httpOverTls } from "../ue/ua/tls-psk.js";
import { type Command, type FlagValues, parseFlags, printJson, requireString, UsageError } from "./usage.js";

const CARD_HELP = `  --usim FILE        simulated USIM state file (gba usim new); its SQN array is saved after each run
  --pcsc [READER]    a card in a PC/SC reader (index or part of the name; default: first with a card)
  --gba-u | --gba-me force GBA_U or GBA_ME (default: GBA_U when the card offers service n°68)
  --impi ID          IMPI to use (default: derived from EF_IMSI, TS 23.003 §13.3)
  --bsf-fqdn NAME    realm of the first Ub request (default: from the IMSI, TS 23.003 §16.2)
  --trace            print every message and derived value on stderr, step by step
  --show-keys        with --trace: print key values instead of [redacted]`;

const HELP = `usage: gba ue <bootstrap|fetch> [options]

  bootstrap --bsf URL (--usim FILE | --pcsc [READER]) [--naf FQDN]... [--ua-id HEX]
        Runs GBA bootstrapping over Ub (TS 24.109 §4) and prints {mode, impi, btid, lifetime}.
        --naf FQDN   also derive the NAF key for this NAF (repeatable; Ua id --ua-id, default
                     0100000002, HTTP Digest); printed with --show-keys only
  fetch URL --bsf URL (--usim FILE | --pcsc [READER]) [--method M] [-H "Name: value"]...
        [--data BODY | --data @FILE] [--output FILE] [--tls-psk [--tls13] [--psk-suite NAME]...
        [--naf-fqdn NAME]]
        curl for GBA: answers the NAF's bootstrapping 401 (HTTP Digest with Ks_NAF, TS 24.109
        §5.2), bootstrapping when needed. The body goes to stdout (or --output); exit 1 for
        HTTP status >= 400. --tls-psk connects with TLS-PSK instead (TS 33.222 §5.4); the NAF
        FQDN of NAF_Id is --naf-fqdn, default the URL host.

${CARD_HELP}

A wrong or missing flag exits with status 2; a failure (BSF, NAF, card) prints one line and exits 1.`;

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
  const tracer: Tracer = values.trace
    ? new TextTracer((line) => process.stderr.write(`${line}\n`), { showKeys: values["show-keys"] === true })
    : noTrace;
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
      const keys: Record<string, string> = {};
      for (const fqdn of nafs) {
        const k = await ue.middleware.getKsNaf(fqdn, uaId);
        keys[fqdn] = values["show-keys"] ? bytesToHex(k.key) : "[redacted]";
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

async function bodyFlag(values: FlagValues): Promise<Uint8Array | undefined> {
  const d = values.data as string | undefined;
  if (d === undefined) return undefined;
  if (!d.startsWith("@")) return new TextEncoder().encode(d);
  try {
    return new Uint8Array(await readFile(d.slice(1)));
  } catch (err) {
    throw new UsageError(`--data: cannot read ${d.slice(1)}: ${(err as Error).message}`);
  }
}

async function emit(status: number, statusText: string, body: Uint8Array, output: string | undefined): Promise<number> {
  if (output !== undefined) await writeFile(output, body);
  else process.stdout.write(body);
  if (status >= 400) {
    process.stderr.write(`gba ue fetch: HTTP ${status}${statusText ? ` ${statusText}` : ""}\n`);
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
      data: { type: "string", short: "d" },
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
  if (!values["tls-psk"] && (values.tls13 || values["psk-suite"] || values["naf-fqdn"])) {
    throw new UsageError("--tls13, --psk-suite and --naf-fqdn go with --tls-psk");
  }
  const output = values.output as string | undefined;
  const ue = await ueFromFlags(values, pcsc);
  const { client } = ue;
  try {
    if (values["tls-psk"]) {
      const port = Number(target.port || (target.protocol === "https:" ? 443 : 80));
      const socket = await client.tlsPskConnect(target.hostname, port, {
        nafFqdn: (values["naf-fqdn"] as string | undefined) ?? target.hostname,
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
    const res = await client.gbaFetch(target, { method, headers, body });
    return emit(res.status, res.statusText, new Uint8Array(await res.arrayBuffer()), output);
  } finally {
    await closeUe(ue);
  }
}

/** Failures of the run itself: one line, exit 1 (usage errors stay exit 2). */
function oneLine(err: unknown): string | undefined {
  return err instanceof UeError ? err.message.split("\n")[0] : undefined;
}

export const ue: Command = {
  summary: "the UE: bootstrap over Ub, fetch from a NAF over Ua (curl for GBA)",
  help: HELP,
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
