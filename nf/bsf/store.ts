// What the BSF keeps: pending Ub challenges (nonce → what the answer is checked against) and
// bootstrap sessions (TS 33.220 §4.5.2: B-TID → IMPI, Ks, RAND, lifetime, GUSS). Ks stays in the
// store: it is never logged and no API returns it (Zn hands out only NAF-specific keys). The Ub
// and Zn procedures use this interface; store-lmdb.ts is its backend, shared by the BSF processes
// of a host. Every method is one atomic step, so a backend whose transactions cannot run our code
// (a Redis Cluster script) can implement each as one operation.
import type { Guss, UiccType } from "../../wire/zh.js";
import type { UbAlgorithm } from "./config.js";

export interface PendingChallenge {
  impi: string;
  rand: Uint8Array;
  /** secrets: XRES is the AKAv1 password, CK and IK make Ks */
  xres: Uint8Array;
  ck: Uint8Array;
  ik: Uint8Array;
  algorithm: UbAlgorithm;
  opaque: string;
  guss: Guss;
  /** ms since the epoch after which the nonce is stale */
  expiresAt: number;
  /** a challenge for an IMPI the HSS does not know: random values, no answer succeeds */
  decoy?: true;
  /** the TMPI the UE named instead of the IMPI (TS 33.220 §4.5.2): the Digest username of the answer */
  tmpi?: string;
}

/** A bootstrap session as the BSF stores it (the UE's own record of a bootstrapping is another type). */
export interface BsfSession {
  btid: string;
  impi: string;
  /** Ks = CK ‖ IK (TS 33.220 §4.5.2); secret */
  ks: Uint8Array;
  rand: Uint8Array;
  /** ms since the epoch */
  createdAt: number;
  /** ms since the epoch, whole seconds (TS 24.109 C.1 lifetime is an xs:dateTime) */
  expiresAt: number;
  uiccType: UiccType;
  guss: Guss;
  /**
   * The TMPI of this bootstrapping (TS 33.220 B.4), when UE and BSF both announced TMPI support:
   * the UE may name it instead of the IMPI in its next bootstrapping.
   */
  tmpi?: string;
}

export type ChallengeLookup = { kind: "pending"; challenge: PendingChallenge } | { kind: "spent" } | { kind: "unknown" };

export type ChallengeSpent =
  | { kind: "fresh"; challenge: PendingChallenge; superseded?: string }
  | { kind: "stale"; challenge: PendingChallenge }
  | { kind: "spent" }
  | { kind: "unknown" };

export interface BsfStore {
  /** Resolves once the challenge is stored for every BSF process, before the 401 goes out. */
  putChallenge(nonce: string, c: PendingChallenge): Promise<void>;
  /** The challenge of a nonce, without spending it. `impi` is the answer's username (a backend may shard by it). */
  challenge(impi: string, nonce: string): Promise<ChallengeLookup>;
  /**
   * Spends the nonce, exactly once across processes, and returns what it was. For a fresh nonce
   * the `session` given (the verified answer's) is stored in the same step, replacing the IMPI's
   * previous session (TS 33.220 §4.5.2); `superseded` is the B-TID it replaced.
   */
  spendChallenge(impi: string, nonce: string, now: number, session?: BsfSession): Promise<ChallengeSpent>;

  /**
   * The IMPI whose latest bootstrapping made this TMPI (TS 33.220 §4.5.2). A TMPI outlives its
   * session (the UE names it in the next bootstrapping, often after the key lifetime) and goes
   * when a new session of its IMPI is stored.
   */
  impiOfTmpi(tmpi: string): Promise<string | undefined>;

  /** Stores a session, replacing the IMPI's previous one; resolves to the superseded B-TID, if any. */
  createSession(s: BsfSession): Promise<string | undefined>;
  /** The live session of a B-TID; an expired one reads as absent. */
  session(btid: string, now: number): Promise<BsfSession | undefined>;
  /**
   * The live session of a B-TID and an opaque version of it, read in one step (one read on Redis
   * when the B-TID's IMPI is known): equal versions mean the same session is still stored.
   */
  versionedSession(btid: string, now: number): Promise<{ session: BsfSession; version: Buffer } | undefined>;
  /** Whether the B-TID's stored session still has this version. */
  isSessionVersion(btid: string, version: Buffer): Promise<boolean>;
  close(): Promise<void>;
}
