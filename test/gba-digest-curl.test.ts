// Independent cross-check of gba/digest against curl's HTTP Digest client: a node:http server on
// 127.0.0.1 (ephemeral port) sends our formatted challenge, records curl's Authorization header,
// and our digestResponse must reproduce curl's "response" from the same parameters. curl must be
// installed (Debian package curl); without it these tests fail.
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import {
  type DigestAlgorithm,
  type DigestQop,
  digestAlgorithm,
  digestResponse,
  formatChallenge,
  parseDigestCredentials,
  verifyDigestResponse,
} from "../gba/index.js";

const CURL = process.env.CURL ?? "curl";
const USER = "Mufasa";
const PASSWORD = "Circle Of Life";
const REALM = "testrealm@host.com";
const NONCE = "dcd98b7102dd2f0e8b11d0f600bfb0c093";

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(CURL, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new Error(`${CURL} not found: install curl (Debian package curl) or set CURL to its path`));
        return;
      }
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function runAgainstCurl(algorithm: DigestAlgorithm, qop: DigestQop | undefined) {
  const seen: string[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers.authorization;
    if (auth === undefined) {
      const challenge = formatChallenge({ realm: REALM, nonce: NONCE, algorithm, qop: qop ? [qop] : undefined, opaque: "5ccc" });
      res.writeHead(401, { "WWW-Authenticate": challenge }).end();
      return;
    }
    seen.push(auth);
    const c = parseDigestCredentials(auth);
    const ok = verifyDigestResponse(
      {
        algorithm,
        username: c.username,
        realm: REALM,
        password: PASSWORD,
        nonce: NONCE,
        nc: c.nc,
        cnonce: c.cnonce,
        qop: c.qop as DigestQop | undefined,
        method: req.method ?? "",
        uri: c.uri,
      },
      c.response,
    );
    res.writeHead(ok ? 200 : 403).end();
  };
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const out = await curl([
      "-sS",
      "--digest",
      "-u",
      `${USER}:${PASSWORD}`,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `http://127.0.0.1:${port}/dir/index.html?a=1&b=2`,
    ]);
    return { out, seen };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("curl --digest agrees with digestResponse", () => {
  it.each([
    ["MD5", "auth"],
    ["MD5-sess", "auth"],
    ["SHA-256", "auth"],
    ["SHA-256-sess", "auth"],
    ["MD5", undefined],
  ] as [DigestAlgorithm, DigestQop | undefined][])("%s, qop=%s", async (algorithm, qop) => {
    const { out, seen } = await runAgainstCurl(algorithm, qop);
    expect(out.stderr).toBe("");
    expect(seen.length).toBe(1);
    const c = parseDigestCredentials(seen[0]);
    expect(c.username).toBe(USER);
    expect(c.realm).toBe(REALM);
    expect(c.nonce).toBe(NONCE);
    expect(c.uri).toBe("/dir/index.html?a=1&b=2");
    expect(c.opaque).toBe("5ccc");
    expect(c.qop).toBe(qop);
    if (qop) {
      expect(c.nc).toBe("00000001");
      expect(c.cnonce).toMatch(/^\S{8,}$/);
    }
    expect(digestAlgorithm(c.algorithm)).toBe(algorithm);
    const ours = digestResponse({
      algorithm,
      username: USER,
      realm: REALM,
      password: PASSWORD,
      nonce: NONCE,
      nc: c.nc,
      cnonce: c.cnonce,
      qop,
      method: "GET",
      uri: c.uri,
    });
    expect(ours).toBe(c.response);
    expect(out.stdout).toBe("200");
  });
});
