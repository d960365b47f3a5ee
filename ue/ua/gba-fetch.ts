// Ua over HTTP Digest with bootstrapped keys (TS 24.109 §5.2, TS 33.222 §5.3, RFC 7616): a fetch
// that answers the NAF's "bootstrapping required" 401, bootstraps only when needed, checks the
// NAF's rspauth, and bootstraps again once when the NAF reports the B-TID unknown or expired.
import { isIP } from "node:net";
import type { TLSSocket } from "node:tls";
import { Agent, buildConnector, type Dispatcher, fetch, Headers, type RequestInit, Response } from "undici";
import {
  type DigestAlgorithm,
  type DigestChallenge,
  DigestParseError,
  type DigestQop,
  digestAlgorithm,
  ksNafPassword,
  parseDigestChallenge,
} from "../../gba/digest/index.js";
import { UA_ID, type UaId, uaIdForTls } from "../../gba/ua-id.js";
import { bytesToHex } from "../../wire/bytes.js";
import { PRODUCT_TOKEN, REALM_PREFIX_ME, REALM_PREFIX_UICC, withProductToken } from "../../wire/ub.js";
import type { GbaMiddleware } from "../middleware/gba-middleware.js";
import type { Tracer } from "../trace.js";
import { tlsSuiteByName } from "../../wire/tls-suites.js";
import {
  isUnauthenticatedNafFailure,
  type NafCredentials,
  type NafSpace,
  nafCredentials,
  UaError,
  verifyRspauth,
} from "./naf-digest.js";

export { UaError, type UaErrorCode } from "./naf-digest.js";

const CNONCE_BYTES = 16;
/** first try, one answer to the challenge, one stale nonce, one new bootstrapping */
const MAX_SENDS = 5;

export type GbaBody = string | Uint8Array | ArrayBuffer | undefined;

export interface GbaRequestInit extends Omit<RequestInit, "body" | "dispatcher"> {
  body?: GbaBody;
  /**
   * The NAF's FQDN, when the URL names an address the caller resolved it to: the realm of the
   * NAF's challenge must name it (TS 33.222 §5.3.0). Default: the URL's host name.
   */
  nafFqdn?: string;
}

export interface UaClientOptions {
  tracer?: Tracer;
  /** dispatcher for http: URLs */
  dispatcher?: Dispatcher;
  /** TLS options for https: URLs (ca, rejectUnauthorized, ...) */
  tls?: Record<string, unknown>;
  /** refuse a NAF answer to a credentialed request without a verifying rspauth (default true) */
  requireRspauth?: boolean;
}

function toBytes(body: GbaBody): Uint8Array | undefined {
  if (body === undefined) return undefined;
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new UaError("BAD_REQUEST", "gbaFetch takes a string, Uint8Array or ArrayBuffer body (it hashes it for qop=auth-int)");
}

function headerPairs(h: Headers): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  h.forEach((value, name) => {
    out.push([name, value]);
  });
  return out;
}

function textOf(b: Uint8Array | undefined): string | undefined {
  return b === undefined || b.length === 0 ? undefined : Buffer.from(b).toString("utf8");
}

/** Which key the realm names: the ME can use Ks_(ext)_NAF only; Ks_int_NAF stays on the UICC. */
function pickRealm(realm: string): { realm: string; nafFqdn: string } | "uicc-only" | undefined {
  const options = realm.split(";").map((r) => r.trim());
  const me = options.find((r) => r.startsWith(REALM_PREFIX_ME) && r.length > REALM_PREFIX_ME.length);
  if (me !== undefined) return { realm: me, nafFqdn: me.slice(REALM_PREFIX_ME.length) };
  return options.some((r) => r.startsWith(REALM_PREFIX_UICC)) ? "uicc-only" : undefined;
}

const ALGORITHM_PREFERENCE: readonly DigestAlgorithm[] = ["SHA-256", "SHA-256-sess", "MD5", "MD5-sess"];

export interface BootstrappingChallenge {
  ch: DigestChallenge;
  realm: string;
  nafFqdn: string;
  algorithm: DigestAlgorithm;
}

