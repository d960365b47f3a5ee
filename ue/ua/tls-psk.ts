// Ua over shared-key TLS (TS 33.222 §5.4): psk_identity "3GPP-bootstrapping" "." B-TID, PSK =
// Ks_(ext)_NAF for NAF_Id = FQDN || Ua id. The Ua id names the negotiated suite (01 00 01 yy zz,
// TLS 1.2) or TLS 1.3 (01 00 00 00 07), and the key must be ready before the handshake (node's
// pskCallback is synchronous), so TLS 1.2 offers one PSK suite per handshake.
import { UeError } from "../errors.js";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";
import { connect, createSecureContext, type SecureContext, type TLSSocket } from "node:tls";
import { PSK_IDENTITY_HINT, pskIdentity } from "../../gba/btid.js";
import { UA_ID, type UaId, uaIdForTls } from "../../gba/ua-id.js";
import { bytesToHex } from "../../wire/bytes.js";
import type { GbaMiddleware } from "../middleware/gba-middleware.js";
import { noTrace, type Tracer } from "../trace.js";
import { isPskSuite, tlsSuiteByName } from "../../wire/tls-suites.js";

export type TlsPskErrorCode =
  | "BAD_OPTIONS"
  | "HANDSHAKE_FAILED"
  | "REJECTED"
  /** the NAF ended the handshake with internal_error (RFC 8446 §6.2): it could not serve, e.g. its BSF did not answer Zn */
  | "NAF_INTERNAL_ERROR"
  /** the NAF ended the handshake with access_denied (RFC 8446 §6.2): the PSK was fine, access control refused */
  | "ACCESS_DENIED"
  | "CONNECTION_RESET"
  | "CONNECTION_REFUSED"
  | "TIMEOUT";

export class TlsPskError extends UeError<TlsPskErrorCode> {}

/** TLS 1.2 PSK suites tried in this order, one per handshake: forward-secret first, then AEAD, then the CBC baseline. */
export const DEFAULT_TLS12_PSK_SUITES: readonly string[] = [
  "ECDHE-PSK-AES128-CBC-SHA256",
  "PSK-AES128-GCM-SHA256",
  "PSK-AES128-CBC-SHA",
];

/** OpenSSL uses an external PSK with TLS 1.3 through the TLS 1.2 style callback with a SHA-256 suite. */
const TLS13_PSK_SUITE = "TLS_AES_128_GCM_SHA256";

export interface TlsPskOptions {
  /** the NAF FQDN of NAF_Id (also sent as SNI unless servername says otherwise; never an IP address) */
  nafFqdn: string;
  /** TLS 1.3 external PSK with Ua id 01 00 00 00 07 instead of a TLS 1.2 PSK suite */
  tls13?: boolean;
  /** TLS 1.2 PSK suites (OpenSSL names) to try in order */
  suites?: readonly string[];
  servername?: string;
  timeoutMs?: number;
  tracer?: Tracer;
}

export interface GbaTlsSocket extends TLSSocket {
  gba: { btid: string; uaId: UaId; suite: string };
}

interface Attempt {
  uaId: UaId;
  /** value of the `ciphers` option */
  ciphers: string;
  /** IANA name the handshake must end on */
  standard: string;
}

function attempts(o: TlsPskOptions): Attempt[] {
  if (o.tls13) return [{ uaId: UA_ID.TLS13_PSK, ciphers: TLS13_PSK_SUITE, standard: TLS13_PSK_SUITE }];
  const names = o.suites ?? DEFAULT_TLS12_PSK_SUITES;
  if (names.length === 0) throw new TlsPskError("BAD_OPTIONS", "no TLS 1.2 PSK suite to offer");
  return names.map((n) => {
    const s = tlsSuiteByName(n);
    if (s === undefined || !isPskSuite(s))
      throw new TlsPskError("BAD_OPTIONS", `"${n}" is not a TLS 1.2 PSK cipher suite known here`);
    // TS 33.220 H.3: 01 00 01 yy zz with the IANA code of the suite
    return { uaId: uaIdForTls(s.code), ciphers: n, standard: s.iana };
  });
}

