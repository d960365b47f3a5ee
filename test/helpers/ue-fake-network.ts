// A scripted BSF and NAF for the UE tests, built from milenage/ and gba/ primitives only (never
// from ue/), so the UE is checked against an independent network side. Each can be told to
// misbehave (wrong rspauth, B-TID forgotten, AKAv2, SHA-256, ...) to reach the UE's error paths.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from "node:tls";
import { buildBootstrappingInfo } from "../../gba/bootstrapping-info.js";
import { makeBtid, parsePskIdentity, PSK_IDENTITY_HINT } from "../../gba/btid.js";
import {
  akav1Password,
  akav2Password,
  buildAkaNonce,
  type DigestAlgorithm,
  digestAlgorithm,
  digestEquals,
  digestResponse,
  formatAuthenticationInfo,
  formatChallenge,
  ksNafPassword,
  parseDigestCredentials,
  rspauth,
} from "../../gba/digest/index.js";
import { toAutnStar } from "../../gba/gba-u.js";
import { deriveKsNaf, ksFromCkIk, nafId } from "../../gba/keys.js";
import { UA_ID, uaIdForTls } from "../../gba/ua-id.js";
import { generateAuthVector, verifyAuts } from "../../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../../wire/bytes.js";
import { Milenage } from "../../milenage/milenage.js";
import { bytesToSqn, nextSqn, resyncSeqHe, sqnToBytes } from "../../milenage/sqn.js";

export const K = hexToBytes("465b5ce8b199b49faa5f0a2ee238a6bc");
export const OPC = hexToBytes("cd63cb71954a9f4e48a5994e37a02baf");
export const IMSI = "001010123456789";
export const IMPI = "001010123456789@ims.mnc001.mcc001.3gppnetwork.org";
export const BSF_FQDN = "bsf.mnc001.mcc001.pub.3gppnetwork.org";
const AMF = hexToBytes("8000");

