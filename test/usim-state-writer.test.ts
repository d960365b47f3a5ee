// The simulated USIM's group-committed state (ue/usim/state-writer.ts): many AUTHENTICATEs cost
// few fsyncs (counted through an injected file system), a clean close loses nothing, a SIGKILL
// of the process loses at most the changes of the batch not yet fsync'd (as documented), the
// journals of dead processes are replayed on the next open, and a failed write takes the card
// out of service. The card's SQN check (TS 33.102 Annex C) is what shows which state survived.
import { execFile } from "node:child_process";
import * as fsp from "node:fs/promises";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAuthVector } from "../milenage/aka.js";
import { hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { joinSqn, sqnToBytes } from "../milenage/sqn.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { loadUsimStateFile, saveUsimStateFile } from "../ue/usim/state-file.js";
import { recoverJournals, type StateFs, UsimStateWriter } from "../ue/usim/state-writer.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { newUsimState, stateToJson } from "../ue/usim/usim-state.js";

const K = hexToBytes("000102030405060708090a0b0c0d0e0f");
const OPC = hexToBytes("f0e0d0c0b0a090807060504030201000");
const m = new Milenage(K, OPC);
const AMF = hexToBytes("8000");
const IMSI = "001010000000001";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "usim-writer-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** AUTHENTICATE with SQN = SEQ‖IND (IND 0) on the card: "success" moves its SEQ_MS to seq. */
async function authenticate(c: UsimClient, seq: number): Promise<string> {
  const av = generateAuthVector(m, hexToBytes("ab".repeat(16)), sqnToBytes(joinSqn(seq, 0)), AMF);
  return (await c.authenticate3g(av.rand, av.autn)).kind;
}

async function cards(dir: string, n: number): Promise<string[]> {
  await fsp.mkdir(dir, { recursive: true });
  const files = Array.from({ length: n }, (_, i) => join(dir, `card-${i}.json`));
  for (const f of files) await saveUsimStateFile(f, newUsimState({ k: K, opc: OPC, imsi: IMSI }), { exclusive: true });
  return files;
}

/** node:fs/promises with every fsync counted (file handles' sync()). */
function countingFs(): { fs: StateFs; syncs: () => number; fail: (on: boolean) => void } {
  let syncs = 0;
  let failing = false;
  const fs: StateFs = {
    ...fsp,
    open: (async (...args: Parameters<typeof fsp.open>) => {
      if (failing) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      const fh = await fsp.open(...args);
      const sync = fh.sync.bind(fh);
      fh.sync = async () => {
        syncs++;
        return sync();
      };
      return fh;
    }) as typeof fsp.open,
  };
  return { fs, syncs: () => syncs, fail: (on) => (failing = on) };
}

describe("group commit of USIM state", () => {
  it("200 AUTHENTICATEs on 20 cards: one fsync for the group (the old path made 200), each card durable at close", async () => {
    const dir = join(root, "few-fsyncs");
    const files = await cards(dir, 20);
    const c = countingFs();
    const opts = { fs: c.fs, flushDelayMs: 60_000, maxBatch: 1000, refreshMs: 60_000, answerAfterCommit: false };
    const clients = await Promise.all(files.map(async (f) => new UsimClient(await SimulatedUsim.fromFile(f, opts))));
    for (let seq = 1; seq <= 10; seq++) for (const cl of clients) expect(await authenticate(cl, seq)).toBe("success");
    expect(c.syncs()).toBe(0);
    const writer = await UsimStateWriter.forDirectory(dir);
    await writer.flush();
    expect(c.syncs()).toBe(1);
    // a clean close: every card's file written and fsync'd, the directory fsync'd, the journal gone
    for (const cl of clients) await cl.card.close();
    expect(c.syncs()).toBe(1 + 20 + 1);
    for (const f of files) expect((await loadUsimStateFile(f)).sqn.seq[0]).toBe(10);
    expect((await readdir(dir)).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("maxBatch dirty cards flush at once, without waiting for the delay", async () => {
    const dir = join(root, "max-batch");
    const files = await cards(dir, 12);
    const c = countingFs();
    const opts = { fs: c.fs, flushDelayMs: 60_000, maxBatch: 4, refreshMs: 60_000, answerAfterCommit: false };
    const clients = await Promise.all(files.map(async (f) => new UsimClient(await SimulatedUsim.fromFile(f, opts))));
    for (const cl of clients) await authenticate(cl, 1);
    await (await UsimStateWriter.forDirectory(dir)).flush();
    expect(c.syncs()).toBe(3);
    for (const cl of clients) await cl.card.close();
  });

  it("a change reaches the journal within flushDelayMs on its own, and the file within refreshMs", async () => {
    const dir = join(root, "delay");
    const [file] = await cards(dir, 1);
    const c = countingFs();
    const cl = new UsimClient(
      await SimulatedUsim.fromFile(file, { fs: c.fs, flushDelayMs: 5, refreshMs: 50, answerAfterCommit: false }),
    );
    await authenticate(cl, 7);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.syncs()).toBe(1);
    expect(JSON.parse(await readFile(file, "utf8")).sqn.seq[0]).toBe(7);
    await cl.card.close();
  });

  it("answer after commit (the default): concurrent AUTHENTICATEs share a group, each answer leaves after its fsync and file write", async () => {
    const dir = join(root, "after-commit");
    const files = await cards(dir, 20);
    const c = countingFs();
    const clients = await Promise.all(
      files.map(async (f) => new UsimClient(await SimulatedUsim.fromFile(f, { fs: c.fs, flushDelayMs: 60_000 }))),
    );
    const journal = async () => (await readdir(dir)).find((n) => n.startsWith(".usim-journal-")) as string;
    const answers = await Promise.all(
      clients.map(async (cl, i) => {
        expect(await authenticate(cl, 1)).toBe("success");
        // the answer is out: the journal already holds this card's new SEQ
        const lines = (await readFile(join(dir, await journal()), "utf8"))
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l));
        // and its file already holds it (another process reading the file sees the answered state)
        const file = JSON.parse(await readFile(files[i], "utf8"));
        return file.sqn.seq[0] === 1 && lines.some((l) => l.file === `card-${i}.json` && l.state.sqn.seq[0] === 1);
      }),
    );
    expect(answers.every(Boolean)).toBe(true);
    // 20 answers waited for a commit, in far fewer groups
    expect(c.syncs()).toBeGreaterThanOrEqual(1);
    expect(c.syncs()).toBeLessThanOrEqual(3);
    for (const cl of clients) await cl.card.close();
  });

  it("a write that fails takes the card out of service", async () => {
    const dir = join(root, "enospc");
    const [file] = await cards(dir, 1);
    const c = countingFs();
    const card = await SimulatedUsim.fromFile(file, { fs: c.fs, flushDelayMs: 60_000, answerAfterCommit: false });
    const removed: string[] = [];
    card.onRemoved((r) => removed.push(r));
    const cl = new UsimClient(card);
    c.fail(true);
    expect(await authenticate(cl, 1)).toBe("success");
    await expect((await UsimStateWriter.forDirectory(dir)).flush()).rejects.toThrow(/no space/);
    expect(removed).toEqual(["state not saved: no space left on device"]);
    await expect(authenticate(cl, 2)).rejects.toMatchObject({ code: "REMOVED" });
    c.fail(false);
  });
});

const CHILD = fileURLToPath(new URL("../dist/ue/usim/simulated-usim.js", import.meta.url));
const CHILD_DEPS = {
  client: fileURLToPath(new URL("../dist/ue/usim/usim-client.js", import.meta.url)),
  writer: fileURLToPath(new URL("../dist/ue/usim/state-writer.js", import.meta.url)),
  aka: fileURLToPath(new URL("../dist/milenage/aka.js", import.meta.url)),
  milenage: fileURLToPath(new URL("../dist/milenage/milenage.js", import.meta.url)),
  sqn: fileURLToPath(new URL("../dist/milenage/sqn.js", import.meta.url)),
};

/**
 * A child process: AUTHENTICATE up to SEQ 5 on the card, flush (journal fsync'd), then SEQ 6
 * (answered at once: still in memory, the flush delay is a minute; answered after commit:
 * journaled), print "ready" and wait to be killed.
 */
const CRASH_SCRIPT = (mode: string) => `
import { SimulatedUsim } from ${JSON.stringify(CHILD)};
import { UsimClient } from ${JSON.stringify(CHILD_DEPS.client)};
import { UsimStateWriter } from ${JSON.stringify(CHILD_DEPS.writer)};
import { generateAuthVector } from ${JSON.stringify(CHILD_DEPS.aka)};
import { Milenage } from ${JSON.stringify(CHILD_DEPS.milenage)};
import { joinSqn, sqnToBytes } from ${JSON.stringify(CHILD_DEPS.sqn)};
const [file, dir] = process.argv.slice(1, 3);
const mode = ${JSON.stringify(mode)};
const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const m = new Milenage(hex("${"000102030405060708090a0b0c0d0e0f"}"), hex("${"f0e0d0c0b0a090807060504030201000"}"));
const cl = new UsimClient(await SimulatedUsim.fromFile(file, { flushDelayMs: 60000, refreshMs: 60000, answerAfterCommit: mode === "after-commit" }));
const auth = async (seq) => {
  const av = generateAuthVector(m, hex("ab".repeat(16)), sqnToBytes(joinSqn(seq, 0)), hex("8000"));
  const r = await cl.authenticate3g(av.rand, av.autn);
  if (r.kind !== "success") throw new Error("SEQ " + seq + ": " + r.kind);
};
for (let seq = 1; seq <= 5; seq++) await auth(seq);
await (await UsimStateWriter.forDirectory(dir)).flush();
await auth(6);
process.stdout.write("ready\\n");
setInterval(() => {}, 1000);
`;

async function killedAfterSeq6(mode: "at-once" | "after-commit"): Promise<{ dir: string; file: string }> {
  const dir = join(root, `crash-${mode}`);
  const [file] = await cards(dir, 1);
  const child = execFile(process.execPath, ["--input-type=module", "-e", CRASH_SCRIPT(mode), file, dir]);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`child exited ${code}`)));
  });
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  return { dir, file };
}

