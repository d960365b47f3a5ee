// The UE that drives a conformance run: our UE (ue/open-ue.ts) over a simulated USIM or a card in
// a PC/SC reader, with the card's AUTHENTICATE at hand so a check can run AKA itself and answer
// the BSF as it chooses, and, on a simulated USIM only, the SQN put ahead on purpose.
import type { GbaMiddleware, GbaMode } from "../ue/middleware/gba-middleware.js";
import { type CardSource, openUe, type Ue } from "../ue/open-ue.js";
import type { AkaOutcome } from "../ue/ub/run.js";
import { loadUsimStateFile, saveUsimStateFile } from "../ue/usim/state-file.js";
import { UsimClient } from "../ue/usim/usim-client.js";

export interface ConformanceUeOptions {
  card: CardSource;
  /** Ub URL the middleware bootstraps with (the NAF suite's --bsf); absent: bootstrapping is not possible */
  bsfUrl?: string;
  /** realm of the first Ub request; default from the IMSI (TS 23.003 §16.2) */
  bsfFqdn?: string;
  impi?: string;
  mode?: GbaMode | "auto";
}

/** Never contacted: the middleware needs a Ub URL even when the run has no BSF (RFC 6761 .invalid). */
const NO_BSF_URL = "http://bsf.invalid/";

/** How far the simulated USIM's SEQ is put ahead of the highest it accepted (TS 33.102 Annex C). */
export const SQN_AHEAD = 1 << 20;

export class ConformanceUe {
  private constructor(
    private readonly o: ConformanceUeOptions,
    private ue: Ue,
    private usim: UsimClient,
  ) {}

  static async open(o: ConformanceUeOptions): Promise<ConformanceUe> {
    const ue = await ConformanceUe.openParts(o);
    return new ConformanceUe(o, ue, new UsimClient(ue.card));
  }

  private static openParts(o: ConformanceUeOptions): Promise<Ue> {
    return openUe({ card: o.card, bsfUrl: o.bsfUrl ?? NO_BSF_URL, bsfFqdn: o.bsfFqdn, impi: o.impi, mode: o.mode ?? "auto" });
  }

  get impi(): string {
    return this.ue.middleware.impi;
  }
  get imsi(): string {
    return this.ue.middleware.imsi;
  }
  get mode(): GbaMode {
    return this.ue.middleware.mode;
  }
  /** the BSF FQDN the UE uses as realm of its first Ub request */
  get bsfFqdn(): string {
    return this.ue.middleware.bsfFqdn;
  }
  get cardKind(): CardSource["kind"] {
    return this.o.card.kind;
  }
  get canBootstrap(): boolean {
    return this.o.bsfUrl !== undefined;
  }
  /** the device middleware (bootstrapping with the run's BSF, NAF keys) */
  get middleware(): GbaMiddleware {
    return this.ue.middleware;
  }

  /** AKA on the card (TS 31.102 §7.1.2): 3G context for GBA_ME, GBA bootstrapping mode for GBA_U. */
  async aka(rand: Uint8Array, autn: Uint8Array): Promise<AkaOutcome> {
    const r = this.mode === "GBA_ME" ? await this.usim.authenticate3g(rand, autn) : await this.usim.gbaBootstrap(rand, autn);
    if (r.kind === "context-not-supported") throw r.error;
    return r;
  }

  /**
   * Puts the USIM's SQN ahead of the network's (every IND slot of the TS 33.102 Annex C array to
   * the highest SEQ it accepted + SQN_AHEAD), so the next challenge fails the freshness check
   * and the USIM answers AUTS. Only a simulated USIM can: a card's SQN moves only with AKA.
   * Returns why not, or undefined when done.
   */
  async putSqnAhead(): Promise<string | undefined> {
    const card = this.o.card;
    if (card.kind !== "simulated") {
      return "putting the SQN ahead needs a simulated USIM (--usim FILE): a card's SQN only moves when it accepts a challenge";
    }
    await this.ue.close();
    const state = await loadUsimStateFile(card.file);
    const top = Math.max(...state.sqn.seq);
    state.sqn = { indBits: state.sqn.indBits, seq: state.sqn.seq.map(() => top + SQN_AHEAD) };
    await saveUsimStateFile(card.file, state);
    this.ue = await ConformanceUe.openParts(this.o);
    this.usim = new UsimClient(this.ue.card);
    return undefined;
  }

  /** Closes the card; the ME powers down first, so the keys go (TS 33.220 §4.4.11). */
  async close(): Promise<void> {
    await this.ue.close({ powerDown: true });
  }
}
