// `gba usim`: create, inspect and serve a simulated USIM state file.
import { bytesToHex } from "../wire/bytes.js";
import { bytesToSqn, highestSqn, sqnToBytes } from "../milenage/sqn.js";
import { Milenage } from "../milenage/milenage.js";
import { attachToVpcd, VPCD_DEFAULT_PORT, type VpcdLogLevel } from "../ue/card/vpcd.js";
import { bsfFqdnFromImsi, impiFromImsi } from "../ue/impi.js";
import { decodeGbabp, type EfCodingError } from "../ue/usim/ef-codec.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { loadUsimStateFile, saveUsimStateFile } from "../ue/usim/state-file.js";
import { newUsimState, type UsimState } from "../ue/usim/usim-state.js";
import {
  type Command,
  hexFlag,
  oneOf,
  optionalHexFlag,
  parseFlags,
  printJson,
  requireString,
  synopsis,
  UsageError,
} from "./usage.js";

const SUB_HELP: Record<string, string> = {
  new: `usage: gba usim new --k HEX (--op HEX | --opc HEX) --imsi DIGITS [--mnc-length 2|3] [--sqn HEX]
       [--gba-u] [--no-autn-star] --out FILE [--force]

Creates a simulated USIM state file (JSON, mode 0600: it holds K) and prints its public state:
"impi" is the IMPI the UE presents (TS 23.003 §13.3; give it to \`gba provision add --impi\`),
"bsfRealm" the BSF realm it asks first (§16.2; it must be the BSF's bsf.fqdn, default
bsf.mnc001.mcc001.pub.3gppnetwork.org, or use \`gba ue --bsf-fqdn\`).
  --mnc-length 2|3  digits of the MNC in the IMSI (EF_AD; default 2)
  --sqn HEX         highest SQN the card has already accepted (6 bytes hex, default 0)
  --gba-u           GBA_U capable: EF_UST service n°68, EF_GBABP, EF_GBANL, AUTHENTICATE in GBA
                    context (without it the card is GBA_ME only)
  --no-autn-star    GBA bootstrapping takes plain AUTN instead of AUTN* (MAC* = MAC xor first 8
                    octets of SHA-1(IK), the project's reading of TS 33.220 §5.3.2); must match
                    the BSF's gbaU.autnStar
  --out FILE        the state file to write
  --force           replace FILE if it exists

A wrong or missing flag exits with status 2 and a message naming the flag.`,
  show: `usage: gba usim show --usim FILE

Prints the card state as JSON (impi, bsfRealm, the SQN array, the GBA files), without K, OPc or
any derived key.`,
  serve: `usage: gba usim serve --usim FILE [--vpcd HOST:PORT] [--log-level info|debug|warn|silent]

Inserts the card into the vsmartcard virtual reader: connects to vpcd (pcscd driver, default
127.0.0.1:${VPCD_DEFAULT_PORT}; reader "Virtual PCD 00 00") and answers its APDUs, writing every
state change back to FILE. Retries until vpcd is there. Prints {"serving":true,...} on stdout
once connected; debug logs each APDU (header, lengths, status word; never key material). Stops
on SIGINT / SIGTERM (exit 0); exits 1 if a state change cannot be written (the card then stops
answering).
  --vpcd HOST:PORT  where vpcd listens. Latency: use 127.0.0.2:${VPCD_DEFAULT_PORT} after (as root)
                      ip route replace local 127.0.0.2/32 dev lo table local quickack 1
                    to avoid ~40 ms of delayed ACK per APDU
  --log-level L     info (default), debug, warn or silent`,
};

const HELP = `usage: gba usim <new|show|serve> [options]

${Object.values(SUB_HELP)
  .map((h) => synopsis(h))
  .join("\n")}

\`gba usim <new|show|serve> --help\` shows one in full. A wrong or missing flag exits with
status 2 and a message naming the flag.`;

function imsiFlag(values: Record<string, unknown>): string {
  const imsi = requireString(values, "imsi");
  if (!/^[0-9]{6,15}$/.test(imsi)) throw new UsageError(`--imsi: must be 6 to 15 decimal digits, got "${imsi}"`);
  return imsi;
}

function mncLengthFlag(values: Record<string, unknown>): 2 | 3 {
  const v = values["mnc-length"];
  if (v === undefined) return 2;
  if (v !== "2" && v !== "3") throw new UsageError(`--mnc-length: must be 2 or 3, got "${String(v)}"`);
  return Number(v) as 2 | 3;
}

