// The server half of HTTP Digest as a NAF speaks it on Ua (TS 24.109 §5.2, TS 33.222 §5.3,
// RFC 7616): the challenge with a fresh nonce, the checks of the client's credentials, the
// response check and the rspauth of Authentication-Info. Pure: the caller hands in header values,
// the request target and the bodies; which key a username has is the caller's business.
import {
  type DigestAlgorithm,
  type DigestQop,
  digestAlgorithm,
  digestEquals,
  digestHa1,
  digestResponseFromHa1,
  rspauthFromHa1,
} from "./compute.js";
import { DigestParseError } from "./errors.js";
import { formatAuthenticationInfo, formatChallenge } from "./format.js";
import type { NonceIssuer } from "./nonce.js";
import { type DigestCredentials, parseDigestCredentials } from "./parse.js";

/** The qop values offered by default, auth-int first (RFC 7616 §3.3; TS 24.109 §5.2.2 allows both). */
export const DEFAULT_QOP_OFFER: readonly DigestQop[] = ["auth-int", "auth"];

export interface DigestServerOptions {
  /** realms offered, in the order the challenge lists them (joined by ";", TS 24.109 §5.2.4) */
  realms: readonly string[];
  /** the one algorithm offered (TS 24.109 §5.2: MD5; RFC 7616: SHA-256) */
  algorithm: "MD5" | "SHA-256";
  /**
   * qop values offered, in order (default auth-int, auth). RFC 7616 §3.3 allows a list, but
   * clients that split the header on commas break on qop="auth-int,auth": offer one for them.
   */
  qop?: readonly DigestQop[];
  nonces: NonceIssuer;
}

/** Why credentials are refused before any key is needed. */
export type CredentialsRefusal =
  /** no Authorization header, or one of another scheme: answer with a challenge */
  | { ok: false; refusal: "no-credentials" }
  /** RFC 7616 §3.4 grammar */
  | { ok: false; refusal: "malformed"; detail: string }
  /** an algorithm or qop that was not offered */
  | { ok: false; refusal: "unsupported"; detail: string }
  /** TS 24.109 §5.2.4: the UE echoes one of the offered realms */
  | { ok: false; refusal: "realm-mismatch"; realm: string }
  /** RFC 7616 §3.4.6: uri must name the request target */
  | { ok: false; refusal: "uri-mismatch" };

/** What the response and rspauth of one answered challenge are computed from (RFC 7616 §3.4.1, §3.5). */
interface AnsweredChallenge {
  algorithm: DigestAlgorithm;
  qop: DigestQop;
  nonce: string;
  /** 8 hex digits, as sent */
  nc: string;
  cnonce: string;
  uri: string;
  response: string;
}

/** Credentials whose form, algorithm, qop, realm and uri are what this server offered. */
export interface OfferedCredentials extends AnsweredChallenge {
  ok: true;
  username: string;
  realm: string;
}

/** One answered challenge with the H(A1) of the username's password: what verifying and signing need. */
export interface DigestExchange extends AnsweredChallenge {
  ha1: string;
}

export interface DigestServer {
  /** the realm parameter of every challenge */
  readonly challengeRealm: string;
  /** WWW-Authenticate value with a fresh nonce; stale=true tells the client only the nonce expired (RFC 7616 §3.3) */
  challenge(stale?: boolean): string;
  /** Checks an Authorization header against what was offered; `requestTarget` is the request's URI as received. */
  offered(authorization: string | undefined, requestTarget: string): OfferedCredentials | CredentialsRefusal;
  /** H(A1) for a username in a realm (RFC 7616 §3.4.2); cache it per key. */
  ha1(username: string, realm: string, password: string): string;
  /** True when the response is the one for this method and body (RFC 7616 §3.4.1), compared in constant time. */
  verify(x: DigestExchange, method: string, body: Uint8Array | undefined): boolean;
  /** Authentication-Info with rspauth over the response body for auth-int (RFC 7616 §3.5, TS 24.109 §5.2.2). */
  authenticationInfo(x: DigestExchange, responseBody: Uint8Array | undefined): string;
}

