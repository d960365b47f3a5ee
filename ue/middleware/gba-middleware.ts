// Device middleware (GSMA IoT.04 Solution 2, TS 33.220 §4.5 / §5.3): reads the identity from the
// USIM, bootstraps over Ub, keeps the bootstrapped keys (GBA_ME: Ks in memory; GBA_U: Ks on the
// UICC, B-TID and lifetime in EF_GBABP), derives one NAF key per NAF_Id from one bootstrapping,
// and deletes keys when TS 33.220 §4.4.11 says so.
import type { Dispatcher } from "undici";
import { formatUtcDateTime } from "../../gba/bootstrapping-info.js";
import { deriveTmpi, parseBtid, tmpiBsfId, tmpiFromKey } from "../../gba/btid.js";
import { deriveKsNaf, ksFromCkIk, nafId as makeNafId } from "../../gba/keys.js";
import { describeUaId, type UaId } from "../../gba/ua-id.js";
import { constantTimeEqual } from "../../wire/bytes.js";
import { PRODUCT_TOKEN, withProductToken } from "../../wire/ub.js";
import { SERVICE_GBA } from "../usim/ef-codec.js";
import type { UsimClient } from "../usim/usim-client.js";
import { type UeDeps, withUeDeps } from "../deps.js";
import { UeError } from "../errors.js";
import { bsfFqdnFromImsi, impiFromImsi } from "../impi.js";
import { noTrace, type Tracer } from "../trace.js";
import { runUbBootstrap } from "../ub/client.js";
import { type AkaOutcome, UbError, type UbResult } from "../ub/run.js";
import { type BootstrapSession, type DeletionReason, type GbaMode, KeyStore, type NafKey } from "./key-store.js";

export type { BootstrapSession, DeletionReason, GbaMode, NafKey } from "./key-store.js";

export type MiddlewareErrorCode = "NOT_GBA_U_CAPABLE" | "BAD_NAF";

export class MiddlewareError extends UeError<MiddlewareErrorCode> {}

/**
 * What the UE may see of AKA only in a simulation (needs K), for traces: SQN and AMF from AUTN,
 * and SQN_MS and MAC-S from the AUTS of a synchronisation failure.
 */
export interface AkaInsight {
  challenge(rand: Uint8Array, autn: Uint8Array): { sqn: Uint8Array; amf: Uint8Array } | undefined;
  auts?(rand: Uint8Array, auts: Uint8Array): { sqnMs: Uint8Array; macS: Uint8Array } | undefined;
}

export interface MiddlewareOptions {
  usim: UsimClient;
  /** Ub URL of the BSF */
  bsfUrl: string;
  /** realm of the first Ub request; default the BSF FQDN from the IMSI (TS 23.003 §16.2) */
  bsfFqdn?: string;
  /** explicit IMPI; default derived from EF_IMSI (TS 23.003 §13.3) */
  impi?: string;
  /** "auto" (default): GBA_U when the card offers service n°68, else GBA_ME */
  mode?: GbaMode | "auto";
  deps?: Partial<UeDeps>;
  tracer?: Tracer;
  dispatcher?: Dispatcher;
  akaInsight?: AkaInsight;
  /**
   * TMPI (TS 33.220 §4.5.2, B.4), default true: 3gpp-gba-tmpi in User-Agent, and after a
   * bootstrapping with a BSF that announces it the TMPI is kept and named in the next one.
   */
  tmpi?: boolean;
}

/** The public part of a bootstrapping: what an application may know. */
export interface BootstrapInfo {
  mode: GbaMode;
  btid: string;
  impi: string;
  lifetime: Date;
  expiresAt: number;
}

/**
 * TS 24.109 A.3: User-Agent of the Ub client; "3gpp-gba-uicc" announces a GBA_U capable UICC,
 * "3gpp-gba-tmpi" TMPI support (TS 33.220 §4.5.2: always included by a UE that supports it).
 */
const UB_USER_AGENT = "gba-emu Bootstrapping Client Agent; Release-6";

/** Ub failures that say nothing about the TMPI: the BSF was not reached or not ready. */
const NOT_ABOUT_TMPI: ReadonlySet<string> = new Set(["TRANSPORT", "BSF_UNAVAILABLE"]);

export class GbaMiddleware {
  readonly keys = new KeyStore();
  private readonly deps: UeDeps;
  /** where this middleware traces; the Ua client of the same UE traces there too */
  readonly tracer: Tracer;
  private inFlight: Promise<BootstrapSession> | undefined;
  private readonly stopWatching: () => void;
  /** the TMPI of the last bootstrapping (TS 33.220 B.4), kept by the ME for the next one */
  private tmpi: string | undefined;