/** The NAF's bootstrapping-required challenge (TS 24.109 §5.2.4), or undefined for any other 401. */
function bootstrappingChallenge(res: Response): BootstrappingChallenge | undefined {
  return bootstrappingChallengeIn(res.headers.get("www-authenticate"));
}

/** The bootstrapping-required challenge in a WWW-Authenticate value (TS 24.109 §5.2.4), or undefined. */
export function bootstrappingChallengeIn(header: string | null | undefined): BootstrappingChallenge | undefined {
  if (header === null || header === undefined) return undefined;
  let challenges: DigestChallenge[];
  try {
    challenges = parseDigestChallenge(header);
  } catch (err) {
    if (err instanceof DigestParseError) throw new UaError("UNSUPPORTED_CHALLENGE", `NAF WWW-Authenticate: ${err.message}`);
    throw err;
  }
  let uiccOnly = false;
  const usable: BootstrappingChallenge[] = [];
  for (const ch of challenges) {
    const picked = pickRealm(ch.realm);
    if (picked === "uicc-only") uiccOnly = true;
    if (picked === undefined || picked === "uicc-only") continue;
    const algorithm = digestAlgorithm(ch.algorithm);
    if (algorithm !== undefined && ALGORITHM_PREFERENCE.includes(algorithm)) usable.push({ ch, ...picked, algorithm });
  }
  if (usable.length === 0) {
    if (uiccOnly) {
      throw new UaError(
        "UNSUPPORTED_CHALLENGE",
        "the NAF asks for Ks_int_NAF (realm 3GPP-bootstrapping-uicc@...), which never leaves the UICC; the ME cannot answer",
      );
    }
    return undefined;
  }
  usable.sort((a, b) => ALGORITHM_PREFERENCE.indexOf(a.algorithm) - ALGORITHM_PREFERENCE.indexOf(b.algorithm));
  return usable[0];
}

/** A DNS name as compared: case-insensitive, without a trailing dot (RFC 4343). */
function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/**
 * TS 33.222 §5.3.0 (step 4): the client verifies that the FQDN in the realm is the FQDN of the
 * NAF it contacted; otherwise a server could make the UE derive, and prove it holds, another
 * NAF's key. `contacted` is the host the UE reached the NAF by (undefined: an address, no name).
 */
export function checkRealmHost(found: BootstrappingChallenge, contacted: string | undefined, url: URL): void {
  if (contacted === undefined) {
    throw new UaError(
      "NAF_FQDN_UNKNOWN",
      `${url.host} is an address, so the NAF's realm (${found.realm}) cannot be checked against the server contacted: ` +
        "give the NAF's FQDN (nafFqdn, gba ue fetch --naf-fqdn) (TS 33.222 §5.3.0)",
    );
  }
  if (canonicalName(found.nafFqdn) !== canonicalName(contacted)) {
    throw new UaError(
      "REALM_HOST_MISMATCH",
      `the NAF at ${url.host} names ${found.nafFqdn} in its realm, not ${contacted}, the server contacted: ` +
        "its key belongs to another NAF, so the UE does not answer (TS 33.222 §5.3.0)",
    );
  }
}

/** The host name the UE contacted the NAF by: the caller's FQDN, else the URL's host unless it is an address. */
function contactedName(url: URL, nafFqdn: string | undefined): string | undefined {
  if (nafFqdn !== undefined) return nafFqdn;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return isIP(host) === 0 ? host : undefined;
}

/** RFC 7616 §3.4: qop=auth-int protects the body too, so it is preferred when the NAF offers it. */
/** The protection space a bootstrapping-required 401 opens, with no request counted yet. */
export function nafSpaceOf(found: BootstrappingChallenge): NafSpace {
  return {
    realm: found.realm,
    nafFqdn: found.nafFqdn,
    algorithm: found.algorithm,
    qop: pickQop(found.ch.qop),
    nonce: found.ch.nonce,
    opaque: found.ch.opaque,
    nc: 0,
  };
}

