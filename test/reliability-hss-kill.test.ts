// The HSS is killed with SIGKILL twenty times in the middle of Zh load on several subscribers
// and of provisioning, and restarted on the same data each time. Over all rounds: no SQN is
// answered twice for a subscriber, no RAND twice at all, every answered vector passes a USIM's
// AUTN check (MAC-A and freshness, TS 33.102 §6.3.3) when presented in SQN order to a fresh
// card, and every subscriber whose provisioning was acknowledged (201) is still there.
import { afterAll, describe, expect, it } from "vitest";
import { hexToBytes } from "../wire/bytes.js";
import { splitSqn } from "../milenage/sqn.js";
import { LmdbHssStore } from "../nf/hss/store-lmdb.js";
import { validateCreate } from "../nf/hss/subscriber.js";
import { removeTempDirs, tempDir } from "./helpers/fault-procs.js";
import {
  fetchAv,
  fetchAvUntilGone,
  jsonRequest,
  newSub,
  spawnHss,
  stopProcess,
  type TestSub,
  TestUsim,
  type ZhAv,
} from "./hss-fixtures.js";

const KILLS = 20;
const SUBSCRIBERS = 6;
const CONCURRENCY = 24;
const ZH_IND = 1;

interface Issued {
  av: ZhAv;
  sqn: number;
  round: number;
}

afterAll(removeTempDirs);

describe("HSS SIGKILL under Zh load", () => {
  it(`${KILLS} kills: no SQN or RAND repeated, every vector verifies on the USIM, no subscriber lost`, async () => {
    const started = performance.now();
    const data = tempDir("gba-hss-kill-");
    const subs: TestSub[] = Array.from({ length: SUBSCRIBERS }, () => newSub());
    const store = LmdbHssStore.open(data, { env: {} });
    for (const s of subs) {
      const v = validateCreate(s, { defaultAmf: "8000" });
      if (!v.ok) throw new Error(v.errors.join("; "));
      await store.create([store.secrets.seal(v.value)], [undefined]);
    }
    await store.close();
    const usims = subs.map((s) => new TestUsim(s));
    const issued: Issued[][] = subs.map(() => []);
    const acknowledged: string[] = [];

    for (let round = 0; round < KILLS; round++) {
      const hss = await spawnHss(data, {}, ["--log-level", "silent"]);
      let answered = 0;
      const zhWorker = async (w: number) => {
        const i = w % subs.length;
        for (;;) {
          const av = await fetchAvUntilGone(hss.zh, subs[i].impi);
          if (!av) return; // the process is gone: this answer never arrived whole
          issued[i].push({ av, sqn: usims[i].sqnOf(av), round });
          answered++;
        }
      };
      // provisioning at the same time: what got 201 must survive the kill
      const adminWorker = async () => {
        for (;;) {
          const sub = newSub();
          try {
            const res = await jsonRequest("POST", `${hss.admin}/subscribers`, sub);
            if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${res.text}`);
          } catch {
            return;
          }
          acknowledged.push(sub.impi);
        }
      };
      const workers = [...Array.from({ length: CONCURRENCY }, (_, w) => zhWorker(w)), adminWorker(), adminWorker()];
      let stopped = false;
      void Promise.all(workers).then(() => {
        stopped = true;
      });
      // kill at a different point of the load each round
      const target = 15 + ((round * 11) % 60);
      while (answered < target && !stopped) await new Promise((r) => setTimeout(r, 2));
      expect(stopped, `round ${round}: the HSS stopped answering before the kill; stderr: ${hss.stderr()}`).toBe(false);
      await new Promise((r) => setTimeout(r, (round * 7) % 23));
      hss.child.kill("SIGKILL");
      await Promise.all(workers);
      await stopProcess(hss.child);
      expect(hss.child.signalCode, `round ${round}`).toBe("SIGKILL");
    }

    // zero repeated RAND (any subscriber) and SQN (per subscriber)
    const allRands = issued.flat().map((x) => x.av.rand);
    expect(new Set(allRands).size, "a RAND was issued twice").toBe(allRands.length);
    let checked = 0;
    for (const [i, list] of issued.entries()) {
      const sqns = list.map((x) => x.sqn);
      expect(new Set(sqns).size, `subscriber ${i}: an SQN was issued twice`).toBe(sqns.length);
      // every vector, in SQN order, passes MAC-A and the freshness check on a fresh USIM
      const card = new TestUsim(subs[i]);
      for (const x of [...list].sort((a, b) => a.sqn - b.sqn)) {
        expect(splitSqn(x.sqn).ind).toBe(ZH_IND);
        const r = card.authenticate(x.av);
        expect(r.kind, `subscriber ${i}, SQN ${x.sqn} (round ${x.round})`).toBe("success");
        if (r.kind === "success") expect(Buffer.from(r.res).toString("hex")).toBe(x.av.xres);
        checked++;
      }
      expect(list.length, `subscriber ${i} got no vectors`).toBeGreaterThan(KILLS);
    }

    // after the last kill: every subscriber is there and serves vectors above all issued ones
    const hss = await spawnHss(data, {}, ["--log-level", "silent"]);
    try {
      for (const [i, s] of subs.entries()) {
        const res = await fetchAv(hss.zh, s.impi);
        expect(res.status).toBe(200);
        expect(usims[i].sqnOf(res.body["3gAkaAv"])).toBeGreaterThan(Math.max(...issued[i].map((x) => x.sqn)));
      }
    } finally {
      await stopProcess(hss.child);
    }
    const reopened = LmdbHssStore.open(data, { env: {} });
    try {
      const lost: string[] = [];
      for (const impi of [...subs.map((s) => s.impi), ...acknowledged])
        if ((await reopened.get(impi)) === undefined) lost.push(impi);
      expect(lost, "subscribers acknowledged but lost").toEqual([]);
      for (const s of subs) {
        const secrets = reopened.secrets.open((await reopened.get(s.impi))!);
        expect(Buffer.from(secrets.k).toString("hex")).toBe(s.k);
        expect(Buffer.from(secrets.opc).toString("hex")).toBe(s.opc);
      }
    } finally {
      await reopened.close();
    }
    expect(hexToBytes(allRands[0]).length).toBe(16);
    process.stderr.write(
      `reliability: HSS ${KILLS} SIGKILLs, ${checked} vectors verified on the USIM, ` +
        `${acknowledged.length} subscribers provisioned under fire, 0 lost, ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }, 150_000);
});
