// The Diameter codec (RFC 6733 §3, §4): header and AVP layout against hand-assembled octets,
// every basic and derived data format, and the RFC 6733 §7 error results for malformed input.
import { describe, expect, it } from "vitest";
import {
  AVP,
  type AvpDef,
  checkAvps,
  DiameterError,
  DiameterFramingError,
  DiameterMessageError,
  DiameterWriter,
  decodeAvps,
  decodeMessage,
  formatAddress,
  frameLength,
  parseAddress,
  RESULT,
  readAddress,
  readFloat32,
  readFloat64,
  readGrouped,
  readIdentity,
  readInteger32,
  readInteger64,
  readTime,
  readUnsigned32,
  readUnsigned64,
  readUri,
  readUtf8,
  readValue,
  timeToNtp,
} from "../wire/diameter/index.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const def = (type: AvpDef["type"], vendorId = 0): AvpDef => ({
  name: `T-${type}`,
  code: 9999,
  vendorId,
  type,
  m: "may",
  ref: "test",
});

describe("Diameter header and AVP layout (RFC 6733 §3, §4.1)", () => {
  it("writes a DWR exactly as the RFC lays it out, octet by octet", () => {
    const w = new DiameterWriter();
    w.identity(AVP.OriginHost, "a.b").identity(AVP.OriginRealm, "b");
    const msg = w.finish({ flags: 0x80, commandCode: 280, applicationId: 0, hopByHop: 0x01020304, endToEnd: 0xfffefdfc });
    // version 1, length 44, R, command 280, app 0, hop-by-hop, end-to-end;
    // Origin-Host (264) M, length 11 + 1 octet padding; Origin-Realm (296) M, length 9 + 3 padding
    expect(hex(msg)).toBe(
      "0100002c" +
        "80000118" +
        "00000000" +
        "01020304" +
        "fffefdfc" +
        "00000108" +
        "4000000b" +
        "612e6200" +
        "00000128" +
        "40000009" +
        "62000000",
    );
    const m = decodeMessage(msg);
    expect(m).toMatchObject({
      version: 1,
      length: 44,
      flags: 0x80,
      commandCode: 280,
      applicationId: 0,
      hopByHop: 0x01020304,
      endToEnd: 0xfffefdfc,
    });
    expect(m.avps.map((a) => [a.code, a.flags, a.vendorId, readIdentity(a)])).toEqual([
      [264, 0x40, 0, "a.b"],
      [296, 0x40, 0, "b"],
    ]);
  });

  it("writes the Vendor-ID field and V bit for 3GPP AVPs, and nests Grouped AVPs with padded members", () => {
    const w = new DiameterWriter();
    w.begin(AVP.SipAuthDataItem).utf8(AVP.SipAuthenticationScheme, "X").end();
    const msg = w.finish({ flags: 0, commandCode: 303, applicationId: 16777221, hopByHop: 1, endToEnd: 2 });
    // SIP-Auth-Data-Item 612, V+M, length 12 + 16; inside SIP-Authentication-Scheme 608, V+M, length 13 + 3 padding
    expect(hex(msg.subarray(20))).toBe("00000264" + "c000001c" + "000028af" + "00000260" + "c000000d" + "000028af" + "58000000");
    const [item] = decodeMessage(msg).avps;
    expect(item).toMatchObject({ code: 612, flags: 0xc0, vendorId: 10415 });
    expect(readGrouped(item).map((a) => [a.code, a.vendorId, readUtf8(a)])).toEqual([[608, 10415, "X"]]);
  });

  it("writers built one inside another, after an abandoned one, and past the shared scratch size come out intact", () => {
    const h = { flags: 0, commandCode: 1, applicationId: 0, hopByHop: 0, endToEnd: 0 };
    const outer = new DiameterWriter().utf8(AVP.SessionId, "outer");
    const inner = new DiameterWriter().utf8(AVP.SessionId, "inner").finish(h);
    const done = outer.utf8(AVP.UserName, "u").finish(h);
    expect(decodeMessage(done).avps.map(readUtf8)).toEqual(["outer", "u"]);
    expect(decodeMessage(inner).avps.map(readUtf8)).toEqual(["inner"]);
    expect(() => new DiameterWriter().utf8(AVP.SessionId, "x").identity(AVP.OriginHost, "not an identity")).toThrow(RangeError);
    const after = new DiameterWriter().utf8(AVP.SessionId, "after").finish(h);
    const again = new DiameterWriter().utf8(AVP.SessionId, "again").finish(h);
    expect([after, again].map((m) => readUtf8(decodeMessage(m).avps[0]))).toEqual(["after", "again"]);
    const big = new DiameterWriter().octets(AVP.ProxyState, new Uint8Array(40_000).fill(7)).utf8(AVP.SessionId, "tail").finish(h);
    const avps = decodeMessage(big).avps;
    expect(avps[0].data.length).toBe(40_000);
    expect(avps[0].data.every((b) => b === 7)).toBe(true);
    expect(readUtf8(avps[1])).toBe("tail");
  });

  it("frames a stream: length from the first 4 octets; below the header or above the limit loses the framing", () => {
    expect(frameLength(unhex("010000"), 0)).toBeUndefined();
    expect(frameLength(unhex("0100002c"), 0)).toBe(44);
    expect(() => frameLength(unhex("01000010"), 0)).toThrow(DiameterFramingError);
    expect(() => frameLength(unhex("01ffffff"), 0, 65536)).toThrow(/above the limit/);
  });
});

