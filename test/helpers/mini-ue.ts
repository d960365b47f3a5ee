// A minimal UE for BSF tests: a USIM built from milenage/ (checkAutn, buildAuts via checkAutn)
// and a Ub client built from gba/ primitives (TS 24.109 A.3/A.4, RFC 3310, RFC 4169).
// Deliberately small and separate from ue/, so the BSF is tested against an independent client.
import { randomBytes } from "node:crypto";
import { type Dispatcher, request } from "undici";
import { BOOTSTRAPPING_INFO_CONTENT_TYPE, parseBootstrappingInfo } from "../../gba/bootstrapping-info.js";
import {
  akav1Password,
  akav2Password,
  type DigestChallenge,
  digestResponse,
  formatCredentials,
  parseAkaNonce,
  parseDigestChallenge,
} from "../../gba/digest/index.js";
import { fromAutnStar } from "../../gba/gba-u.js";
import { ksFromCkIk } from "../../gba/keys.js";
import { checkAutn } from "../../milenage/aka.js";
import { Milenage } from "../../milenage/milenage.js";
import { newSqnArray, type UsimSqnArray } from "../../milenage/sqn.js";

export interface UbResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface MiniUeOptions {
  impi: string;
  k: Uint8Array;
  opc: Uint8Array;
  /** GBA_U UICC: recovers MAC from AUTN* with its own IK (TS 33.220 §5.3.2, project reading) */
  gbaU?: boolean;
  /** the BSF sends AUTN* to GBA_U subscribers (config gbaU.autnStar) */
  autnStar?: boolean;
  userAgent?: string;
  dispatcher?: Dispatcher;
}

/** What the UE learnt and computed in one successful run, for the test to check independently. */
export interface Bootstrapped {
  btid: string;
  lifetime: Date;
  ks: Uint8Array;
  rand: Uint8Array;
  res: Uint8Array;
  ck: Uint8Array;
  ik: Uint8Array;
  algorithm: string;
  realm: string;
  nonce: string;
  cnonce: string;
  nc: string;
  uri: string;
  response: UbResponse;
  /** 401 challenges seen (2 after one resynchronisation) */
  challenges: number;
}

export type AkaOutcome =
  | { kind: "ok"; res: Uint8Array; ck: Uint8Array; ik: Uint8Array }
  | { kind: "sync"; auts: Uint8Array }
  | { kind: "mac" };

export async function ubGet(
  url: string,
  authorization: string | undefined,
  opts: { userAgent?: string; dispatcher?: Dispatcher } = {},
): Promise<UbResponse> {
  const headers: Record<string, string> = { "user-agent": opts.userAgent ?? "mini-ue; Release-6; 3gpp-gba-tmpi" };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await request(new URL("/", url), { method: "GET", headers, dispatcher: opts.dispatcher });
  const body = await res.body.text();
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(", ") : v;
  return { status: res.statusCode, headers: flat, body };
}

export class MiniUe {
  readonly impi: string;
  /** the Digest username: the IMPI, or a TMPI the test sets (TS 33.220 §4.5.2) */
  username: string;
  readonly milenage: Milenage;
  /** the USIM's SQN array (TS 33.102 Annex C), replaced after each accepted challenge */
  sqnArray: UsimSqnArray = newSqnArray();
  private readonly opts: MiniUeOptions;

  constructor(opts: MiniUeOptions) {
    this.opts = opts;
    this.impi = opts.impi;
    this.username = opts.impi;
    this.milenage = new Milenage(opts.k, opts.opc);
  }

  /** TS 24.109 A.3: the first request, nonce and response empty. */
  initialAuthorization(realm: string): string {
    return formatCredentials({ username: this.username, realm, nonce: "", uri: "/", response: "" });
  }

