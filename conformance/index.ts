// Conformance mode: drive a BSF or a NAF we did not write with our UE (simulated USIM or PC/SC
// card) through a clause-by-clause suite and report PASS / FAIL / SKIP per check. Imports ue/,
// gba/ and wire/ only, never nf/: the target is someone else's network function.
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { isIP } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import type { GbaMode } from "../ue/middleware/gba-middleware.js";
import type { CardSource } from "../ue/open-ue.js";
import type { RandomBytes } from "../wire/deps.js";
import { PRODUCT_TOKEN, withProductToken } from "../wire/ub.js";
import { BSF_CHECKS, type BsfContext, bootstrapAttempt } from "./bsf-suite.js";
import type { Check, CheckResult, Outcome } from "./check.js";
import { HttpClient, type HttpAnswer, Unreachable } from "./http.js";
import { type DigestExchange, digestExchange, NAF_CHECKS, type NafContext, nafGet } from "./naf-suite.js";
import { runChecks, type SuiteReport, summarise } from "./runner.js";
import type { UbAttempt } from "./ub-attempt.js";
import { ConformanceUe } from "./ue.js";

export { BSF_CHECKS } from "./bsf-suite.js";
export type { Check, CheckResult, Outcome, Verdict } from "./check.js";
export { NAF_CHECKS } from "./naf-suite.js";
export { resultLine, summaryLine, toJson, toMarkdown } from "./report.js";
export { type SuiteReport, unknownSelections } from "./runner.js";

export interface ConformanceDeps {
  randomBytes: RandomBytes;
  clock: () => number;
  sleep: (ms: number) => Promise<void>;
}

const systemDeps: ConformanceDeps = {
  randomBytes: (n) => new Uint8Array(nodeRandomBytes(n)),
  clock: () => Date.now(),
  sleep: (ms) => delay(ms),
};

interface CommonOptions {
  card: CardSource;
  /** IMPI to use (default from EF_IMSI, TS 23.003 §13.3) */
  impi?: string;
  mode?: GbaMode | "auto";
  /** only checks whose id is or starts with one of these */
  only?: readonly string[];
  onResult?: (r: CheckResult) => void;
  /** progress while a check waits (e.g. for a nonce to go stale) */
  onNote?: (text: string) => void;
  /** name and version of the tool, for the report */
  tool?: string;
  deps?: Partial<ConformanceDeps>;
}

export interface BsfConformanceOptions extends CommonOptions {
  /** Ub URL of the BSF under test */
  url: string;
  /** the BSF FQDN (realm); default from the IMSI (TS 23.003 §16.2), as a UE derives it */
  bsfFqdn?: string;
  /** seconds to wait before answering a challenge in bsf.stale; absent: bsf.stale is skipped */
  staleWaitSeconds?: number;
}

export interface NafConformanceOptions extends CommonOptions {
  /** a protected resource of the NAF under test, http:// (Digest) */
  url: string;
  /** Ub URL of the NAF's BSF (the keys come from a bootstrapping there) */
  bsfUrl?: string;
  /** realm of the first Ub request; default from the IMSI */
  bsfFqdn?: string;
  /** the NAF's FQDN, when the URL names it by address */
  nafFqdn?: string;
  /** the NAF's TLS-PSK listener, https://host:port/path */
  tlsPskUrl?: string;
}

/** TS 33.220 §4.5.2: "A UE shall always include the product token 3gpp-gba-tmpi" on Ub. */
const UB_AGENT = withProductToken("gba-emu conformance; Release-6", PRODUCT_TOKEN.GBA_TMPI);
const UA_AGENT = "gba-emu conformance";

function memo<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= f();
    return p;
  };
}