export function listenUrl(server: Server, scheme = "http"): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(`${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

export function close(server: Server | TlsServer): Promise<void> {
  return new Promise((resolve) => {
    (server as Server).closeAllConnections?.();
    server.close(() => resolve());
  });
}

interface Session {
  btid: string;
  impi: string;
  ks: Uint8Array;
  rand: Uint8Array;
  expiresAt: number;
}

interface Pending {
  impi: string;
  rand: Uint8Array;
  xres: Uint8Array;
  ck: Uint8Array;
  ik: Uint8Array;
  opaque: string;
}

export interface FakeBsfOptions {
  algorithm?: "AKAv1-MD5" | "AKAv2-MD5";
  /** send AUTN* (TS 33.220 §5.3.2, project reading) */
  gbaU?: boolean;
  /** key lifetime in ms from the BSF clock */
  lifetimeMs?: number;
  clock?: () => number;
  /** SEQ_HE of the subscriber before the first vector */
  seqHe?: number;
  /** answer the 200 with a wrong rspauth */
  tamperRspauth?: boolean;
  /** answer the 200 without Authentication-Info */
  omitAuthenticationInfo?: boolean;
  /** answer AUTS with yet another stale challenge (resynchronisation never takes) */
  ignoreAuts?: boolean;
  /** send <currenttime> in an Extension */
  currentTime?: boolean;
}

/** RAND sequence 00..0f, 10..1f, ...: distinct per challenge and known to the test. */
function randFor(n: number): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => (n * 16 + i) & 0xff);
}

export class FakeBsf {
  readonly milenage = new Milenage(K, OPC);
  readonly sessions = new Map<string, Session>();
  readonly requests: Array<{ authorization: string | undefined; userAgent: string | undefined }> = [];
  private readonly pending = new Map<string, Pending>();
  private challenges = 0;
  seqHe: number;
  url = "";
  private server: Server | undefined;

  constructor(readonly o: FakeBsfOptions = {}) {
    this.seqHe = o.seqHe ?? 0;
  }

  get clock(): number {
    return this.o.clock?.() ?? Date.now();
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.url = await listenUrl(this.server);
    return this.url;
  }

  stop(): Promise<void> {
    return this.server ? close(this.server) : Promise.resolve();
  }

  /** What a NAF would get over Zn: Ks_(ext)_NAF for the B-TID and NAF_Id, or undefined. */
  keyFor(btid: string, nafFqdn: string, uaId: Uint8Array): Uint8Array | undefined {
    const s = this.sessions.get(btid);
    if (!s || this.clock >= s.expiresAt) return undefined;
    return deriveKsNaf(s.ks, s.rand, s.impi, nafId(nafFqdn, uaId));
  }

  private challenge(impi: string, res: ServerResponse): void {
    const { sqn, seqHe } = nextSqn(this.seqHe, 1);
    this.seqHe = seqHe;
    const rand = randFor(this.challenges++);
    const av = generateAuthVector(this.milenage, rand, sqnToBytes(sqn), AMF);
    const autn = this.o.gbaU ? toAutnStar(av.autn, av.ik) : av.autn;
    const nonce = buildAkaNonce(rand, autn);
    const opaque = bytesToHex(randFor(100 + this.challenges));
    this.pending.set(nonce, { impi, rand, xres: av.xres, ck: av.ck, ik: av.ik, opaque });
    const wwwAuthenticate = formatChallenge({
      realm: BSF_FQDN,
      nonce,
      algorithm: this.o.algorithm ?? "AKAv1-MD5",
      qop: ["auth-int"],
      opaque,
    });
    res.writeHead(401, { "www-authenticate": wwwAuthenticate }).end();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ authorization: req.headers.authorization, userAgent: req.headers["user-agent"] });
    const creds = parseDigestCredentials(req.headers.authorization ?? "");
    if (creds.nonce === "") {
      this.challenge(creds.username, res);
      return;
    }
    const p = this.pending.get(creds.nonce);
    this.pending.delete(creds.nonce);
    if (!p) return void res.writeHead(403).end();
    if (creds.auts !== undefined) {
      if (!this.o.ignoreAuts) {
        const v = verifyAuts(this.milenage, p.rand, new Uint8Array(Buffer.from(creds.auts, "base64")));
        if (!v.ok) return void res.writeHead(403).end();
        this.seqHe = resyncSeqHe(this.seqHe, bytesToSqn(v.sqnMs));
      }
      this.challenge(p.impi, res);
      return;
    }
    const algorithm = (this.o.algorithm ?? "AKAv1-MD5") as DigestAlgorithm;
    const password = algorithm === "AKAv1-MD5" ? akav1Password(p.xres) : akav2Password(p.xres, p.ik, p.ck);
    const common = {
      algorithm,
      username: p.impi,
      realm: BSF_FQDN,
      password,
      nonce: creds.nonce,
      nc: creds.nc,
      cnonce: creds.cnonce,
      qop: "auth-int" as const,
      uri: creds.uri,
    };
    const expected = digestResponse({ ...common, method: "GET", body: new Uint8Array(0) });
    if (creds.opaque !== p.opaque || !digestEquals(expected, creds.response)) return void res.writeHead(403).end();
    const now = this.clock;
    const expiresAt = Math.floor(now / 1000) * 1000 + (this.o.lifetimeMs ?? 3_600_000);
    const btid = makeBtid(p.rand, BSF_FQDN);
    this.sessions.set(btid, { btid, impi: p.impi, ks: ksFromCkIk(p.ck, p.ik), rand: p.rand, expiresAt });
    const body = buildBootstrappingInfo({
      btid,
      lifetime: new Date(expiresAt),
      currentTime: this.o.currentTime ? new Date(Math.floor(now / 1000) * 1000) : undefined,
    });
    let rsp = rspauth({ ...common, responseBody: Buffer.from(body) });
    if (this.o.tamperRspauth) rsp = rsp.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const headers: Record<string, string> = { "content-type": "application/vnd.3gpp.bsf+xml" };
    if (!this.o.omitAuthenticationInfo) {
      headers["authentication-info"] = formatAuthenticationInfo({
        qop: "auth-int",
        rspauth: rsp,
        cnonce: creds.cnonce,
        nc: creds.nc,
      });
    }
    res.writeHead(200, headers).end(body);
  }
}

export interface FakeNafOptions {
  fqdn?: string;
  algorithm?: "MD5" | "SHA-256";
  qop?: Array<"auth" | "auth-int">;
  /** answer with a wrong rspauth */
  tamperRspauth?: boolean;
  /** realm value offered, default 3GPP-bootstrapping@<fqdn> */
  realm?: string;
  /** reject the first credentialed request as if the B-TID were unknown (TS 24.109 §5.2.5) */
  forgetFirstBtid?: boolean;
  /** reject every credentialed request as if the B-TID were unknown */
  forgetEveryBtid?: boolean;
  /** send nextnonce in Authentication-Info */
  nextnonce?: boolean;
  /** answer every credentialed request with this status and no Authentication-Info (a NAF failing before it authenticates) */
  unauthenticatedStatus?: number;
  /** serve HTTPS with this certificate (Digest inside server-authenticated TLS, TS 33.222 §5.3) */
  tls?: { key: string; cert: string; ciphers?: string; maxVersion?: "TLSv1.2" | "TLSv1.3" };
}

/** IANA codes of the certificate suites the HTTPS tests negotiate (RFC 8446 B.4, RFC 5289). */
const CERT_SUITE_CODES: Record<string, number> = {
  TLS_AES_128_GCM_SHA256: 0x1301,
  TLS_AES_256_GCM_SHA384: 0x1302,
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 0xc02b,
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 0xc02c,
};

/** A NAF with a Digest front end (TS 24.109 §5.2) that echoes the method, path and body it received. */
export class FakeNaf {
  readonly fqdn: string;
  readonly seen: Array<{ authorization?: string; userAgent?: string; status: number; nc?: string; nonce?: string }> = [];
  /** negotiated TLS suites of the credentialed HTTPS requests */
  readonly suites: string[] = [];
  private nonces = 0;
  private forgotten = false;
  url = "";
  private server: Server | undefined;

  constructor(
    private readonly bsf: FakeBsf,
    readonly o: FakeNafOptions = {},
  ) {
    this.fqdn = o.fqdn ?? "naf.example.org";
  }

  get realm(): string {
    return this.o.realm ?? `3GPP-bootstrapping@${this.fqdn}`;
  }

  async start(): Promise<string> {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.handle(req, res, new Uint8Array(Buffer.concat(chunks))));
    };
    const t = this.o.tls;
    this.server = t
      ? createHttpsServer({ key: t.key, cert: t.cert, ciphers: t.ciphers, maxVersion: t.maxVersion ?? "TLSv1.3" }, onRequest)
      : createServer(onRequest);
    this.url = await listenUrl(this.server, t ? "https" : "http");
    return this.url;
  }

  /** TS 33.220 H.3: 01 00 00 00 02 over HTTP, 01 00 01 yy zz (negotiated suite) over HTTPS. */
  private uaIdOf(req: IncomingMessage): Uint8Array {
    if (!this.o.tls) return UA_ID.HTTP_DIGEST;
    const name = (req.socket as TLSSocket).getCipher().standardName;
    const code = CERT_SUITE_CODES[name];
    if (code === undefined) throw new Error(`test NAF: no code for suite ${name}`);
    this.suites.push(name);
    return uaIdForTls(code);
  }

  stop(): Promise<void> {
    return this.server ? close(this.server) : Promise.resolve();
  }

  private challenge(res: ServerResponse, note: { authorization?: string; userAgent?: string }): void {
    const nonce = `nonce-${this.nonces++}`;
    this.seen.push({ ...note, status: 401 });
    res
      .writeHead(401, {
        "www-authenticate": formatChallenge({
          realm: this.realm,
          nonce,
          algorithm: this.o.algorithm ?? "MD5",
          qop: this.o.qop ?? ["auth-int"],
        }),
      })
      .end("bootstrapping required");
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: Uint8Array): void {
    const authorization = req.headers.authorization;
    const note = { authorization, userAgent: req.headers["user-agent"] };
    if (authorization === undefined) {
      this.challenge(res, note);
      return;
    }
    if (this.o.unauthenticatedStatus !== undefined) {
      this.seen.push({ ...note, status: this.o.unauthenticatedStatus });
      res
        .writeHead(this.o.unauthenticatedStatus, { "content-type": "application/problem+json", "retry-after": "1" })
        .end(JSON.stringify({ status: this.o.unauthenticatedStatus, cause: "FST_GBA_BSF_UNAVAILABLE" }));
      return;
    }
    const c = parseDigestCredentials(authorization);
    const key = this.bsf.keyFor(c.username, this.fqdn, this.uaIdOf(req));
    if (key === undefined) {
      this.challenge(res, note);
      return;
    }
    if (this.o.forgetEveryBtid || (this.o.forgetFirstBtid && !this.forgotten)) {
      this.forgotten = true;
      this.bsf.sessions.delete(c.username);
      this.challenge(res, note);
      return;
    }
    const algorithm = digestAlgorithm(c.algorithm)!;
    const common = {
      algorithm,
      username: c.username,
      realm: c.realm,
      password: ksNafPassword(key),
      nonce: c.nonce,
      nc: c.nc,
      cnonce: c.cnonce,
      qop: c.qop as "auth" | "auth-int" | undefined,
      uri: c.uri,
    };
    if (!digestEquals(digestResponse({ ...common, method: req.method ?? "GET", body }), c.response)) {
      this.seen.push({ ...note, status: 403 });
      return void res.writeHead(403).end("wrong response");
    }
    const out = JSON.stringify({ method: req.method, path: req.url, body: Buffer.from(body).toString("utf8"), btid: c.username });
    let rsp = rspauth({ ...common, responseBody: Buffer.from(out) });
    if (this.o.tamperRspauth) rsp = rsp.replace(/^./, (ch) => (ch === "0" ? "1" : "0"));
    const nextnonce = this.o.nextnonce ? `nonce-${this.nonces++}` : undefined;
    this.seen.push({ ...note, status: 200, nc: c.nc, nonce: c.nonce });
    res
      .writeHead(200, {
        "content-type": "application/json",
        "authentication-info": formatAuthenticationInfo({ qop: c.qop, rspauth: rsp, cnonce: c.cnonce, nc: c.nc, nextnonce }),
      })
      .end(out);
  }
}

/** A TLS-PSK NAF (TS 33.222 §5.4): hint 3GPP-bootstrapping, PSK = Ks_NAF for the negotiated suite. */
export async function startFakeTlsPskNaf(
  bsf: FakeBsf,
  o: { fqdn?: string; ciphers: string; tls13?: boolean; forgetFirstBtid?: boolean },
): Promise<{ port: number; server: TlsServer; identities: string[] }> {
  const fqdn = o.fqdn ?? "naf.example.org";
  const identities: string[] = [];
  let forgotten = false;
  // the suite is not known inside pskCallback: the server offers exactly one (the test picks it)
  const code = o.tls13
    ? undefined
    : (
        {
          "PSK-AES128-CBC-SHA": 0x008c,
          "PSK-AES256-CBC-SHA": 0x008d,
          "PSK-AES128-GCM-SHA256": 0x00a8,
          "ECDHE-PSK-AES128-CBC-SHA256": 0xc037,
        } as Record<string, number>
      )[o.ciphers];
  const uaId = o.tls13 ? UA_ID.TLS13_PSK : uaIdForTls(code!);
  const server = createTlsServer(
    {
      pskIdentityHint: PSK_IDENTITY_HINT,
      ciphers: o.ciphers,
      minVersion: o.tls13 ? "TLSv1.3" : "TLSv1.2",
      maxVersion: o.tls13 ? "TLSv1.3" : "TLSv1.2",
      pskCallback: (_socket, identity) => {
        identities.push(identity);
        const btid = parsePskIdentity(identity);
        if (btid === undefined) return null;
        if (o.forgetFirstBtid && !forgotten) {
          forgotten = true;
          bsf.sessions.delete(btid);
        }
        const key = bsf.keyFor(btid, fqdn, uaId);
        return key === undefined ? null : Buffer.from(key);
      },
    },
    (socket) => {
      socket.on("data", () => {
        const body = JSON.stringify({ suite: socket.getCipher().standardName, identity: identities[identities.length - 1] });
        socket.end(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
      });
      socket.on("error", () => undefined);
    },
  );
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { port: (server.address() as AddressInfo).port, server, identities };
}
