// The server half of Ua Digest (gba/digest/server.ts) against clients we did not write: curl
// answers its challenges (MD5 and SHA-256, qop=auth) on a bare node:http server and must be
// let in with the right password only; Python's hashlib recomputes rspauth (RFC 7616 §3.5) for
// auth and auth-int. Without curl or python3 these tests fail, naming the Debian package.
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createNonceIssuer } from "../gba/digest/nonce.js";
import { createDigestServer, type DigestExchange, type OfferedCredentials } from "../gba/digest/server.js";
import { formatCredentials, parseDigestChallenge } from "../gba/index.js";

const REALM_ME = "3GPP-bootstrapping@naf.example.org";
const REALM_UICC = "3GPP-bootstrapping-uicc@naf.example.org";
const PASSWORD = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const BTID = "AQIDBAUGBwgJCgsMDQ4PEA==@bsf.example.org";

function tool(cmd: string, args: string[], pkg: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new Error(`${cmd} not found: install it (Debian package ${pkg})`));
        return;
      }
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout });
    });
  });
}

function server(algorithm: "MD5" | "SHA-256", now = () => 1_700_000_000_000, realms = [REALM_UICC, REALM_ME]) {
  let n = 0;
  const nonces = createNonceIssuer({
    secret: new Uint8Array(32).fill(9),
    ttlSeconds: 60,
    fqdn: "naf.example.org",
    clock: now,
    randomBytes: (len) => new Uint8Array(len).fill(++n),
  });
  return { nonces, digest: createDigestServer({ realms, algorithm, nonces }) };
}

async function curlAgainst(algorithm: "MD5" | "SHA-256", password: string) {
  // one realm: curl echoes the realm as it came, and "both" realms are a GBA convention (TS 24.109 §5.2.4)
  const { digest } = server(algorithm, Date.now, [REALM_ME]);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const c = digest.offered(req.headers.authorization, req.url ?? "");
    if (!c.ok) {
      res.writeHead(c.refusal === "no-credentials" ? 401 : 400, { "WWW-Authenticate": digest.challenge() }).end();
      return;
    }
    const x: DigestExchange = { ...c, ha1: digest.ha1(c.username, c.realm, PASSWORD) };
    if (!digest.verify(x, req.method ?? "", undefined)) {
      res.writeHead(401, { "WWW-Authenticate": digest.challenge() }).end();
      return;
    }
    res.writeHead(200, { "Authentication-Info": digest.authenticationInfo(x, undefined) }).end("in");
  };
  const srv = createServer(handler);
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = srv.address() as AddressInfo;
    const out = await tool(
      "curl",
      ["-sS", "--digest", "-u", `${BTID}:${password}`, "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/a?b=1`],
      "curl",
    );
    return out.stdout;
  } finally {
    await new Promise((r) => srv.close(r));
  }
}

describe("Digest server against curl", () => {
  for (const algorithm of ["MD5", "SHA-256"] as const) {
    it(`${algorithm}: curl's answer to our challenge gets in with the right password only`, async () => {
      expect(await curlAgainst(algorithm, PASSWORD)).toBe("200");
      expect(await curlAgainst(algorithm, `${PASSWORD.slice(0, -2)}x=`)).toBe("401");
    });
  }
});

/** Credentials of BTID in REALM_ME answering `nonce` for /x (the response itself is not checked by offered()). */
function credentialsFor(nonce: string, over: Partial<Record<string, string>> = {}): string {
  return formatCredentials({
    username: BTID,
    realm: REALM_ME,
    nonce,
    uri: "/x",
    response: "0".repeat(32),
    algorithm: "MD5",
    qop: "auth",
    nc: "00000001",
    cnonce: "c0ffee",
    ...over,
  });
}

