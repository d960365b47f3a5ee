// Operator-chosen r1..r5 / c1..c5 (TS 35.206 §4.1): each constant feeds exactly one OUTk, so
// changing it must change that function's outputs and nothing else; invalid ones are refused.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { DEFAULT_CONSTANTS, Milenage, type MilenageConstants } from "../milenage/milenage.js";

const set1 = (
  JSON.parse(readFileSync(new URL("./vectors/milenage-test-sets.json", import.meta.url), "utf8")) as Record<string, unknown>[]
).find((v) => v.kind === "milenage" && v.test_set === 1) as Record<string, string>;

const K = hexToBytes(set1.K);
const OPC = hexToBytes(set1.OPc);
const RAND = hexToBytes(set1.RAND);
const SQN = hexToBytes(set1.SQN);
const AMF = hexToBytes(set1.AMF);

function outputs(constants?: MilenageConstants) {
  const m = new Milenage(K, OPC, constants ? { constants } : {});
  const v = m.vector(RAND, SQN, AMF);
  return {
    f1: bytesToHex(v.macA),
    f1star: bytesToHex(v.macS),
    f2: bytesToHex(v.res),
    f3: bytesToHex(v.ck),
    f4: bytesToHex(v.ik),
    f5: bytesToHex(v.ak),
    f5star: bytesToHex(m.f5star(RAND)),
  };
}

function lsb(v: number): Uint8Array {
  const c = new Uint8Array(16);
  c[15] = v;
  return c;
}

/** The TS 35.206 defaults, built here independently of DEFAULT_CONSTANTS. */
function defaults(): {
  r: [number, number, number, number, number];
  c: [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
} {
  return { r: [64, 0, 32, 64, 96], c: [lsb(0), lsb(1), lsb(2), lsb(4), lsb(8)] };
}

type Output = keyof ReturnType<typeof outputs>;
const ALL: Output[] = ["f1", "f1star", "f2", "f3", "f4", "f5", "f5star"];

describe("MILENAGE constants override", () => {
  it("explicit default constants reproduce test set 1 exactly", () => {
    expect(outputs(defaults())).toEqual({
      f1: set1.f1,
      f1star: set1.f1star,
      f2: set1.f2,
      f3: set1.f3,
      f4: set1.f4,
      f5: set1.f5,
      f5star: set1.f5star,
    });
    expect(outputs(DEFAULT_CONSTANTS)).toEqual(outputs());
  });

  // r_n / c_n feed OUT_n: OUT1 → f1 f1*, OUT2 → f2 f5, OUT3 → f3, OUT4 → f4, OUT5 → f5*
  const feeds: Output[][] = [["f1", "f1star"], ["f2", "f5"], ["f3"], ["f4"], ["f5star"]];

  it.each([1, 2, 3, 4, 5])("changing c%i changes exactly the outputs of its OUT block", (n) => {
    const k = n - 1;
    const custom = defaults();
    custom.c[k] = lsb(0x80 | (k + 1));
    const base = outputs();
    const changed = outputs(custom);
    for (const f of ALL) {
      if (feeds[k].includes(f)) expect(changed[f], f).not.toBe(base[f]);
      else expect(changed[f], f).toBe(base[f]);
    }
  });

  it.each([1, 2, 3, 4, 5])("changing r%i changes exactly the outputs of its OUT block", (n) => {
    const k = n - 1;
    const custom = defaults();
    custom.r[k] = (custom.r[k] + 8) % 128;
    const base = outputs();
    const changed = outputs(custom);
    for (const f of ALL) {
      if (feeds[k].includes(f)) expect(changed[f], f).not.toBe(base[f]);
      else expect(changed[f], f).toBe(base[f]);
    }
  });

  it.each([
    ["r not a multiple of 8", { r: [64, 0, 33, 64, 96] }],
    ["r negative", { r: [-8, 0, 32, 64, 96] }],
    ["r of 128 bits", { r: [64, 0, 32, 64, 128] }],
    ["r not an integer", { r: [64, 0.5, 32, 64, 96] }],
  ])("refuses %s", (_, patch) => {
    const constants = { ...defaults(), ...patch } as unknown as MilenageConstants;
    expect(() => new Milenage(K, OPC, { constants })).toThrow(RangeError);
    expect(() => new Milenage(K, OPC, { constants })).toThrow(/r constant/);
  });

  it.each([15, 17, 0])("refuses a c constant of %i bytes", (len) => {
    const custom = defaults();
    custom.c[3] = new Uint8Array(len);
    expect(() => new Milenage(K, OPC, { constants: custom })).toThrow(RangeError);
    expect(() => new Milenage(K, OPC, { constants: custom })).toThrow(/c constants must be 16 bytes/);
  });
});
