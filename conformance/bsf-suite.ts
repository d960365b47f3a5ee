// The BSF suite: our UE drives a BSF over Ub (TS 24.109 §4 and Annex A, TS 33.220 §4.5.2,
// RFC 3310) through one check per requirement, each naming its clause. The checks share one
// successful bootstrapping (the "happy" attempt) where they only inspect it; the others run
// their own attempt with one deliberate deviation.
import { BOOTSTRAPPING_INFO_CONTENT_TYPE, parseBootstrappingInfo } from "../gba/bootstrapping-info.js";
import { deriveTmpi, parseBtid, TMPI_REALM } from "../gba/btid.js";
import type { DigestChallenge } from "../gba/digest/index.js";
import { ksFromCkIk } from "../gba/keys.js";
import { base64ToBytes, bytesToBase64 } from "../wire/bytes.js";
import { PRODUCT_TOKEN, productTokens } from "../wire/ub.js";
import type { AkaOutcome } from "../ue/ub/run.js";
import { type Check, fail, type Outcome, pass, skip } from "./check.js";
import { digestChallenges, quotingOutcome, quotingProblems } from "./challenge.js";
import { describeAnswer, header, type HttpAnswer, replayRefused } from "./http.js";
import { attemptBootstrap, resAnswer, sendUb, type UbAttempt, type UbDriver } from "./ub-attempt.js";

export interface BsfContext extends UbDriver {
  /** ms to wait between AKA and the answer in bsf.stale; undefined: the check is skipped */
  staleWaitMs?: number;
  sleep(ms: number): Promise<void>;
  clock(): number;
  /** progress for the user while a check waits (one line) */
  note(text: string): void;
  /** the first successful bootstrapping of the run (memoised) */
  happy(): Promise<UbAttempt>;
  /** RAND, CK, IK and B-TID of the latest GBA_ME bootstrapping that succeeded (for the TMPI, B.4) */
  lastKeys?: { rand: Uint8Array; ck: Uint8Array; ik: Uint8Array; btid: string };
}

/** Runs an attempt and remembers its keys when it bootstrapped (GBA_ME). */
export async function bootstrapAttempt(ctx: BsfContext, o: Parameters<typeof attemptBootstrap>[1] = {}): Promise<UbAttempt> {
  const a = await attemptBootstrap(ctx, o);
  const last = a.akas.at(-1)?.outcome;
  if (a.end?.kind === "done" && last?.kind === "success" && last.ck && last.ik) {
    ctx.lastKeys = { rand: a.end.result.rand, ck: last.ck, ik: last.ik, btid: a.end.result.btid };
  }
  return a;
}

/** Why the run ended (the UE's words), or `otherwise`. */
function ended(a: UbAttempt, otherwise: string): string {
  return a.end?.kind === "failed" ? a.end.error.message : otherwise;
}

const isOutcome = (x: object): x is Outcome => "verdict" in x;

/** The attempt, or a FAIL when the BSF did not answer it at all. */
async function answered(a: Promise<UbAttempt>): Promise<UbAttempt | Outcome> {
  const done = await a;
  return done.exchanges.length > 0 ? done : fail(ended(done, "no request was answered"));
}

/** The AKA challenge of the first 401 (the one naming AKAv1/AKAv2, else the first Digest one). */
async function firstChallenge(ctx: BsfContext): Promise<{ ch: DigestChallenge; header: string } | Outcome> {
  const a = await answered(ctx.happy());
  if (isOutcome(a)) return a;
  const c = digestChallenges(a.exchanges[0].answer);
  if (!c.ok) return skip(`no Digest challenge to inspect (${c.problem}; see bsf.challenge)`);
  return { ch: c.challenges.find((x) => /^akav/i.test(x.algorithm)) ?? c.challenges[0], header: c.header };
}

/** The 200 of the happy attempt, or why there is none. */
async function bootstrapped(ctx: BsfContext): Promise<{ a: UbAttempt; ok: HttpAnswer } | Outcome> {
  const a = await ctx.happy();
  const ex = resAnswer(a);
  if (ex?.answer.status !== 200) return skip("no 200 to inspect (see bsf.bootstrap)");
  return { a, ok: ex.answer };
}

