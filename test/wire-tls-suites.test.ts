// The one IANA TLS-suite table (wire/tls-suites.ts) against an implementation that is not ours:
// every entry must be what `openssl ciphers -V -stdname` prints (code, IANA name, OpenSSL name).
// A missing openssl fails the test.
import { execFileSync } from "node:child_process";
import tls from "node:tls";
import { beforeAll, describe, expect, it } from "vitest";
import { isEcdhePsk, isPskSuite, TLS_SUITES, tlsSuiteByName, tlsSuiteCode } from "../wire/tls-suites.js";

interface OpensslSuite {
  code: number;
  iana: string;
  openssl: string;
}

/** `0xC0,0x37 - TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256 - ECDHE-PSK-AES128-CBC-SHA256 TLSv1 Kx=...` */
function opensslSuites(): Map<number, OpensslSuite> {
  let out: string;
  try {
    out = execFileSync("openssl", ["ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"], { encoding: "utf8" });
  } catch (err) {
    throw new Error(`openssl is needed for this test (Debian package openssl): ${(err as Error).message}`);
  }
  const suites = new Map<number, OpensslSuite>();
  for (const line of out.split("\n")) {
    const m = /^\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+- (\S+)\s/.exec(line);
    if (m) {
      const code = Number.parseInt(m[1] + m[2], 16);
      suites.set(code, { code, iana: m[3], openssl: m[4] });
    }
  }
  return suites;
}

let reference: Map<number, OpensslSuite>;
beforeAll(() => {
  reference = opensslSuites();
});

describe("the TLS-suite table", () => {
  it("reads openssl's list (the parser finds the suites)", () => {
    expect(reference.size).toBeGreaterThan(50);
    expect(reference.get(0x008c)).toEqual({ code: 0x008c, iana: "TLS_PSK_WITH_AES_128_CBC_SHA", openssl: "PSK-AES128-CBC-SHA" });
  });

  it("holds each code once and matches openssl entry by entry", () => {
    expect(new Set(TLS_SUITES.map((s) => s.code)).size).toBe(TLS_SUITES.length);
    for (const s of TLS_SUITES) expect(reference.get(s.code), s.iana).toEqual(s);
  });

  it("names only suites this node can negotiate", () => {
    const known = new Set(tls.getCiphers().map((c) => c.toUpperCase()));
    for (const s of TLS_SUITES) expect(known.has(s.openssl), s.openssl).toBe(true);
  });

  it("finds a suite by IANA name, by OpenSSL name in any case, and a code from getCipher()", () => {
    expect(tlsSuiteByName("TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256")?.code).toBe(0xccac);
    expect(tlsSuiteByName("psk-aes128-gcm-sha256")?.code).toBe(0x00a8);
    expect(tlsSuiteByName("NO-SUCH-SUITE")).toBeUndefined();
    expect(tlsSuiteCode({ name: "ECDHE-RSA-AES128-GCM-SHA256", standardName: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" })).toBe(
      0xc02f,
    );
    expect(tlsSuiteCode({ name: "AES128-SHA" })).toBe(0x002f);
    expect(tlsSuiteCode({ name: "NO-SUCH", standardName: "TLS_NO_SUCH" })).toBeUndefined();
    expect(tlsSuiteCode(undefined)).toBeUndefined();
  });

  it("tells PSK and ECDHE-PSK key exchanges apart", () => {
    const psk = TLS_SUITES.filter(isPskSuite).map((s) => s.openssl);
    expect(psk).toContain("PSK-AES128-CBC-SHA");
    expect(psk).toContain("DHE-PSK-AES128-GCM-SHA256");
    expect(psk).toContain("ECDHE-PSK-CHACHA20-POLY1305");
    expect(psk).not.toContain("TLS_AES_128_GCM_SHA256");
    expect(psk).not.toContain("ECDHE-RSA-AES128-GCM-SHA256");
    expect(TLS_SUITES.filter(isEcdhePsk).every((s) => s.openssl.startsWith("ECDHE-PSK-"))).toBe(true);
    expect(TLS_SUITES.filter(isEcdhePsk)).toHaveLength(5);
  });
});