/** the code our own handshake timer gives its error */
const HANDSHAKE_TIMEOUT = "ETIMEDOUT";

/** "TLS alert bad record mac" from OpenSSL's multi-line "...:sslv3 alert bad record mac:...". */
function tlsAlert(err: Error): string {
  const alert = /alert ([a-z ]+?)(?::|$)/m.exec(err.message)?.[1];
  return alert ? `TLS alert ${alert}` : err.message.trim().split("\n")[0];
}

type Failure = "no-shared-suite" | "psk-rejected" | { code: TlsPskErrorCode; what: string };

/** What a failed handshake means: try the next suite, bootstrap again, or end with its own code. */
function classify(err: NodeJS.ErrnoException): Failure {
  const code = err.code ?? "";
  if (code.includes("UNKNOWN_PSK_IDENTITY") || code.includes("DECRYPT_ERROR") || code.includes("BAD_RECORD_MAC"))
    return "psk-rejected";
  if (code.includes("HANDSHAKE_FAILURE") || code.includes("NO_SHARED_CIPHER") || code.includes("NO_CIPHERS"))
    return "no-shared-suite";
  // the NAF's own refusals (alerts it sent) and transport failures keep their own codes, so a report
  // tells overload (internal_error, resets, timeouts) from a failed handshake
  if (code.endsWith("ALERT_INTERNAL_ERROR")) return { code: "NAF_INTERNAL_ERROR", what: "the NAF answered internal_error" };
  if (code.endsWith("ALERT_ACCESS_DENIED")) return { code: "ACCESS_DENIED", what: "the NAF answered access_denied" };
  if (code === "ECONNRESET" || code === "EPIPE") return { code: "CONNECTION_RESET", what: "the NAF closed the connection" };
  if (code === "ECONNREFUSED") return { code: "CONNECTION_REFUSED", what: "the NAF refused the connection" };
  if (code === HANDSHAKE_TIMEOUT) return { code: "TIMEOUT", what: "no answer in time" };
  return { code: "HANDSHAKE_FAILED", what: "the handshake failed" };
}

/**
 * One client SecureContext per protocol version and suite list, shared by every handshake:
 * creating one costs OpenSSL as much as a PSK handshake's own work. The context holds no key;
 * the PSK comes from each connection's pskCallback, so handshakes stay independent (no session
 * tickets are sent by a GBA NAF, and none would be offered: node keeps no client session cache).
 */
const contexts = new Map<string, SecureContext>();

function clientContext(tls13: boolean, ciphers: string): SecureContext {
  const key = `${tls13 ? "1.3" : "1.2"} ${ciphers}`;
  let ctx = contexts.get(key);
  if (ctx === undefined) {
    const version = tls13 ? "TLSv1.3" : "TLSv1.2";
    ctx = createSecureContext({ minVersion: version, maxVersion: version, ciphers });
    contexts.set(key, ctx);
  }
  return ctx;
}

function handshake(
  host: string,
  port: number,
  o: TlsPskOptions,
  a: Attempt,
  identity: string,
  psk: Uint8Array,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    let hintSeen: string | null = null;
    // RFC 6066 §3: SNI carries a host name, never an IP address (node warns DEP0123)
    const sni = o.servername ?? o.nafFqdn;
    const socket = connect({
      host,
      port,
      servername: isIP(sni) ? undefined : sni,
      secureContext: clientContext(o.tls13 === true, a.ciphers),
      // no certificate: the PSK authenticates the NAF (TS 33.222 §5.4)
      checkServerIdentity: () => undefined,
      pskCallback: (hint) => {
        hintSeen = hint;
        // TS 33.222 §5.4: the hint of a GBA NAF is "3GPP-bootstrapping" (TLS 1.3 has no hint)
        if (hint !== null && hint !== PSK_IDENTITY_HINT) return null;
        return { identity, psk: Buffer.from(psk) };
      },
    });
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error(`TLS handshake with ${host}:${port} timed out`), { code: HANDSHAKE_TIMEOUT })),
      o.timeoutMs ?? 10_000,
    );
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      const got = socket.getCipher().standardName;
      if (got !== a.standard) {
        socket.destroy();
        reject(new TlsPskError("HANDSHAKE_FAILED", `negotiated ${got}, offered ${a.standard}: the Ua id would be wrong`));
        return;
      }
      resolve(socket);
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      if (hintSeen !== null && hintSeen !== PSK_IDENTITY_HINT) {
        reject(new TlsPskError("HANDSHAKE_FAILED", `the server's PSK identity hint "${hintSeen}" is not ${PSK_IDENTITY_HINT}`));
        return;
      }
      reject(err);
    });
  });
}