describe("AVP data formats (RFC 6733 §4.2, §4.3)", () => {
  const roundTrip = (d: AvpDef, write: (w: DiameterWriter) => void) => {
    const w = new DiameterWriter(16);
    write(w);
    const msg = w.finish({ flags: 0, commandCode: 1, applicationId: 0, hopByHop: 0, endToEnd: 0 });
    const [a] = decodeMessage(msg).avps;
    expect(a.code).toBe(d.code);
    return a;
  };

  it("Integer32, Integer64, Unsigned32, Unsigned64, Float32, Float64 at their limits", () => {
    expect(readInteger32(roundTrip(def("Integer32"), (w) => w.integer32(def("Integer32"), -2147483648)))).toBe(-2147483648);
    expect(readUnsigned32(roundTrip(def("Unsigned32"), (w) => w.unsigned32(def("Unsigned32"), 0xffffffff)))).toBe(0xffffffff);
    expect(readInteger64(roundTrip(def("Integer64"), (w) => w.integer64(def("Integer64"), -(2n ** 63n))))).toBe(-(2n ** 63n));
    expect(readUnsigned64(roundTrip(def("Unsigned64"), (w) => w.unsigned64(def("Unsigned64"), 2n ** 64n - 1n)))).toBe(
      2n ** 64n - 1n,
    );
    expect(readFloat32(roundTrip(def("Float32"), (w) => w.float32(def("Float32"), 1.5)))).toBe(1.5);
    expect(readFloat64(roundTrip(def("Float64"), (w) => w.float64(def("Float64"), -Math.PI)))).toBe(-Math.PI);
    // IEEE 754 big-endian (RFC 6733 §4.2): 1.5f is 3fc00000
    expect(hex(roundTrip(def("Float32"), (w) => w.float32(def("Float32"), 1.5)).data)).toBe("3fc00000");
    expect(() => new DiameterWriter().unsigned32(def("Unsigned32"), -1)).toThrow(RangeError);
    expect(() => new DiameterWriter().integer32(def("Integer32"), 2 ** 31)).toThrow(RangeError);
    expect(() => new DiameterWriter().unsigned64(def("Unsigned64"), 2n ** 64n)).toThrow(RangeError);
  });

  it("Time is NTP seconds, with the RFC 4330 §3 era rule past 2036", () => {
    expect(timeToNtp(0)).toBe(2208988800); // 1970-01-01 = 0x83aa7e80
    expect(timeToNtp(Date.UTC(2036, 1, 7, 6, 28, 16))).toBe(0); // era 1 begins
    expect(timeToNtp(Date.UTC(2036, 1, 7, 6, 28, 15))).toBe(0xffffffff);
    const t = Date.UTC(2026, 10, 25, 12, 0, 0);
    for (const ms of [t, Date.UTC(2036, 1, 7, 6, 28, 16), Date.UTC(2100, 0, 1)]) {
      expect(readTime(roundTrip(AVP.KeyExpiryTime, (w) => w.time(AVP.KeyExpiryTime, ms)))).toBe(ms);
    }
    expect(readTime(roundTrip(AVP.KeyExpiryTime, (w) => w.time(AVP.KeyExpiryTime, t + 999)))).toBe(t); // whole seconds
    expect(() => timeToNtp(Date.UTC(1960, 0, 1))).toThrow(/before 1968/);
    expect(() => timeToNtp(Date.UTC(2105, 0, 1))).toThrow(/after 2104/);
  });

  it("Address: IPv4 and IPv6 with their IANA address family, RFC 5952 text", () => {
    const v4 = roundTrip(AVP.HostIpAddress, (w) => w.address(AVP.HostIpAddress, "192.0.2.7"));
    expect(hex(v4.data)).toBe("0001c0000207");
    const v6 = roundTrip(AVP.HostIpAddress, (w) => w.address(AVP.HostIpAddress, "2001:db8::1"));
    expect(hex(v6.data)).toBe("000220010db8000000000000000000000001");
    expect(formatAddress(readAddress(v6))).toBe("2001:db8::1");
    expect(formatAddress(parseAddress("::"))).toBe("::");
    expect(formatAddress(parseAddress("1:0:0:2:0:0:0:3"))).toBe("1:0:0:2::3");
    expect(formatAddress(parseAddress("::ffff:192.0.2.1"))).toBe("::ffff:c000:201");
    for (const bad of ["1.2.3.256", "1::2::3", "12345::", "1:2:3:4:5:6:7", "x"])
      expect(() => parseAddress(bad)).toThrow(RangeError);
    // an IPv4 family with 5 address octets has a bad length
    const w = new DiameterWriter();
    w.octets(AVP.HostIpAddress, unhex("00010102030405"));
    const [a] = decodeMessage(w.finish({ flags: 0, commandCode: 1, applicationId: 0, hopByHop: 0, endToEnd: 0 })).avps;
    expect(() => readAddress(a)).toThrow(expect.objectContaining({ resultCode: RESULT.INVALID_AVP_LENGTH }));
  });

  it("UTF8String is UTF-8 and must decode as such; DiameterIdentity is ASCII; DiameterURI has the aaa scheme", () => {
    const s = "sip:ünïcødé@example.org ✓";
    expect(readUtf8(roundTrip(AVP.UserName, (w) => w.utf8(AVP.UserName, s)))).toBe(s);
    const w = new DiameterWriter();
    w.octets(AVP.UserName, unhex("c328")); // an invalid UTF-8 sequence
    const [a] = decodeMessage(w.finish({ flags: 0, commandCode: 1, applicationId: 0, hopByHop: 0, endToEnd: 0 })).avps;
    expect(() => readUtf8(a)).toThrow(expect.objectContaining({ resultCode: RESULT.INVALID_AVP_VALUE }));
    expect(() => new DiameterWriter().identity(AVP.OriginHost, "bad host")).toThrow(RangeError);
    const uri = "aaa://hss.example.org:3868;transport=tcp;protocol=diameter";
    expect(readUri(roundTrip(AVP.RedirectHost, (w) => w.utf8(AVP.RedirectHost, uri)))).toBe(uri);
    expect(() => readUri(roundTrip(AVP.RedirectHost, (w) => w.utf8(AVP.RedirectHost, "http://x")))).toThrow(DiameterError);
  });

  it("readValue dispatches on the dictionary type, and the generic writer mirrors it", () => {
    const w = new DiameterWriter();
    w.value(AVP.OriginStateId, 7)
      .value(AVP.SessionId, "s;1;2")
      .value(AVP.EventTimestamp, Date.UTC(2030, 0, 1));
    const avps = decodeMessage(w.finish({ flags: 0, commandCode: 1, applicationId: 0, hopByHop: 0, endToEnd: 0 })).avps;
    expect(readValue(AVP.OriginStateId, avps[0])).toBe(7);
    expect(readValue(AVP.SessionId, avps[1])).toBe("s;1;2");
    expect(readValue(AVP.EventTimestamp, avps[2])).toBe(Date.UTC(2030, 0, 1));
  });
});

