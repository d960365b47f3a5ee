// gba/bootstrapping-info: the Ub 200 OK body (TS 24.109 Annex C), built byte for byte and parsed
// strictly; good and bad documents from test/vectors/gba-bootstrapping-info.json.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BOOTSTRAPPING_INFO_MAX_LENGTH,
  BootstrappingInfoError,
  buildBootstrappingInfo,
  formatUtcDateTime,
  parseBootstrappingInfo,
} from "../gba/index.js";

const V = JSON.parse(readFileSync(new URL("./vectors/gba-bootstrapping-info.json", import.meta.url), "utf8"));
type Doc = Record<string, string>;

function expectError(f: () => unknown, code: string): BootstrappingInfoError {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(BootstrappingInfoError);
  expect((caught as BootstrappingInfoError).code).toBe(code);
  expect((caught as Error).message).toMatch(/^BootstrappingInfo: .{8,}/);
  return caught as BootstrappingInfoError;
}

describe("buildBootstrappingInfo", () => {
  it.each(V.build as Doc[])("$name", (v) => {
    const xml = buildBootstrappingInfo({
      btid: v.btid,
      lifetime: new Date(v.lifetime),
      currentTime: v.current_time === undefined ? undefined : new Date(v.current_time),
    });
    expect(xml).toBe(v.xml);
    const back = parseBootstrappingInfo(xml);
    expect(back.btid).toBe(v.btid);
    expect(back.lifetime.toISOString()).toBe(new Date(v.lifetime).toISOString());
    if (v.current_time) expect(back.currentTime?.toISOString()).toBe(new Date(v.current_time).toISOString());
  });

  it("drops milliseconds, refuses invalid dates and empty B-TIDs", () => {
    expect(formatUtcDateTime(new Date("2030-01-01T00:00:00.999Z"))).toBe("2030-01-01T00:00:00Z");
    expect(() => formatUtcDateTime(new Date("nope"))).toThrow(RangeError);
    expect(() => formatUtcDateTime(new Date(Date.UTC(10000, 0, 1)))).toThrow(RangeError);
    expect(() => buildBootstrappingInfo({ btid: "", lifetime: new Date() })).toThrow(RangeError);
    expect(() => buildBootstrappingInfo({ btid: "a\u0000b", lifetime: new Date() })).toThrow(/control character/);
  });
});

describe("parseBootstrappingInfo: good documents", () => {
  it.each(V.good as Doc[])("$name", (v) => {
    const info = parseBootstrappingInfo(v.xml);
    expect(info.btid).toBe(v.btid);
    expect(info.lifetime.toISOString()).toBe(v.lifetime);
    expect(info.currentTime?.toISOString()).toBe(v.current_time);
  });

  it("accepts UTF-8 bytes (with BOM)", () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(V.build[0].xml)]);
    expect(parseBootstrappingInfo(new Uint8Array(bytes)).btid).toBe(V.build[0].btid);
  });
});

describe("parseBootstrappingInfo: bad documents", () => {
  it.each(V.bad as Doc[])("$name → $code", (v) => {
    expectError(() => parseBootstrappingInfo(v.xml), v.code);
  });

  it("oversized input → TOO_LARGE, as text and as bytes", () => {
    const big = V.build[0].xml.replace("<btid>", `<!--${"x".repeat(BOOTSTRAPPING_INFO_MAX_LENGTH)}--><btid>`);
    expectError(() => parseBootstrappingInfo(big), "TOO_LARGE");
    expectError(() => parseBootstrappingInfo(new Uint8Array(Buffer.from(big))), "TOO_LARGE");
    const multiByte = V.build[0].xml.replace("<btid>", `<!--${"é".repeat(BOOTSTRAPPING_INFO_MAX_LENGTH / 2)}--><btid>`);
    expectError(() => parseBootstrappingInfo(multiByte), "TOO_LARGE");
  });

  it("invalid UTF-8 → BAD_ENCODING", () => {
    const bytes = Buffer.from(V.build[0].xml);
    bytes[bytes.indexOf("I1U8")] = 0xff;
    expectError(() => parseBootstrappingInfo(new Uint8Array(bytes)), "BAD_ENCODING");
  });

  it("messages name the problem", () => {
    const wrongNs = V.bad.find((b: Doc) => b.code === "WRONG_NAMESPACE");
    expect(expectError(() => parseBootstrappingInfo(wrongNs.xml), "WRONG_NAMESPACE").message).toContain("uri:3gpp-gbax");
    const offset = V.bad.find((b: Doc) => b.name === "lifetime with an offset instead of Z");
    expect(expectError(() => parseBootstrappingInfo(offset.xml), "BAD_DATETIME").message).toContain('must end in "Z"');
  });
});
