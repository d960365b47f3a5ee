// `gba naf` (and the NAF in `gba up`) as a user runs them: node dist/cli/main.js, ready line on
// stdout, curl through the authentication proxy to an upstream that records what it gets.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveKsNaf, nafId } from "../gba/keys.js";
import { parseUaId } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";
import { type Stack, startStack, testSubscriber } from "./helpers/bsf-stack.js";
import { MiniUe } from "./helpers/mini-ue.js";
import { answerWhoami, b64, parseChallenge, run } from "./naf-fixtures.js";
import { withStoreArgs } from "./helpers/store-backend.js";

const MAIN = join(process.cwd(), "dist/cli/main.js");

interface Started {
  child: ChildProcess;
  ready: Record<string, Record<string, string> | boolean>;
  stop(): Promise<number | null>;
}

function startCli(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [MAIN, ...withStoreArgs(args)], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr?.on("data", (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      resolve({
        child,
        ready: JSON.parse(out.slice(0, nl)),
        stop: () =>
          new Promise((r) => {
            child.once("exit", (code) => r(code));
            child.kill("SIGTERM");
          }),
      });
    });
    child.once("exit", (code) => reject(new Error(`gba ${args.join(" ")} exited with ${code}: ${err}`)));
  });
}

let stack: Stack;
let upstream: http.Server;
let upstreamUrl: string;
const seen: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  stack = await startStack();
  upstream = http.createServer((req, res) => {
    seen.push(req.headers);
    res.end(`hello from upstream ${req.url}`);
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => upstream.close(r));
  await stack.close();
});

