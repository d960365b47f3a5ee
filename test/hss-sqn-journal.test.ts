// The SEQ_HE journal (nf/hss/sqn-journal.ts): vectors append SEQ_HE to a log that checkpoints
// fold into the per-subscriber table. What a reader sees must never depend on whether an entry
// is still in the log or folded already, in this process or in another one on the same store.
import { join } from "node:path";
import { open as lmdbOpen } from "lmdb";
import { afterEach, describe, expect, it } from "vitest";
import { MilenageCache } from "../nf/hss/key-cache.js";
import { ZhProcedures } from "../nf/hss/procedures/zh.js";
import { SqnJournal } from "../nf/hss/sqn-journal.js";
import { LmdbHssStore } from "../nf/hss/store-lmdb.js";
import { validateCreate } from "../nf/hss/subscriber.js";
import { jsonRequest, newSub, startTestHss, type TestSub, tempData } from "./hss-fixtures.js";

const open: LmdbHssStore[] = [];
function openStore(data: string): LmdbHssStore {
  const s = LmdbHssStore.open(data, { env: {} });
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
});

async function provision(store: LmdbHssStore, sub: TestSub, sqn?: string): Promise<void> {
  const v = validateCreate({ ...sub, sqn }, { defaultAmf: "8000" });
  if (!v.ok) throw new Error(v.errors.join("; "));
  await store.create([store.secrets.seal(v.value)], [v.value.sqn]);
}

let counter = 0;
function aucOf(store: LmdbHssStore): ZhProcedures {
  return new ZhProcedures(store, new MilenageCache(store.secrets), {
    ind: 1,
    randomBytes: (n) => new Uint8Array(n).fill(++counter & 0xff),
    clock: () => Date.parse("2026-01-01T00:00:00Z"),
  });
}

async function vectors(auc: ZhProcedures, impi: string, n: number): Promise<number[]> {
  const sqns: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await auc.generateAuthData(impi);
    if (r.kind !== "ok") throw new Error(r.kind);
    sqns.push(r.sqn);
  }
  return sqns;
}

const seqOf = async (store: LmdbHssStore, impi: string) => store.seqHe((await store.get(impi))!);

