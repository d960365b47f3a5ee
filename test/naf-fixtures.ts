// Test fixtures for the NAF suites: a fake BSF Zn server (TS 29.309 shapes) and an independent
// HTTP Digest client written from RFC 7616 with node:crypto, so tests do not check the NAF
// against its own Digest code.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import { makeBtid } from "../gba/btid.js";
import { deriveKsIntNaf, deriveKsNaf, nafId } from "../gba/keys.js";
import { parseUaId } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";

export const NAF_FQDN = "naf.example.org";
export const OTHER_NAF_FQDN = "eca.vehicleman.example";
export const BSF_FQDN = "bsf.mnc001.mcc001.pub.3gppnetwork.org";
export const ZN_TOKEN = "naf-zn-token";

export interface FakeSession {
  btid: string;
  ks: Uint8Array;
  rand: Uint8Array;
  impi: string;
  expiresAt: number;
  ussList: unknown[];
  gbaU?: boolean;
}

export interface FakeZn {
  url: string;
  app: FastifyInstance;
  /** Zn requests received, in order */
  requests: Array<{ btId: string; nafId: { nafFqdn: string; uaSecProtId: string }; gbaUAware?: boolean; auth?: string }>;
  addSession(opts?: Partial<Omit<FakeSession, "btid" | "rand">> & { rand?: Uint8Array }): FakeSession;
  /** Ks_NAF (or Ks_int_NAF) the BSF would derive, computed with gba/keys (the BSF side of TS 33.220 B.3) */
  keyFor(s: FakeSession, fqdn: string, uaIdHex: string, kind?: "me" | "uicc"): Uint8Array;
  close(): Promise<void>;
}

export const DEFAULT_USS = [
  {
    uss: {
      gsId: 1,
      gsType: 1,
      ueIds: [{ ueId: "sip:001010123456789@ims.mnc001.mcc001.3gppnetwork.org" }, { ueId: "tel:+15551234567" }],
      nafGroup: "default",
      flags: [],
      keyChoice: "ME_BASED_KEY",
    },
  },
];

/** A BSF Zn listener: bearer token, 404 for unknown/expired B-TID, 403 for a FQDN not allowed. */
export async function startFakeZn(
  opts: { allowedFqdns?: string[]; clock?: () => number; delayMs?: number } = {},
): Promise<FakeZn> {
  const clock = opts.clock ?? Date.now;
  const allowed = opts.allowedFqdns ?? [NAF_FQDN];
  const sessions = new Map<string, FakeSession>();
  const requests: FakeZn["requests"] = [];
  const app = Fastify();
  const keyFor: FakeZn["keyFor"] = (s, fqdn, uaIdHex, kind = "me") =>
    (kind === "uicc" ? deriveKsIntNaf : deriveKsNaf)(s.ks, s.rand, s.impi, nafId(fqdn, parseUaId(uaIdHex)));
  app.post("/nbsp-gba/v1/bootstrapping-info-retrieval", async (req, reply) => {
    const body = req.body as FakeZn["requests"][number];
    requests.push({ ...body, auth: req.headers.authorization });
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    if (req.headers.authorization !== `Bearer ${ZN_TOKEN}`)
      return reply.code(401).send({ status: 401, cause: "NAF_NOT_AUTHENTICATED" });
    if (!allowed.includes(body.nafId.nafFqdn)) return reply.code(403).send({ status: 403, cause: "NAF_NOT_AUTHORIZED" });
    const s = sessions.get(body.btId);
    if (!s || s.expiresAt <= clock()) return reply.code(404).send({ status: 404, cause: "BTID_NOT_FOUND" });
    const out: Record<string, unknown> = {
      meKeyMaterial: bytesToHex(keyFor(s, body.nafId.nafFqdn, body.nafId.uaSecProtId)),
      keyExpiryTime: new Date(s.expiresAt).toISOString(),
      bootstrappingInfoCreationTime: new Date(clock()).toISOString(),
      ussList: s.ussList,
      gbaType: "3G_GBA",
      impi: s.impi,
    };
    if (s.gbaU && body.gbaUAware) out.uiccKeyMaterial = bytesToHex(keyFor(s, body.nafId.nafFqdn, body.nafId.uaSecProtId, "uicc"));
    return out;
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    app,
    requests,
    keyFor,
    addSession(o = {}) {
      const rand = o.rand ?? new Uint8Array(randomBytes(16));
      const s: FakeSession = {
        btid: makeBtid(rand, BSF_FQDN),
        ks: o.ks ?? new Uint8Array(randomBytes(32)),
        rand,
        impi: o.impi ?? "001010123456789@ims.mnc001.mcc001.3gppnetwork.org",
        expiresAt: o.expiresAt ?? clock() + 3600_000,
        ussList: o.ussList ?? DEFAULT_USS,
        gbaU: o.gbaU,
      };
      sessions.set(s.btid, s);
      return s;
    },
    close: () => app.close(),
  };
}

// ---- independent RFC 7616 Digest client ----

const h = (alg: "md5" | "sha256", s: string | Buffer) => createHash(alg).update(s).digest("hex");

export interface Challenge {
  realm: string;
  nonce: string;
  qop?: string;
  algorithm?: string;
  stale?: string;
}

/** Splits a WWW-Authenticate Digest challenge into its parameters (test inputs only). */
export function parseChallenge(header: string | undefined): Challenge {
  if (!header?.startsWith("Digest ")) throw new Error(`not a Digest challenge: ${header}`);
  const out: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-zA-Z-]+)=("((?:[^"\\]|\\.)*)"|[^,\s]+)/g)) out[m[1].toLowerCase()] = m[3] ?? m[2];
  return out as unknown as Challenge;
}

