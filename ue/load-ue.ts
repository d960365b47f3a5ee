// A UE for load generators: the USIM's side of AKA (milenage/ AUTN check; AUTN* on a GBA_U card,
// TS 33.220 §5.3.2) and the ME's Ub requests (TS 24.109 A.3/A.4, RFC 3310, RFC 4169), computed
// synchronously so an autocannon request hook can send them. The BSF's answers are checked with
// the Ub client's own functions. One bootstrap at a time per UE keeps its SQN sequence in order.
import { randomBytes } from "node:crypto";
import type { BootstrappingInfo } from "../gba/bootstrapping-info.js";
import { digestHa1, digestResponseFromHa1, formatCredentials, formatNc } from "../gba/digest/index.js";
import { fromAutnStar } from "../gba/gba-u.js";
import { ksFromCkIk } from "../gba/keys.js";
import { checkAutn } from "../milenage/aka.js";
import { bytesToHex } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { newSqnArray, type UsimSqnArray } from "../milenage/sqn.js";
import {
  akaChallenge,
  akaNonce,
  bootstrappingInfo,
  type HttpAnswer,
  passwordFor,
  statusError,
  UbError,
  verifyRspauth,
} from "./ub-client.js";

const UB_URI = "/";
const QOP = "auth-int";
const EMPTY = new Uint8Array(0);
const CNONCE_BYTES = 16;

export interface UeSubscriber {
  impi: string;
  k: Uint8Array;
  opc: Uint8Array;
}

export interface LoadUeOptions {
  /** TS 33.102 Annex C SEQ_MS array the card starts from (default: a new card) */
  sqn?: UsimSqnArray;
  /** a GBA_U card (CK and IK stay on it); with autnStar the BSF sends AUTN* (TS 33.220 §5.3.2) */
  gbaU?: boolean;
  autnStar?: boolean;
  randomBytes?: (n: number) => Uint8Array;
}

/** A bootstrapping's outcome on the UE: B-TID, lifetime, and Ks with RAND for the NAF keys (TS 33.220 B.3). */
export interface UbKeys extends BootstrappingInfo {
  rand: Uint8Array;
  /** Ks = CK ‖ IK (TS 33.220 §4.5.2; on a GBA_U card it never leaves the UICC, §5.3.2) */
  ks: Uint8Array;
}

/** The ME's request after the BSF's 401, by what the USIM made of RAND and AUTN. */
export type UbTurn =
  | {
      kind: "answer";
      authorization: string;
      /** the BSF's answer to it: 200 with a verifying rspauth and a BootstrappingInfo, else UbError */
      accept(a: HttpAnswer): UbKeys;
    }
  /** RFC 3310 §3.4: synchronisation failure, AUTS sent; the BSF challenges again */
  | { kind: "resync"; authorization: string }
  /** RFC 3310 §3.5: the USIM refused AUTN; the BSF is told, the bootstrapping has failed */
  | { kind: "mac-failure"; authorization: string };

export class LoadUe {
  private readonly m: Milenage;
  /** the card's SEQ_MS array; read it back to save a USIM's state */
  sqn: UsimSqnArray;
  private readonly random: (n: number) => Uint8Array;

  constructor(
    readonly sub: UeSubscriber,
    private readonly o: LoadUeOptions = {},
  ) {
    this.m = new Milenage(sub.k, sub.opc);
    this.sqn = o.sqn ?? newSqnArray();
    this.random = o.randomBytes ?? ((n) => new Uint8Array(randomBytes(n)));
  }

  /** TS 24.109 A.3 first request: username = IMPI, realm = BSF FQDN, empty nonce and response. */
  initialAuthorization(realm: string): string {
    return formatCredentials({ username: this.sub.impi, realm, nonce: "", uri: UB_URI, response: "" });
  }

  /** TS 24.109 A.4: the request answering the BSF's 401. Throws UbError for any other answer or an unusable challenge. */
  respond(a: HttpAnswer): UbTurn {
    if (a.status !== 401) throw statusError(a, "a 401 challenge");
    const ch = akaChallenge(a);
    const { rand, autn } = akaNonce(ch.nonce);
    // TS 33.220 §5.3.2 (project reading): the GBA_U card recovers AUTN from AUTN* with its own IK
    const plain = this.o.gbaU && this.o.autnStar ? fromAutnStar(autn, this.m.f2345(rand).ik) : autn;
    const { result, array } = checkAutn(this.m, this.sqn, rand, plain);
    const cnonce = bytesToHex(this.random(CNONCE_BYTES));
    const nc = formatNc(1);
    const fields = { algorithm: ch.algorithm, nonce: ch.nonce, nc, cnonce, qop: QOP } as const;
    const base = {
      username: this.sub.impi,
      realm: ch.realm,
      nonce: ch.nonce,
      uri: UB_URI,
      opaque: ch.opaque,
      algorithm: ch.algorithm,
    };
    if (result.kind === "success") {
      this.sqn = array;
      // a GBA_U card answers RES only (TS 31.102 §7.1.2 GBA context), so AKAv2 is refused as the ME refuses it
      const password = passwordFor(ch.algorithm, this.o.gbaU ? { kind: "success", res: result.res } : result);
      const ha1 = digestHa1({ algorithm: ch.algorithm, username: this.sub.impi, realm: ch.realm, password, nonce: ch.nonce });
      const response = digestResponseFromHa1(ha1, { ...fields, method: "GET", uri: UB_URI, body: EMPTY });
      const ks = ksFromCkIk(result.ck, result.ik);
      return {
        kind: "answer",
        authorization: formatCredentials({ ...base, qop: QOP, nc, cnonce, response }),
        accept: (b) => {
          if (b.status === 403) throw new UbError("REJECTED", "the BSF rejected the response (user authentication failure, 403)");
          if (b.status === 401)
            throw new UbError("REJECTED", "the BSF challenged again after the response (user authentication failure)");
          if (b.status !== 200) throw statusError(b, "200 OK");
          // RFC 2617 §3.2.3 / RFC 3310 §3.3: authenticate the BSF before trusting anything in the answer
          verifyRspauth(b, ha1, { ...fields, uri: UB_URI });
          return { ...bootstrappingInfo(b), rand, ks };
        },
      };
    }
    // RFC 3310 §3.4 (sync failure: auts) and §3.5 (MAC failure): the response uses an empty password
    const ha1 = digestHa1({
      algorithm: ch.algorithm,
      username: this.sub.impi,
      realm: ch.realm,
      password: EMPTY,
      nonce: ch.nonce,
    });
    const response = digestResponseFromHa1(ha1, { ...fields, method: "GET", uri: UB_URI, body: EMPTY });
    const credentials = { ...base, qop: QOP, nc, cnonce, response } as const;
    if (result.kind === "mac-failure") return { kind: "mac-failure", authorization: formatCredentials(credentials) };
    const auts = Buffer.from(result.auts).toString("base64");
    return { kind: "resync", authorization: formatCredentials({ ...credentials, auts }) };
  }

  /** The answer to a WWW-Authenticate challenge when the USIM accepts it, else undefined (benchmarks). */
  answer(wwwAuthenticate: string): string | undefined {
    try {
      const turn = this.respond({ status: 401, headers: { "www-authenticate": wwwAuthenticate }, body: EMPTY });
      return turn.kind === "answer" ? turn.authorization : undefined;
    } catch (err) {
      if (err instanceof UbError) return undefined;
      throw err;
    }
  }
}