function pickQop(offered: readonly string[]): DigestQop | undefined {
  if (offered.includes("auth-int")) return "auth-int";
  if (offered.includes("auth")) return "auth";
  if (offered.length > 0) throw new UaError("UNSUPPORTED_CHALLENGE", `the NAF offers only qop ${offered.join(",")}`);
  return undefined;
}

export class UaClient {
  private readonly tracer: Tracer;
  private readonly spaces = new Map<string, NafSpace>();
  private httpsAgent: Agent | undefined;
  /** the suite negotiated on the last TLS connection to each host:port (Ua id 01 00 01 yy zz) */
  private readonly tlsSuites = new Map<string, string>();

  constructor(
    private readonly mw: GbaMiddleware,
    private readonly opts: UaClientOptions = {},
  ) {
    this.tracer = opts.tracer ?? mw.tracer;
  }

  /**
   * fetch() for a NAF protected by GBA (TS 24.109 §5.2). Returns the NAF's final response: a 401
   * is returned as is when the NAF still refuses after one new bootstrapping. Throws UaError when
   * the NAF's rspauth does not verify.
   */
  async fetch(input: string | URL, init: GbaRequestInit = {}): Promise<Response> {
    const url = new URL(input);
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new UaError("BAD_REQUEST", `unsupported URL scheme ${url.protocol}`);
    const body = toBytes(init.body);
    const method = (init.method ?? "GET").toUpperCase();
    const uri = `${url.pathname}${url.search}`;
    const origin = url.origin;
    let rebootstrapped = false;
    let creds = await this.credentialsFor(this.spaces.get(origin), method, uri, body, url);
    for (let sends = 1; ; sends++) {
      const res = await this.send(url, method, init, body, creds);
      if (res.status !== 401) {
        if (creds !== undefined) return this.verified(res, creds, origin);
        return res;
      }
      const found = bootstrappingChallenge(res);
      if (found === undefined || sends >= MAX_SENDS) return res;
      checkRealmHost(found, contactedName(url, init.nafFqdn), url);
      // TS 24.109 §5.2.5: a bootstrapping 401 after credentials = B-TID unknown or expired at the NAF
      const rejected = creds !== undefined && !found.ch.stale;
      if (rejected && rebootstrapped) {
        this.tracer.note("the NAF rejected the new bootstrapping as well");
        this.spaces.delete(origin);
        return res;
      }
      const space = nafSpaceOf(found);
      if (rejected && creds !== undefined) {
        this.tracer.note(`the NAF rejected B-TID ${creds.btid}: bootstrapping again (TS 24.109 §5.2.5)`);
        this.mw.invalidate(creds.btid);
        rebootstrapped = true;
      } else if (found.ch.stale) {
        this.tracer.note("the NAF's nonce went stale: answering the new nonce");
      } else {
        this.tracer.note(`the NAF requires GBA: realm ${space.realm}, ${space.algorithm}, qop ${space.qop ?? "none"}`);
      }
      this.spaces.set(origin, space);
      creds = await this.credentialsFor(space, method, uri, body, url);
    }
  }

  private async credentialsFor(
    space: NafSpace | undefined,
    method: string,
    uri: string,
    body: Uint8Array | undefined,
    url: URL,
  ): Promise<NafCredentials | undefined> {
    if (space === undefined) return undefined;
    const uaId = this.uaIdFor(url);
    const key = await this.mw.getKsNaf(space.nafFqdn, uaId);
    const password = ksNafPassword(key.key);
    key.key.fill(0);
    this.tracer.value("password", password, "key");
    const cnonce = bytesToHex(this.mw.randomBytes(CNONCE_BYTES));
    return nafCredentials(space, { btid: key.btid, password, cnonce, method, uri, body });
  }

  /** TS 33.220 H.3: 01 00 00 00 02 over plain HTTP; 01 00 01 yy zz (negotiated suite) over HTTPS (TS 33.222 §5.3). */
  private uaIdFor(url: URL): UaId {
    if (url.protocol === "http:") return UA_ID.HTTP_DIGEST;
    const name = this.tlsSuites.get(hostPort(url));
    const code = name === undefined ? undefined : tlsSuiteByName(name)?.code;
    if (code === undefined) {
      throw new UaError(
        "TLS_SUITE_UNKNOWN",
        `cannot tell the IANA code of the negotiated TLS cipher suite ${name ?? "(no TLS session)"}`,
      );
    }
    return uaIdForTls(code);
  }