export interface DigestAnswer {
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  qop: "auth" | "auth-int";
  nc: number;
  cnonce?: string;
  body?: Buffer | string;
  algorithm?: "MD5" | "SHA-256";
}

/** Authorization header value (RFC 7616 §3.4) and the values needed to check rspauth. */
export function answerChallenge(a: DigestAnswer): { header: string; ha1: string; nc: string; cnonce: string } {
  const alg = a.algorithm === "SHA-256" ? "sha256" : "md5";
  const nc = a.nc.toString(16).padStart(8, "0");
  const cnonce = a.cnonce ?? randomBytes(8).toString("hex");
  const ha1 = h(alg, `${a.username}:${a.realm}:${a.password}`);
  const ha2 = a.qop === "auth-int" ? h(alg, `${a.method}:${a.uri}:${h(alg, a.body ?? "")}`) : h(alg, `${a.method}:${a.uri}`);
  const response = h(alg, `${ha1}:${a.nonce}:${nc}:${cnonce}:${a.qop}:${ha2}`);
  const header =
    `Digest username="${a.username}", realm="${a.realm}", nonce="${a.nonce}", uri="${a.uri}", ` +
    `algorithm=${a.algorithm ?? "MD5"}, qop=${a.qop}, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
  return { header, ha1, nc, cnonce };
}

/** A qop=auth answer to challenge `c` for GET /whoami with nc 1: the common case of the NAF tests. */
export function answerWhoami(c: { realm: string; nonce: string }, username: string, password: string, nc = 1) {
  return answerChallenge({
    username,
    password,
    realm: c.realm,
    nonce: c.nonce,
    method: "GET",
    uri: "/whoami",
    qop: "auth",
    nc,
  });
}

/** The rspauth of an Authentication-Info header. */
export function rspauthOf(info: unknown): string | undefined {
  return typeof info === "string" ? /rspauth="([0-9a-f]+)"/.exec(info)?.[1] : undefined;
}

/** Expected rspauth (RFC 7616 §3.5): A2 = ":" uri [":" H(response body)]. */
export function expectedRspauth(o: {
  ha1: string;
  nonce: string;
  nc: string;
  cnonce: string;
  qop: "auth" | "auth-int";
  uri: string;
  responseBody?: Buffer | string;
  algorithm?: "MD5" | "SHA-256";
}): string {
  const alg = o.algorithm === "SHA-256" ? "sha256" : "md5";
  const ha2 = o.qop === "auth-int" ? h(alg, `:${o.uri}:${h(alg, o.responseBody ?? "")}`) : h(alg, `:${o.uri}`);
  return h(alg, `${o.ha1}:${o.nonce}:${o.nc}:${o.cnonce}:${o.qop}:${ha2}`);
}

/** The rspauth the NAF must send in its answer to `a`, the client's answer to challenge `c`. */
export function rspauthFor(
  a: { ha1: string; nc: string; cnonce: string },
  c: { nonce: string },
  o: { qop: "auth" | "auth-int"; uri: string; responseBody?: Buffer | string },
): string {
  return expectedRspauth({ ha1: a.ha1, nonce: c.nonce, nc: a.nc, cnonce: a.cnonce, ...o });
}

export function b64(key: Uint8Array): string {
  return Buffer.from(key).toString("base64");
}

// ---- openssl s_client, a TLS-PSK client we did not write ----

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with stdin, collecting output; kills it after `timeoutMs`. Fails if the tool is missing. */
export function run(cmd: string, args: string[], input = "", timeoutMs = 15_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} could not be started: ${err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** `GET path` inside a PSK-TLS tunnel opened by openssl s_client. */
export function sClientGet(o: {
  port: number;
  version: "1.2" | "1.3";
  cipher?: string;
  pskHex: string;
  identity: string;
  path?: string;
}): Promise<ToolResult> {
  const args = [
    "s_client",
    "-connect",
    `127.0.0.1:${o.port}`,
    "-psk",
    o.pskHex,
    "-psk_identity",
    o.identity,
    "-quiet",
    "-ign_eof",
  ];
  if (o.version === "1.2") args.push("-tls1_2", "-cipher", o.cipher ?? "PSK-AES128-CBC-SHA");
  else args.push("-tls1_3");
  const req = `GET ${o.path ?? "/whoami"} HTTP/1.1\r\nHost: ${NAF_FQDN}\r\nConnection: close\r\n\r\n`;
  return run("openssl", args, req);
}

/** Status code and JSON body of the HTTP/1.1 response in s_client's output. */
export function httpResponseOf(out: string): { status: number; body: unknown } | undefined {
  const m = /HTTP\/1\.1 (\d{3})[^\r\n]*\r?\n([\s\S]*?)\r?\n\r?\n([\s\S]*)$/.exec(out);
  if (!m) return undefined;
  const text = m[3].trim();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: Number(m[1]), body };
}
