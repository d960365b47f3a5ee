// A UE for load generators: the USIM's side of AKA computed in process (milenage/ AUTN check;
// AUTN* on a GBA_U card, TS 33.220 §5.3.2) answering the Ub client's run (ub/run.ts), all
// synchronous, so an autocannon request hook can send the requests. One bootstrap at a time per
// UE keeps its SQN sequence in order.
import { randomBytes } from "node:crypto";
import type { BootstrappingInfo } from "../gba/bootstrapping-info.js";
import { fromAutnStar } from "../gba/gba-u.js";
import { ksFromCkIk } from "../gba/keys.js";
import { checkAutn } from "../milenage/aka.js";
import { Milenage } from "../milenage/milenage.js";
import { newSqnArray, type UsimSqnArray } from "../milenage/sqn.js";
import { PRODUCT_TOKEN, withProductToken } from "../wire/ub.js";
import { type AkaOutcome, type HttpAnswer, type UbDone, type UbFailed, type UbRequest, UbRun } from "./ub/run.js";

/** TS 24.109 A.3 User-Agent; "3gpp-gba-uicc" announces a GBA_U capable UICC. */
const USER_AGENT = "gba-emu load UE; Release-6";

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

/**
 * The steps of a load UE's run: its USIM answers the challenges, so only requests and ends
 * remain. A request answering a challenge says what the USIM made of it (`usim`).
 */
export type LoadUbStep =
  | { kind: "send"; request: UbRequest; usim?: AkaOutcome["kind"] }
  | UbFailed
  | { kind: "done"; keys: UbKeys };

export class LoadUe {
  private readonly m: Milenage;
  /** the card's SEQ_MS array; read it back to save a USIM's state */
  sqn: UsimSqnArray;
  private readonly random: (n: number) => Uint8Array;
  /** TS 24.109 A.3 User-Agent of this UE's requests */
  readonly userAgent: string;

  constructor(
    readonly sub: UeSubscriber,
    private readonly o: LoadUeOptions = {},
  ) {
    this.m = new Milenage(sub.k, sub.opc);
    this.sqn = o.sqn ?? newSqnArray();
    this.random = o.randomBytes ?? ((n) => new Uint8Array(randomBytes(n)));
    this.userAgent = o.gbaU ? withProductToken(USER_AGENT, PRODUCT_TOKEN.GBA_UICC) : USER_AGENT;
  }

  /** A new bootstrapping run with the BSF whose FQDN is `realm`; send its first() request. */
  bootstrap(realm: string): LoadUbRun {
    return new LoadUbRun(this, new UbRun({ impi: this.sub.impi, realm, userAgent: this.userAgent, randomBytes: this.random }));
  }

  /**
   * The USIM's AUTHENTICATE on RAND and AUTN (TS 33.102 §6.3.3): the 3G context, or the GBA
   * context of a GBA_U card, which recovers AUTN from AUTN* with its own IK (TS 33.220 §5.3.2,
   * project reading) and answers RES only (TS 31.102 §7.1.2). Ks is what the card keeps.
   */
  authenticate(rand: Uint8Array, autn: Uint8Array): { outcome: AkaOutcome; ks?: Uint8Array } {
    const plain = this.o.gbaU && this.o.autnStar ? fromAutnStar(autn, this.m.f2345(rand).ik) : autn;
    const { result, array } = checkAutn(this.m, this.sqn, rand, plain);
    if (result.kind !== "success") return { outcome: result };
    this.sqn = array;
    const ks = ksFromCkIk(result.ck, result.ik);
    return { outcome: this.o.gbaU ? { kind: "success", res: result.res } : result, ks };
  }
}

/** One run of a load UE: the Ub run with the challenges answered by the UE's own USIM. */
export class LoadUbRun {
  private ks: Uint8Array | undefined;

  constructor(
    private readonly ue: LoadUe,
    private readonly run: UbRun,
  ) {}

  get resyncs(): number {
    return this.run.resyncs;
  }

  first(): UbRequest {
    return this.run.first();
  }

  /** The BSF's answer to the last request: the next request, or the end of the run. */
  next(answer: HttpAnswer): LoadUbStep {
    const step = this.run.next(answer);
    if (step.kind !== "aka") return this.loadStep(step);
    const { outcome, ks } = this.ue.authenticate(step.challenge.rand, step.challenge.autn);
    this.ks = ks;
    const answered = this.run.aka(outcome);
    return answered.kind === "send" ? { kind: "send", request: answered.request, usim: outcome.kind } : this.loadStep(answered);
  }

  /** The last request got no answer; `message` says why. */
  lost(message: string): LoadUbStep {
    return this.loadStep(this.run.lost(message));
  }

  private loadStep(step: UbDone | UbFailed): LoadUbStep {
    if (step.kind !== "done") return step;
    const { btid, lifetime, currentTime, rand } = step.result;
    return { kind: "done", keys: { btid, lifetime, currentTime, rand, ks: this.ks as Uint8Array } };
  }
}