describe("malformed input gets the RFC 6733 §7 result codes", () => {
  const header = (len: number, rest = "80000118000000000000000100000002") => `01${len.toString(16).padStart(6, "0")}${rest}`;
  const fail = (msg: Uint8Array): DiameterMessageError => {
    try {
      decodeMessage(msg);
    } catch (err) {
      expect(err).toBeInstanceOf(DiameterMessageError);
      return err as DiameterMessageError;
    }
    throw new Error("decoded");
  };

  it("a version other than 1: DIAMETER_UNSUPPORTED_VERSION, the header still readable for the answer", () => {
    const msg = unhex(`02${header(20).slice(2)}`);
    const e = fail(msg);
    expect(e.resultCode).toBe(RESULT.UNSUPPORTED_VERSION);
    expect(e.header).toMatchObject({ commandCode: 280, hopByHop: 1, endToEnd: 2 });
  });

  it("a length that is not a multiple of 4, or disagrees with the octets: DIAMETER_INVALID_MESSAGE_LENGTH", () => {
    expect(fail(unhex(`${header(22)}0000`)).resultCode).toBe(RESULT.INVALID_MESSAGE_LENGTH);
    expect(fail(unhex(`${header(28)}00000108`)).resultCode).toBe(RESULT.INVALID_MESSAGE_LENGTH);
  });

  it("an AVP longer than what is left: DIAMETER_INVALID_AVP_LENGTH with its header and a zero payload of the type's minimum", () => {
    // Origin-State-Id (278, Unsigned32) claiming 40 octets in a 12-octet body
    const e = fail(unhex(`${header(36)}00000116400000280000000100000000`));
    expect(e.resultCode).toBe(RESULT.INVALID_AVP_LENGTH);
    expect(e.failedAvp).toMatchObject({ code: 278, flags: 0x40, vendorId: 0 });
    expect(hex(e.failedAvp!.data)).toBe("00000000");
  });

  it("an AVP length below its header, and a truncated AVP header, are reported with zero-padded headers", () => {
    expect(fail(unhex(`${header(28)}0000010840000004`)).failedAvp).toMatchObject({ code: 264 });
    // a V-flagged header cut after 8 of its 12 octets: the Vendor-ID is reported as zero
    const e = fail(unhex(`${header(28)}00000191c0000010`));
    expect(e.resultCode).toBe(RESULT.INVALID_AVP_LENGTH);
    expect(e.failedAvp).toMatchObject({ code: 401, vendorId: 0 });
    expect(fail(unhex(`${header(24)}00000108`)).resultCode).toBe(RESULT.INVALID_AVP_LENGTH);
  });

  it("inside a Grouped AVP the last member may lack padding; a member running past the group is refused", () => {
    expect(decodeAvps(unhex("0000010840000009610000"))[0].data.length).toBe(1);
    expect(() => decodeAvps(unhex("000001084000000d6100"))).toThrow(
      expect.objectContaining({ resultCode: RESULT.INVALID_AVP_LENGTH }),
    );
  });

  it("checkAvps: unknown M-bit AVP (5001), wrong M bit (3009), bad data length (5014), too many (5009), missing (5005)", () => {
    const avps = (build: (w: DiameterWriter) => void) => {
      const w = new DiameterWriter();
      build(w);
      return decodeMessage(w.finish({ flags: 0, commandCode: 1, applicationId: 0, hopByHop: 0, endToEnd: 0 })).avps;
    };
    const rules = [
      { avp: AVP.OriginHost, min: 1, max: 1 },
      { avp: AVP.ResultCode, min: 0, max: 1 },
    ];
    const code = (f: () => void) => {
      try {
        f();
      } catch (err) {
        return { rc: (err as DiameterError).resultCode, failed: (err as DiameterError).failedAvp };
      }
      return { rc: 0, failed: undefined };
    };
    const host = (w: DiameterWriter) => w.identity(AVP.OriginHost, "h");
    expect(
      code(() =>
        checkAvps(
          avps((w) => host(w).raw(77777, 0x40, 0, unhex("01"))),
          rules,
        ),
      ),
    ).toMatchObject({ rc: 5001, failed: { code: 77777 } });
    expect(
      code(() =>
        checkAvps(
          avps((w) => host(w).raw(77777, 0x00, 0, unhex("01"))),
          rules,
        ),
      ).rc,
    ).toBe(0);
    expect(
      code(() =>
        checkAvps(
          avps((w) => w.raw(264, 0x00, 0, unhex("68"))),
          rules,
        ),
      ),
    ).toMatchObject({ rc: 3009, failed: { code: 264 } });
    expect(
      code(() =>
        checkAvps(
          avps((w) => host(w).raw(267, 0x40, 0, unhex("00000001"))),
          rules,
        ),
      ).rc,
    ).toBe(3009);
    expect(
      code(() =>
        checkAvps(
          avps((w) => host(w).raw(268, 0x40, 0, unhex("0007d1"))),
          rules,
        ),
      ),
    ).toMatchObject({ rc: 5014, failed: { code: 268 } });
    expect(
      code(() =>
        checkAvps(
          avps((w) => host(w).unsigned32(AVP.ResultCode, 2001).unsigned32(AVP.ResultCode, 2001)),
          rules,
        ),
      ).rc,
    ).toBe(5009);
    const missing = code(() =>
      checkAvps(
        avps((w) => w.unsigned32(AVP.ResultCode, 2001)),
        rules,
      ),
    );
    expect(missing).toMatchObject({ rc: 5005, failed: { code: 264, flags: 0x40, vendorId: 0 } });
    // inside a known group: SIP-Auth-Data-Item with an unknown mandatory member
    const grouped = avps((w) => host(w).begin(AVP.SipAuthDataItem).raw(4242, 0xc0, 10415, unhex("00")).end());
    expect(code(() => checkAvps(grouped, rules))).toMatchObject({ rc: 5001, failed: { code: 4242, vendorId: 10415 } });
  });
});
