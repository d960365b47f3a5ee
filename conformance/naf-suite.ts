// The NAF suite: our UE drives a NAF over Ua (TS 24.109 §5, TS 33.222 §5.3 / §5.4, RFC 7616)
// through one check per requirement. Keys come from a real bootstrapping with the BSF the user
// names (--bsf); without one, the checks that need Ks_NAF are skipped and say so.
import { isIP } from "node:net";
import { parseBtid } from "../gba/btid.js";
import { type DigestChallenge, ksNafPassword } from "../gba/digest/index.js";
import { UA_ID } from "../gba/ua-id.js";
import { bytesToBase64, bytesToHex } from "../wire/bytes.js";
import { isDnsName } from "../wire/dns.js";
import { UeError } from "../ue/errors.js";
import { bootstrappingChallengeIn, nafSpaceOf } from "../ue/ua/gba-fetch.js";
import { type NafCredentials, type NafSpace, nafCredentials, verifyRspauth } from "../ue/ua/naf-digest.js";
import { httpOverTls, tlsPskConnect } from "../ue/ua/tls-psk.js";
import type { RandomBytes } from "../wire/deps.js";
import { type Check, fail, type Outcome, pass, skip } from "./check.js";
import { digestChallenges, quotingOutcome } from "./challenge.js";
import { describeAnswer, header, hostHeader, type HttpAnswer, type HttpClient, replayRefused, Unreachable } from "./http.js";
import type { ConformanceUe } from "./ue.js";

export interface NafContext {
  /** the protected resource, over plain HTTP (Digest, Ua id 01 00 00 00 02) */
  url: URL;
  /** the FQDN the UE contacted: --naf-fqdn, or the URL host when it is a name; undefined for an address */
  nafFqdn?: string;
  /** the NAF's TLS-PSK listener (TS 33.222 §5.4), when given */
  tlsPskUrl?: URL;
  ue: ConformanceUe;
  http: HttpClient;
  randomBytes: RandomBytes;
  /** User-Agent with the TS 24.109 §5.2.1 product token */
  userAgent: string;
  /** the answer to a request without credentials (memoised) */
  first(): Promise<HttpAnswer | Outcome>;
  /** bootstrapping, Ks_NAF and one authenticated request (memoised) */
  digest(): Promise<DigestExchange | Outcome>;
}

export interface DigestExchange {
  space: NafSpace;
  creds: NafCredentials;
  answer: HttpAnswer;
  btid: string;
}

const isOutcome = (x: object): x is Outcome => "verdict" in x;

/** TS 24.109 §5.2.4: realm prefixes of the bootstrapping-required indication (GBA_Digest's too, Annex I). */
const REALM_FORM = /^(3GPP-bootstrapping(?:-uicc|-digest)?)@(.+)$/;

/** The bootstrapping realm entries of every Digest challenge (a realm may list several, ";"-separated). */
function realmEntries(realm: string): Array<{ prefix: string; fqdn: string } | { bad: string }> {
  return realm.split(";").map((r) => {
    const m = REALM_FORM.exec(r.trim());
    return m !== null && isDnsName(m[2]) ? { prefix: m[1], fqdn: m[2] } : { bad: r.trim() };
  });
}

/** Sends a GET of `url` with our User-Agent and, when given, credentials. */
export async function nafGet(ctx: NafContext, url: URL, authorization?: string): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...hostHeader(url, ctx.nafFqdn), "user-agent": ctx.userAgent };
  if (authorization !== undefined) headers.authorization = authorization;
  return ctx.http.send({ method: "GET", url: url.toString(), headers });
}

/** The Digest challenges of the first 401, or why there are none. */
async function firstChallenges(ctx: NafContext): Promise<{ header: string; challenges: DigestChallenge[] } | Outcome> {
  const first = await ctx.first();
  if (isOutcome(first)) return first;
  const c = digestChallenges(first);
  return c.ok ? c : skip(`no Digest challenge to inspect (${c.problem}; see naf.challenge)`);
}

