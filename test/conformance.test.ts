// `gba conformance` against our own BSF and NAF (the in-process stack of `gba up`): every check
// passes (bsf.stale is skipped where no time budget is given, bsf.tmpi.username with a GBA_U card).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resultLine, runBsfConformance, runNafConformance, type SuiteReport } from "../conformance/index.js";
import {
  BSF_FQDN,
  type ConformanceStack,
  faultProxy,
  freshCard,
  NAF_FQDN,
  runFullNafSuite,
  startConformanceStack,
} from "./helpers/conformance-stack.js";
import { FakeBsf } from "./helpers/ue-fake-network.js";

function verdicts(r: SuiteReport): Record<string, string> {
  return Object.fromEntries(r.results.map((x) => [x.id, x.verdict]));
}

function explain(r: SuiteReport): string {
  return r.results.map(resultLine).join("\n");
}

let stack: ConformanceStack;
beforeAll(async () => {
  stack = await startConformanceStack({
    tweak: (cfg) => {
      // bsf.stale: nonces expire after 2 s; the suite waits 2.5 s before one answer
      cfg.bsf.nonceTtl = 2;
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

describe("the BSF suite against our BSF", () => {
  it("passes every check", { timeout: 60_000 }, async () => {
    const notes: string[] = [];
    const r = await runBsfConformance({
      url: stack.bsfUrl,
      card: { kind: "simulated", file: stack.cardFile },
      staleWaitSeconds: 2.5,
      onNote: (t) => notes.push(t),
    });
    expect(notes).toEqual(["bsf.stale: waiting 2.5 s before answering the challenge"]);
    const want = Object.fromEntries(r.results.map((x) => [x.id, "PASS"]));
    expect(verdicts(r), explain(r)).toEqual(want);
    expect(r.target).toEqual({ "Ub URL": stack.bsfUrl, "BSF FQDN": BSF_FQDN });
    expect(r.summary).toEqual({ pass: r.results.length, fail: 0, skip: 0 });
    expect(r.results.find((x) => x.id === "bsf.tmpi.unknown")?.detail).toBe(
      "unknown TMPI answered 403 TMPI_UNKNOWN: this TMPI is not known (any more): bootstrap again with the IMPI (TS 33.220 §4.5.2)",
    );
    // the resync check really resynchronised: the USIM's SQN was put ahead and the HSS followed
    expect(r.results.find((x) => x.id === "bsf.resync")?.detail).toMatch(/AUTS → fresh 401/);
    expect(r.results.find((x) => x.id === "bsf.wrong-res")?.detail).toBe("wrong RES refused with 403");
  });

  it("skips bsf.stale without a time budget, saying what it needs", { timeout: 30_000 }, async () => {
    const r = await runBsfConformance({
      url: stack.bsfUrl,
      card: { kind: "simulated", file: stack.cardFile },
      only: ["bsf.stale"],
    });
    expect(r.results.map((x) => [x.id, x.verdict])).toEqual([["bsf.stale", "SKIP"]]);
    expect(r.results[0].detail).toMatch(/--stale-wait SECONDS/);
  });
});

describe("the BSF suite against the scripted BSF of the UE tests (milenage/ and gba/ only, no nf/)", () => {
  it("judges a second, independent BSF the same way", { timeout: 60_000 }, async () => {
    const fake = new FakeBsf();
    await fake.start();
    try {
      const r = await runBsfConformance({ url: fake.url, card: { kind: "simulated", file: await freshCard() } });
      // It sends no Server header and challenges any username; it never lets a nonce go stale (no
      // --stale-wait here). It serves one subscriber whatever the username, so a TMPI gets that
      // subscriber's challenge: Ub shows no identity, so the suite cannot tell this from resolving.
      const faults: Record<string, string> = { "bsf.stale": "SKIP", "bsf.server-token": "FAIL", "bsf.tmpi.unknown": "FAIL" };
      const verdictOf = (id: string) => faults[id] ?? "PASS";
      const want = Object.fromEntries(r.results.map((x) => [x.id, verdictOf(x.id)]));
      expect(verdicts(r), explain(r)).toEqual(want);
    } finally {
      await fake.stop();
    }
  });
});

describe("both suites with a GBA_U card", () => {
  it("AKA in the GBA context (AUTN*), Ks_ext_NAF from the card; a GBA_U TMPI is skipped, not failed", {
    timeout: 60_000,
  }, async () => {
    const u = await startConformanceStack({ gbaU: true });
    try {
      const card = { kind: "simulated" as const, file: u.cardFile };
      const bsf = await runBsfConformance({ url: u.bsfUrl, card });
      expect(bsf.ue.mode).toBe("GBA_U");
      // no --stale-wait here; the ME cannot derive a TMPI from a Ks it never sees
      const skipped = ["bsf.tmpi.username", "bsf.stale"];
      const want = Object.fromEntries(bsf.results.map((x) => [x.id, skipped.includes(x.id) ? "SKIP" : "PASS"]));
      expect(verdicts(bsf), explain(bsf)).toEqual(want);
      expect(bsf.results.find((x) => x.id === "bsf.tmpi.username")?.detail).toMatch(/GBA_U: Ks stays on the UICC/);
      const naf = await runFullNafSuite(u);
      expect(
        naf.results.filter((x) => x.verdict !== "PASS").map((x) => x.id),
        explain(naf),
      ).toEqual([]);
    } finally {
      await u.close();
    }
  });
});

describe("Host", () => {
  it("names the BSF FQDN and the NAF FQDN when the URL names an address (TS 24.109 A.3, §5.2)", { timeout: 30_000 }, async () => {
    const hosts: Array<string | undefined> = [];
    const record = {
      request(r: { host?: string }) {
        hosts.push(r.host);
        return undefined;
      },
    };
    const bsf = await faultProxy(stack.bsfUrl, record);
    const naf = await faultProxy(stack.n.naf.urls.http, record);
    try {
      const card = { kind: "simulated" as const, file: stack.cardFile };
      await runBsfConformance({ url: bsf.url, card, only: ["bsf.challenge"] });
      const bsfPort = new URL(bsf.url).port;
      expect(new Set(hosts)).toEqual(new Set([`${BSF_FQDN}:${bsfPort}`]));
      hosts.length = 0;
      await runNafConformance({ url: `${naf.url}/whoami`, nafFqdn: NAF_FQDN, card, only: ["naf.challenge"] });
      expect(new Set(hosts)).toEqual(new Set([`${NAF_FQDN}:${new URL(naf.url).port}`]));
    } finally {
      await bsf.app.close();
      await naf.app.close();
    }
  });
});

describe("the NAF suite against our NAF", () => {
  it("passes every check, naf.any-path (protected space) included", { timeout: 60_000 }, async () => {
    const r = await runFullNafSuite(stack);
    const want = Object.fromEntries(r.results.map((x) => [x.id, "PASS"]));
    expect(verdicts(r), explain(r)).toEqual(want);
    expect(r.results.find((x) => x.id === "naf.tls-psk.tls13")?.detail).toMatch(/Ua id 0100000007/);
    expect(r.results.find((x) => x.id === "naf.tls-psk.tls12")?.detail).toMatch(/Ua id 010001[0-9a-f]{4} /);
  });

  it("without --bsf, --naf-fqdn or --tls-psk skips what needs them and says why", { timeout: 30_000 }, async () => {
    const r = await runNafConformance({ url: stack.nafUrl, card: { kind: "simulated", file: stack.cardFile } });
    const skipped = Object.fromEntries(r.results.filter((x) => x.verdict === "SKIP").map((x) => [x.id, x.detail]));
    expect(Object.keys(skipped).sort()).toEqual(
      [
        "naf.challenge.realm-host",
        "naf.digest",
        "naf.digest.rspauth",
        "naf.nc-replay",
        "naf.tls-psk.tls12",
        "naf.tls-psk.tls13",
      ].sort(),
    );
    expect(skipped["naf.challenge.realm-host"]).toMatch(/--naf-fqdn/);
    expect(skipped["naf.digest"]).toMatch(/--bsf URL/);
    expect(skipped["naf.tls-psk.tls12"]).toMatch(/--tls-psk URL/);
    // the checks that need no key still run: the unknown B-TID gets the renegotiation 401
    expect(verdicts(r)["naf.unknown-btid"]).toBe("PASS");
  });
});