/**
 * Opens a TLS-PSK tunnel to a NAF (TS 33.222 §5.4). Bootstraps when needed; when the NAF refuses
 * the PSK identity (unknown or expired B-TID) bootstraps once more and retries.
 */
export async function tlsPskConnect(mw: GbaMiddleware, host: string, port: number, o: TlsPskOptions): Promise<GbaTlsSocket> {
  const tracer = o.tracer ?? noTrace;
  let rebootstrapped = false;
  const list = attempts(o);
  let lastError: Error | undefined;
  for (let i = 0; i < list.length; ) {
    const a = list[i];
    const key = await mw.getKsNaf(o.nafFqdn, a.uaId);
    const identity = pskIdentity(key.btid);
    tracer.note(`TLS-PSK handshake with ${host}:${port}, ${o.tls13 ? "TLS 1.3" : "TLS 1.2"}, suite ${a.standard}`);
    tracer.value("psk_identity", identity);
    tracer.value("PSK", key.key, "key");
    try {
      const socket = (await handshake(host, port, o, a, identity, key.key)) as GbaTlsSocket;
      socket.gba = { btid: key.btid, uaId: a.uaId, suite: a.standard };
      tracer.note(`TLS-PSK established: ${socket.getProtocol()} ${a.standard}`);
      return socket;
    } catch (err) {
      if (err instanceof TlsPskError) throw err;
      lastError = err as Error;
      const why = classify(err as NodeJS.ErrnoException);
      tracer.note(`TLS-PSK handshake failed: ${lastError.message}`);
      if (why === "psk-rejected" && !rebootstrapped) {
        // TS 33.222 §5.4 / TS 24.109 §5.2.5 analogue: the NAF does not know this B-TID (any more)
        mw.invalidate(key.btid);
        rebootstrapped = true;
        continue;
      }
      // the NAF derives Ks_NAF for its own FQDN: a fresh key it refuses was most likely derived for another
      if (why === "psk-rejected")
        throw new TlsPskError(
          "REJECTED",
          `the NAF refused the PSK of a fresh bootstrapping, derived for NAF FQDN ${o.nafFqdn} and Ua id ${bytesToHex(a.uaId)}: ` +
            `is ${o.nafFqdn} the NAF's FQDN? (${tlsAlert(lastError)})`,
          { cause: lastError },
        );
      if (typeof why === "object") throw new TlsPskError(why.code, `${why.what}: ${tlsAlert(lastError)}`, { cause: lastError });
      i++;
    } finally {
      key.key.fill(0);
    }
  }
  throw new TlsPskError("HANDSHAKE_FAILED", `no offered PSK suite was accepted: ${lastError?.message ?? "no attempt"}`);
}

export interface TunnelResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

/** One HTTP/1.1 request over an established tunnel; the socket is closed after the response. */
export function httpOverTls(
  socket: TLSSocket,
  r: { method?: string; path: string; host: string; headers?: Record<string, string>; body?: string | Uint8Array },
): Promise<TunnelResponse> {
  return new Promise((resolve, reject) => {
    const body = r.body === undefined ? undefined : typeof r.body === "string" ? Buffer.from(r.body) : Buffer.from(r.body);
    const req = httpRequest(
      {
        createConnection: () => socket,
        method: r.method ?? "GET",
        path: r.path,
        headers: { host: r.host, ...(body ? { "content-length": String(body.length) } : {}), ...(r.headers ?? {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          socket.end();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)) });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
