// Ua over HTTP Digest under autocannon (TS 24.109 §5.2, RFC 7616): each connection takes its own
// server nonce once, then sends one Digest per request with nc = 1, 2, 3, ... (qop=auth), so
// the NAF verifies a fresh response every time while the Zn answer stays cached.
import type autocannon from "autocannon";
import { request } from "undici";
import {
  type DigestAlgorithm,
  digestAlgorithm,
  digestHa1,
  digestResponseFromHa1,
  formatCredentials,
  formatNc,
  ksNafPassword,
  parseDigestChallenge,
} from "../../gba/digest/index.js";

export interface UaChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  opaque?: string;
}

/** The NAF FQDN of a GBA realm "3GPP-bootstrapping@<fqdn>" (TS 24.109 §5.2.1). */
export function nafFqdnOfRealm(realm: string): string {
  const at = realm.split(";")[0].lastIndexOf("@");
  if (at < 0) throw new Error(`realm "${realm}" is not 3GPP-bootstrapping@<NAF FQDN>`);
  return realm.split(";")[0].slice(at + 1);
}

/** `n` fresh challenges from unauthenticated requests to `url`. */
export async function fetchChallenges(url: string, n: number, init: { method?: string } = {}): Promise<UaChallenge[]> {
  const out: UaChallenge[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request(url, { method: (init.method ?? "GET") as "GET" });
    await res.body.dump();
    const www = res.headers["www-authenticate"];
    const ch = typeof www === "string" ? parseDigestChallenge(www)[0] : undefined;
    if (res.statusCode !== 401 || ch === undefined)
      throw new Error(`${url}: expected a 401 Digest challenge without credentials, got HTTP ${res.statusCode}`);
    const algorithm = digestAlgorithm(ch.algorithm ?? "MD5");
    if (algorithm !== "MD5" && algorithm !== "SHA-256") throw new Error(`${url}: Digest algorithm ${ch.algorithm} not supported`);
    // TS 24.109 §5.2.4: with both realms offered, the ME key realm is the last one
    out.push({ realm: ch.realm.split(";").at(-1) as string, nonce: ch.nonce, algorithm, opaque: ch.opaque });
  }
  return out;
}

export interface DigestLoad {
  url: string;
  /** request-target and digest-uri, e.g. "/whoami" */
  path: string;
  method?: "GET" | "POST";
  body?: Buffer;
  headers?: Record<string, string>;
  /** username: the B-TID; key: Ks_NAF, the password is its base64 (TS 24.109 §5.2.2) */
  btid: string;
  key: Uint8Array;
  challenges: UaChallenge[];
  connections: number;
  seconds: number;
  rate?: number;
}

export function digestAutocannon(l: DigestLoad): autocannon.Options {
  const method = l.method ?? "GET";
  const password = ksNafPassword(l.key);
  let next = 0;
  return {
    url: `${new URL(l.url).origin}${l.path}`,
    method,
    body: l.body,
    connections: l.connections,
    duration: l.seconds,
    overallRate: l.rate,
    pipelining: 1,
    setupClient(client: autocannon.Client) {
      const c = l.challenges[next++ % l.challenges.length];
      const ha1 = digestHa1({ algorithm: c.algorithm, username: l.btid, realm: c.realm, password, nonce: c.nonce, cnonce: "" });
      const cnonce = `${next.toString(16).padStart(8, "0")}${Date.now().toString(16)}`;
      let count = 0;
      const authorize = () => {
        const nc = formatNc(++count);
        const response = digestResponseFromHa1(ha1, {
          algorithm: c.algorithm,
          nonce: c.nonce,
          nc,
          cnonce,
          qop: "auth",
          method,
          uri: l.path,
        });
        client.setHeaders({
          ...l.headers,
          authorization: formatCredentials({
            username: l.btid,
            realm: c.realm,
            nonce: c.nonce,
            uri: l.path,
            response,
            algorithm: c.algorithm,
            qop: "auth",
            nc,
            cnonce,
            opaque: c.opaque,
          }),
        });
      };
      authorize();
      client.on("response", authorize);
    },
  };
}