  private constructor(
    private readonly o: MiddlewareOptions,
    readonly imsi: string,
    readonly impi: string,
    readonly bsfFqdn: string,
    readonly mode: GbaMode,
  ) {
    this.deps = withUeDeps(o.deps);
    this.tracer = o.tracer ?? noTrace;
    // TS 33.220 §4.4.11: keys go when the UICC goes.
    this.stopWatching = o.usim.card.onRemoved(() => {
      this.keys.delete("uicc-removed");
      this.tmpi = undefined;
    });
    this.keys.onDeleted((reason, btid) => {
      this.tracer.note(`keys of ${btid} deleted: ${reason}`);
      // the TMPI names the subscriber of the card it was made with
      if (reason === "uicc-changed" || reason === "uicc-removed") this.tmpi = undefined;
    });
  }

  /** Selects the USIM, reads IMSI and MNC length (EF_AD), derives the IMPI and chooses GBA_ME or GBA_U. */
  static async open(o: MiddlewareOptions): Promise<GbaMiddleware> {
    await o.usim.selectUsim();
    const imsi = await o.usim.readImsi();
    const mncLength = await o.usim.readMncLength();
    const impi = o.impi ?? impiFromImsi(imsi, mncLength);
    const bsfFqdn = o.bsfFqdn ?? bsfFqdnFromImsi(imsi, mncLength);
    const gbaUCard = await o.usim.hasService(SERVICE_GBA);
    const wanted = o.mode ?? "auto";
    if (wanted === "GBA_U" && !gbaUCard) {
      throw new MiddlewareError(
        "NOT_GBA_U_CAPABLE",
        `GBA_U requested but the card has no service n°${SERVICE_GBA} (GBA) in EF_UST`,
      );
    }
    const mode: GbaMode = wanted === "auto" ? (gbaUCard ? "GBA_U" : "GBA_ME") : wanted;
    const mw = new GbaMiddleware(o, imsi, impi, bsfFqdn, mode);
    mw.tracer.value("IMSI", imsi);
    mw.tracer.value("IMPI", impi);
    mw.tracer.value("mode", mode);
    if (mode === "GBA_U") await mw.resumeFromCard();
    return mw;
  }

  /** The TMPI the next bootstrapping names instead of the IMPI (TS 33.220 §4.5.2), if there is one. */
  currentTmpi(): string | undefined {
    return this.tmpi;
  }

  /** The current bootstrapping, if one is valid now. */
  current(): BootstrapInfo | undefined {
    const s = this.keys.current(this.deps.clock());
    return s && publicInfo(s);
  }

  /** Runs a new bootstrapping (TS 33.220 §4.5.2 / §5.3.2), replacing the current one. */
  async bootstrap(): Promise<BootstrapInfo> {
    return publicInfo(await this.bootstrapOnce());
  }

  /** The current bootstrapping, or a new one when there is none (IoT.04 A3: one bootstrap, many NAFs). */
  async ensureBootstrapped(): Promise<BootstrapInfo> {
    return publicInfo(await this.session());
  }

  /**
   * Ks_NAF (GBA_ME, TS 33.220 B.3) or Ks_ext_NAF (GBA_U, AUTHENTICATE tag DE, G.2) for
   * NAF_Id = nafFqdn || uaId, derived once per NAF_Id and bootstrapping and cached. Returns a
   * copy the caller owns.
   */
  async getKsNaf(nafFqdn: string, uaId: UaId): Promise<NafKey> {
    let nid: Uint8Array;
    try {
      nid = makeNafId(nafFqdn, uaId);
    } catch (err) {
      throw new MiddlewareError("BAD_NAF", (err as Error).message);
    }
    const now = this.deps.clock();
    const cached = this.keys.nafKey(nid, now);
    if (cached) return copyKey(cached);
    const s = await this.session();
    this.tracer.value("NAF FQDN", nafFqdn);
    this.tracer.value("Ua id", `${Buffer.from(uaId).toString("hex")} (${describeUaId(uaId)})`);
    this.tracer.value("NAF_Id", nid);
    let key: Uint8Array;
    if (s.mode === "GBA_ME") {
      key = deriveKsNaf(s.ks!, s.rand, s.impi, nid);
      this.tracer.value("Ks_NAF", key, "key");
    } else {
      key = await this.cardNafDerivation(nid, s);
      this.tracer.value("Ks_ext_NAF", key, "key");
    }
    const k: NafKey = { btid: s.btid, key, nafId: nid, expiresAt: s.expiresAt, mode: s.mode };
    const out = copyKey(k);
    this.keys.putNafKey(k);
    return out;
  }

