// `gba calc`: the researcher's calculator. One JSON object on stdout, lower-case hex.
import { buildAuts, generateAuthVector } from "../milenage/aka.js";
import { bytesToHex } from "../milenage/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { type Command, hexFlag, oneOf, parseFlags, printJson, UsageError } from "./usage.js";

const HELP = `usage: gba calc <what> [options]      prints one JSON object (lower-case hex)

  milenage --k HEX (--op HEX | --opc HEX) --rand HEX --sqn HEX --amf HEX
        TS 35.206 f1..f5*: opc, mac_a, mac_s, res, ck, ik, ak, ak_star, autn
  auts     --k HEX (--op HEX | --opc HEX) --rand HEX --sqn-ms HEX
        TS 33.102 §6.3.3 resynchronisation token: auts (and its base64)

K, OP, OPc and RAND are 16 bytes (32 hex digits), SQN 6 bytes, AMF 2 bytes.
A wrong or missing flag exits with status 2 and a message naming the flag.`;

const keyFlags = { k: { type: "string" }, op: { type: "string" }, opc: { type: "string" } } as const;

function milenageFrom(values: Record<string, unknown>): Milenage {
  const k = hexFlag(values, "k", 16);
  const which = oneOf(values, "op", "opc");
  const v = hexFlag(values, which, 16);
  return which === "op" ? Milenage.fromOp(k, v) : new Milenage(k, v);
}

type Sub = (argv: string[]) => Record<string, unknown>;

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
};

export const calc: Command = {
  summary: "compute Milenage, AUTS, NAF keys and Digest responses (prints JSON)",
  help: HELP,
  run(argv) {
    const [what, ...rest] = argv;
    if (what === undefined) throw new UsageError(`missing what to compute: one of ${Object.keys(subs).join(", ")}`);
    const sub = subs[what];
    if (!sub) throw new UsageError(`unknown calculation "${what}": one of ${Object.keys(subs).join(", ")}`);
    printJson(sub(rest));
    return 0;
  },
};
