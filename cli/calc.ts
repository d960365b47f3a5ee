// `gba calc`: the researcher's calculator. One JSON object on stdout, lower-case hex.
import { ksNafPassword } from "../gba/digest/aka.js";
import {
  type DigestAlgorithm,
  type DigestQop,
  digestAlgorithm,
  digestHa1,
  digestResponse,
  rspauth,
} from "../gba/digest/compute.js";
import { deriveKsExtNaf, deriveKsIntNaf, deriveKsNaf, ksFromCkIk, nafId } from "../gba/keys.js";
import { UaIdError, parseUaId } from "../gba/ua-id.js";
import { buildAuts, generateAuthVector } from "../milenage/aka.js";
import { bytesToHex, HexError } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { type Command, hexFlag, oneOf, parseFlags, printJson, requireString, synopsis, UsageError } from "./usage.js";

const SIZES = `K, OP, OPc, RAND, CK and IK are 16 bytes (32 hex digits), SQN 6 bytes, AMF 2 bytes, the Ua
security protocol id 5 bytes (e.g. 0100000002 HTTP Digest, 010001008c PSK-TLS suite 0x008C).
A wrong or missing flag exits with status 2 and a message naming the flag.`;

const SUB_HELP: Record<string, string> = {
  milenage: `usage: gba calc milenage --k HEX (--op HEX | --opc HEX) --rand HEX --sqn HEX --amf HEX

TS 35.206 f1..f5*: prints opc, mac_a, mac_s, res, ck, ik, ak, ak_star and autn.

${SIZES}`,
  auts: `usage: gba calc auts --k HEX (--op HEX | --opc HEX) --rand HEX --sqn-ms HEX

TS 33.102 §6.3.3 resynchronisation token: prints auts (and its base64) for the USIM's SQN_MS.

${SIZES}`,
  "ks-naf": `usage: gba calc ks-naf --ck HEX --ik HEX --rand HEX --impi ID --naf-fqdn NAME --ua-id HEX [--gba-u]

TS 33.220 B.3 NAF key with Ks = CK||IK and NAF_Id = FQDN||Ua id: prints naf_id, ks_naf and
ks_naf_base64 (the Ua Digest password); with --gba-u: ks_ext_naf and ks_int_naf.

${SIZES}`,
  digest: `usage: gba calc digest --algorithm A --username U --realm R (--password TEXT | --password-hex HEX)
       --nonce N --uri U [--method GET] [--qop auth|auth-int] [--nc 00000001] [--cnonce C]
       [--body TEXT] [--response-body TEXT]

RFC 7616 / RFC 3310 Digest: prints ha1, response, and rspauth when --response-body is given.
A is MD5, MD5-sess, SHA-256, SHA-256-sess, AKAv1-MD5 or AKAv2-MD5. For AKAv1-MD5 the password
is RES as raw octets: give it with --password-hex. --body and --response-body are the entity
bodies hashed by qop=auth-int (UTF-8 text); --cnonce is needed with --qop and the -sess
algorithms.

${SIZES}`,
};

const HELP = `usage: gba calc <what> [options]      prints one JSON object (lower-case hex)

${Object.values(SUB_HELP)
  .map((h) => synopsis(h))
  .join("\n")}

\`gba calc <what> --help\` shows one in full.

${SIZES}`;

const keyFlags = { k: { type: "string" }, op: { type: "string" }, opc: { type: "string" } } as const;

function milenageFrom(values: Record<string, unknown>): Milenage {
  const k = hexFlag(values, "k", 16);
  const which = oneOf(values, "op", "opc");
  const v = hexFlag(values, which, 16);
  return which === "op" ? Milenage.fromOp(k, v) : new Milenage(k, v);
}

type Sub = (argv: string[]) => Record<string, unknown>;

function uaIdFlag(values: Record<string, unknown>): Uint8Array {
  try {
    return parseUaId(requireString(values, "ua-id"));
  } catch (err) {
    if (err instanceof HexError || err instanceof UaIdError) throw new UsageError(`--ua-id: ${err.message}`);
    throw err;
  }
}

const NC = /^[0-9a-fA-F]{8}$/;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function optionalString(values: Record<string, unknown>, flag: string): string | undefined {
  const v = values[flag];
  return typeof v === "string" ? v : undefined;
}

