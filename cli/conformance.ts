// `gba conformance bsf|naf URL`: our UE drives someone else's BSF or NAF through the
// clause-by-clause suite of conformance/, prints one line per check and writes the reports.
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import {
  allChecks,
  resultLine,
  runBsfConformance,
  runNafConformance,
  type SuiteReport,
  summaryLine,
  toJson,
  toMarkdown,
  unknownSelections,
} from "../conformance/index.js";
import { UeError } from "../ue/errors.js";
import { cardFromFlags, extractPcsc, modeFlag } from "./ue.js";
import { type Command, dnsNameFlag, type FlagValues, httpUrlFlag, parseFlags, UsageError } from "./usage.js";

const HELP = `usage: gba conformance <bsf|naf> URL [options]
       gba conformance --list

Drives a BSF or a NAF (yours, not ours) with our UE through a clause-by-clause suite. Each
check prints PASS, FAIL or SKIP with the clause it holds the target to (TS 24.109, TS 33.220,
TS 33.222, RFC 3310, RFC 7616 ...), "(our reading)" where the clause text is not public, and
why a SKIP skipped.

  bsf URL      URL is the BSF's Ub URL (e.g. http://bsf.example.net:8080/)
    --bsf-fqdn NAME      the BSF FQDN its realm must name (default from the IMSI, TS 23.003 §16.2)
    --stale-wait S       wait S seconds (longer than the BSF's nonce lifetime) before answering
                         one challenge, to check stale=true (RFC 7616 §3.3); without it
                         bsf.stale is skipped
  naf URL      URL is a protected resource of the NAF, http:// (HTTP Digest, TS 24.109 §5.2)
    --bsf URL            Ub URL of the NAF's BSF: the UE bootstraps there for Ks_NAF; without
                         it the checks that need a key are skipped
    --bsf-fqdn NAME      realm of the first Ub request (default from the IMSI)
    --naf-fqdn NAME      the NAF's FQDN when the URL names an address (realm and NAF_Id)
    --tls-psk URL        the NAF's TLS-PSK listener, https://HOST:PORT/PATH (TS 33.222 §5.4)

  --usim FILE          a simulated USIM (gba usim new). Its SQN moves with every challenge it
                       accepts, and bsf.resync puts it ahead on purpose (by 2^20): use a card
                       file made for testing, provisioned in the target's HSS
  --pcsc [READER]      a card in a PC/SC reader (bsf.resync is skipped: only a simulated
                       USIM's SQN can be put ahead)
  --gba-u | --gba-me   force GBA_U or GBA_ME (default: GBA_U when the card offers service n°68)
  --impi ID            IMPI to use (default: derived from EF_IMSI, TS 23.003 §13.3)
  --only ID[,ID...]    run only these checks (an id, or a prefix such as bsf.challenge)
  --report FILE.json   write the report as JSON
  --markdown FILE.md   write the report as Markdown
  --list               print every check with its clause and exit

Exit status: 0 when no check failed, 1 when one did (or the run could not start: card, USIM),
2 for a wrong or missing flag.`;

const COMMON = {
  usim: { type: "string" },
  "gba-u": { type: "boolean" },
  "gba-me": { type: "boolean" },
  impi: { type: "string" },
  "bsf-fqdn": { type: "string" },
  only: { type: "string", multiple: true },
  report: { type: "string" },
  markdown: { type: "string" },
} as const;

const BSF_FLAGS = { "stale-wait": { type: "string" } } as const;
const NAF_FLAGS = { bsf: { type: "string" }, "naf-fqdn": { type: "string" }, "tls-psk": { type: "string" } } as const;

const MAX_STALE_WAIT_S = 3600;

function listChecks(): number {
  for (const c of allChecks()) {
    process.stdout.write(`${c.id.padEnd(26)} [${c.clause}${c.reading ? " (our reading)" : ""}]  ${c.title}\n`);
  }
  return 0;
}

function onlyFlag(values: FlagValues, suite: "bsf" | "naf"): string[] | undefined {
  const raw = values.only as string[] | undefined;
  if (raw === undefined) return undefined;
  const ids = raw
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
  const checks = allChecks().filter((c) => c.id.startsWith(`${suite}.`));
  const unknown = unknownSelections(checks, ids);
  if (unknown.length > 0) throw new UsageError(`--only: no ${suite} check is or starts with ${unknown.join(", ")} (see --list)`);
  return ids;
}

