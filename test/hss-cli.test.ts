// `gba hss` and `gba provision` as a user runs them (node dist/cli/main.js; run `npx tsc -p .`
// first): exit status 2 for a wrong command line, 1 for refused data, provisioning while the
// HSS runs (another process), a wrong master key, the diagnostics log line, and a
// 100,000-line CSV import (10,000 on Redis) with its progress display.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildAuts } from "../milenage/aka.js";
import { bytesToHex, hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { joinSqn, sqnToBytes } from "../milenage/sqn.js";
import {
  fetchAv,
  type HssProcess,
  newSub,
  openTestHssStore,
  runCli,
  spawnHss,
  stopProcess,
  type TestSub,
  TestUsim,
  tempData,
} from "./hss-fixtures.js";
import { ON_REDIS } from "./helpers/store-backend.js";

const ROWS = ON_REDIS ? 10_000 : 100_000;
/** SEQ of a card far ahead: above LMDB's counter and the clock-anchored SEQ of a fresh subscriber (~ms since provisioning) */
const AHEAD = 10_000_000;

const running: HssProcess[] = [];
afterAll(async () => {
  for (const p of running) await stopProcess(p.child);
});

const addArgs = (data: string, s: TestSub, extra: string[] = []) => [
  "provision",
  "add",
  "--data",
  data,
  "--impi",
  s.impi,
  "--k",
  s.k,
  ...(s.op ? ["--op", s.op] : ["--opc", s.opc]),
  ...extra,
];

describe("help", () => {
  it("gba hss --help documents every option, the routes, the config keys and GBA_MASTER_KEY", async () => {
    const r = await runCli(["hss", "--help"]);
    expect(r.code).toBe(0);
    for (const word of [
      "--data",
      "--config",
      "--ephemeral-ports",
      "--log-level",
      "GBA_MASTER_KEY",
      "master.key",
      "hss.zh.port",
      "hss.admin.host",
      "hss.admin.token",
      "hss.indBits",
      "hss.zhInd",
      "hss.defaultAmf",
      "generate-auth-data",
      "subscriber-data",
      '{"ready":true,"hss":{"zh":URL,"admin":URL}}',
    ]) {
      expect(r.stdout).toContain(word);
    }
  });

  it("gba provision --help documents the CSV header, the IMPU convention and the exit statuses", async () => {
    const r = await runCli(["provision", "--help"]);
    expect(r.code).toBe(0);
    for (const word of [
      "impi,imsi,msisdn,impu,k,op,opc,amf,sqn,uicc_type",
      "--skip-invalid",
      "--after",
      "tel:+<MSISDN>",
      "exit status",
    ]) {
      expect(r.stdout).toContain(word);
    }
  });
});

describe("gba provision", () => {
  it("add / show / list / remove, and the exit statuses: 2 for the command line, 1 for refused data", async () => {
    const data = tempData();
    const a = newSub({ imsi: "001010000000001", msisdn: "4912300001" });
    const added = await runCli(
      addArgs(data, a, ["--imsi", a.imsi!, "--msisdn", a.msisdn!, "--impu", "sip:a@x", "--impu", "sip:a2@x"]),
    );
    expect(added.code, added.stderr).toBe(0);
    const view = JSON.parse(added.stdout);
    expect(view).toMatchObject({
      impi: a.impi,
      imsi: a.imsi,
      impus: ["sip:a@x", "sip:a2@x", "tel:+4912300001"],
      keyInput: "OPc",
    });
    expect(added.stdout).not.toContain(a.k);
    expect(added.stdout).not.toContain(a.opc);

    const usage: Array<[string[], RegExp]> = [
      [addArgs(data, { ...newSub(), k: "zz".repeat(16) }), /--k: .*not a hex digit/],
      [[...addArgs(data, newSub()), "--op", "00".repeat(16)], /either --op or --opc/],
      [["provision", "add", "--data", data, "--k", "00".repeat(16), "--opc", "00".repeat(16)], /missing required flag --impi/],
      [addArgs(data, newSub(), ["--uicc-type", "SIM"]), /--uicc-type: must be one of GBA, GBA_U/],
      [addArgs(data, newSub(), ["--bogus"]), /bogus/],
      [["provision", "frobnicate"], /unknown command "frobnicate"/],
      [["provision", "show", "--data", data], /exactly one IMPI/],
      [["provision", "list", "--data", data, "--limit", "x"], /--limit/],
    ];
    for (const [args, msg] of usage) {
      const r = await runCli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(msg);
    }

    const refused: Array<[string[], RegExp]> = [
      [addArgs(data, { ...newSub(), impi: a.impi }), /already provisioned/],
      [addArgs(data, newSub(), ["--imsi", a.imsi!]), /imsi: 001010000000001 belongs to/],
      [["provision", "show", "--data", data, "ghost@x"], /no subscriber ghost@x/],
      [["provision", "remove", "--data", data, "ghost@x"], /no subscriber ghost@x/],
      [["provision", "import", "--data", data, join(data, "missing.csv")], /cannot read .*does not exist/],
    ];
    for (const [args, msg] of refused) {
      const r = await runCli(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(msg);
    }

    const shown = await runCli(["provision", "show", "--data", data, a.impi]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ impi: a.impi, authFailures: [], sqn: { seqHe: 0 } });

    const b = newSub();
    expect((await runCli(addArgs(data, { ...b, op: b.opc }, ["--sqn", "0000000003e0", "--amf", "0000"]))).code).toBe(0);
    const listed = await runCli(["provision", "list", "--data", data, "--json", "--limit", "1"]);
    const page = JSON.parse(listed.stdout);
    expect(page.subscribers).toHaveLength(1);
    const rest = await runCli(["provision", "list", "--data", data, "--json", "--after", page.next]);
    const all = [...page.subscribers, ...JSON.parse(rest.stdout).subscribers].map((s: { impi: string }) => s.impi);
    expect(all.sort()).toEqual([a.impi, b.impi].sort());
    const text = await runCli(["provision", "list", "--data", data]);
    expect(text.stdout.split("\n")[0]).toBe("impi\timsi\tmsisdn\tuicc\tkey\tseqHe");
    expect(text.stdout).toContain(`${b.impi}\t-\t-\tGBA\tOP\t31`);

    const removed = await runCli(["provision", "remove", "--data", data, a.impi]);
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ removed: a.impi });
    expect((await runCli(["provision", "show", "--data", data, a.impi])).code).toBe(1);
  }, 90_000); // some 20 gba processes one after another: 25-30 s on a loaded 2-core machine

  it("import: bad lines listed with numbers and reasons, nothing written (exit 1); --skip-invalid imports the rest", async () => {
    const data = tempData();
    const g1 = newSub();
    const g2 = newSub();
    const csv = [
      "impi,imsi,msisdn,impu,k,op,opc,amf,sqn,uicc_type",
      `${g1.impi},,,sip:g1@x;tel:+4900001,${g1.k},,${g1.opc},,,GBA_U`,
      `bad@x,,,,${g1.k.slice(0, 31)},,${g1.opc},,,`,
      `${g2.impi},,,,${g2.k},${g2.opc},,,,`,
      `${g1.impi},,,,${g1.k},,${g1.opc},,,`,
    ].join("\n");
    const file = join(data, "subs.csv");
    writeFileSync(file, csv);
    const r = await runCli(["provision", "import", "--data", data, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 invalid, nothing imported/);
    expect(r.stderr).toMatch(/line 3: k: odd number of hex digits/);
    expect(r.stderr).toMatch(/line 5: impi: .* repeats line 2/);
    expect(JSON.parse((await runCli(["provision", "list", "--data", data, "--json"])).stdout).subscribers).toEqual([]);

    const s = await runCli(["provision", "import", "--data", data, file, "--skip-invalid"]);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ imported: 2, skipped: 2 });
    const g1view = JSON.parse((await runCli(["provision", "show", "--data", data, g1.impi])).stdout);
    expect(g1view).toMatchObject({ impus: ["sip:g1@x", "tel:+4900001"], uiccType: "GBA_U" });
    expect(JSON.parse((await runCli(["provision", "show", "--data", data, g2.impi])).stdout).keyInput).toBe("OP");

    const json = join(data, "subs.json");
    writeFileSync(json, JSON.stringify([newSub(), newSub()]));
    expect(JSON.parse((await runCli(["provision", "import", "--data", data, json])).stdout).imported).toBe(2);
  });

  // LMDB imports 100,000 rows; on the Redis Cluster 10,000 (the command is the same; the row
  // rate of the cluster is a bench figure, and 100,000 would add minutes to the redis project)
  it(`imports ${ROWS.toLocaleString("en")} subscribers in one command, with a progress line every 10 % on a non-TTY stderr`, async () => {
    const data = tempData();
    const lines = ["impi,imsi,msisdn,impu,k,op,opc,amf,sqn,uicc_type"];
    const keys = randomBytes(ROWS * 32).toString("hex");
    for (let i = 0; i < ROWS; i++) {
      const imsi = String(1010000000000 + i).padStart(15, "0");
      const k = keys.slice(i * 64, i * 64 + 32);
      const o = keys.slice(i * 64 + 32, i * 64 + 64);
      lines.push(
        `${imsi}@ims.mnc001.mcc001.3gppnetwork.org,${imsi},49${100000000 + i},,${k},${i % 2 ? o : ""},${i % 2 ? "" : o},,,`,
      );
    }
    const file = join(data, "100k.csv");
    writeFileSync(file, lines.join("\n"));
    const started = performance.now();
    const r = await runCli(["provision", "import", "--data", data, file]);
    const seconds = (performance.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).imported).toBe(ROWS);
    const progress = r.stderr.split("\n").filter((l) => l.startsWith("import: "));
    const percents = progress.map((l) => Number(/\((\d+)% overall\)/.exec(l)?.[1]));
    expect(percents.length).toBeGreaterThanOrEqual(10);
    expect(percents.at(-1)).toBe(100);
    for (let d = 1; d <= 10; d++) expect(percents.some((p) => Math.floor(p / 10) === d)).toBe(true);
    process.stderr.write(
      `${ROWS.toLocaleString("en")}-line import: ${seconds.toFixed(1)} s wall (${JSON.parse(r.stdout).seconds} s in the command)\n`,
    );
    const store = await openTestHssStore(data, { env: {} });
    try {
      expect(await store.count()).toBe(ROWS);
      const last = (await store.resolveUeId(`imsi-${String(1010000000000 + ROWS - 1).padStart(15, "0")}`))!;
      const k = keys.slice((ROWS - 1) * 64, (ROWS - 1) * 64 + 32);
      expect(Buffer.from(store.secrets.open((await store.get(last))!).k).toString("hex")).toBe(k);
    } finally {
      await store.close();
    }
  }, 180_000);
});