describe("gba naf", () => {
  it("documents its options in --help", async () => {
    const r = await run(process.execPath, [MAIN, "naf", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--bsf URL",
      "--zn-token",
      "--fqdn",
      "--upstream URL",
      "--qop LIST",
      "protectedPaths",
      "X-3GPP-Asserted-Identity",
      "X-GBA-IMPI",
      "Retry-After",
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it("refuses bad flags with exit status 2 naming the flag", async () => {
    for (const [args, msg] of [
      [["--bsf", "not-a-url"], "--bsf"],
      [["--upstream", "ftp://x"], "--upstream"],
      [["--fqdn", "bad name!"], "--fqdn"],
      [["--realms", "all"], "--realms"],
      [["--qop", "auth-conf"], "--qop"],
      [["--qop", "auth,auth"], "--qop"],
    ] as const) {
      const r = await run(process.execPath, [MAIN, "naf", ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });

  it("refuses a bad naf config with exit 1 naming the setting, before it listens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "naf-cfg-"));
    try {
      for (const [yaml, msg] of [
        ["naf:\n  bsfUrl: ftp://bsf\n", /naf\.bsfUrl: expected an http:\/\/ or https:\/\/ URL/],
        ["naf:\n  fqdn: bad_name!\n", /naf\.fqdn: "bad_name!" is not a DNS name/],
        ['naf:\n  znToken: "two words"\n', /naf\.znToken: must be printable ASCII without spaces/],
        ["naf:\n  digestAlgorithm: SHA-1\n", /naf\.digestAlgorithm: "SHA-1" is not MD5 or SHA-256/],
        ["naf:\n  realms: all\n", /naf\.realms: "all" is not gba-me, gba-u or both/],
        ["naf:\n  qop: []\n", /naf\.qop: \["auth-int", "auth"\], \["auth"\] or \["auth-int"\]/],
        ["naf:\n  publicPaths: [ca.pem]\n", /naf\.publicPaths\.0: "ca\.pem" must be an absolute path/],
        ["naf:\n  protectedPaths: []\n", /naf\.protectedPaths: expected a non-empty list of paths/],
        ["naf:\n  nonceTtl: 0\n", /naf\.nonceTtl: must be a positive integer/],
        ["naf:\n  upstream: not-a-url\n", /naf\.upstream: "not-a-url" is not a URL/],
      ] as const) {
        const file = join(dir, "naf.yaml");
        writeFileSync(file, yaml);
        const r = await run(process.execPath, [
          MAIN,
          ...withStoreArgs(["naf", "--config", file, "--ephemeral-ports", "--data", join(dir, "d")]),
        ]);
        expect(r.code, yaml).toBe(1);
        expect(r.stderr, yaml).toMatch(msg);
        expect(r.stdout, yaml).toBe("");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("starts alone as an authentication proxy: curl --digest reaches the upstream with asserted identities only", async () => {
    const data = mkdtempSync(join(tmpdir(), "naf-cli-"));
    const naf = await startCli([
      "naf",
      "--ephemeral-ports",
      "--data",
      data,
      "--log-level",
      "silent",
      "--bsf",
      stack.bsf.urls.zn,
      "--zn-token",
      "naf-zn-token",
      "--fqdn",
      "naf.example.org",
      "--upstream",
      upstreamUrl,
    ]);
    try {
      const info = naf.ready.naf as Record<string, string>;
      expect(naf.ready.ready).toBe(true);
      expect(info.fqdn).toBe("naf.example.org");
      expect(info.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.tlsPsk).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

      const sub = testSubscriber();
      await stack.provision(sub);
      const b = await new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc }).bootstrap(stack.bsf.urls.ub, stack.cfg.bsf.fqdn);
      const key = deriveKsNaf(b.ks, b.rand, sub.impi, nafId("naf.example.org", parseUaId("0100000002")));
      const before = seen.length;
      const r = await run("curl", [
        "-s",
        "--digest",
        "-u",
        `${b.btid}:${b64(key)}`,
        "-H",
        'X-3GPP-Asserted-Identity: "sip:admin@evil.example"',
        "-H",
        "X-GBA-IMPI: admin",
        "-w",
        "\n%{http_code}",
        `${info.http}/api/ping`,
      ]);
      expect(r.stdout).toBe("hello from upstream /api/ping\n200");
      expect(seen.length).toBe(before + 1); // curl's first, unauthenticated request was not forwarded
      const h = seen.at(-1) ?? {};
      expect(h["x-3gpp-asserted-identity"]).toBe(`"sip:${sub.impi}"`);
      expect(h["x-gba-impi"]).toBe(sub.impi);
      expect(h.authorization).toBeUndefined();

      // the same proxy over PSK-TLS: no Digest needed inside the tunnel
      const tlsKey = deriveKsNaf(b.ks, b.rand, sub.impi, nafId("naf.example.org", parseUaId("010001008c")));
      const port = new URL(info.tlsPsk).port;
      const s = await run(
        "openssl",
        [
          "s_client",
          "-connect",
          `127.0.0.1:${port}`,
          "-tls1_2",
          "-cipher",
          "PSK-AES128-CBC-SHA",
          "-psk",
          bytesToHex(tlsKey),
          "-psk_identity",
          `3GPP-bootstrapping.${b.btid}`,
          "-quiet",
          "-ign_eof",
        ],
        "GET /api/tls HTTP/1.1\r\nHost: naf.example.org\r\nConnection: close\r\n\r\n",
      );
      expect(s.stdout).toContain("hello from upstream /api/tls");
      expect(seen.at(-1)?.["x-gba-impi"]).toBe(sub.impi);
    } finally {
      expect(await naf.stop()).toBe(0);
      rmSync(data, { recursive: true, force: true });
    }
  });

  it("answers 503 with Retry-After when the BSF is down", async () => {
    const naf = await startCli(["naf", "--ephemeral-ports", "--log-level", "silent", "--bsf", "http://127.0.0.1:1"]);
    try {
      const url = `${(naf.ready.naf as Record<string, string>).http}/whoami`;
      const first = await request(url);
      await first.body.dump();
      const c = parseChallenge(first.headers["www-authenticate"] as string);
      const a = answerWhoami(c, "AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org", "x");
      const res = await request(url, { headers: { authorization: a.header } });
      expect(res.statusCode).toBe(503);
      expect(res.headers["retry-after"]).toBe("5");
      expect(((await res.body.json()) as { cause: string }).cause).toBe("FST_GBA_BSF_UNAVAILABLE");
    } finally {
      await naf.stop();
    }
  });
});

describe("gba up", () => {
  it("prints the NAF in the ready line, wired to the BSF it started, with GET /whoami behind GBA", async () => {
    const data = mkdtempSync(join(tmpdir(), "naf-up-"));
    const up = await startCli(["up", "--ephemeral-ports", "--data", data, "--log-level", "silent"]);
    try {
      const info = up.ready.naf as Record<string, string>;
      expect(Object.keys(info).sort()).toEqual(["fqdn", "http", "tlsPsk"]);
      const res = await request(`${info.http}/whoami`);
      await res.body.dump();
      expect(res.statusCode).toBe(401);
      expect(parseChallenge(res.headers["www-authenticate"] as string).realm).toBe(`3GPP-bootstrapping@${info.fqdn}`);
    } finally {
      await up.stop();
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe("gba up: the NAF and the ECA challenge every path of their protected space (TS 33.220 §4.5.1)", () => {
  it("curl -i $NAF/anything and $ECA/anything → 401 with the 3GPP-bootstrapping realm; /ca.pem stays public; an authenticated unknown path is a 404 problem", async () => {
    const data = mkdtempSync(join(tmpdir(), "up-space-"));
    const up = await startCli(["up", "--ephemeral-ports", "--data", data, "--log-level", "silent"]);
    try {
      const url = (nf: string, l: string) => (up.ready[nf] as Record<string, string>)[l];
      for (const [base, fqdn] of [
        [url("naf", "http"), "naf.example.org"],
        [url("eca", "url"), "eca.vehicleman.example"],
      ]) {
        for (const args of [[`${base}/anything`], ["-X", "POST", "-d", "x", `${base}/no/such/thing?q=1`]]) {
          const r = await run("curl", ["-s", "-i", ...args]);
          expect(r.stdout, `${args.join(" ")}\n${r.stdout}`).toMatch(/^HTTP\/1\.1 401 /);
          expect(r.stdout).toMatch(new RegExp(`^www-authenticate: Digest realm="3GPP-bootstrapping@${fqdn}"`, "im"));
        }
      }
      const ca = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${url("eca", "url")}/ca.pem`]);
      expect(ca.stdout).toBe("200");

      // authenticated: a path nothing serves is a 404 problem, signed like any answer (rspauth)
      const sub = testSubscriber();
      const add = await request(`${url("hss", "admin")}/subscribers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ impi: sub.impi, k: bytesToHex(sub.k), opc: bytesToHex(sub.opc) }),
      });
      expect(add.statusCode, await add.body.text()).toBe(201);
      const b = await new MiniUe({ impi: sub.impi, k: sub.k, opc: sub.opc }).bootstrap(url("bsf", "ub"), url("bsf", "fqdn"));
      const key = deriveKsNaf(b.ks, b.rand, sub.impi, nafId("naf.example.org", parseUaId("0100000002")));
      const r = await run("curl", ["-s", "-i", "--digest", "-u", `${b.btid}:${b64(key)}`, `${url("naf", "http")}/anything`]);
      const last = r.stdout.slice(r.stdout.lastIndexOf("HTTP/1.1 "));
      expect(last).toMatch(/^HTTP\/1\.1 404 /);
      expect(last).toMatch(/^authentication-info: .*rspauth="[0-9a-f]{32}"/im);
      expect(JSON.parse(last.slice(last.indexOf("\r\n\r\n") + 4))).toMatchObject({
        status: 404,
        cause: "RESOURCE_URI_STRUCTURE_NOT_FOUND",
      });
    } finally {
      expect(await up.stop()).toBe(0);
      rmSync(data, { recursive: true, force: true });
    }
  });
});