export function createDigestServer(o: DigestServerOptions): DigestServer {
  if (o.realms.length === 0) throw new RangeError("a Digest server offers at least one realm");
  const algorithm: DigestAlgorithm = o.algorithm;
  const challengeRealm = o.realms.join(";");
  const qops = o.qop ?? DEFAULT_QOP_OFFER;
  if (qops.length === 0 || !qops.every((q) => q === "auth" || q === "auth-int") || new Set(qops).size !== qops.length)
    throw new RangeError('a Digest server offers qop "auth-int", "auth" or both, each once');
  const qopOffer = `"${qops.join(",")}"`;

  function parse(header: string): DigestCredentials | CredentialsRefusal {
    try {
      return parseDigestCredentials(header);
    } catch (err) {
      if (!(err instanceof DigestParseError)) throw err;
      if (err.code === "NOT_DIGEST") return { ok: false, refusal: "no-credentials" };
      return { ok: false, refusal: "malformed", detail: err.message };
    }
  }

  return {
    challengeRealm,
    challenge(stale = false) {
      return formatChallenge({ realm: challengeRealm, nonce: o.nonces.issue(), algorithm, qop: qops, stale });
    },
    offered(header, requestTarget) {
      if (header === undefined) return { ok: false, refusal: "no-credentials" };
      const cred = parse(header);
      if ("ok" in cred) return cred;
      if (digestAlgorithm(cred.algorithm) !== algorithm)
        return { ok: false, refusal: "unsupported", detail: `algorithm ${cred.algorithm.slice(0, 32)} (offered ${algorithm})` };
      const qop = cred.qop;
      // RFC 7616 §3.4: the client answers with one of the qop values the server offered
      if (qop !== "auth" && qop !== "auth-int") {
        const detail = qop === undefined ? `qop missing (offered ${qopOffer})` : `qop ${qop.slice(0, 32)} (offered ${qopOffer})`;
        return { ok: false, refusal: "unsupported", detail };
      }
      if (!qops.includes(qop)) return { ok: false, refusal: "unsupported", detail: `qop ${qop} (offered ${qopOffer})` };
      if (!o.realms.includes(cred.realm)) return { ok: false, refusal: "realm-mismatch", realm: cred.realm.slice(0, 200) };
      if (cred.uri !== requestTarget) return { ok: false, refusal: "uri-mismatch" };
      return {
        ok: true,
        username: cred.username,
        realm: cred.realm,
        algorithm,
        qop,
        nonce: cred.nonce,
        // parseDigestCredentials requires nc and cnonce with qop (RFC 7616 §3.4)
        nc: cred.nc as string,
        cnonce: cred.cnonce as string,
        uri: cred.uri,
        response: cred.response,
      };
    },
    ha1(username, realm, password) {
      // not a -sess algorithm: H(A1) does not depend on the nonce
      return digestHa1({ algorithm, username, realm, password, nonce: "", cnonce: undefined });
    },
    verify(x, method, body) {
      const expected = digestResponseFromHa1(x.ha1, {
        algorithm: x.algorithm,
        nonce: x.nonce,
        nc: x.nc,
        cnonce: x.cnonce,
        qop: x.qop,
        method,
        uri: x.uri,
        body,
      });
      return digestEquals(expected, x.response);
    },
    authenticationInfo(x, responseBody) {
      const rspauth = rspauthFromHa1(x.ha1, {
        algorithm: x.algorithm,
        nonce: x.nonce,
        nc: x.nc,
        cnonce: x.cnonce,
        qop: x.qop,
        uri: x.uri,
        responseBody,
      });
      return formatAuthenticationInfo({ qop: x.qop, rspauth, cnonce: x.cnonce, nc: x.nc });
    },
  };
}