  /**
   * The NAF said the B-TID is unknown or expired (TS 24.109 §5.2.5): forget that bootstrapping so
   * the next use runs a new one. A B-TID other than the current one is ignored.
   */
  invalidate(btid: string): void {
    if (this.keys.current(this.deps.clock())?.btid === btid) this.keys.delete("btid-rejected");
  }

  /**
   * TS 33.220 §4.4.11 "UICC change": re-reads EF_IMSI; a different subscriber deletes the keys.
   * Returns true when the card is still the one the keys belong to.
   */
  async checkUicc(): Promise<boolean> {
    let imsi: string | undefined;
    try {
      await this.o.usim.reset();
      await this.o.usim.selectUsim();
      imsi = await this.o.usim.readImsi();
    } catch {
      imsi = undefined;
    }
    if (imsi === this.imsi) return true;
    this.keys.delete(imsi === undefined ? "uicc-removed" : "uicc-changed");
    return false;
  }

  /** TS 33.220 §4.4.11 "power down of the ME": keys deleted, the card powered off. */
  async powerDown(): Promise<void> {
    this.keys.delete("power-down");
    this.stopWatching();
    await this.o.usim.card.powerOff().catch(() => undefined);
  }

  /** The injected randomness source, shared with the Ua client (cnonces). */
  randomBytes(n: number): Uint8Array {
    return this.deps.randomBytes(n);
  }

  onKeysDeleted(listener: (reason: DeletionReason, btid: string) => void): () => void {
    return this.keys.onDeleted(listener);
  }

  // ---------------------------------------------------------------- internals

  private async session(): Promise<BootstrapSession> {
    return this.keys.current(this.deps.clock()) ?? this.bootstrapOnce();
  }

