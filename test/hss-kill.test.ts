// Durable SQN: `gba hss` is killed with SIGKILL in the middle of concurrent Zh load, ten
// times, and restarted on the same data. Every SQN answered after a restart must be above every
// SQN answered before it (recovered from AUTN on the USIM side: SQN = (SQN ⊕ AK) ⊕ f5(RAND)),
// no SQN is ever answered twice, and no subscriber is lost.
import { describe, expect, it } from "vitest";
import { splitSqn } from "../milenage/sqn.js";
import { validateCreate } from "../nf/hss/subscriber.js";
import {
  fetchAv,
  fetchAvUntilGone,
  newSub,
  openTestHssStore,
  spawnHss,
  stopProcess,
  TestUsim,
  tempData,
} from "./hss-fixtures.js";

const ROUNDS = 10;
const CONCURRENCY = 24;
const ZH_IND = 1;

describe("SIGKILL during load", () => {
  it(`${ROUNDS} kills and restarts: SQNs only go up, none is reused, no subscriber is lost`, async () => {
    const started = performance.now();
    const data = tempData();
    const subs = Array.from({ length: 4 }, () => newSub());
    const store = await openTestHssStore(data, { env: {} });
    for (const s of subs) {
      const v = validateCreate(s, { defaultAmf: "8000" });
      if (!v.ok) throw new Error(v.errors.join("; "));
      await store.create([store.secrets.seal(v.value)], [undefined]);
    }
    await store.close();
    const usims = subs.map((s) => new TestUsim(s));
    const highest = subs.map(() => 0);
    const everIssued = subs.map(() => new Set<number>());
    let total = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const hss = await spawnHss(data, {}, ["--log-level", "silent"]);
      const issued: number[][] = subs.map(() => []);
      let answered = 0;
      const worker = async (w: number) => {
        const i = w % subs.length;
        for (;;) {
          const av = await fetchAvUntilGone(hss.zh, subs[i].impi);
          if (!av) return; // the process is gone: this answer never arrived whole
          issued[i].push(usims[i].sqnOf(av));
          answered++;
        }
      };
      const workers = Array.from({ length: CONCURRENCY }, (_, w) => worker(w));
      // kill at a different point of the load each round
      const target = 20 + round * 7;
      while (answered < target) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, round * 3));
      hss.child.kill("SIGKILL");
      await Promise.all(workers);
      await stopProcess(hss.child);
      expect(hss.child.signalCode).toBe("SIGKILL");

      subs.forEach((_, i) => {
        for (const sqn of issued[i]) {
          expect(splitSqn(sqn).ind).toBe(ZH_IND);
          expect(sqn, `round ${round}, subscriber ${i}: SQN reissued or lower than before the kill`).toBeGreaterThan(highest[i]);
          expect(everIssued[i].has(sqn)).toBe(false);
        }
        for (const sqn of issued[i]) everIssued[i].add(sqn);
        highest[i] = Math.max(highest[i], ...issued[i]);
        total += issued[i].length;
      });
    }

    // after the last kill: every subscriber is there and its vectors still verify on the card
    const hss = await spawnHss(data, {}, ["--log-level", "silent"]);
    try {
      for (const [i, s] of subs.entries()) {
        const res = await fetchAv(hss.zh, s.impi);
        expect(res.status).toBe(200);
        const card = new TestUsim(s);
        card.array.seq[ZH_IND] = splitSqn(highest[i]).seq;
        expect(card.authenticate(res.body["3gAkaAv"]).kind).toBe("success");
      }
    } finally {
      await stopProcess(hss.child);
    }
    const reopened = await openTestHssStore(data, { env: {} });
    expect(await reopened.count()).toBe(subs.length);
    await reopened.close();
    process.stderr.write(
      `kill test: ${ROUNDS} kills, ${total} vectors checked, ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }, 120_000);
});