/** The memoised authenticated exchange (naf.digest), as the checks after it need it. */
export async function digestExchange(ctx: NafContext): Promise<DigestExchange | Outcome> {
  const b = await firstChallenges(ctx);
  if (isOutcome(b)) return b;
  if (ctx.url.protocol !== "http:") {
    return skip(
      "Digest over server-authenticated TLS (TS 33.222 §5.3, Ua id 01 00 01 yy zz) is not in this suite: give an http:// URL",
    );
  }
  let space: NafSpace;
  try {
    const found = bootstrappingChallengeIn(b.header);
    if (found === undefined)
      return skip("no 3GPP-bootstrapping challenge with an algorithm the ME uses (see naf.challenge.realm)");
    space = nafSpaceOf(found);
  } catch (err) {
    if (err instanceof UeError) return skip(err.message);
    throw err;
  }
  if (!ctx.ue.canBootstrap) return skip("needs --bsf URL: Ks_NAF comes from a bootstrapping with the NAF's BSF");
  let key: Awaited<ReturnType<ConformanceUe["middleware"]["getKsNaf"]>>;
  try {
    // TS 33.220 B.3: NAF_Id = the FQDN of the realm (as the UE uses it) ‖ 01 00 00 00 02 (TS 33.220 H.3)
    key = await ctx.ue.middleware.getKsNaf(space.nafFqdn, UA_ID.HTTP_DIGEST);
  } catch (err) {
    if (err instanceof UeError) return skip(`bootstrapping with the BSF failed: ${err.message}`);
    throw err;
  }
  const password = ksNafPassword(key.key);
  key.key.fill(0);
  const uri = `${ctx.url.pathname}${ctx.url.search}`;
  const creds = nafCredentials(space, {
    btid: key.btid,
    password,
    cnonce: bytesToHex(ctx.randomBytes(16)),
    method: "GET",
    uri,
    body: undefined,
  });
  const answer = await nafGet(ctx, ctx.url, creds.authorization);
  return { space, creds, answer, btid: key.btid };
}

async function authenticated(ctx: NafContext): Promise<DigestExchange | Outcome> {
  const d = await ctx.digest();
  if (isOutcome(d)) return d;
  if (d.answer.status < 200 || d.answer.status >= 300) return skip("needs an authenticated 2xx (see naf.digest)");
  return d;
}

/** The BSF host of a B-TID, or undefined when it does not parse. */
function bsfHostOf(btid: string): string | undefined {
  try {
    return parseBtid(btid).bsfHost;
  } catch {
    return undefined;
  }
}

/** The FQDN a TLS-PSK NAF_Id uses: --naf-fqdn or the URL host when it is a name. */
function tlsPskFqdn(ctx: NafContext, url: URL): string | undefined {
  return ctx.nafFqdn ?? (isIP(url.hostname) === 0 ? url.hostname : undefined);
}

async function tlsPskCheck(ctx: NafContext, tls13: boolean): Promise<Outcome> {
  const url = ctx.tlsPskUrl;
  if (url === undefined) return skip("needs --tls-psk URL (the NAF's TLS-PSK listener)");
  if (!ctx.ue.canBootstrap) return skip("needs --bsf URL: the PSK is Ks_NAF from a bootstrapping");
  const fqdn = tlsPskFqdn(ctx, url);
  if (fqdn === undefined) return skip(`the TLS-PSK URL names an address; give --naf-fqdn NAME for NAF_Id`);
  const port = Number(url.port || 443);
  let socket: Awaited<ReturnType<typeof tlsPskConnect>>;
  try {
    socket = await tlsPskConnect(ctx.ue.middleware, url.hostname, port, { nafFqdn: fqdn, tls13, timeoutMs: 10_000 });
  } catch (err) {
    if (err instanceof UeError) return fail(`handshake with the GBA key refused: ${err.message}`);
    throw err;
  }
  const { btid, uaId, suite } = socket.gba;
  const res = await httpOverTls(socket, {
    path: `${url.pathname}${url.search}`,
    host: url.host,
    headers: { "user-agent": ctx.userAgent },
  });
  const who = `identity 3GPP-bootstrapping.${btid}, Ua id ${bytesToHex(uaId)} (${suite})`;
  if (res.status === 401) return fail(`${who}: handshake accepted, but the request inside got 401`);
  return pass(`${who}: handshake accepted, request answered ${res.status}`);
}

