// One log line per refused Ub or Zn request (the BSF's onOutcome hook): at info, or warn for what
// an operator must look at (a replayed nonce, a NAF asking for another NAF's key, an unavailable
// HSS), naming the reason and the IMPI when the request names one — and no line of the BSF's log
// holds RES, CK, IK, Ks, Ks_NAF or a Digest password, in hex or base64. The BSF logs to stderr
// (nf/common/log.ts); the lines are taken from there.
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { akav1Password, parseAkaNonce, parseDigestChallenge } from "../gba/digest/index.js";
import { deriveKsNaf, nafId } from "../gba/keys.js";
import { UA_ID } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";
import { ZN_PATH } from "../wire/zn.js";
import { type Stack, startStack, testSubscriber } from "./helpers/bsf-stack.js";
import { type Bootstrapped, MiniUe, ubGet } from "./helpers/mini-ue.js";

interface LogLine {
  level: number;
  name: string;
  msg: string;
  reason?: string;
  cause?: string;
  impi?: string;
  [k: string]: unknown;
}

const INFO = 30;
const WARN = 40;

const lines: LogLine[] = [];
const raw: string[] = [];
const write = process.stderr.write.bind(process.stderr);
let s: Stack;
let ue: MiniUe;
let boot: Bootstrapped;

beforeAll(async () => {
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    for (const l of text.split("\n")) {
      if (!l.startsWith("{")) continue;
      const parsed = JSON.parse(l) as LogLine;
      if (parsed.name !== "bsf-ub" && parsed.name !== "bsf-zn") continue;
      raw.push(l);
      lines.push(parsed);
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  s = await startStack((cfg) => {
    cfg.logLevel = "info";
  });
  const sub = testSubscriber();
  await s.provision(sub);
  ue = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
  boot = await ue.bootstrap(s.bsf.urls.ub, s.cfg.bsf.fqdn);
});

afterAll(async () => {
  process.stderr.write = write;
  await s?.close();
});

/** The refusal lines the request `act` led to. */
async function refusalsOf(act: () => Promise<number>, status: number): Promise<LogLine[]> {
  const before = lines.length;
  expect(await act()).toBe(status);
  // pino writes synchronously; give the event loop one turn anyway
  await new Promise((r) => setImmediate(r));
  return lines.slice(before).filter((l) => / request refused: /.test(l.msg));
}

async function firstChallenge(impi: string) {
  const r = await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn).replace(ue.impi, impi));
  expect(r.status).toBe(401);
  return parseDigestChallenge(r.headers["www-authenticate"])[0];
}

async function zn(body: unknown, token?: string): Promise<number> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const r = await request(`${s.bsf.urls.zn}${ZN_PATH}`, { method: "POST", headers, body: JSON.stringify(body) });
  await r.body.text();
  return r.statusCode;
}