function staleWaitFlag(values: FlagValues): number | undefined {
  const v = values["stale-wait"] as string | undefined;
  if (v === undefined) return undefined;
  const s = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(s > 0) || s > MAX_STALE_WAIT_S) {
    throw new UsageError(`--stale-wait: "${v}" is not a number of seconds in (0, ${MAX_STALE_WAIT_S}]`);
  }
  return s;
}

/** The positional URL, checked as httpUrlFlag checks a flag's. */
function urlArgument(v: string): string {
  try {
    return httpUrlFlag("URL", v);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message.replace(/^--URL/, "URL"));
    throw err;
  }
}

function optionalDnsName(values: FlagValues, flag: string): string | undefined {
  const v = values[flag] as string | undefined;
  return v === undefined ? undefined : dnsNameFlag(flag, v);
}

function toolName(): string {
  const pkg = createRequire(import.meta.url)("../../package.json") as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}

async function emitReports(report: SuiteReport, values: FlagValues): Promise<void> {
  process.stdout.write(`${summaryLine(report)}\n`);
  const json = values.report as string | undefined;
  const md = values.markdown as string | undefined;
  if (json !== undefined) await writeFile(json, toJson(report));
  if (md !== undefined) await writeFile(md, toMarkdown(report));
}

async function run(suite: "bsf" | "naf", argv: string[]): Promise<number> {
  const { rest, pcsc } = extractPcsc(argv);
  const { values, positionals } = parseFlags(rest, { ...COMMON, ...(suite === "bsf" ? BSF_FLAGS : NAF_FLAGS) }, true);
  if (positionals.length !== 1)
    throw new UsageError(`give exactly one URL: the ${suite === "bsf" ? "BSF's Ub URL" : "NAF resource"}`);
  const url = urlArgument(positionals[0]);
  const common = {
    card: cardFromFlags(values, pcsc),
    impi: values.impi as string | undefined,
    mode: modeFlag(values),
    only: onlyFlag(values, suite),
    bsfFqdn: optionalDnsName(values, "bsf-fqdn"),
    onResult: (r: Parameters<typeof resultLine>[0]) => process.stdout.write(`${resultLine(r)}\n`),
    onNote: (text: string) => process.stderr.write(`${text}\n`),
  };
  let start: () => Promise<SuiteReport>;
  if (suite === "bsf") {
    const staleWaitSeconds = staleWaitFlag(values);
    start = () => runBsfConformance({ ...common, url, staleWaitSeconds, tool: toolName() });
  } else {
    if (new URL(url).protocol !== "http:")
      throw new UsageError("URL: the NAF suite speaks HTTP Digest over http://; use --tls-psk for TLS");
    const tlsPskUrl = values["tls-psk"] as string | undefined;
    if (tlsPskUrl !== undefined && new URL(httpUrlFlag("tls-psk", tlsPskUrl)).protocol !== "https:") {
      throw new UsageError("--tls-psk: expected an https:// URL (the NAF's TLS-PSK listener)");
    }
    const bsf = values.bsf as string | undefined;
    const bsfUrl = bsf === undefined ? undefined : httpUrlFlag("bsf", bsf);
    const nafFqdn = optionalDnsName(values, "naf-fqdn");
    start = () => runNafConformance({ ...common, url, bsfUrl, nafFqdn, tlsPskUrl, tool: toolName() });
  }
  const report = await start();
  await emitReports(report, values);
  return report.summary.fail > 0 ? 1 : 0;
}

export const conformance: Command = {
  summary: "drive someone else's BSF or NAF through a clause-by-clause conformance suite",
  help: HELP,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === "--list") return listChecks();
    if (sub !== "bsf" && sub !== "naf") {
      throw new UsageError(sub === undefined ? "missing suite: bsf or naf" : `unknown suite "${sub}": bsf or naf`);
    }
    try {
      return await run(sub, rest);
    } catch (err) {
      if (!(err instanceof UeError)) throw err;
      process.stderr.write(`gba conformance ${sub}: ${err.message.split("\n")[0]}\n`);
      return 1;
    }
  },
};