function akaTrouble(o: AkaOutcome | undefined): string | undefined {
  if (o === undefined) return "the run ended before the USIM saw a challenge";
  if (o.kind === "mac-failure")
    return "the USIM rejected AUTN (MAC failure): the challenge was not made with this subscriber's K";
  if (o.kind === "sync-failure") return "the USIM found the SQN out of range (sync failure)";
  return undefined;
}

const AKA_ALGORITHMS = ["AKAv1-MD5", "AKAv2-MD5"];

/** TS 24.109 A.3: the Ub 200 body's media type. */
const BSF_XML = BOOTSTRAPPING_INFO_CONTENT_TYPE;

/** xs:dateTime in UTC (TS 24.109 Annex C: the lifetime is given in UTC). */
const UTC_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export const BSF_CHECKS: readonly Check<BsfContext>[] = [
  {
    id: "bsf.challenge",
    clause: "TS 24.109 A.3; TS 33.220 §4.5.2",
    title: 'the first request (username, realm, nonce="", uri="/", response="") gets a 401 with a Digest challenge',
    async run(ctx) {
      const a = await answered(ctx.happy());
      if (isOutcome(a)) return a;
      const c = digestChallenges(a.exchanges[0].answer);
      return c.ok ? pass(`401 with ${c.challenges.length} Digest challenge(s)`) : fail(c.problem);
    },
  },
  {
    id: "bsf.challenge.realm",
    clause: "TS 24.109 §4.2, A.3",
    reading:
      "A.3 shows realm = the BSF's host name; the §4.2 text is not in a public copy, and its 2G mirror H.2 a) says " +
      '"the realm parameter shall contain the FQDN of the BSF"',
    title: "realm is the BSF FQDN",
    async run(ctx) {
      const f = await firstChallenge(ctx);
      if (isOutcome(f)) return f;
      const want = ctx.target.fqdn;
      return f.ch.realm.toLowerCase() === want.toLowerCase()
        ? pass(`realm "${f.ch.realm}"`)
        : fail(`realm "${f.ch.realm}" is not the BSF FQDN "${want}"`);
    },
  },
  {
    id: "bsf.challenge.nonce",
    clause: "RFC 3310 §3.2; TS 24.109 A.4",
    title: "nonce is base64(RAND ‖ AUTN [‖ server data]): at least 32 octets",
    async run(ctx) {
      const f = await firstChallenge(ctx);
      if (isOutcome(f)) return f;
      const raw = base64ToBytes(f.ch.nonce);
      if (raw === undefined) return fail(`nonce "${f.ch.nonce.slice(0, 60)}" is not base64`);
      if (raw.length < 32) return fail(`nonce holds ${raw.length} octets; RAND ‖ AUTN needs 32`);
      return pass(`${raw.length} octets: RAND ‖ AUTN${raw.length > 32 ? ` ‖ ${raw.length - 32} octets of server data` : ""}`);
    },
  },
  {
    id: "bsf.challenge.algorithm",
    clause: "RFC 3310 §3.1; RFC 4169; TS 24.109 A.3",
    title: "algorithm is AKAv1-MD5 (or AKAv2-MD5)",
    async run(ctx) {
      const f = await firstChallenge(ctx);
      if (isOutcome(f)) return f;
      const alg = f.ch.params.algorithm;
      if (alg === undefined) return fail("no algorithm parameter (absent means MD5, which is not Digest AKA)");
      return AKA_ALGORITHMS.some((x) => x.toLowerCase() === alg.toLowerCase())
        ? pass(`algorithm=${alg}`)
        : fail(`algorithm=${alg} is not AKAv1-MD5 or AKAv2-MD5`);
    },
  },
  {
    id: "bsf.challenge.qop",
    clause: "TS 24.109 §4.2, A.3; RFC 7616 §3.3",
    reading:
      'A.3 offers qop="auth-int"; the §4.2 text is not in a public copy, its 2G mirror H.2 b) says qop "shall be auth-int"',
    title: "qop offers auth-int",
    async run(ctx) {
      const f = await firstChallenge(ctx);
      if (isOutcome(f)) return f;
      if (f.ch.qop.length === 0) return fail("no qop parameter");
      return f.ch.qop.includes("auth-int")
        ? pass(`qop="${f.ch.qop.join(",")}"`)
        : fail(`qop="${f.ch.qop.join(",")}" does not offer auth-int`);
    },
  },
  {
    id: "bsf.challenge.opaque",
    clause: "RFC 7616 §3.3; TS 24.109 A.3",
    title: "opaque, when sent, is a quoted string, echoed unchanged in the answer",
    async run(ctx) {
      const f = await firstChallenge(ctx);
      if (isOutcome(f)) return f;
      if (f.ch.opaque === undefined) return skip("the challenge has no opaque (optional, RFC 7616 §3.3): nothing to echo");
      if (quotingProblems(f.header).includes("opaque is not a quoted string")) return fail("opaque is not a quoted string");
      const answer = resAnswer(await ctx.happy());
      const echoed = answer?.request.credentials.opaque;
      if (answer !== undefined && echoed !== f.ch.opaque) return fail("the answer did not carry the opaque unchanged");
      return pass(`opaque "${f.ch.opaque.slice(0, 40)}" echoed unchanged`);
    },
  },
  {
    id: "bsf.challenge.syntax",
    clause: "RFC 7616 §3.3",
    title: "realm, nonce, opaque, qop and domain are quoted strings; algorithm and stale are not",
    async run(ctx) {
      const f = await firstChallenge(ctx);
      if (isOutcome(f)) return f;
      return quotingOutcome(f.header);
    },
  },
  {
    id: "bsf.bootstrap",
    clause: "TS 33.220 §4.5.2; TS 24.109 A.3; RFC 3310 §3.3",
    title: "the USIM accepts AUTN, and the answer with RES gets 200 OK",
    async run(ctx) {
      const a = await answered(ctx.happy());
      if (isOutcome(a)) return a;
      const trouble = akaTrouble(a.akas.at(-1)?.outcome);
      if (trouble !== undefined) return fail(a.end?.kind === "failed" && a.akas.length === 0 ? a.end.error.message : trouble);
      const ex = resAnswer(a);
      if (ex === undefined) return fail(ended(a, "no answer with RES was sent"));
      if (ex.answer.status !== 200) return fail(`the answer with RES got ${describeAnswer(ex.answer)}`);
      const resyncs = a.akas.length - 1;
      return pass(`200 OK${resyncs > 0 ? " after one resynchronisation" : ""}`);
    },
  },
  {
    id: "bsf.bootstrap.xml",
    clause: "TS 24.109 Annex C, A.3",
    title: `the 200 body is BootstrappingInfo XML (namespace uri:3gpp-gba), Content-Type ${BSF_XML}`,
    async run(ctx) {
      const b = await bootstrapped(ctx);
      if (isOutcome(b)) return b;
      const problems: string[] = [];
      const ct = header(b.ok, "content-type");
      if (ct?.split(";")[0].trim().toLowerCase() !== BSF_XML) problems.push(`Content-Type ${ct ?? "(none)"}, not ${BSF_XML}`);
      try {
        parseBootstrappingInfo(b.ok.body);
      } catch (err) {
        problems.push((err as Error).message);
      }
      return problems.length === 0 ? pass("BootstrappingInfo in namespace uri:3gpp-gba") : fail(problems.join("; "));
    },
  },
  {
    id: "bsf.bootstrap.btid",
    clause: "TS 33.220 §4.5.2",
    title: "B-TID is base64(RAND)@BSF server name, RAND of the challenge answered",
    async run(ctx) {
      const b = await bootstrapped(ctx);
      if (isOutcome(b)) return b;
      const btid = /<btid>([^<]*)<\/btid>/.exec(Buffer.from(b.ok.body).toString("utf8"))?.[1];
      if (btid === undefined) return fail("the 200 body has no <btid>");
      let parsed: ReturnType<typeof parseBtid>;
      try {
        parsed = parseBtid(btid);
      } catch (err) {
        return fail(`B-TID "${btid.slice(0, 80)}": ${(err as Error).message}`);
      }
      const rand = b.a.akas.at(-1)?.challenge.rand;
      if (rand === undefined || bytesToBase64(parsed.rand) !== bytesToBase64(rand)) {
        return fail(`B-TID "${btid}" does not carry base64 of the RAND that was answered`);
      }
      const host =
        parsed.bsfHost.toLowerCase() === ctx.target.fqdn.toLowerCase()
          ? ""
          : ` (host ${parsed.bsfHost} is not the realm ${ctx.target.fqdn}: allowed, the NAF asks that host over Zn)`;
      return pass(`B-TID ${btid}${host}`);
    },
  },
  {
    id: "bsf.bootstrap.lifetime",
    clause: "TS 24.109 C.1; TS 33.220 §4.5.2",
    title: "lifetime is an xs:dateTime in UTC, in the future",
    async run(ctx) {
      const b = await bootstrapped(ctx);
      if (isOutcome(b)) return b;
      const text = /<lifetime>([^<]*)<\/lifetime>/.exec(Buffer.from(b.ok.body).toString("utf8"))?.[1]?.trim();
      if (text === undefined) return fail("the 200 body has no <lifetime>");
      if (!UTC_DATE_TIME.test(text)) return fail(`lifetime "${text.slice(0, 40)}" is not an xs:dateTime in UTC (…Z)`);
      const lifetime = Date.parse(text);
      const date = header(b.ok, "date");
      const now = date !== undefined && Number.isFinite(Date.parse(date)) ? Date.parse(date) : ctx.clock();
      const from = date !== undefined ? "the answer's Date" : "this machine's clock";
      if (!(lifetime > now)) return fail(`lifetime ${text} is not after ${from} (${new Date(now).toISOString()})`);
      return pass(`lifetime ${text}, ${Math.round((lifetime - now) / 1000)} s after ${from}`);
    },
  },
  {
    id: "bsf.bootstrap.rspauth",
    clause: "RFC 3310 §3.5; RFC 7616 §3.5; TS 24.109 A.3",
    title: "Authentication-Info carries rspauth computed over the exact 200 body",
    async run(ctx) {
      const b = await bootstrapped(ctx);
      if (isOutcome(b)) return b;
      const end = b.a.end;
      if (end?.kind === "failed" && end.error.code === "SERVER_AUTH_FAILED") return fail(end.error.message);
      if (header(b.ok, "authentication-info") === undefined) return fail("the 200 has no Authentication-Info");
      return pass(`rspauth verified over the ${b.ok.body.length}-octet body`);
    },
  },
  {
    id: "bsf.server-token",
    clause: "TS 33.220 §4.5.2",
    title: 'Server carries the product token "3gpp-gba-tmpi"',
    async run(ctx) {
      const a = await answered(ctx.happy());
      if (isOutcome(a)) return a;
      const server = header(a.exchanges[0].answer, "server");
      if (server === undefined) return fail("the Ub answer has no Server header");
      return productTokens(server, [PRODUCT_TOKEN.GBA_TMPI]).length === 1
        ? pass(`Server: ${server}`)
        : fail(`Server: ${server} lacks the product token ${PRODUCT_TOKEN.GBA_TMPI}`);
    },
  },
  {
    id: "bsf.tmpi.username",
    clause: "TS 33.220 §4.5.2, B.4",
    // Ub shows no identity: a BSF that challenges any username with this subscriber's vector passes too
    title: "a TMPI (B.4, from the last bootstrapping) as username is resolved to the IMPI: challenge, RES, 200",
    async run(ctx) {
      if (ctx.ue.mode !== "GBA_ME") return skip("GBA_U: Ks stays on the UICC, so the ME cannot derive the TMPI here");
      await ctx.happy();
      const k = ctx.lastKeys;
      if (k === undefined) return skip("needs a GBA_ME bootstrapping that succeeded (see bsf.bootstrap)");
      let bsfHost: string;
      try {
        bsfHost = parseBtid(k.btid).bsfHost;
      } catch {
        return skip("the last B-TID does not parse, so BSF_Id is unknown (see bsf.bootstrap.btid)");
      }
      // TS 33.220 B.4: BSF_Id = the BSF's DNS name as used in the B-TID
      const tmpi = deriveTmpi(ksFromCkIk(k.ck, k.ik), k.rand, ctx.ue.impi, bsfHost);
      const a = await answered(bootstrapAttempt(ctx, { username: tmpi }));
      if (isOutcome(a)) return a;
      const first = digestChallenges(a.exchanges[0].answer);
      if (!first.ok) return fail(`username ${tmpi}: ${first.problem}`);
      const o = a.akas.at(-1)?.outcome;
      if (o?.kind === "mac-failure") {
        return fail(`the BSF did not resolve TMPI ${tmpi} to the IMPI: its challenge is not for this USIM (MAC failure)`);
      }
      const ex = resAnswer(a);
      if (ex === undefined) return fail(ended(a, "no answer with RES was sent"));
      return ex.answer.status === 200
        ? pass(`TMPI ${tmpi}: challenge accepted by the USIM, 200 OK`)
        : fail(`TMPI ${tmpi}: the answer with RES got ${describeAnswer(ex.answer)}`);
    },
  },
  {
    id: "bsf.tmpi.unknown",
    clause: "TS 33.220 §4.5.2",
    reading:
      "§4.5.2 as far as a public copy goes: the BSF tells a TMPI from an IMPI by its form (B.4) and looks the " +
      "TMPI up; what it answers for one it does not know is not in that copy. We read it as any 4xx that is not an " +
      "AKA challenge: a challenge for an identity the BSF cannot resolve can only be a decoy the USIM rejects, after " +
      "which a UE would not retry with its IMPI",
    title: "an unknown TMPI gets an error (not an AKA challenge), so the UE retries with its IMPI",
    async run(ctx) {
      const tmpi = `${bytesToBase64(ctx.randomBytes(24))}@${TMPI_REALM}`;
      const a = await answered(attemptBootstrap(ctx, { username: tmpi, firstOnly: true }));
      if (isOutcome(a)) return a;
      const ans = a.exchanges[0].answer;
      const c = digestChallenges(ans);
      if (c.ok && c.challenges.some((x) => /^akav/i.test(x.algorithm))) {
        return fail(
          "the BSF answered an unknown TMPI with an AKA challenge, as if it were an IMPI: the UE cannot tell it must retry with its IMPI",
        );
      }
      if (ans.status >= 400 && ans.status < 500) return pass(`unknown TMPI answered ${describeAnswer(ans)}`);
      return fail(`unknown TMPI answered ${describeAnswer(ans)}, not an error`);
    },
  },
  {
    id: "bsf.wrong-res",
    clause: "TS 24.109 §4.3; RFC 3310 §3.3",
    reading:
      "the §4.3 text (user authentication failure) is not in a public copy; an answer with a wrong RES must not " +
      "bootstrap: 401 (a new challenge) and 403 both refuse it",
    title: "an answer with a wrong RES is refused (401 or 403)",
    async run(ctx) {
      const a = await answered(
        attemptBootstrap(ctx, {
          alterAka: (o) => (o.kind === "success" ? { ...o, res: o.res.map((b, i) => (i === 0 ? b ^ 0xff : b)) } : o),
        }),
      );
      if (isOutcome(a)) return a;
      const trouble = akaTrouble(a.akas.at(-1)?.outcome);
      if (trouble !== undefined) return skip(`${trouble}; no RES to get wrong (see bsf.bootstrap)`);
      const ex = resAnswer(a);
      if (ex === undefined) return fail(ended(a, "no answer was sent"));
      const s = ex.answer.status;
      if (s === 401 || s === 403) return pass(`wrong RES refused with ${s}`);
      if (s >= 200 && s < 300) return fail(`a wrong RES was accepted (${s}): the BSF did not check the response`);
      return fail(`a wrong RES got ${describeAnswer(ex.answer)}, not 401 or 403`);
    },
  },
  {
    id: "bsf.nonce-replay",
    clause: "RFC 7616 §5.4; TS 33.102 §6.3.2",
    title: "the same answer sent again after the 200 is refused (one challenge, one bootstrapping)",
    async run(ctx) {
      const b = await bootstrapped(ctx);
      if (isOutcome(b)) return skip("needs a successful bootstrapping to replay (see bsf.bootstrap)");
      const ex = resAnswer(b.a);
      if (ex === undefined) return skip("needs a successful bootstrapping to replay (see bsf.bootstrap)");
      return replayRefused("the answer sent again", "one RES bootstrapped twice", () => sendUb(ctx, ex.request));
    },
  },
  {
    id: "bsf.stale",
    clause: "RFC 7616 §3.3",
    title: "a right answer to an expired nonce gets 401 with stale=true and a fresh nonce",
    async run(ctx) {
      const wait = ctx.staleWaitMs;
      if (wait === undefined) {
        return skip(
          "needs --stale-wait SECONDS, longer than the BSF's nonce lifetime, to let a challenge expire before answering",
        );
      }
      const pause = () => {
        ctx.note(`bsf.stale: waiting ${wait / 1000} s before answering the challenge`);
        return ctx.sleep(wait);
      };
      const a = await answered(bootstrapAttempt(ctx, { beforeAnswer: pause }));
      if (isOutcome(a)) return a;
      const trouble = akaTrouble(a.akas.at(-1)?.outcome);
      if (trouble !== undefined) return skip(`${trouble} (see bsf.bootstrap)`);
      const ex = resAnswer(a);
      if (ex === undefined) return fail(ended(a, "no answer was sent"));
      const s = ex.answer.status;
      const secs = `${wait / 1000} s`;
      if (s === 200) {
        return fail(
          `an answer sent ${secs} after the challenge was accepted: the nonce lifetime is longer or nonces never expire`,
        );
      }
      const c = digestChallenges(ex.answer);
      if (!c.ok) return fail(`an answer to a ${secs} old nonce got ${describeAnswer(ex.answer)}, not 401 stale=true`);
      const fresh = c.challenges.find((x) => x.stale);
      if (fresh === undefined) return fail(`a new challenge without stale=true after ${secs}: the UE takes it for a wrong RES`);
      if (fresh.nonce === ex.request.credentials.nonce) return fail("stale=true but the same nonce again");
      return pass(`401 stale=true with a fresh nonce after ${secs}`);
    },
  },
  {
    id: "bsf.resync",
    clause: "TS 24.109 §4.5, A.4; RFC 3310 §3.4; TS 33.102 §6.3.5",
    title: "with the USIM's SQN ahead: AUTS → a fresh 401 whose AUTN the USIM accepts → 200",
    async run(ctx) {
      const why = await ctx.ue.putSqnAhead();
      if (why !== undefined) return skip(why);
      const a = await answered(bootstrapAttempt(ctx));
      if (isOutcome(a)) return a;
      const [first, second] = a.akas;
      if (first === undefined) return fail(ended(a, "no challenge"));
      if (first.outcome.kind === "mac-failure") return skip(`${akaTrouble(first.outcome)} (see bsf.bootstrap)`);
      if (first.outcome.kind === "success") {
        return skip("the USIM accepted the challenge although its SQN was put ahead: the network's SQN is further ahead still");
      }
      const afterAuts = a.exchanges[1]?.answer;
      if (afterAuts === undefined) return fail(ended(a, "AUTS was not answered"));
      const c = digestChallenges(afterAuts);
      if (!c.ok) return fail(`the answer to AUTS: ${c.problem} (A.4: a new challenge from a resynchronised vector)`);
      if (second === undefined) return fail(ended(a, "no second challenge"));
      if (second.outcome.kind === "sync-failure") {
        return fail("the USIM refused the new challenge's SQN again: the BSF did not resynchronise with the HSS");
      }
      if (second.outcome.kind === "mac-failure") return fail(`the new challenge: ${akaTrouble(second.outcome)}`);
      const ex = resAnswer(a);
      if (ex?.answer.status !== 200)
        return fail(`the answer to the new challenge got ${ex ? describeAnswer(ex.answer) : "nothing"}`);
      return pass("AUTS → fresh 401 → the USIM accepted its AUTN → 200 OK");
    },
  },
];