describe("SEQ_HE journal", () => {
  it("each vector appends one entry; a checkpoint folds them without changing what is read", async () => {
    const store = openStore(tempData());
    const [a, b] = [newSub(), newSub()];
    await provision(store, a);
    await provision(store, b, "0000000003e0"); // SEQ 31
    const auc = aucOf(store);
    await vectors(auc, a.impi, 3);
    await vectors(auc, b.impi, 2);
    expect(store.sqnLogLength).toBe(5);
    expect([await seqOf(store, a.impi), await seqOf(store, b.impi)]).toEqual([3, 33]);
    expect(await store.checkpointSqn(2)).toBe(2);
    expect(store.sqnLogLength).toBe(3);
    expect([await seqOf(store, a.impi), await seqOf(store, b.impi)]).toEqual([3, 33]);
    expect(await store.checkpointSqn(100)).toBe(3);
    expect(await store.checkpointSqn(100)).toBe(0);
    expect(store.sqnLogLength).toBe(0);
    expect([await seqOf(store, a.impi), await seqOf(store, b.impi)]).toEqual([3, 33]);
    // the next vector continues from the folded value
    const [next] = await vectors(auc, a.impi, 1);
    expect(next >> 5).toBe(4);
  });

  it("another process on the same store sees appends and checkpoints of this one, and the other way round", async () => {
    const data = tempData();
    const hss = openStore(data);
    const cli = openStore(data);
    const sub = newSub();
    await provision(hss, sub);
    const auc = aucOf(hss);
    await vectors(auc, sub.impi, 4);
    cli.refreshReads();
    expect(await seqOf(cli, sub.impi)).toBe(4);
    await hss.checkpointSqn(100);
    await vectors(auc, sub.impi, 2);
    cli.refreshReads();
    expect(await seqOf(cli, sub.impi)).toBe(6);
    // the other process issues vectors too: the first one never reuses a SEQ
    const fromCli = await vectors(aucOf(cli), sub.impi, 2);
    expect(fromCli.map((s) => s >> 5)).toEqual([7, 8]);
    await cli.checkpointSqn(100);
    const after = await vectors(auc, sub.impi, 1);
    expect(after[0] >> 5).toBe(9);
    hss.refreshReads();
    expect(await seqOf(hss, sub.impi)).toBe(9);
  });

  it("an operator's SQN set below SEQ_HE wins over older journal entries, folded or not", async () => {
    const store = openStore(tempData());
    const sub = newSub();
    await provision(store, sub);
    await vectors(aucOf(store), sub.impi, 5);
    const r = await store.update(sub.impi, (prev, secrets) =>
      validateCreate(
        {
          impi: prev.impi,
          k: Buffer.from(secrets.k).toString("hex"),
          opc: Buffer.from(secrets.opc).toString("hex"),
          sqn: "000000000041",
        },
        { defaultAmf: "8000" },
      ),
    );
    expect(r.kind).toBe("ok");
    expect(await seqOf(store, sub.impi)).toBe(2);
    await store.checkpointSqn(100);
    expect(await seqOf(store, sub.impi)).toBe(2);
  });

  it("survives a process that never checkpointed: a fresh open reads the journal", async () => {
    const data = tempData();
    const store = openStore(data);
    const sub = newSub();
    await provision(store, sub);
    const issued = await vectors(aucOf(store), sub.impi, 3);
    await store.close();
    open.pop();
    const again = openStore(data);
    expect(await seqOf(again, sub.impi)).toBe(3);
    expect(again.sqnLogLength).toBe(3);
    const [next] = await vectors(aucOf(again), sub.impi, 1);
    expect(next).toBeGreaterThan(Math.max(...issued));
  });

  it("entries of a removed subscriber are dropped at the checkpoint and never reach a new one", async () => {
    const data = tempData();
    const store = openStore(data);
    const [gone, kept] = [newSub(), newSub()];
    await provision(store, gone);
    await provision(store, kept);
    await vectors(aucOf(store), gone.impi, 3);
    await vectors(aucOf(store), kept.impi, 2);
    expect(await store.remove(gone.impi)).toBe(true);
    expect(await store.checkpointSqn(100)).toBe(5);
    const fresh = newSub();
    await provision(store, fresh);
    expect(await seqOf(store, fresh.impi)).toBe(0);
    await store.close();
    open.pop();
    // the per-subscriber table holds the two live subscribers only
    const raw = lmdbOpen({ path: join(data, "hss", "store.mdb"), readOnly: true });
    try {
      const table = raw.openDB<number, number>({ name: "sqnById", keyEncoding: "uint32" });
      expect([...table.getRange()].map(({ value }) => value).sort()).toEqual([0, 2]);
    } finally {
      await raw.close();
    }
  });

  it("after an append whose commit was lost, the next one continues the log without a gap other readers would stop at", async () => {
    const root = lmdbOpen({ path: join(tempData(), "j.mdb") });
    try {
      const dbs = () =>
        [
          root.openDB<number, number>({ name: "base", keyEncoding: "uint32" }),
          root.openDB<[number, number], number>({ name: "log" }),
          root.openDB<unknown, string>({ name: "meta" }),
        ] as const;
      const writer = new SqnJournal(...dbs());
      await root.transaction(() => writer.append(1, 5));
      await root.transaction(() => writer.append(1, 6));
      // the second commit "did not happen": its entry is gone, the writer's memory still has it
      await root.transaction(() => root.openDB<[number, number], number>({ name: "log" }).remove(2));
      await root.transaction(() => writer.append(2, 9));
      const reader = new SqnJournal(...dbs());
      expect([reader.seqHe(1), reader.seqHe(2)]).toEqual([5, 9]);
    } finally {
      await root.close();
    }
  });

  it("the HSS folds the whole journal when it stops", async () => {
    const { hss, zh, admin, data } = await startTestHss();
    const sub = newSub();
    const created = await jsonRequest("POST", `${admin}/subscribers`, sub);
    expect(created.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const r = await jsonRequest(
        "POST",
        `${zh}/nhss-gba-ueau/v1/${encodeURIComponent(sub.impi)}/security-information/generate-auth-data`,
        {},
      );
      expect(r.status).toBe(200);
    }
    await hss.close();
    const store = openStore(data);
    expect(await seqOf(store, sub.impi)).toBe(3);
    expect(store.sqnLogLength).toBe(0);
  });
});
