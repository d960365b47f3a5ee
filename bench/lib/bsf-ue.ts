// The UE side of a Ub bootstrap for load generation: USIM check (milenage/ checkAutn) and the
// Digest AKA answer (gba/digest), per subscriber, with the subscriber's SQN array kept between runs.
import { createHash } from "node:crypto";
import {
  akav1Password,
  akav2Password,
  digestResponse,
  formatCredentials,
  parseAkaNonce,
  parseDigestChallenge,
} from "../../gba/digest/index.js";
import { checkAutn } from "../../milenage/aka.js";
import { bytesToHex } from "../../milenage/bytes.js";
import { Milenage } from "../../milenage/milenage.js";
import { newSqnArray, type UsimSqnArray } from "../../milenage/sqn.js";

export interface BenchSubscriber {
  impi: string;
  k: Uint8Array;
  opc: Uint8Array;
}

const derive = (label: string, i: number) =>
  new Uint8Array(createHash("sha256").update(`${label}-${i}`).digest().subarray(0, 16));

/** Deterministic bench subscriber number i (IMSI-style IMPI, TS 23.003 §13.3). */
export function benchSubscriber(i: number): BenchSubscriber {
  const msin = String(i).padStart(10, "0");
  return { impi: `00101${msin}@ims.mnc001.mcc001.3gppnetwork.org`, k: derive("k", i), opc: derive("opc", i) };
}

export const hex = bytesToHex;

export class BenchUe {
  private readonly m: Milenage;
  private array: UsimSqnArray = newSqnArray();
  private seq = 0;

  constructor(readonly sub: BenchSubscriber) {
    this.m = new Milenage(sub.k, sub.opc);
  }

  /** TS 24.109 A.3 first request. */
  initialAuthorization(realm: string): string {
    return formatCredentials({ username: this.sub.impi, realm, nonce: "", uri: "/", response: "" });
  }

  /** TS 24.109 A.4 answer to a WWW-Authenticate challenge, or undefined when the USIM refuses it. */
  answer(wwwAuthenticate: string): string | undefined {
    const ch = parseDigestChallenge(wwwAuthenticate)[0];
    if (ch === undefined) return undefined;
    const { rand, autn } = parseAkaNonce(ch.nonce);
    const { result, array } = checkAutn(this.m, this.array, rand, autn);
    if (result.kind !== "success") return undefined;
    this.array = array;
    const algorithm = ch.algorithm as "AKAv1-MD5" | "AKAv2-MD5";
    const password = algorithm === "AKAv2-MD5" ? akav2Password(result.res, result.ik, result.ck) : akav1Password(result.res);
    const cnonce = (++this.seq).toString(16).padStart(8, "0");
    const nc = "00000001";
    const response = digestResponse({
      algorithm,
      username: this.sub.impi,
      realm: ch.realm,
      password,
      nonce: ch.nonce,
      nc,
      cnonce,
      qop: "auth-int",
      method: "GET",
      uri: "/",
    });
    return formatCredentials({
      username: this.sub.impi,
      realm: ch.realm,
      nonce: ch.nonce,
      uri: "/",
      response,
      algorithm,
      qop: "auth-int",
      nc,
      cnonce,
      opaque: ch.opaque,
    });
  }
}

/** UEs handed to one exchange at a time, so each subscriber's SQN sequence stays in order. */
export class UePool {
  private readonly free: BenchUe[];
  private readonly out = new Set<BenchUe>();
  constructor(ues: BenchUe[]) {
    this.free = [...ues];
  }
  take(): BenchUe {
    const ue = this.free.shift();
    if (ue === undefined) throw new Error("UE pool empty: more connections than subscribers");
    this.out.add(ue);
    return ue;
  }
  give(ue: BenchUe): void {
    if (this.out.delete(ue)) this.free.push(ue);
  }
  /** After a load run has stopped: UEs whose exchange was cut off are free again. */
  reclaim(): void {
    for (const ue of this.out) this.free.push(ue);
    this.out.clear();
  }
}

/** One full bootstrap over undici (used to prepare sessions); resolves to the B-TID. */
export async function bootstrapOnce(ubUrl: string, realm: string, ue: BenchUe): Promise<string> {
  const { request } = await import("undici");
  const first = await request(ubUrl, { headers: { authorization: ue.initialAuthorization(realm) } });
  await first.body.dump();
  const challenge = first.headers["www-authenticate"];
  if (first.statusCode !== 401 || typeof challenge !== "string")
    throw new Error(`Ub: expected a 401 challenge, got ${first.statusCode}`);
  const answer = ue.answer(challenge);
  if (answer === undefined) throw new Error("USIM refused the challenge");
  const ok = await request(ubUrl, { headers: { authorization: answer } });
  const body = await ok.body.text();
  if (ok.statusCode !== 200) throw new Error(`Ub: expected 200, got ${ok.statusCode} ${body}`);
  const m = /<btid>([^<]+)<\/btid>/.exec(body);
  if (m === null) throw new Error("Ub: no <btid> in the 200 body");
  return m[1];
}