export const NAF_CHECKS: readonly Check<NafContext>[] = [
  {
    id: "naf.challenge",
    clause: "TS 24.109 §5.2.4; TS 33.220 §4.5.1",
    title: "a request without credentials gets 401 with a Digest challenge (bootstrapping required indication)",
    async run(ctx) {
      const first = await ctx.first();
      if (isOutcome(first)) return first;
      const c = digestChallenges(first);
      return c.ok ? pass(`401 with ${c.challenges.length} Digest challenge(s)`) : fail(c.problem);
    },
  },
  {
    id: "naf.challenge.realm",
    clause: "TS 24.109 §5.2.4",
    title: 'realm is "3GPP-bootstrapping@<FQDN>" (or the -uicc form, several separated by ";")',
    async run(ctx) {
      const c = await firstChallenges(ctx);
      if (isOutcome(c)) return c;
      const realms = c.challenges.map((x) => x.realm);
      const good = realms.filter((r) => realmEntries(r).every((e) => "prefix" in e));
      if (good.length === 0) return fail(`no 3GPP-bootstrapping realm: ${realms.map((r) => `"${r}"`).join(", ")}`);
      return pass(`realm "${good[0]}"`);
    },
  },
  {
    id: "naf.challenge.realm-host",
    clause: "TS 33.222 §5.3.0; TS 24.109 §5.2",
    title: "the realm's FQDN is the host the UE contacted",
    async run(ctx) {
      const c = await firstChallenges(ctx);
      if (isOutcome(c)) return c;
      const want = ctx.nafFqdn;
      if (want === undefined) return skip(`the URL names an address (${ctx.url.hostname}); give --naf-fqdn NAME to compare`);
      const fqdns = c.challenges.flatMap((x) => realmEntries(x.realm)).flatMap((e) => ("fqdn" in e ? [e.fqdn] : []));
      if (fqdns.length === 0) return skip("no 3GPP-bootstrapping realm to compare (see naf.challenge.realm)");
      const other = fqdns.filter((f) => f.toLowerCase() !== want.toLowerCase());
      return other.length === 0
        ? pass(`realm FQDN ${fqdns[0]} is the host contacted`)
        : fail(`realm names ${other.join(", ")}, the UE contacted ${want}: a UE must refuse to use that NAF's key here`);
    },
  },
  {
    id: "naf.challenge.qop",
    clause: "RFC 7616 §3.3; TS 24.109 §5.2.2",
    title: "qop is offered (auth-int and/or auth)",
    async run(ctx) {
      const c = await firstChallenges(ctx);
      if (isOutcome(c)) return c;
      const qops = c.challenges.filter((x) => x.qop.length > 0).map((x) => x.qop.join(","));
      if (qops.length === 0) return fail("no qop parameter: RFC 7616 §3.3 makes it mandatory (RFC 2069 compatibility only)");
      const known = c.challenges.some((x) => x.qop.includes("auth") || x.qop.includes("auth-int"));
      return known ? pass(`qop="${qops[0]}"`) : fail(`qop="${qops.join('", "')}" offers neither auth nor auth-int`);
    },
  },
  {
    id: "naf.challenge.syntax",
    clause: "RFC 7616 §3.3",
    title: "realm, nonce, opaque, qop and domain are quoted strings; algorithm and stale are not",
    async run(ctx) {
      const c = await firstChallenges(ctx);
      return isOutcome(c) ? c : quotingOutcome(c.header);
    },
  },
  {
    id: "naf.digest",
    clause: "TS 24.109 §5.2.2; TS 33.220 B.3; RFC 7616 §3.4",
    title: "username = B-TID, password = base64(Ks_NAF) for NAF_Id = FQDN ‖ 01 00 00 00 02 gets 2xx",
    async run(ctx) {
      const d = await ctx.digest();
      if (isOutcome(d)) return d;
      const s = d.answer.status;
      if (s >= 200 && s < 300) return pass(`B-TID ${d.btid}, qop ${d.space.qop ?? "none"}: ${s}`);
      return fail(`the authenticated request got ${describeAnswer(d.answer)}`);
    },
  },
  {
    id: "naf.digest.rspauth",
    clause: "RFC 7616 §3.5; TS 24.109 §5.2.2",
    reading: "TS 24.109 B.3 shows the NAF's Authentication-Info; we hold that the UE authenticates the NAF by its rspauth",
    title: "Authentication-Info carries rspauth over the exact response body",
    async run(ctx) {
      const d = await authenticated(ctx);
      if (isOutcome(d)) return d;
      const h = header(d.answer, "authentication-info");
      if (h === undefined) return fail("the 2xx has no Authentication-Info: the NAF is not authenticated to the UE");
      try {
        verifyRspauth(h, d.answer.body, d.creds);
      } catch (err) {
        if (err instanceof UeError) return fail(err.message);
        throw err;
      }
      return pass(`rspauth verified over the ${d.answer.body.length}-octet body`);
    },
  },
  {
    id: "naf.nc-replay",
    clause: "RFC 7616 §3.4, §5.4",
    title: "the same request (same nonce, nc and cnonce) sent again is refused",
    async run(ctx) {
      const d = await authenticated(ctx);
      if (isOutcome(d)) return skip("needs an authenticated request to replay (see naf.digest)");
      return replayRefused(`nc=${d.creds.nc} sent again`, "a captured request can be played again", () =>
        nafGet(ctx, ctx.url, d.creds.authorization),
      );
    },
  },
  {
    id: "naf.unknown-btid",
    clause: "TS 24.109 §5.2.5",
    title: "credentials with a B-TID the BSF does not know get a fresh bootstrapping-required 401",
    async run(ctx) {
      const b = await firstChallenges(ctx);
      if (isOutcome(b)) return b;
      const fresh = await nafGet(ctx, ctx.url);
      const c = digestChallenges(fresh);
      if (!c.ok) return skip(`no fresh challenge to answer (${c.problem})`);
      let found: ReturnType<typeof bootstrappingChallengeIn>;
      try {
        found = bootstrappingChallengeIn(c.header);
      } catch (err) {
        if (err instanceof UeError) return skip(err.message);
        throw err;
      }
      if (found === undefined) return skip("no 3GPP-bootstrapping challenge to answer (see naf.challenge.realm)");
      const d = await ctx.digest();
      const host = (!isOutcome(d) && bsfHostOf(d.btid)) || ctx.ue.bsfFqdn;
      // TS 33.220 §4.5.2: a B-TID of the right form (base64(RAND)@BSF) that no bootstrapping made
      const btid = `${bytesToBase64(ctx.randomBytes(16))}@${host}`;
      const creds = nafCredentials(nafSpaceOf(found), {
        btid,
        password: bytesToBase64(ctx.randomBytes(32)),
        cnonce: bytesToHex(ctx.randomBytes(16)),
        method: "GET",
        uri: `${ctx.url.pathname}${ctx.url.search}`,
        body: undefined,
      });
      const answer = await nafGet(ctx, ctx.url, creds.authorization);
      const again = digestChallenges(answer);
      if (!again.ok) return fail(`unknown B-TID ${btid}: ${describeAnswer(answer)}, not a bootstrapping-required 401`);
      const renegotiate = again.challenges.some((x) => realmEntries(x.realm).some((e) => "prefix" in e));
      return renegotiate
        ? pass(`unknown B-TID: 401 with a 3GPP-bootstrapping realm (the UE bootstraps again)`)
        : fail("unknown B-TID: a 401 without a 3GPP-bootstrapping realm, so the UE does not know to bootstrap again");
    },
  },
  {
    id: "naf.any-path",
    clause: "TS 24.109 §5.2.4; TS 33.220 §4.5.1",
    reading:
      "§4.5.1/§5.2.4: a NAF that requires GBA answers a request without GBA parameters with the bootstrapping " +
      "initiation; we hold that this covers every path of its protected space, so an unknown path is challenged, not 404",
    title: "a request for a path the NAF does not serve, without credentials, gets the bootstrapping 401 (not 404)",
    async run(ctx) {
      const path = new URL(`/conformance-${bytesToHex(ctx.randomBytes(6))}`, ctx.url);
      let a: HttpAnswer;
      try {
        a = await nafGet(ctx, path);
      } catch (err) {
        if (err instanceof Unreachable) return fail(err.message);
        throw err;
      }
      const c = digestChallenges(a);
      if (!c.ok) return fail(`${path.pathname}: ${c.problem}: an unauthenticated client learns which paths exist`);
      const boot = c.challenges.some((x) => realmEntries(x.realm).some((e) => "prefix" in e));
      return boot
        ? pass(`${path.pathname}: 401 bootstrapping required`)
        : fail(`${path.pathname}: 401 without a 3GPP-bootstrapping realm`);
    },
  },
  {
    id: "naf.tls-psk.tls12",
    clause: "TS 33.222 §5.4; TS 33.220 H.3; TS 24.109 §5.3.3.1.2",
    title: 'TLS 1.2: hint "3GPP-bootstrapping", identity "3GPP-bootstrapping.<B-TID>", PSK Ks_NAF for Ua id 01 00 01 yy zz',
    run: (ctx) => tlsPskCheck(ctx, false),
  },
  {
    id: "naf.tls-psk.tls13",
    clause: "TS 33.222 §5.4.0.2; TS 33.220 H.3; TS 24.109 §5.3.3.1.3",
    title: 'TLS 1.3 external PSK: identity "3GPP-bootstrapping.<B-TID>", PSK Ks_NAF for Ua id 01 00 00 00 07',
    run: (ctx) => tlsPskCheck(ctx, true),
  },
];
