// The autocannon enrolment conversation judges the ECA's answers as gbaFetch does (RFC 7616
// §3.5): a 5xx without Authentication-Info is the ECA's own failure with its cause (e.g. 503
// when its BSF does not answer Zn), a 2xx or 4xx without it fails server authentication.
import { describe, expect, it } from "vitest";
import { formatChallenge } from "../gba/digest/index.js";
import type { EnrolOutcome } from "../scenarios/load/enrol-conversation.js";
import { enrolConversation } from "../scenarios/load/enrol-conversation.js";

const ECA = "eca.example.org";
const challenge = formatChallenge({ realm: `3GPP-bootstrapping@${ECA}`, nonce: "n1", algorithm: "MD5", qop: ["auth-int"] });

/** Runs a conversation: its first request gets the bootstrapping 401, the credentialed one `final`. */
function converse(final: { status: number; headers?: Record<string, string>; body?: string }): EnrolOutcome {
  let outcome: EnrolOutcome | undefined;
  const c = enrolConversation(
    {
      impi: "001010000000001@ims.example.org",
      btid: "B-TID@bsf.example.org",
      ks: new Uint8Array(32),
      rand: new Uint8Array(16),
      body: Buffer.from("MIIB"),
      device: {},
      nafFqdn: ECA,
      randomBytes: (n) => new Uint8Array(n),
    },
    (o) => {
      outcome = o;
    },
  );
  expect(c.next().headers.authorization).toBeUndefined();
  expect(c.answer(401, { "www-authenticate": challenge }, Buffer.alloc(0))).toBe(false);
  expect(c.next().headers.authorization).toMatch(/^Digest /);
  expect(c.answer(final.status, final.headers ?? {}, Buffer.from(final.body ?? ""))).toBe(true);
  if (outcome === undefined) throw new Error("the conversation ended without an outcome");
  return outcome;
}

describe("enrolment conversation: answers without Authentication-Info", () => {
  it("a 503 is the ECA's refusal with its cause", () => {
    const body = JSON.stringify({ status: 503, cause: "FST_GBA_BSF_UNAVAILABLE" });
    expect(converse({ status: 503, headers: { "retry-after": "1" }, body })).toEqual({
      ok: false,
      failure: { step: "enrol", status: 503, cause: "FST_GBA_BSF_UNAVAILABLE", message: "POST /enrol answered 503" },
    });
  });

  it.each([200, 403])("a %i fails server authentication", (status) => {
    expect(converse({ status, body: "x" })).toMatchObject({ ok: false, failure: { step: "enrol", cause: "SERVER_AUTH_FAILED" } });
  });
});
