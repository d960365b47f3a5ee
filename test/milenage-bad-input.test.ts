// Bad input to the milenage/ API: each case is a clear error naming the field, never a crash
// deep inside AES and never a silent wrong answer. Secrets are not echoed in the message.
import { describe, expect, it } from "vitest";
import { buildAutn, buildAuts, checkAutn, generateAuthVector, verifyAuts } from "../milenage/aka.js";
import { HexError, hexToBytes } from "../wire/bytes.js";
import { computeOpc, Milenage } from "../milenage/milenage.js";
import { newSqnArray } from "../milenage/sqn.js";

const K = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OPC = "cd63cb71954a9f4e48a5994e37a02baf";
const RAND = "23553cbe9637a89d218ae64dae47bf35";
const SQN = "ff9bb4d0b607";
const AMF = "b9b9";
const b = (hex: string) => hexToBytes(hex);
const m = () => new Milenage(b(K), b(OPC));

describe("hex decoding", () => {
  it.each([
    ["odd length", "abc", /K: odd number of hex digits \(3\)/],
    ["a non-hex character", "465b5ce8b199b49faa5f0a2ee238a6bz", /K: contains a character that is not a hex digit/],
    ["whitespace", "465b5ce8 b199b49faa5f0a2ee238a6b", /K: contains a character that is not a hex digit/],
    ["a 0x prefix", "0x465b5ce8b199b49faa5f0a2ee238a6", /K: contains a character that is not a hex digit/],
    ["15 bytes where 16 are expected", K.slice(2), /K: expected 16 bytes \(32 hex digits\), got 15/],
    ["the empty string where 16 bytes are expected", "", /K: expected 16 bytes \(32 hex digits\), got 0/],
  ])("refuses %s with a HexError naming the field", (_, hex, message) => {
    let err: unknown;
    try {
      hexToBytes(hex, "K", 16);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HexError);
    expect((err as HexError).field).toBe("K");
    expect((err as HexError).code).toBe("BAD_HEX");
    expect((err as Error).message).toMatch(message);
    if (hex.length >= 8) expect((err as Error).message).not.toContain(hex.slice(0, 8));
  });

  it("refuses a non-string", () => {
    expect(() => hexToBytes(42 as unknown as string, "RAND")).toThrow(HexError);
  });

  it("accepts upper and lower case alike", () => {
    expect(hexToBytes(K.toUpperCase(), "K", 16)).toEqual(hexToBytes(K, "K", 16));
  });
});

describe("byte lengths", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["15-byte K", () => new Milenage(b(K.slice(2)), b(OPC)), /^K must be 16 bytes, got 15$/],
    ["17-byte K", () => new Milenage(b(`${K}00`), b(OPC)), /^K must be 16 bytes, got 17$/],
    ["17-byte OPc", () => new Milenage(b(K), b(`${OPC}00`)), /^OPc must be 16 bytes, got 17$/],
    ["15-byte OP", () => Milenage.fromOp(b(K), b(OPC.slice(2))), /^OP must be 16 bytes, got 15$/],
    ["15-byte K with OP", () => computeOpc(b(K.slice(2)), b(OPC)), /^K must be 16 bytes, got 15$/],
    ["15-byte K in fromOp", () => Milenage.fromOp(b(K.slice(2)), b(OPC)), /^K must be 16 bytes, got 15$/],
    ["7-byte SQN", () => generateAuthVector(m(), b(RAND), b(`${SQN}00`), b(AMF)), /^SQN must be 6 bytes, got 7$/],
    ["5-byte SQN in f1", () => m().f1(b(RAND), b(SQN.slice(2)), b(AMF)), /^SQN must be 6 bytes, got 5$/],
    ["1-byte AMF", () => generateAuthVector(m(), b(RAND), b(SQN), b("b9")), /^AMF must be 2 bytes, got 1$/],
    ["15-byte RAND", () => generateAuthVector(m(), b(RAND.slice(2)), b(SQN), b(AMF)), /^RAND must be 16 bytes, got 15$/],
    ["17-byte RAND in f2345", () => m().f2345(b(`${RAND}00`)), /^RAND must be 16 bytes, got 17$/],
    ["15-byte RAND in f5*", () => m().f5star(b(RAND.slice(2))), /^RAND must be 16 bytes, got 15$/],
    ["13-byte AUTS", () => verifyAuts(m(), b(RAND), b("00".repeat(13))), /^AUTS must be 14 bytes, got 13$/],
    ["15-byte AUTS", () => verifyAuts(m(), b(RAND), b("00".repeat(15))), /^AUTS must be 14 bytes, got 15$/],
    ["wrong RAND with AUTS", () => verifyAuts(m(), b(RAND.slice(2)), b("00".repeat(14))), /^RAND must be 16 bytes, got 15$/],
    ["7-byte SQN_MS for AUTS", () => buildAuts(m(), b(RAND), b(`${SQN}00`)), /^SQN must be 6 bytes, got 7$/],
    [
      "5-byte AK in buildAutn",
      () => buildAutn(b(SQN), b("0000000000"), b(AMF), b("00".repeat(8))),
      /^AK must be 6 bytes, got 5$/,
    ],
    ["7-byte MAC-A in buildAutn", () => buildAutn(b(SQN), b(SQN), b(AMF), b("00".repeat(7))), /^MAC-A must be 8 bytes, got 7$/],
    ["3-byte AMF in buildAutn", () => buildAutn(b(SQN), b(SQN), b("000000"), b("00".repeat(8))), /^AMF must be 2 bytes, got 3$/],
    ["15-byte AUTN", () => checkAutn(m(), newSqnArray(), b(RAND), b("00".repeat(15))), /^AUTN must be 16 bytes, got 15$/],
    ["wrong RAND with AUTN", () => checkAutn(m(), newSqnArray(), b(RAND.slice(2)), b("00".repeat(16))), /^RAND must be 16 bytes/],
  ];

  it.each(cases)("%s → RangeError naming the field", (_, run, message) => {
    expect(run).toThrow(RangeError);
    expect(run).toThrow(message);
  });
});