  private dispatcherFor(url: URL): Dispatcher | undefined {
    if (url.protocol === "http:") return this.opts.dispatcher;
    if (this.httpsAgent === undefined) {
      const connector = buildConnector({ ...(this.opts.tls ?? {}) } as buildConnector.BuildOptions);
      this.httpsAgent = new Agent({
        connect: (o, cb) =>
          connector(o, (err, socket) => {
            // the connector calls back after the handshake, so the suite is known here
            if (err === null && socket !== null) {
              this.tlsSuites.set(`${o.hostname}:${o.port || "443"}`, (socket as TLSSocket).getCipher().standardName);
            }
            (cb as (e: Error | null, s: unknown) => void)(err, socket);
          }),
      });
    }
    return this.httpsAgent;
  }

  private async send(
    url: URL,
    method: string,
    init: GbaRequestInit,
    body: Uint8Array | undefined,
    creds: NafCredentials | undefined,
  ): Promise<Response> {
    const headers = new Headers(init.headers as ConstructorParameters<typeof Headers>[0]);
    const token = this.mw.mode === "GBA_U" ? PRODUCT_TOKEN.GBA_UICC : PRODUCT_TOKEN.GBA;
    // TS 24.109 §5.2.1: the UE announces GBA support with a product token in User-Agent
    headers.set("user-agent", withProductToken(headers.get("user-agent") ?? "gba-emu UE", token));
    if (creds) headers.set("authorization", creds.authorization);
    this.tracer.message({
      iface: "Ua",
      direction: "request",
      url: url.toString(),
      startLine: `${method} ${url.pathname}${url.search} HTTP/1.1`,
      headers: headerPairs(headers),
      body: textOf(body),
    });
    const { nafFqdn: _nafFqdn, ...fetchInit } = init;
    const res = await fetch(url, {
      ...fetchInit,
      method,
      headers,
      body: body === undefined ? undefined : Buffer.from(body),
      redirect: "manual",
      dispatcher: this.dispatcherFor(url),
    } as RequestInit);
    const buffered = new Uint8Array(await res.arrayBuffer());
    this.tracer.message({
      iface: "Ua",
      direction: "response",
      url: url.toString(),
      startLine: `HTTP/1.1 ${res.status} ${res.statusText}`.trimEnd(),
      headers: headerPairs(res.headers as unknown as Headers),
      body: textOf(buffered),
    });
    const nullBody = res.status === 204 || res.status === 304 || method === "HEAD";
    return new Response(nullBody ? null : buffered, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  }

  /** RFC 7616 §3.5: the NAF proves it knows Ks_NAF with rspauth over the response (and its body for auth-int). */
  private async verified(res: Response, c: NafCredentials, origin: string): Promise<Response> {
    const header = res.headers.get("authentication-info");
    if (header === null) {
      if (this.opts.requireRspauth === false) return res;
      if (isUnauthenticatedNafFailure(res.status)) {
        this.tracer.note(`the NAF answered ${res.status} without Authentication-Info: its own failure, not authenticated`);
        return res;
      }
      throw new UaError(
        "SERVER_AUTH_FAILED",
        `the NAF's ${res.status} answer has no Authentication-Info: the NAF is not authenticated`,
      );
    }
    const info = verifyRspauth(header, new Uint8Array(await res.clone().arrayBuffer()), c);
    this.tracer.note("rspauth verified: the NAF is authenticated");
    // RFC 7616 §3.5: nextnonce replaces the nonce (nc starts again)
    if (info.nextnonce !== undefined && this.spaces.get(origin) === c.space) {
      c.space.nonce = info.nextnonce;
      c.space.nc = 0;
    }
    return res;
  }

  async close(): Promise<void> {
    await this.httpsAgent?.close();
    this.tlsSuites.clear();
  }
}

function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}