describe("Ub refusals", () => {
  it("a wrong RES: one info line, reason wrong-response, with the IMPI", async () => {
    const ch = await firstChallenge(ue.impi);
    const wrong = ue.answerAuthorization(ch, akav1Password(new Uint8Array(8).fill(0xee))).header;
    const got = await refusalsOf(async () => (await ubGet(s.bsf.urls.ub, wrong)).status, 403);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      level: INFO,
      name: "bsf-ub",
      cause: "AUTHENTICATION_REJECTED",
      reason: "wrong-response",
      impi: ue.impi,
    });
  });

  it("an unknown IMPI answering its decoy challenge: the same 403, the log says unknown IMPI", async () => {
    const stranger = "001019999999999@ims.mnc001.mcc001.3gppnetwork.org";
    const ch = await firstChallenge(stranger);
    const answer = ue.answerAuthorization(ch, akav1Password(new Uint8Array(8)), { username: stranger }).header;
    const got = await refusalsOf(async () => (await ubGet(s.bsf.urls.ub, answer)).status, 403);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ level: INFO, reason: "unknown-impi", impi: stranger });
  });

  it("a replayed answer: one warn line, reason nonce-replayed", async () => {
    // another subscriber: a new bootstrap of the first would supersede the B-TID the Zn tests use
    const sub = testSubscriber();
    await s.provision(sub);
    const other = new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc });
    const first = await ubGet(s.bsf.urls.ub, other.initialAuthorization(s.cfg.bsf.fqdn));
    const ch = parseDigestChallenge(first.headers["www-authenticate"])[0];
    const { rand, autn } = parseAkaNonce(ch.nonce);
    const aka = other.authenticate(rand, autn);
    if (aka.kind !== "ok") throw new Error(aka.kind);
    const { header } = other.answerAuthorization(ch, akav1Password(aka.res));
    expect((await ubGet(s.bsf.urls.ub, header)).status).toBe(200);
    const got = await refusalsOf(async () => (await ubGet(s.bsf.urls.ub, header)).status, 403);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ level: WARN, cause: "NONCE_ALREADY_USED", reason: "nonce-replayed", impi: sub.impi });
  });

  it("no Authorization header: one info line, reason malformed-authorization", async () => {
    const got = await refusalsOf(async () => (await ubGet(s.bsf.urls.ub, undefined)).status, 400);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ level: INFO, cause: "MALFORMED_AUTHORIZATION", reason: "malformed-authorization" });
  });
});

describe("Zn refusals", () => {
  const NAF_FQDN = "naf.example.org";
  const UA = "0100000002";

  it("no NAF token: one info line", async () => {
    const got = await refusalsOf(() => zn({ btId: boot.btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: UA } }), 401);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ level: INFO, name: "bsf-zn", cause: "NAF_NOT_AUTHENTICATED", reason: "no-or-unknown-token" });
  });

  it("an unknown B-TID: one info line naming the NAF and the B-TID", async () => {
    const btid = `${Buffer.alloc(16, 5).toString("base64")}@${s.cfg.bsf.fqdn}`;
    const got = await refusalsOf(() => zn({ btId: btid, nafId: { nafFqdn: NAF_FQDN, uaSecProtId: UA } }, "naf-zn-token"), 404);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ level: INFO, cause: "BTID_NOT_FOUND", reason: "btid-unknown", naf: "naf", btid });
  });

  it("another NAF's key: one warn line with the IMPI of the session", async () => {
    const body = { btId: boot.btid, nafId: { nafFqdn: "eca.vehicleman.example", uaSecProtId: UA } };
    const got = await refusalsOf(() => zn(body, "naf-zn-token"), 403);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ level: WARN, cause: "NAF_NOT_AUTHORIZED", reason: "other-nafs-key", impi: ue.impi });
  });
});

describe("the BSF's log", () => {
  it("holds no RES, CK, IK, Ks, Ks_NAF or password of the bootstrapped UE", async () => {
    expect(await zn({ btId: boot.btid, nafId: { nafFqdn: "naf.example.org", uaSecProtId: "0100000002" } }, "naf-zn-token")).toBe(
      200,
    );
    const ksNaf = deriveKsNaf(boot.ks, boot.rand, ue.impi, nafId("naf.example.org", UA_ID.HTTP_DIGEST));
    const secrets = [boot.res, boot.ck, boot.ik, boot.ks, ksNaf].flatMap((b) => [
      bytesToHex(b),
      bytesToHex(b).toUpperCase(),
      Buffer.from(b).toString("base64"),
    ]);
    const text = raw.join("\n");
    expect(raw.length).toBeGreaterThan(5);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it("an unavailable HSS: one warn line, reason hss-unavailable (the HSS stops here)", async () => {
    await s.hss.close();
    const got = await refusalsOf(async () => (await ubGet(s.bsf.urls.ub, ue.initialAuthorization(s.cfg.bsf.fqdn))).status, 503);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ level: WARN, cause: "HSS_UNAVAILABLE", reason: "hss-unavailable", impi: ue.impi });
    // the stack's close() closes the HSS again: give it a fresh no-op
    s.hss.close = async () => {};
  });
});