async function report(
  suite: SuiteReport["suite"],
  o: CommonOptions,
  deps: ConformanceDeps,
  target: Record<string, string>,
  ue: ConformanceUe,
  run: () => Promise<CheckResult[]>,
): Promise<SuiteReport> {
  const startedAt = new Date(deps.clock()).toISOString();
  const who = { impi: ue.impi, mode: ue.mode, card: ue.cardKind };
  const results = await run();
  return {
    suite,
    target,
    ue: who,
    tool: o.tool ?? "gba-emu",
    startedAt,
    finishedAt: new Date(deps.clock()).toISOString(),
    summary: summarise(results),
    results,
  };
}

export async function runBsfConformance(o: BsfConformanceOptions): Promise<SuiteReport> {
  const deps = { ...systemDeps, ...o.deps };
  const ue = await ConformanceUe.open({ card: o.card, bsfUrl: o.url, bsfFqdn: o.bsfFqdn, impi: o.impi, mode: o.mode });
  const http = new HttpClient();
  try {
    const ctx: BsfContext = {
      target: { url: o.url, fqdn: ue.bsfFqdn },
      ue,
      http,
      userAgent: ue.mode === "GBA_U" ? withProductToken(UB_AGENT, PRODUCT_TOKEN.GBA_UICC) : UB_AGENT,
      randomBytes: deps.randomBytes,
      staleWaitMs: o.staleWaitSeconds === undefined ? undefined : o.staleWaitSeconds * 1000,
      sleep: deps.sleep,
      clock: deps.clock,
      note: o.onNote ?? (() => {}),
      happy: memo((): Promise<UbAttempt> => bootstrapAttempt(ctx)),
    };
    const target = { "Ub URL": o.url, "BSF FQDN": ctx.target.fqdn };
    return await report("bsf", o, deps, target, ue, () =>
      runChecks(BSF_CHECKS, ctx, { only: o.only, onResult: o.onResult, clock: deps.clock }),
    );
  } finally {
    await http.close();
    await ue.close();
  }
}

export async function runNafConformance(o: NafConformanceOptions): Promise<SuiteReport> {
  const deps = { ...systemDeps, ...o.deps };
  const url = new URL(o.url);
  const ue = await ConformanceUe.open({ card: o.card, bsfUrl: o.bsfUrl, bsfFqdn: o.bsfFqdn, impi: o.impi, mode: o.mode });
  const http = new HttpClient();
  try {
    const ctx: NafContext = {
      url,
      nafFqdn: o.nafFqdn ?? (isIP(url.hostname) === 0 ? url.hostname : undefined),
      tlsPskUrl: o.tlsPskUrl === undefined ? undefined : new URL(o.tlsPskUrl),
      ue,
      http,
      randomBytes: deps.randomBytes,
      // TS 24.109 §5.2.1: the UE announces GBA with a product token
      userAgent: withProductToken(UA_AGENT, ue.mode === "GBA_U" ? PRODUCT_TOKEN.GBA_UICC : PRODUCT_TOKEN.GBA),
      first: memo(async (): Promise<HttpAnswer | Outcome> => {
        try {
          return await nafGet(ctx, url);
        } catch (err) {
          if (err instanceof Unreachable) return { verdict: "FAIL", detail: err.message };
          throw err;
        }
      }),
      digest: memo((): Promise<DigestExchange | Outcome> => digestExchange(ctx)),
    };
    const target: Record<string, string> = { URL: o.url };
    if (ctx.nafFqdn !== undefined) target["NAF FQDN"] = ctx.nafFqdn;
    if (o.tlsPskUrl !== undefined) target["TLS-PSK URL"] = o.tlsPskUrl;
    if (o.bsfUrl !== undefined) target["BSF Ub URL"] = o.bsfUrl;
    return await report("naf", o, deps, target, ue, () =>
      runChecks(NAF_CHECKS, ctx, { only: o.only, onResult: o.onResult, clock: deps.clock }),
    );
  } finally {
    await http.close();
    await ue.close();
  }
}

/** Every check of both suites, for --list and the README. */
export function allChecks(): ReadonlyArray<Check<BsfContext> | Check<NafContext>> {
  return [...BSF_CHECKS, ...NAF_CHECKS];
}