describe("gba hss", () => {
  it("serves subscribers provisioned by the CLI while it runs; a remove + re-add with a new K is seen at once", async () => {
    const data = tempData();
    const hss = await spawnHss(data);
    running.push(hss);
    const sub = newSub({ imsi: "001010000004242" });
    expect((await runCli(addArgs(data, sub, ["--imsi", sub.imsi!]))).code).toBe(0);
    const first = await fetchAv(hss.zh, "imsi-001010000004242");
    expect(first.status).toBe(200);
    expect(new TestUsim(sub).authenticate(first.body["3gAkaAv"]).kind).toBe("success");
    const rekeyed = { ...newSub(), impi: sub.impi };
    expect((await runCli(["provision", "remove", "--data", data, sub.impi])).code).toBe(0);
    expect((await fetchAv(hss.zh, sub.impi)).status).toBe(404);
    expect((await runCli(addArgs(data, rekeyed))).code).toBe(0);
    const second = await fetchAv(hss.zh, sub.impi);
    expect(new TestUsim(rekeyed).authenticate(second.body["3gAkaAv"]).kind).toBe("success");
  });

  it("logs each authentication failure with the check and SQN_MS / SQN_HE in hex, never key material", async () => {
    const data = tempData();
    const sub = newSub();
    expect((await runCli(addArgs(data, sub))).code).toBe(0);
    const hss = await spawnHss(data);
    running.push(hss);
    // the card is far ahead of the HSS on both backends (LMDB counts from 1, Redis from the clock)
    const usim = new TestUsim(sub, 5, joinSqn(AHEAD, 1));
    const av = (await fetchAv(hss.zh, sub.impi)).body["3gAkaAv"];
    const firstSqn = usim.sqnOf(av);
    const sync = usim.authenticate(av);
    expect(sync.kind).toBe("sync-failure");
    if (sync.kind !== "sync-failure") return;
    expect(
      (await fetchAv(hss.zh, sub.impi, { resynchronizationInfo: { rand: av.rand, auts: bytesToHex(sync.auts) } })).status,
    ).toBe(200);
    const forger = new Milenage(hexToBytes(newSub().k), hexToBytes(sub.opc));
    const rand = hexToBytes("0102030405060708090a0b0c0d0e0f10");
    const forged = buildAuts(forger, rand, sqnToBytes(joinSqn(9, 9)));
    expect(
      (await fetchAv(hss.zh, sub.impi, { resynchronizationInfo: { rand: bytesToHex(rand), auts: bytesToHex(forged) } })).status,
    ).toBe(403);
    await new Promise((r) => setTimeout(r, 200));
    const logs = hss
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    const adopted = logs.find((l) => l.outcome === "sqn-ms-adopted");
    expect(adopted).toMatchObject({
      impi: sub.impi,
      check: "MAC-S",
      sqnMs: bytesToHex(sqnToBytes(joinSqn(AHEAD, 1))),
      // SQN_HE before: the SQN of the refused vector
      sqnHe: bytesToHex(sqnToBytes(firstSqn)),
    });
    expect(adopted.msg).toMatch(/SQN_HE := SQN_MS/);
    const rejected = logs.find((l) => l.outcome === "rejected");
    expect(rejected).toMatchObject({ impi: sub.impi, check: "MAC-S", sqnHe: bytesToHex(sqnToBytes(joinSqn(AHEAD + 1, 1))) });
    expect(rejected.msg).toMatch(/MAC-S .* does not verify/);
    const all = hss.stderr().toLowerCase();
    for (const secret of [sub.k, sub.opc, av.ck, av.ik, av.xres]) expect(all).not.toContain(secret);
  });

  it("refuses a wrong master key at start: exit 1, a clear message, no ready line", async () => {
    const data = tempData();
    expect((await runCli(addArgs(data, newSub()))).code).toBe(0);
    const key = readFileSync(join(data, "hss", "master.key"), "utf8").trim();
    const wrong = randomBytes(32).toString("hex");
    expect(wrong).not.toBe(key);
    const r = await runCli(["hss", "--ephemeral-ports", "--data", data], { env: { GBA_MASTER_KEY: wrong } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/master key does not match this store/);
    const ok = await spawnHss(data, { GBA_MASTER_KEY: key });
    running.push(ok);
    expect(ok.zh).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