  /** Concurrent callers share one Ub run. */
  private bootstrapOnce(): Promise<BootstrapSession> {
    this.inFlight ??= this.runBootstrap().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async runBootstrap(): Promise<BootstrapSession> {
    const { o, mode } = this;
    this.tracer.note(`bootstrapping (${mode}) with ${o.bsfUrl}`);
    const tmpi = this.tmpi;
    let ub: UbResult;
    try {
      ub = await this.ubRun(tmpi);
    } catch (err) {
      if (tmpi === undefined || !(err instanceof UbError) || NOT_ABOUT_TMPI.has(err.code)) throw err;
      // TS 33.220 §4.5.2: the BSF could not resolve the TMPI; the UE deletes it and retries with the IMPI
      this.tmpi = undefined;
      this.tracer.note(`the BSF did not accept TMPI ${tmpi} (${err.message}): TMPI deleted, bootstrapping with the IMPI`);
      ub = await this.ubRun(undefined);
    }
    // a TMPI stands for the bootstrapping that made it, once
    this.tmpi = undefined;
    const session = this.sessionFrom(ub);
    if (mode === "GBA_U") {
      // TS 33.220 G.1: the ME stores B-TID and key lifetime on the UICC (EF_GBABP, TS 31.102 §4.2.79)
      await o.usim.writeGbabp({ rand: ub.rand, btid: ub.btid, lifetime: formatUtcDateTime(ub.lifetime) });
      this.tracer.note("B-TID and lifetime written to EF_GBABP");
    }
    this.keys.replace(session);
    if (o.tmpi !== false && ub.bsfTmpi) this.tmpi = await this.newTmpi(session);
    return session;
  }

  private ubRun(tmpi: string | undefined): Promise<UbResult> {
    const { o, mode } = this;
    let userAgent = mode === "GBA_U" ? withProductToken(UB_USER_AGENT, PRODUCT_TOKEN.GBA_UICC) : UB_USER_AGENT;
    if (o.tmpi !== false) userAgent = withProductToken(userAgent, PRODUCT_TOKEN.GBA_TMPI);
    if (tmpi !== undefined) this.tracer.note(`naming TMPI ${tmpi} instead of the IMPI (TS 33.220 §4.5.2)`);
    return runUbBootstrap({
      bsfUrl: o.bsfUrl,
      bsfFqdn: this.bsfFqdn,
      impi: this.impi,
      username: tmpi,
      aka: (rand, autn) => this.aka(rand, autn),
      userAgent,
      deps: this.deps,
      tracer: this.tracer,
      dispatcher: o.dispatcher,
    });
  }

  /**
   * TS 33.220 B.4: the TMPI of a bootstrapping, BSF_Id = the BSF FQDN of its B-TID; GBA_ME from
   * Ks, GBA_U as Ks_ext_NAF from the UICC (AUTHENTICATE tag DE). None when the card cannot derive it.
   */
  private async newTmpi(s: BootstrapSession): Promise<string | undefined> {
    const bsfFqdn = parseBtid(s.btid).bsfHost;
    let tmpi: string;
    if (s.mode === "GBA_ME") tmpi = deriveTmpi(s.ks!, s.rand, s.impi, bsfFqdn);
    else {
      const r = await this.o.usim.gbaNafDerivation(tmpiBsfId(bsfFqdn), s.impi);
      if (r.kind !== "success") return undefined;
      tmpi = tmpiFromKey(r.ksExtNaf);
      r.ksExtNaf.fill(0);
    }
    this.tracer.value("TMPI", tmpi);
    return tmpi;
  }

  private sessionFrom(ub: UbResult): BootstrapSession {
    // TS 24.109 C.1: with <currenttime> the remaining validity does not depend on the ME clock
    const expiresAt =
      ub.currentTime !== undefined
        ? this.deps.clock() + (ub.lifetime.getTime() - ub.currentTime.getTime())
        : ub.lifetime.getTime();
    const base = { mode: this.mode, btid: ub.btid, rand: ub.rand, impi: this.impi, lifetime: ub.lifetime, expiresAt };
    if (this.mode === "GBA_U") return base;
    // TS 33.220 §4.5.2: Ks = CK || IK, kept by the ME (GBA_ME)
    const ks = ksFromCkIk(ub.ck!, ub.ik!);
    ub.ck?.fill(0);
    ub.ik?.fill(0);
    this.tracer.value("Ks", ks, "key");
    return { ...base, ks };
  }

  private async aka(rand: Uint8Array, autn: Uint8Array): Promise<AkaOutcome> {
    const seen = this.o.akaInsight?.challenge(rand, autn);
    if (seen) {
      this.tracer.value("SQN", seen.sqn);
      this.tracer.value("AMF", seen.amf);
    }
    // GBA_ME: 3G context; GBA_U: GBA context, bootstrapping mode, the nonce carries AUTN* (TS 33.220 §5.3.2 / G.1)
    const r = this.mode === "GBA_ME" ? await this.o.usim.authenticate3g(rand, autn) : await this.o.usim.gbaBootstrap(rand, autn);
    if (r.kind === "context-not-supported") throw r.error;
    if (r.kind === "sync-failure") {
      const resync = this.o.akaInsight?.auts?.(rand, r.auts);
      if (resync) {
        this.tracer.value("SQN_MS", resync.sqnMs);
        this.tracer.value("MAC-S", resync.macS);
      }
    }
    if (r.kind === "mac-failure" && this.mode === "GBA_U")
      this.tracer.note("GBA_U: the UICC rejected AUTN*; is the subscriber provisioned for GBA_U (uiccType GBA_U)?");
    return r;
  }

  private async cardNafDerivation(nid: Uint8Array, s: BootstrapSession): Promise<Uint8Array> {
    const r = await this.o.usim.gbaNafDerivation(nid, s.impi);
    if (r.kind === "success") return r.ksExtNaf;
    if (r.kind === "context-not-supported") throw r.error;
    // no Ks on the card (TS 33.220 G.2 NOTE): bootstrap again, then derive
    this.keys.delete("btid-rejected");
    const fresh = await this.bootstrapOnce();
    const again = await this.o.usim.gbaNafDerivation(nid, fresh.impi);
    if (again.kind === "success") return again.ksExtNaf;
    throw again.error;
  }

  /** GBA_U: a bootstrapping still valid on the card (EF_GBABP B-TID + lifetime) is used again. */
  private async resumeFromCard(): Promise<void> {
    let g: Awaited<ReturnType<UsimClient["readGbabp"]>>;
    try {
      g = await this.o.usim.readGbabp();
    } catch {
      return;
    }
    if (g.btid === "" || g.lifetime === "" || g.rand.length !== 16) return;
    // TS 33.220 §4.5.2: B-TID = base64(RAND)@BSF; a B-TID of another RAND is not this bootstrapping
    let btidRand: Uint8Array;
    try {
      btidRand = parseBtid(g.btid).rand;
    } catch {
      return;
    }
    if (!constantTimeEqual(btidRand, g.rand)) return;
    const lifetime = new Date(g.lifetime);
    if (!Number.isFinite(lifetime.getTime()) || lifetime.getTime() <= this.deps.clock()) return;
    this.keys.replace({ mode: "GBA_U", btid: g.btid, rand: g.rand, impi: this.impi, lifetime, expiresAt: lifetime.getTime() });
    this.tracer.note(`GBA_U bootstrapping ${g.btid} found on the card (EF_GBABP), valid until ${g.lifetime}`);
  }
}

function publicInfo(s: BootstrapSession): BootstrapInfo {
  return { mode: s.mode, btid: s.btid, impi: s.impi, lifetime: s.lifetime, expiresAt: s.expiresAt };
}

function copyKey(k: NafKey): NafKey {
  return { ...k, key: k.key.slice(), nafId: k.nafId.slice() };
}