  /** The USIM's AUTHENTICATE: 3G context, or GBA bootstrapping mode for a GBA_U UICC. */
  authenticate(rand: Uint8Array, autnFromNonce: Uint8Array): AkaOutcome {
    let autn = autnFromNonce;
    if (this.opts.gbaU && this.opts.autnStar !== false) autn = fromAutnStar(autnFromNonce, this.milenage.f2345(rand).ik);
    const { result, array } = checkAutn(this.milenage, this.sqnArray, rand, autn);
    if (result.kind === "mac-failure") return { kind: "mac" };
    if (result.kind === "sync-failure") return { kind: "sync", auts: result.auts };
    this.sqnArray = array;
    return { kind: "ok", res: result.res, ck: result.ck, ik: result.ik };
  }

  /** RFC 3310 §3.3 / RFC 4169: the Authorization answering a challenge with the given password. */
  answerAuthorization(
    ch: DigestChallenge,
    password: Uint8Array | string,
    extra: { cnonce?: string; nc?: string; auts?: Uint8Array; username?: string; realm?: string; uri?: string } = {},
  ): { header: string; cnonce: string; nc: string } {
    const cnonce = extra.cnonce ?? randomBytes(8).toString("hex");
    const nc = extra.nc ?? "00000001";
    const username = extra.username ?? this.username;
    const realm = extra.realm ?? ch.realm;
    const uri = extra.uri ?? "/";
    const algorithm = ch.algorithm as "AKAv1-MD5" | "AKAv2-MD5";
    const response = digestResponse({
      algorithm,
      username,
      realm,
      password,
      nonce: ch.nonce,
      nc,
      cnonce,
      qop: "auth-int",
      method: "GET",
      uri,
    });
    const header = formatCredentials({
      username,
      realm,
      nonce: ch.nonce,
      uri,
      response,
      algorithm,
      qop: "auth-int",
      nc,
      cnonce,
      opaque: ch.opaque,
      auts: extra.auts === undefined ? undefined : Buffer.from(extra.auts).toString("base64"),
    });
    return { header, cnonce, nc };
  }

  /** Full TS 33.220 §4.5.2 run, resynchronising once if the USIM asks for it. */
  async bootstrap(ubUrl: string, realm: string): Promise<Bootstrapped> {
    const http = { userAgent: this.opts.userAgent, dispatcher: this.opts.dispatcher };
    let r = await ubGet(ubUrl, this.initialAuthorization(realm), http);
    let challenges = 0;
    for (let round = 0; round < 2; round++) {
      if (r.status !== 401) throw new Error(`expected 401, got ${r.status}: ${r.body}`);
      challenges++;
      const ch = parseDigestChallenge(r.headers["www-authenticate"])[0];
      const { rand, autn } = parseAkaNonce(ch.nonce);
      const aka = this.authenticate(rand, autn);
      if (aka.kind === "mac") throw new Error("USIM: MAC failure (network authentication failed)");
      if (aka.kind === "sync") {
        // RFC 3310 §3.4: AUTS with a response computed over an empty password
        r = await ubGet(ubUrl, this.answerAuthorization(ch, new Uint8Array(0), { auts: aka.auts }).header, http);
        continue;
      }
      const password = ch.algorithm === "AKAv2-MD5" ? akav2Password(aka.res, aka.ik, aka.ck) : akav1Password(aka.res);
      const { header, cnonce, nc } = this.answerAuthorization(ch, password);
      const ok = await ubGet(ubUrl, header, http);
      if (ok.status !== 200) throw new Error(`expected 200, got ${ok.status}: ${ok.body}`);
      if (ok.headers["content-type"] !== BOOTSTRAPPING_INFO_CONTENT_TYPE)
        throw new Error(`content-type ${ok.headers["content-type"]}`);
      const info = parseBootstrappingInfo(ok.body);
      return {
        btid: info.btid,
        lifetime: info.lifetime,
        ks: ksFromCkIk(aka.ck, aka.ik),
        rand,
        res: aka.res,
        ck: aka.ck,
        ik: aka.ik,
        algorithm: ch.algorithm,
        realm: ch.realm,
        nonce: ch.nonce,
        cnonce,
        nc,
        uri: "/",
        response: ok,
        challenges,
      };
    }
    throw new Error(`no 200 after a resynchronisation: ${r.status} ${r.body}`);
  }
}