async function runNew(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    k: { type: "string" },
    op: { type: "string" },
    opc: { type: "string" },
    imsi: { type: "string" },
    "mnc-length": { type: "string" },
    sqn: { type: "string" },
    "gba-u": { type: "boolean" },
    "no-autn-star": { type: "boolean" },
    out: { type: "string" },
    force: { type: "boolean" },
  });
  const k = hexFlag(values, "k", 16);
  const which = oneOf(values, "op", "opc");
  const opc = which === "op" ? Milenage.fromOp(k, hexFlag(values, "op", 16)).opc : hexFlag(values, "opc", 16);
  const imsi = imsiFlag(values);
  const mncLength = mncLengthFlag(values);
  const sqn = optionalHexFlag(values, "sqn", 6);
  const out = requireString(values, "out");
  const state = newUsimState({
    k,
    opc,
    imsi,
    mncLength,
    sqn: sqn ? bytesToSqn(sqn) : 0,
    gbaU: values["gba-u"] === true,
    autnStar: values["no-autn-star"] !== true,
  });
  try {
    await saveUsimStateFile(out, state, { exclusive: values.force !== true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new UsageError(`--out: ${out} exists; add --force to replace it`);
    throw new UsageError(`--out: cannot write ${out}: ${(err as Error).message}`);
  }
  printJson(publicView(state, out));
  return 0;
}

/** Everything but K, OPc, Ks and Ks_int_NAF. */
function publicView(s: UsimState, file: string): Record<string, unknown> {
  let gbabp: Record<string, string> | string;
  try {
    const g = decodeGbabp(s.gbabp);
    gbabp = { rand: bytesToHex(g.rand), btid: g.btid, lifetime: g.lifetime };
  } catch (err) {
    gbabp = `unreadable: ${(err as EfCodingError).message}`;
  }
  const records = s.gbanl.slots.flatMap((slot, i) =>
    slot ? [{ record: i + 1, nafId: bytesToHex(slot.nafId), btid: slot.btid }] : [],
  );
  return {
    file,
    imsi: s.imsi,
    mncLength: s.mncLength,
    // what the UE presents: `gba provision add --impi` takes this value (TS 23.003 §13.3)
    impi: impiFromImsi(s.imsi, s.mncLength),
    // realm of the first Ub request unless `gba ue --bsf-fqdn` (TS 23.003 §16.2)
    bsfRealm: bsfFqdnFromImsi(s.imsi, s.mncLength),
    ust: bytesToHex(s.ust),
    gbaU: s.gbaU,
    autnStar: s.autnStar,
    sqn: {
      sqnMs: bytesToHex(sqnToBytes(highestSqn(s.sqn))),
      indBits: s.sqn.indBits,
      // SEQ_MS per IND (TS 33.102 Annex C.2), only the entries above 0
      seqByInd: Object.fromEntries(s.sqn.seq.flatMap((seq, ind) => (seq > 0 ? [[String(ind), seq]] : []))),
    },
    ...(s.gbaU ? { gbabp, gbanl: records, gbaUBootstrapped: s.gbaUKeys !== null } : {}),
  };
}

async function runShow(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { usim: { type: "string" } });
  const file = requireString(values, "usim");
  printJson(publicView(await loadUsimStateFile(file), file));
  return 0;
}

const LOG_LEVELS: Record<string, number> = { silent: 0, warn: 1, info: 2, debug: 3 };

function vpcdFlag(values: Record<string, unknown>): { host: string; port: number } {
  const v = values.vpcd;
  if (v === undefined) return { host: "127.0.0.1", port: VPCD_DEFAULT_PORT };
  const m = /^(.+):(\d{1,5})$/.exec(String(v));
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`--vpcd: expected HOST:PORT, got "${String(v)}"`);
  return { host: m[1].replace(/^\[(.*)\]$/, "$1"), port };
}

async function runServe(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { usim: { type: "string" }, vpcd: { type: "string" }, "log-level": { type: "string" } });
  const file = requireString(values, "usim");
  const { host, port } = vpcdFlag(values);
  const levelName = (values["log-level"] as string | undefined) ?? "info";
  const level = LOG_LEVELS[levelName];
  if (level === undefined) throw new UsageError(`--log-level: one of ${Object.keys(LOG_LEVELS).join(", ")}, got "${levelName}"`);

  const card = await SimulatedUsim.fromFile(file);
  const log = (l: VpcdLogLevel, message: string) => {
    if (LOG_LEVELS[l] <= level) process.stderr.write(`${new Date().toISOString()} ${l} ${message}\n`);
  };
  let announced = false;
  const onConnected = () => {
    if (announced) return;
    announced = true;
    process.stdout.write(`${JSON.stringify({ serving: true, vpcd: `${host}:${port}`, usim: file })}\n`);
  };
  const link = attachToVpcd(card, { host, port, log, onConnected });
  const code = await new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log("info", `${signal}: stopping`);
      resolve(0);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
    // e.g. the state file could not be written: the card must not answer any more
    card.onRemoved((reason) => {
      log("warn", `card out of service: ${reason}`);
      resolve(1);
    });
  });
  await link.stop();
  await card.close();
  return code;
}

export const usim: Command = {
  summary: "create, show and serve a simulated USIM (state file, vpcd virtual reader)",
  help: HELP,
  subcommands: SUB_HELP,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === "new") return runNew(rest);
    if (sub === "show") return runShow(rest);
    if (sub === "serve") return runServe(rest);
    throw new UsageError(
      sub === undefined ? "missing subcommand: new, show or serve" : `unknown subcommand "${sub}": new, show or serve`,
    );
  },
};
