// Every conformance check is shown to fail against a deliberately broken double: our BSF or NAF
// behind a fault proxy that changes one thing on the wire (or started with one wrong setting),
// and the FAIL is reported by that check, with its clause. Against the unbroken stack the same
// checks pass (test/conformance.test.ts), so each FAIL here is the fault's doing.
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BSF_CHECKS, NAF_CHECKS, resultLine, runBsfConformance, type SuiteReport } from "../conformance/index.js";
import { UA_ID } from "../gba/ua-id.js";
import { parseAkaNonce } from "../gba/digest/index.js";
import type { GbaConfig } from "../nf/config.js";
import { createTlsPskListener, createZnClient, gbaNaf, installGbaErrorHandler, whoamiRoutes } from "../nf/naf/index.js";
import { bytesToBase64, bytesToHex } from "../wire/bytes.js";
import {
  type ConformanceStack,
  type Fault,
  faultProxy,
  NAF_FQDN,
  type ProxiedAnswer,
  resigned200,
  runFullNafSuite,
  startConformanceStack,
  text,
  ubCredentials,
  withRightResponse,
} from "./helpers/conformance-stack.js";

const EMPTY = new Uint8Array(0);

/** A WWW-Authenticate with one change, for the answers that carry one. */
function rewriteChallenge(change: (h: string) => string): Fault {
  return {
    answer(_r, a) {
      const h = a.headers["www-authenticate"];
      return h === undefined ? a : { ...a, headers: { ...a.headers, "www-authenticate": change(h) } };
    },
  };
}

/** Removes one parameter (quoted or token) from a header value. */
const dropParam = (h: string, name: string): string => h.replace(new RegExp(`,\\s*${name}=(?:"[^"]*"|[^,]*)`, "i"), "");

/** A 200 of Ub with its body changed and signed again (one fault: the body). */
function rewrite200(change: (body: string) => string): Fault {
  return { answer: (r, a) => (a.status === 200 ? resigned200(r, a, change(text(a.body))) : a) };
}

/** A cache of 2xx answers by Authorization: the same credentials get the same answer again. */
function acceptReplays(): Fault {
  const seen = new Map<string, ProxiedAnswer>();
  return {
    request: (r) => (r.headers.authorization === undefined ? undefined : seen.get(r.headers.authorization)),
    answer(r, a) {
      if (a.status >= 200 && a.status < 300 && r.headers.authorization) seen.set(r.headers.authorization, a);
      return a;
    },
  };
}

