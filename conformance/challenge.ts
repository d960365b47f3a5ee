// What a 401 offers, as a check sees it: the Digest challenges of WWW-Authenticate (parsed with
// the UE's own parser) and how each parameter was written (quoted or token), which the parser
// does not keep but RFC 7616 §3.3 rules on.
import { type DigestChallenge, DigestParseError, parseDigestChallenge } from "../gba/digest/index.js";
import { fail, type Outcome, pass } from "./check.js";
import { header, type HttpAnswer } from "./http.js";

export type Challenges = { ok: true; header: string; challenges: DigestChallenge[] } | { ok: false; problem: string };

/** The Digest challenges of a 401, or what is wrong with it (not a 401, no header, unparseable, no Digest). */
export function digestChallenges(a: HttpAnswer): Challenges {
  if (a.status !== 401) return { ok: false, problem: `answered ${a.status}, not 401` };
  const h = header(a, "www-authenticate");
  if (h === undefined) return { ok: false, problem: "the 401 has no WWW-Authenticate header" };
  let challenges: DigestChallenge[];
  try {
    challenges = parseDigestChallenge(h);
  } catch (err) {
    if (err instanceof DigestParseError) return { ok: false, problem: `WWW-Authenticate does not parse: ${err.message}` };
    throw err;
  }
  if (challenges.length === 0) return { ok: false, problem: `WWW-Authenticate holds no Digest challenge: ${h.slice(0, 120)}` };
  return { ok: true, header: h, challenges };
}

/** RFC 7616 §3.3: "a sender MUST only generate the quoted string syntax" for these parameters. */
const MUST_QUOTE = ["realm", "domain", "nonce", "opaque", "qop"];
/** RFC 7616 §3.3: "a sender MUST NOT generate the quoted string syntax" for these parameters. */
const MUST_NOT_QUOTE = ["stale", "algorithm"];

/** Every `name=value` of a header as written: name (lower-case) and whether the value was quoted. */
export function paramForms(h: string): Array<{ name: string; quoted: boolean }> {
  const out: Array<{ name: string; quoted: boolean }> = [];
  let i = 0;
  while (i < h.length) {
    const m = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(h.slice(i));
    if (m === null) {
      i++;
      continue;
    }
    i += m[0].length;
    let j = i;
    while (h[j] === " " || h[j] === "\t") j++;
    if (h[j] !== "=") continue; // a scheme name or a token68
    j++;
    while (h[j] === " " || h[j] === "\t") j++;
    const quoted = h[j] === '"';
    out.push({ name: m[0].toLowerCase(), quoted });
    if (quoted) {
      j++;
      while (j < h.length && h[j] !== '"') j += h[j] === "\\" ? 2 : 1;
      j++;
    } else {
      // a token value (it may end in "=" padding): the next parameter starts after a comma
      while (j < h.length && h[j] !== ",") j++;
    }
    i = j;
  }
  return out;
}

/** Parameters written in the form RFC 7616 §3.3 forbids for them. */
export function quotingProblems(h: string): string[] {
  const problems: string[] = [];
  for (const p of paramForms(h)) {
    if (MUST_QUOTE.includes(p.name) && !p.quoted) problems.push(`${p.name} is not a quoted string`);
    if (MUST_NOT_QUOTE.includes(p.name) && p.quoted) problems.push(`${p.name} is quoted`);
  }
  return problems;
}

/** The verdict of the RFC 7616 §3.3 quoting rules on a WWW-Authenticate value. */
export function quotingOutcome(h: string): Outcome {
  const problems = quotingProblems(h);
  return problems.length === 0 ? pass("every parameter in the form RFC 7616 §3.3 asks for") : fail(problems.join("; "));
}