describe("challenge and credential checks", () => {
  const { digest, nonces } = server("MD5");
  const nonce = nonces.issue();
  const creds = (over: Partial<Record<string, string>> = {}) => credentialsFor(nonce, over);

  it("challenges with both realms, one nonce per challenge, qop auth-int and auth, and stale=true on request", () => {
    const [a] = parseDigestChallenge(digest.challenge());
    expect(a.realm).toBe(`${REALM_UICC};${REALM_ME}`);
    expect(a.params.qop).toBe("auth-int,auth");
    expect(a.algorithm).toBe("MD5");
    expect(a.stale).toBe(false);
    expect(nonces.check(a.nonce).ok).toBe(true);
    const [b] = parseDigestChallenge(digest.challenge(true));
    expect(b.stale).toBe(true);
    expect(b.nonce).not.toBe(a.nonce);
  });

  it("takes credentials that match the offer", () => {
    const c = digest.offered(creds(), "/x") as OfferedCredentials;
    expect(c).toMatchObject({ ok: true, username: BTID, realm: REALM_ME, qop: "auth", nonce, nc: "00000001", cnonce: "c0ffee" });
  });

  it("names why credentials are refused", () => {
    expect(digest.offered(undefined, "/x")).toEqual({ ok: false, refusal: "no-credentials" });
    expect(digest.offered("Basic dXNlcjpwYXNz", "/x")).toEqual({ ok: false, refusal: "no-credentials" });
    expect(digest.offered('Digest username="a"', "/x")).toMatchObject({ ok: false, refusal: "malformed" });
    expect(digest.offered(creds({ algorithm: "SHA-256" }), "/x")).toEqual({
      ok: false,
      refusal: "unsupported",
      detail: "algorithm SHA-256 (offered MD5)",
    });
    const noQop = formatCredentials({ username: BTID, realm: REALM_ME, nonce, uri: "/x", response: "0".repeat(32) });
    expect(digest.offered(noQop, "/x")).toEqual({
      ok: false,
      refusal: "unsupported",
      detail: 'qop missing (offered "auth-int,auth")',
    });
    expect(digest.offered(creds({ qop: "auth-conf" }), "/x")).toMatchObject({
      refusal: "unsupported",
      detail: 'qop auth-conf (offered "auth-int,auth")',
    });
    expect(digest.offered(creds({ realm: "3GPP-bootstrapping@other.example" }), "/x")).toEqual({
      ok: false,
      refusal: "realm-mismatch",
      realm: "3GPP-bootstrapping@other.example",
    });
    expect(digest.offered(creds(), "/y")).toEqual({ ok: false, refusal: "uri-mismatch" });
  });
});

describe("the qop offer (RFC 7616 §3.3, §3.4)", () => {
  const { nonces } = server("MD5");
  const offer = (qop: Array<"auth" | "auth-int">) => createDigestServer({ realms: [REALM_ME], algorithm: "MD5", qop, nonces });

  it("offers exactly the configured qop values, in order", () => {
    expect(offer(["auth"]).challenge()).toMatch(/, qop="auth"(,|$)/);
    expect(offer(["auth-int"]).challenge()).toMatch(/, qop="auth-int"(,|$)/);
    expect(parseDigestChallenge(offer(["auth", "auth-int"]).challenge())[0].params.qop).toBe("auth,auth-int");
  });

  it("refuses an answer with a qop it did not offer", () => {
    const nonce = nonces.issue();
    const answer = (qop: string) => credentialsFor(nonce, { qop });
    expect(offer(["auth"]).offered(answer("auth-int"), "/x")).toEqual({
      ok: false,
      refusal: "unsupported",
      detail: 'qop auth-int (offered "auth")',
    });
    expect(offer(["auth"]).offered(answer("auth"), "/x")).toMatchObject({ ok: true, qop: "auth" });
    expect(offer(["auth-int"]).offered(answer("auth"), "/x")).toMatchObject({ ok: false, refusal: "unsupported" });
  });

  it("refuses an empty, repeated or unknown offer", () => {
    expect(() => offer([])).toThrow(/offers qop/);
    expect(() => offer(["auth", "auth"])).toThrow(/offers qop/);
    expect(() => offer(["auth-conf" as "auth"])).toThrow(/offers qop/);
  });
});

/** rspauth per RFC 7616 §3.5 / RFC 2617 §3.2.3, computed by Python's hashlib. */
async function pythonRspauth(x: Omit<DigestExchange, "ha1" | "response">, password: string, body: string): Promise<string> {
  const script = `
import hashlib, sys
alg, user, realm, pw, nonce, nc, cnonce, qop, uri, body = sys.argv[1:]
h = lambda s: hashlib.new("md5" if alg == "MD5" else "sha256", s.encode()).hexdigest()
a2 = ":" + uri + (":" + h(body) if qop == "auth-int" else "")
print(h(":".join([h(user + ":" + realm + ":" + pw), nonce, nc, cnonce, qop, h(a2)])))
`;
  const out = await tool(
    "python3",
    ["-c", script, x.algorithm, BTID, REALM_ME, password, x.nonce, x.nc, x.cnonce, x.qop, x.uri, body],
    "python3",
  );
  return out.stdout.trim();
}

describe("Authentication-Info", () => {
  for (const algorithm of ["MD5", "SHA-256"] as const) {
    for (const qop of ["auth", "auth-int"] as const) {
      it(`${algorithm} qop=${qop}: rspauth is what Python computes, over the response body for auth-int`, async () => {
        const { digest, nonces } = server(algorithm);
        const base = { algorithm, qop, nonce: nonces.issue(), nc: "0000002a", cnonce: "0a4f113b", uri: "/enrol?response=single" };
        const x: DigestExchange = { ...base, ha1: digest.ha1(BTID, REALM_ME, PASSWORD), response: "" };
        const body = '{"hello":"ua"}';
        const info = digest.authenticationInfo(x, new TextEncoder().encode(body));
        const rspauth = /rspauth="([0-9a-f]+)"/.exec(info)?.[1];
        expect(rspauth).toBe(await pythonRspauth(base, PASSWORD, body));
        expect(info).toBe(`qop=${qop}, rspauth="${rspauth}", cnonce="0a4f113b", nc=0000002a`);
      });
    }
  }
});