describe("what a SIGKILL loses", () => {
  it("answered after commit: nothing answered is lost", async () => {
    const { dir, file } = await killedAfterSeq6("after-commit");
    const card = await SimulatedUsim.fromFile(file);
    const cl = new UsimClient(card);
    expect(await authenticate(cl, 6)).toBe("sync-failure");
    expect(await authenticate(cl, 7)).toBe("success");
    await card.close();
    expect((await readdir(dir)).filter((n) => n.startsWith("."))).toEqual([]);
  }, 30_000);

  it("answered at once: the journaled (fsync'd) changes survive and are replayed on the next open; the unflushed one is lost", async () => {
    const { dir, file } = await killedAfterSeq6("at-once");
    // the file itself was never refreshed: only the journal knows SEQ 5
    expect(JSON.parse(await readFile(file, "utf8")).sqn.seq[0]).toBe(0);
    expect((await readdir(dir)).filter((n) => n.startsWith(".usim-journal-"))).toHaveLength(1);
    const card = await SimulatedUsim.fromFile(file);
    const cl = new UsimClient(card);
    // SEQ 5 was journaled: the card refuses it again; SEQ 6 was lost: the card accepts it again
    expect(await authenticate(cl, 5)).toBe("sync-failure");
    expect(await authenticate(cl, 6)).toBe("success");
    await card.close();
    expect((await readdir(dir)).filter((n) => n.startsWith("."))).toEqual([]);
  }, 30_000);

  it("recovery keeps the last state of each card, ignores a torn last line, leaves a live process's journal alone", async () => {
    const dir = join(root, "replay");
    const [a, b] = await cards(dir, 2);
    const state = (seq: number) => {
      const s = newUsimState({ k: K, opc: OPC, imsi: IMSI });
      s.sqn.seq[0] = seq;
      return stateToJson(s);
    };
    const line = (file: string, seq: number) => `${JSON.stringify({ file, state: state(seq) })}\n`;
    await writeFile(
      join(dir, ".usim-journal-999991-0.jsonl"),
      line("card-0.json", 3) + line("card-1.json", 4) + line("card-0.json", 9) + line("card-1.json", 12).slice(0, 100),
    );
    await writeFile(join(dir, ".usim-journal-999992-0.jsonl"), line("card-1.json", 50));
    const replayed = await recoverJournals(dir, { alive: (pid) => pid === 999992 });
    expect(replayed).toEqual([".usim-journal-999991-0.jsonl"]);
    expect((await loadUsimStateFile(a)).sqn.seq[0]).toBe(9);
    expect((await loadUsimStateFile(b)).sqn.seq[0]).toBe(4);
    expect((await readdir(dir)).filter((n) => n.startsWith("."))).toEqual([".usim-journal-999992-0.jsonl"]);
  });
});
