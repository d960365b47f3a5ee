// One UE assembled from its parts: a card (the simulated USIM of a state file, or a card in a
// PC/SC reader), the device middleware over it (GBA_ME or GBA_U, TS 33.220 §4.5 / §5.3) with the
// BSF it bootstraps with, and the client application's API over the middleware. The `gba ue`
// commands, the scenario devices and the benchmarks all open their UE here.
import type { Card } from "./card/card.js";
import { openPcscCard } from "./card/pcsc.js";
import { akaInsightFromKeys } from "./middleware/aka-insight.js";
import { type AkaInsight, GbaMiddleware, type MiddlewareOptions } from "./middleware/gba-middleware.js";
import { GbaClient } from "./ua/client.js";
import { SimulatedUsim } from "./usim/simulated-usim.js";
import { loadUsimStateFile } from "./usim/state-file.js";
import { UsimClient } from "./usim/usim-client.js";

export type CardSource =
  /** the simulated USIM of a state file (gba usim new); its state is written back after each change */
  | { kind: "simulated"; file: string }
  /** a card in a PC/SC reader: index or part of the reader's name (default: the first with a card) */
  | { kind: "pcsc"; reader?: number | string; waitForCardMs?: number }
  /** a card the caller opened (a test double, a card of its own); the UE closes it */
  | { kind: "card"; card: Card };

export interface UeOptions extends Omit<MiddlewareOptions, "usim" | "akaInsight"> {
  card: CardSource;
  /** trace SQN and AMF as the USIM sees them: a simulated card only, its state file holds K */
  traceSqn?: boolean;
}

export interface Ue {
  readonly card: Card;
  readonly middleware: GbaMiddleware;
  /** the client application's API: getKsNaf, gbaFetch, tlsPskConnect */
  readonly client: GbaClient;
  /**
   * Closes the client's connections and the card. With powerDown the ME powers down before the
   * card is closed, so the keys go (TS 33.220 §4.4.11).
   */
  close(o?: { powerDown?: boolean }): Promise<void>;
}

export async function openUe(o: UeOptions): Promise<Ue> {
  let card: Card;
  let akaInsight: AkaInsight | undefined;
  if (o.card.kind === "simulated") {
    card = await SimulatedUsim.fromFile(o.card.file);
    if (o.traceSqn) {
      const s = await loadUsimStateFile(o.card.file);
      akaInsight = akaInsightFromKeys(s.k, s.opc);
    }
  } else if (o.card.kind === "pcsc") {
    card = await openPcscCard({ reader: o.card.reader, waitForCardMs: o.card.waitForCardMs });
  } else {
    card = o.card.card;
  }
  let middleware: GbaMiddleware;
  try {
    middleware = await GbaMiddleware.open({ ...o, usim: new UsimClient(card), akaInsight });
  } catch (err) {
    await card.close().catch(() => undefined);
    throw err;
  }
  const client = new GbaClient(middleware);
  return {
    card,
    middleware,
    client,
    async close(c = {}) {
      await client.close();
      if (c.powerDown) await middleware.powerDown();
      await card.close().catch(() => undefined);
    },
  };
}