/** Authentication-Info with the first hex digit of rspauth changed. */
const flipRspauth: Fault = {
  answer(_r, a) {
    const h = a.headers["authentication-info"];
    if (h === undefined) return a;
    const bad = h.replace(/rspauth="(.)/, (_m, c: string) => `rspauth="${c === "0" ? "1" : "0"}`);
    return { ...a, headers: { ...a.headers, "authentication-info": bad } };
  },
};

/** A TMPI username (TS 33.220 B.4) replaced with an IMPI the HSS does not know. */
const unresolvedTmpi: Fault = {
  request(r) {
    const h = r.headers.authorization;
    if (h === undefined || !h.includes("@tmpi.bsf.3gppnetwork.org")) return undefined;
    r.headers.authorization = h.replace(/username="[^"]*"/, 'username="999990000000001@ims.mnc999.mcc999.3gppnetwork.org"');
    return undefined;
  },
};

interface Double {
  /** what is broken */
  name: string;
  /** the checks that must report it, and a piece of the clause each names */
  fails: Record<string, string>;
  fault?: Fault;
  tweak?: (cfg: GbaConfig) => void;
  staleWaitSeconds?: number;
}

const BSF_DOUBLES: Double[] = [
  {
    name: "answers the first request with 200",
    fails: { "bsf.challenge": "TS 24.109 A.3" },
    fault: { answer: (r, a) => (ubCredentials(r)?.nonce === "" ? { status: 200, headers: {}, body: EMPTY } : a) },
  },
  {
    name: "names another host in its realm",
    fails: { "bsf.challenge.realm": "TS 24.109 §4.2" },
    tweak: (cfg) => {
      cfg.bsf.fqdn = "bsf.elsewhere.example.org";
    },
  },
  {
    name: "sends a 20-octet nonce",
    fails: { "bsf.challenge.nonce": "RFC 3310 §3.2" },
    fault: rewriteChallenge((h) => h.replace(/nonce="[^"]*"/, `nonce="${bytesToBase64(new Uint8Array(20))}"`)),
  },
  {
    name: "offers algorithm MD5",
    fails: { "bsf.challenge.algorithm": "RFC 3310 §3.1" },
    fault: rewriteChallenge((h) => h.replace(/algorithm=AKAv1-MD5/, "algorithm=MD5")),
  },
  {
    name: "drops qop",
    fails: { "bsf.challenge.qop": "TS 24.109 §4.2" },
    fault: rewriteChallenge((h) => dropParam(h, "qop")),
  },
  {
    name: "writes opaque as a token",
    fails: { "bsf.challenge.opaque": "RFC 7616 §3.3", "bsf.challenge.syntax": "RFC 7616 §3.3" },
    fault: rewriteChallenge((h) => h.replace(/opaque="([^"]*)"/, "opaque=$1")),
  },
  {
    name: "quotes the algorithm",
    fails: { "bsf.challenge.syntax": "RFC 7616 §3.3" },
    fault: rewriteChallenge((h) => h.replace(/algorithm=([A-Za-z0-9-]+)/, 'algorithm="$1"')),
  },
  {
    name: "sends an AUTN with a wrong MAC",
    fails: { "bsf.bootstrap": "TS 33.220 §4.5.2" },
    fault: rewriteChallenge((h) =>
      h.replace(/nonce="([^"]*)"/, (_m, n: string) => {
        const { rand, autn } = parseAkaNonce(n);
        autn[15] ^= 0x01;
        return `nonce="${bytesToBase64(new Uint8Array([...rand, ...autn]))}"`;
      }),
    ),
  },
  {
    name: "writes BootstrappingInfo in another namespace",
    fails: { "bsf.bootstrap.xml": "TS 24.109 Annex C" },
    fault: rewrite200((b) => b.replace('xmlns="uri:3gpp-gba"', 'xmlns="urn:example:not-gba"')),
  },
  {
    name: "writes the B-TID with a hex RAND",
    fails: { "bsf.bootstrap.btid": "TS 33.220 §4.5.2" },
    fault: rewrite200((b) =>
      b.replace(/<btid>([^@]*)@/, (_m, r64: string) => `<btid>${bytesToHex(Buffer.from(r64, "base64"))}@`),
    ),
  },
  {
    name: "gives a lifetime in the past",
    fails: { "bsf.bootstrap.lifetime": "TS 24.109 C.1" },
    fault: rewrite200((b) => b.replace(/<lifetime>[^<]*</, "<lifetime>2000-01-01T00:00:00Z<")),
  },
  {
    name: "gives the lifetime in local time (+01:00)",
    fails: { "bsf.bootstrap.lifetime": "TS 24.109 C.1", "bsf.bootstrap.xml": "TS 24.109 Annex C" },
    fault: rewrite200((b) => b.replace(/<lifetime>([^<]*)Z</, "<lifetime>$1+01:00<")),
  },
  {
    name: "sends a wrong rspauth",
    fails: { "bsf.bootstrap.rspauth": "RFC 3310 §3.5" },
    fault: flipRspauth,
  },
  {
    name: "announces no 3gpp-gba-tmpi in Server",
    fails: { "bsf.server-token": "TS 33.220 §4.5.2" },
    fault: { answer: (_r, a) => ({ ...a, headers: { ...a.headers, server: "Bootstrapping Server; Release-6" } }) },
  },
  {
    name: "does not resolve TMPIs (challenges them as unknown IMPIs)",
    fails: { "bsf.tmpi.username": "B.4", "bsf.tmpi.unknown": "TS 33.220 §4.5.2" },
    fault: unresolvedTmpi,
  },
  {
    name: "accepts any RES",
    fails: { "bsf.wrong-res": "TS 24.109 §4.3" },
    fault: {
      request(r) {
        const c = ubCredentials(r);
        if (c !== undefined && c.nonce !== "" && c.auts === undefined) Object.assign(r, withRightResponse(r, c));
        return undefined;
      },
    },
  },
  {
    name: "accepts a replayed answer",
    fails: { "bsf.nonce-replay": "RFC 7616 §5.4" },
    fault: acceptReplays(),
  },
  {
    name: "never lets a nonce expire (nonce lifetime 300 s, answer after 1 s)",
    fails: { "bsf.stale": "RFC 7616 §3.3" },
    staleWaitSeconds: 1,
  },
  {
    name: "refuses AUTS",
    fails: { "bsf.resync": "RFC 3310 §3.4" },
    fault: { request: (r) => (ubCredentials(r)?.auts !== undefined ? { status: 403, headers: {}, body: EMPTY } : undefined) },
  },
];

function explain(r: SuiteReport): string {
  return r.results.map(resultLine).join("\n");
}

function expectFails(r: SuiteReport, fails: Record<string, string>): void {
  for (const [id, clause] of Object.entries(fails)) {
    const got = r.results.find((x) => x.id === id);
    expect(got?.verdict, `${id}\n${explain(r)}`).toBe("FAIL");
    expect(got?.clause).toContain(clause);
  }
}

/** One stack for the proxied doubles; a double with a setting of its own gets its own stack. */
let shared: ConformanceStack;
beforeAll(async () => {
  shared = await startConformanceStack();
});
afterAll(async () => {
  await shared?.close();
});

async function stackFor(d: Double): Promise<{ stack: ConformanceStack; own: boolean }> {
  return d.tweak ? { stack: await startConformanceStack({ tweak: d.tweak }), own: true } : { stack: shared, own: false };
}

describe("the BSF suite against broken BSFs", () => {
  it("has a double for every BSF check", () => {
    const covered = new Set(BSF_DOUBLES.flatMap((d) => Object.keys(d.fails)));
    expect(BSF_CHECKS.map((c) => c.id).filter((id) => !covered.has(id))).toEqual([]);
  });

  for (const d of BSF_DOUBLES) {
    it(`a BSF that ${d.name}: ${Object.keys(d.fails).join(", ")} FAIL`, { timeout: 30_000 }, async () => {
      const { stack, own } = await stackFor(d);
      const proxy = d.fault ? await faultProxy(stack.bsfUrl, d.fault) : undefined;
      try {
        const r = await runBsfConformance({
          url: proxy?.url ?? stack.bsfUrl,
          card: { kind: "simulated", file: stack.cardFile },
          staleWaitSeconds: d.staleWaitSeconds,
        });
        expectFails(r, d.fails);
      } finally {
        await proxy?.app.close();
        if (own) await stack.close();
      }
    });
  }
});

/** Our NAF plugin with its TLS-PSK listener asking the BSF for the key of the wrong Ua id. */
async function nafWithWrongUaId(stack: ConformanceStack): Promise<{ url: string; close(): Promise<void> }> {
  const zn = createZnClient({ bsfUrl: stack.n.bsf.urls.zn, token: stack.n.cfg.naf.znToken });
  const app = Fastify({ logger: false });
  await app.register(async (scope) => {
    installGbaErrorHandler(scope);
    await scope.register(gbaNaf, { fqdn: NAF_FQDN, zn });
    await scope.register(whoamiRoutes);
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  // TS 33.220 H.3 broken on purpose: always the Digest Ua id, whatever the TLS suite
  const wrong = { lookup: (btid: string, fqdn: string) => zn.lookup(btid, fqdn, UA_ID.HTTP_DIGEST) };
  const tls = await createTlsPskListener(app, { fqdn: NAF_FQDN, zn: wrong, host: "127.0.0.1", port: 0 });
  return {
    url: `${tls.url}/whoami`,
    async close() {
      await tls.close();
      await app.close();
      await zn.close();
    },
  };
}

const NAF_DOUBLES: Double[] = [
  {
    name: "answers 403 to a request without credentials",
    fails: { "naf.challenge": "TS 24.109 §5.2.4" },
    fault: { request: (r) => (r.headers.authorization === undefined ? { status: 403, headers: {}, body: EMPTY } : undefined) },
  },
  {
    name: "drops the 3GPP-bootstrapping@ prefix from its realm",
    fails: { "naf.challenge.realm": "TS 24.109 §5.2.4" },
    fault: rewriteChallenge((h) => h.replace(/realm="3GPP-bootstrapping@/, 'realm="')),
  },
  {
    name: "names another NAF in its realm",
    fails: { "naf.challenge.realm-host": "TS 33.222 §5.3.0" },
    tweak: (cfg) => {
      cfg.naf.fqdn = "other-naf.example.org";
      cfg.bsf.nafs[0].fqdns = [...cfg.bsf.nafs[0].fqdns, "other-naf.example.org"];
    },
  },
  {
    name: "drops qop",
    fails: { "naf.challenge.qop": "RFC 7616 §3.3" },
    fault: rewriteChallenge((h) => dropParam(h, "qop")),
  },
  {
    name: "quotes the algorithm",
    fails: { "naf.challenge.syntax": "RFC 7616 §3.3" },
    fault: rewriteChallenge((h) => h.replace(/algorithm=([A-Za-z0-9-]+)/, 'algorithm="$1"')),
  },
  {
    name: "refuses right credentials",
    fails: { "naf.digest": "TS 24.109 §5.2.2" },
    fault: { request: (r) => (r.headers.authorization !== undefined ? { status: 403, headers: {}, body: EMPTY } : undefined) },
  },
  {
    name: "sends a wrong rspauth",
    fails: { "naf.digest.rspauth": "RFC 7616 §3.5" },
    fault: flipRspauth,
  },
  {
    name: "sends no Authentication-Info",
    fails: { "naf.digest.rspauth": "RFC 7616 §3.5" },
    fault: {
      answer: (_r, a) => ({
        ...a,
        headers: Object.fromEntries(Object.entries(a.headers).filter(([k]) => k !== "authentication-info")),
      }),
    },
  },
  {
    name: "accepts a replayed nonce-count",
    fails: { "naf.nc-replay": "RFC 7616 §3.4" },
    fault: acceptReplays(),
  },
  {
    name: "answers an unknown B-TID with 403",
    fails: { "naf.unknown-btid": "TS 24.109 §5.2.5" },
    fault: {
      answer: (r, a) =>
        r.headers.authorization !== undefined && a.status === 401 ? { status: 403, headers: {}, body: EMPTY } : a,
    },
  },
  {
    name: "answers 404 for a path it does not serve",
    fails: { "naf.any-path": "TS 24.109 §5.2.4" },
    fault: {
      request: (r) =>
        r.headers.authorization === undefined && !r.url.startsWith("/whoami")
          ? { status: 404, headers: {}, body: EMPTY }
          : undefined,
    },
  },
];

describe("the NAF suite against broken NAFs", () => {
  it("has a double for every NAF check", () => {
    const covered = new Set([...NAF_DOUBLES.flatMap((d) => Object.keys(d.fails)), "naf.tls-psk.tls12", "naf.tls-psk.tls13"]);
    expect(NAF_CHECKS.map((c) => c.id).filter((id) => !covered.has(id))).toEqual([]);
  });

  for (const d of NAF_DOUBLES) {
    it(`a NAF that ${d.name}: ${Object.keys(d.fails).join(", ")} FAIL`, { timeout: 30_000 }, async () => {
      const { stack, own } = await stackFor(d);
      const proxy = d.fault ? await faultProxy(stack.n.naf.urls.http, d.fault) : undefined;
      try {
        const r = await runFullNafSuite(stack, { url: proxy ? `${proxy.url}/whoami` : stack.nafUrl, tlsPskUrl: undefined });
        expectFails(r, d.fails);
      } finally {
        await proxy?.app.close();
        if (own) await stack.close();
      }
    });
  }

  it("a NAF whose TLS-PSK key is for the wrong Ua id: naf.tls-psk.tls12, naf.tls-psk.tls13 FAIL", {
    timeout: 60_000,
  }, async () => {
    const naf = await nafWithWrongUaId(shared);
    try {
      const r = await runFullNafSuite(shared, { tlsPskUrl: naf.url, only: ["naf.tls-psk"] });
      expectFails(r, { "naf.tls-psk.tls12": "TS 33.220 H.3", "naf.tls-psk.tls13": "TS 33.220 H.3" });
    } finally {
      await naf.close();
    }
  });
});