const subs: Record<string, Sub> = {
  milenage(argv) {
    const { values } = parseFlags(argv, {
      ...keyFlags,
      rand: { type: "string" },
      sqn: { type: "string" },
      amf: { type: "string" },
    });
    const m = milenageFrom(values);
    const rand = hexFlag(values, "rand", 16);
    const sqn = hexFlag(values, "sqn", 6);
    const amf = hexFlag(values, "amf", 2);
    const out = m.vector(rand, sqn, amf);
    const av = generateAuthVector(m, rand, sqn, amf);
    return {
      opc: bytesToHex(m.opc),
      mac_a: bytesToHex(out.macA),
      mac_s: bytesToHex(out.macS),
      res: bytesToHex(out.res),
      ck: bytesToHex(out.ck),
      ik: bytesToHex(out.ik),
      ak: bytesToHex(out.ak),
      ak_star: bytesToHex(m.f5star(rand)),
      autn: bytesToHex(av.autn),
    };
  },
  auts(argv) {
    const { values } = parseFlags(argv, { ...keyFlags, rand: { type: "string" }, "sqn-ms": { type: "string" } });
    const m = milenageFrom(values);
    const auts = buildAuts(m, hexFlag(values, "rand", 16), hexFlag(values, "sqn-ms", 6));
    return { auts: bytesToHex(auts), auts_base64: Buffer.from(auts).toString("base64") };
  },
  "ks-naf"(argv) {
    const { values } = parseFlags(argv, {
      ck: { type: "string" },
      ik: { type: "string" },
      rand: { type: "string" },
      impi: { type: "string" },
      "naf-fqdn": { type: "string" },
      "ua-id": { type: "string" },
      "gba-u": { type: "boolean" },
    });
    const ks = ksFromCkIk(hexFlag(values, "ck", 16), hexFlag(values, "ik", 16));
    const rand = hexFlag(values, "rand", 16);
    const impi = requireString(values, "impi");
    const naf = nafId(requireString(values, "naf-fqdn"), uaIdFlag(values));
    if (values["gba-u"]) {
      return {
        naf_id: bytesToHex(naf),
        ks_ext_naf: bytesToHex(deriveKsExtNaf(ks, rand, impi, naf)),
        ks_int_naf: bytesToHex(deriveKsIntNaf(ks, rand, impi, naf)),
      };
    }
    const ksNaf = deriveKsNaf(ks, rand, impi, naf);
    return { naf_id: bytesToHex(naf), ks_naf: bytesToHex(ksNaf), ks_naf_base64: ksNafPassword(ksNaf) };
  },
  digest(argv) {
    const { values } = parseFlags(argv, {
      algorithm: { type: "string" },
      username: { type: "string" },
      realm: { type: "string" },
      password: { type: "string" },
      "password-hex": { type: "string" },
      nonce: { type: "string" },
      uri: { type: "string" },
      method: { type: "string" },
      qop: { type: "string" },
      nc: { type: "string" },
      cnonce: { type: "string" },
      body: { type: "string" },
      "response-body": { type: "string" },
    });
    const algorithm: DigestAlgorithm | undefined = digestAlgorithm(requireString(values, "algorithm"));
    if (algorithm === undefined) {
      throw new UsageError("--algorithm: expected one of MD5, MD5-sess, SHA-256, SHA-256-sess, AKAv1-MD5, AKAv2-MD5");
    }
    const which = oneOf(values, "password", "password-hex");
    const password = which === "password" ? String(values.password) : hexFlag(values, "password-hex");
    const qopText = optionalString(values, "qop");
    if (qopText !== undefined && qopText !== "auth" && qopText !== "auth-int") {
      throw new UsageError("--qop: expected auth or auth-int");
    }
    const qop = qopText as DigestQop | undefined;
    const nc = optionalString(values, "nc") ?? "00000001";
    if (!NC.test(nc)) throw new UsageError("--nc: expected 8 hex digits, e.g. 00000001");
    const cnonce = optionalString(values, "cnonce");
    if (cnonce === undefined && (qop !== undefined || algorithm.endsWith("-sess"))) {
      throw new UsageError("missing required flag --cnonce (needed with --qop and the -sess algorithms)");
    }
    const body = optionalString(values, "body");
    if (body !== undefined && qop !== "auth-int") throw new UsageError("--body only applies with --qop auth-int");
    const input = {
      algorithm,
      username: requireString(values, "username"),
      realm: requireString(values, "realm"),
      password,
      nonce: requireString(values, "nonce"),
      uri: requireString(values, "uri"),
      method: optionalString(values, "method") ?? "GET",
      qop,
      nc: qop === undefined ? undefined : nc,
      cnonce,
      body: body === undefined ? undefined : utf8(body),
    };
    const out: Record<string, string> = { ha1: digestHa1(input), response: digestResponse(input) };
    const responseBody = optionalString(values, "response-body");
    if (responseBody !== undefined) out.rspauth = rspauth({ ...input, responseBody: utf8(responseBody) });
    return out;
  },
};

export const calc: Command = {
  summary: "compute Milenage, AUTS, NAF keys and Digest responses (prints JSON)",
  help: HELP,
  subcommands: SUB_HELP,
  run(argv) {
    const [what, ...rest] = argv;
    if (what === undefined) throw new UsageError(`missing what to compute: one of ${Object.keys(subs).join(", ")}`);
    const sub = subs[what];
    if (!sub) throw new UsageError(`unknown calculation "${what}": one of ${Object.keys(subs).join(", ")}`);
    printJson(sub(rest));
    return 0;
  },
};
