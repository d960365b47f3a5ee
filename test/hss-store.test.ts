// The HSS store on its own, on the suite's backend (LMDB or the Redis Cluster,
// test/helpers/store-backend.ts): secrets sealed at rest (searched as bytes in what the backend
// stored), the master key (file mode, wrong key, missing key), records that cannot be swapped,
// the SQN layout, the validator, the CSV reader and the LRU.
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { open as lmdbOpen } from "lmdb";
import { afterEach, describe, expect, it } from "vitest";
import { gcm } from "@noble/ciphers/aes.js";
import { concatBytes, hexToBytes } from "../wire/bytes.js";
import { computeOpc, Milenage } from "../milenage/milenage.js";
import { ConfigError } from "../nf/config.js";
import { StoreError } from "../nf/common/store.js";
import { checkRows, writeRows } from "../nf/hss/bulk.js";
import { csvRecords, parseSubscriberCsv } from "../nf/hss/csv.js";
import { Lru } from "../nf/common/lru.js";
import { aadOf, seal, unseal } from "../nf/hss/sealed.js";
import { MilenageCache } from "../nf/hss/key-cache.js";
import type { HssStore } from "../nf/hss/store.js";
import { LmdbHssStore } from "../nf/hss/store-lmdb.js";
import type { HssStoreOptions } from "../nf/hss/store-open.js";
import { defaultGuss, validateCreate } from "../nf/hss/subscriber.js";
import { newSub, openTestHssStore, tempData } from "./hss-fixtures.js";
import { bytesAtRest, ON_REDIS } from "./helpers/store-backend.js";

const CTX = { defaultAmf: "8000" };
const open: HssStore[] = [];
/** The store of a data root (no GBA_MASTER_KEY unless given): closed after each test. */
async function openStore(data: string, opts: HssStoreOptions = {}): Promise<HssStore> {
  const s = await openTestHssStore(data, { env: {}, ...opts });
  open.push(s);
  return s;
}
const reopen = (data: string, opts: HssStoreOptions = {}) => openTestHssStore(data, { env: {}, ...opts });
afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
});

async function provision(store: HssStore, input: object): Promise<void> {
  const v = validateCreate(input, CTX);
  if (!v.ok) throw new Error(v.errors.join("; "));
  await store.create([store.secrets.seal(v.value)], [v.value.sqn]);
}

function contains(haystack: Buffer, needle: Uint8Array | string): boolean {
  return haystack.indexOf(typeof needle === "string" ? Buffer.from(needle, "latin1") : Buffer.from(needle)) >= 0;
}

describe("secrets at rest", () => {
  it("the stored bytes hold no K, OP or OPc (binary, lower or upper hex) of any subscriber, but do hold the IMPIs", async () => {
    const data = tempData();
    const store = await openStore(data);
    const subs = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? newSub() : { ...newSub(), op: newSub().k, opc: undefined }));
    for (const s of subs) await provision(store, s);
    await store.close();
    open.pop();
    const file = await bytesAtRest(data, "hss");
    for (const s of subs) {
      expect(contains(file, s.impi)).toBe(true);
      const opc = s.op ? computeOpc(hexToBytes(s.k), hexToBytes(s.op)) : hexToBytes(s.opc!);
      const secrets = [hexToBytes(s.k), opc, ...(s.op ? [hexToBytes(s.op)] : [])];
      for (const secret of secrets) {
        const hex = Buffer.from(secret).toString("hex");
        expect(contains(file, secret)).toBe(false);
        expect(contains(file, hex)).toBe(false);
        expect(contains(file, hex.toUpperCase())).toBe(false);
        // half a key is still key material
        expect(contains(file, secret.subarray(0, 8))).toBe(false);
      }
    }
  });

  it("a sealed K‖OPc moved to another subscriber's record does not decrypt (AAD = IMPI)", async () => {
    const store = await openStore(tempData());
    const a = newSub();
    const b = newSub();
    await provision(store, a);
    await provision(store, b);
    const ra = (await store.get(a.impi))!;
    const rb = (await store.get(b.impi))!;
    expect(Buffer.from(store.secrets.open(rb).k).toString("hex")).toBe(b.k);
    expect(() => store.secrets.open({ ...rb, secret: ra.secret })).toThrow(/do not decrypt/);
    const flipped = Uint8Array.from(rb.secret);
    flipped[20] ^= 1;
    expect(() => store.secrets.open({ ...rb, secret: flipped })).toThrow(/do not decrypt/);
  });
});

describe("sealing: AES-256-GCM, @noble/ciphers seals, node:crypto opens", () => {
  // McGrew & Viega, The Galois/Counter Mode of Operation, test case 16 (AES-256, 96-bit IV, AAD)
  const K = hexToBytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const IV = hexToBytes("cafebabefacedbaddecaf888");
  const A = hexToBytes("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const P = hexToBytes(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
  );
  const CT = hexToBytes(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662" +
      "76fc6ece0f4e1768cddf8853bb2d551b",
  );

  it("the sealing cipher gives the published ciphertext and tag", () => {
    expect(Buffer.from(gcm(K, IV, A).encrypt(P)).toString("hex")).toBe(Buffer.from(CT).toString("hex"));
  });

  it("unseal opens the published vector (nonce ‖ ciphertext ‖ tag) and refuses any changed byte or AAD", () => {
    const sealed = concatBytes(IV, CT);
    expect(Buffer.from(unseal(K, A, sealed) as Uint8Array).toString("hex")).toBe(Buffer.from(P).toString("hex"));
    for (const i of [0, 12, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[i] ^= 1;
      expect(unseal(K, A, bad)).toBeUndefined();
    }
    expect(unseal(K, A.subarray(1), sealed)).toBeUndefined();
    expect(unseal(K, A, sealed.subarray(0, 27))).toBeUndefined();
  });

  it("what seal writes, unseal reads back", () => {
    const plain = hexToBytes("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    expect(unseal(K, aadOf("impi"), seal(K, aadOf("impi"), plain))).toEqual(plain);
  });
});

describe("master key", () => {
  it("is created as <data>/hss/master.key with mode 0600 and 64 hex digits on first open", async () => {
    const data = tempData();
    await openStore(data);
    const path = join(data, "hss", "master.key");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8").trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a wrong key (GBA_MASTER_KEY) fails at open with a clear error; the right one opens", async () => {
    const data = tempData();
    const store = await openStore(data);
    const sub = newSub();
    await provision(store, sub);
    await store.close();
    open.pop();
    const right = readFileSync(join(data, "hss", "master.key"), "utf8").trim();
    const wrong = `${right.slice(0, 63)}${right[63] === "0" ? "1" : "0"}`;
    await expect(reopen(data, { env: { GBA_MASTER_KEY: wrong } })).rejects.toThrow(StoreError);
    await expect(reopen(data, { env: { GBA_MASTER_KEY: wrong } })).rejects.toThrow(/master key does not match this store/);
    const ok = await openStore(data, { env: { GBA_MASTER_KEY: right.toUpperCase() } });
    expect(Buffer.from(ok.secrets.open((await ok.get(sub.impi))!).k).toString("hex")).toBe(sub.k);
  });

  it("GBA_MASTER_KEY that is not 64 hex digits is a configuration error", async () => {
    await expect(reopen(tempData(), { env: { GBA_MASTER_KEY: "abcd" } })).rejects.toThrow(ConfigError);
    await expect(reopen(tempData(), { env: { GBA_MASTER_KEY: "zz".repeat(32) } })).rejects.toThrow(/not a hex digit/);
  });

  it("a store with subscribers whose key file is gone is refused, not given a fresh key", async () => {
    const data = tempData();
    const store = await openStore(data);
    await provision(store, newSub());
    await store.close();
    open.pop();
    rmSync(join(data, "hss", "master.key"));
    await expect(reopen(data)).rejects.toThrow(/no master key: set GBA_MASTER_KEY or restore/);
  });

  it("a key file with garbage is refused with its path", async () => {
    const data = tempData();
    await openStore(data);
    writeFileSync(join(data, "hss", "master.key"), "not a key\n");
    await expect(reopen(data)).rejects.toThrow(/master\.key/);
  });
});

describe("SQN layout", () => {
  it("keeps the IND length it was created with and refuses another", async () => {
    const data = tempData();
    const store = await openStore(data, { indBits: 4 });
    expect(store.indBits).toBe(4);
    await store.close();
    open.pop();
    await expect(reopen(data, { indBits: 5 })).rejects.toThrow(/created with hss\.indBits 4/);
    expect((await openStore(data)).indBits).toBe(4);
  });

  it("--sqn sets SEQ_HE from SEQ ‖ IND", async () => {
    const store = await openStore(tempData());
    const sub = newSub();
    await provision(store, { ...sub, sqn: "000000000fe3" }); // 0xfe3 = SEQ 127, IND 3
    expect(await store.seqHe((await store.get(sub.impi))!)).toBe(127);
  });
});

// an LMDB migration: the Redis backend has had the index from its start
describe.runIf(!ON_REDIS)("IMPU index (TS 29.562 UeId), LMDB store", () => {
  it("a store written before the index existed is indexed once at open", async () => {
    const data = tempData();
    const store = await openStore(data);
    const sub = { ...newSub(), impus: ["sip:old@ims.example.org"] };
    await provision(store, sub);
    expect(await store.resolveUeId("sip:old@ims.example.org")).toBe(sub.impi);
    await store.close();
    open.pop();
    // what an older version left behind: no impu entries, no marker (LMDB is multi-process, so a
    // second environment handle on the same file does this from outside the store)
    const raw = lmdbOpen({ path: join(data, "hss", "store.mdb") });
    await raw.openDB({ name: "impu", dupSort: true }).clearAsync();
    await raw.openDB({ name: "meta" }).remove("impuIndex");
    await raw.close();
    const before = LmdbHssStore.open(data, { env: {} });
    open.push(before);
    expect(await before.resolveUeId("sip:old@ims.example.org")).toBe(sub.impi);
  });
});

describe("validateCreate", () => {
  const base = () => ({ impi: "a@b.example", k: "00".repeat(16), opc: "11".repeat(16) });
  const table: Array<[string, Record<string, unknown>, RegExp]> = [
    ["wrong hex in k", { k: "zz".repeat(16) }, /^k: .*not a hex digit/],
    ["short k", { k: "00".repeat(15) }, /^k: expected 16 bytes/],
    ["both op and opc", { op: "22".repeat(16) }, /give either op or opc, not both/],
    ["neither op nor opc", { opc: undefined }, /one of them is required/],
    ["missing impi", { impi: undefined }, /^impi: missing/],
    ["IMPI with a space", { impi: "a b@c" }, /^impi: must be/],
    ["IMPI shaped like a ueId", { impi: "imsi-001010000000001" }, /must not look like/],
    ["IMSI with letters", { imsi: "00101abc" }, /^imsi: must be 5\.\.15 digits/],
    ["MSISDN too long", { msisdn: "1234567890123456" }, /^msisdn: /],
    ["bad IMPU", { impus: ["mailto:x@y"] }, /^impus\.0: /],
    ["bad uiccType", { uiccType: "GBA_X" }, /^uiccType: must be one of GBA, GBA_U/],
    ["odd AMF", { amf: "800" }, /^amf: odd number/],
    ["unknown field", { ki: "00" }, /^ki: unknown field/],
    ["k as a number", { k: 5 }, /^k: must be string/],
    [
      "r constant not a byte multiple",
      { milenage: { r: [64, 0, 32, 64, 95], c: Array(5).fill("00".repeat(16)) } },
      /milenage\.r\.4/,
    ],
  ];
  it.each(table)("refuses %s, naming the field", (_, change, msg) => {
    const input: Record<string, unknown> = { ...base(), ...change };
    for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
    const v = validateCreate(input, CTX);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.errors.join("\n")).toMatch(msg);
  });

  it("converts OP to OPc (TS 35.206 §4.1) and records that OP was given", () => {
    const k = hexToBytes("465b5ce8b199b49faa5f0a2ee238a6bc");
    const v = validateCreate(
      { impi: "a@b.example", k: "465b5ce8b199b49faa5f0a2ee238a6bc", op: "cdc202d5123e20f62b6d676ac72cb318" },
      CTX,
    );
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    // TS 35.208 test set 1: OPc = cd63cb71954a9f4e48a5994e37a02baf
    expect(Buffer.from(v.value.opc).toString("hex")).toBe("cd63cb71954a9f4e48a5994e37a02baf");
    expect(v.value.keyInput).toBe("OP");
    expect(v.value.k).toEqual(k);
  });

  it("adds tel:+MSISDN when there is no tel: IMPU, and sip:<IMPI> when no IMPU is given", () => {
    const v = validateCreate({ ...base(), msisdn: "+4915112345678" }, CTX);
    expect(v.ok && v.value.impus).toEqual(["sip:a@b.example", "tel:+4915112345678"]);
    expect(v.ok && v.value.msisdn).toBe("4915112345678");
    const w = validateCreate({ ...base(), msisdn: "4915112345678", impus: ["sip:x@y", "tel:+49000"] }, CTX);
    expect(w.ok && w.value.impus).toEqual(["sip:x@y", "tel:+49000"]);
  });

  it("default GUSS: PKI portal USS naming every IMPU, either key for GBA_U (the ME can only answer with Ks_ext_NAF)", () => {
    const g = defaultGuss({ impus: ["sip:a@b", "tel:+4912345"], uiccType: "GBA_U", lifeTime: 7200 });
    expect(g).toEqual({
      bsfInfo: { uiccType: "GBA_U", lifeTime: 7200 },
      ussList: [
        { uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: "sip:a@b" }, { ueId: "tel:+4912345" }], keyChoice: "ME_UICC_BASED_KEYS" } },
      ],
    });
  });
});

describe("CSV", () => {
  it("reads quotes, doubled quotes, CRLF, a BOM and quoted newlines, with the line each record starts on", () => {
    const text = '\ufeffa,b\r\n"x,1","say ""hi"""\r\n"multi\nline",z\n\nlast,1';
    expect([...csvRecords(text)]).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["x,1", 'say "hi"'] },
      { line: 3, fields: ["multi\nline", "z"] },
      { line: 5, fields: [""] },
      { line: 6, fields: ["last", "1"] },
    ]);
  });

  it("maps columns (any order, ';' between IMPUs, empty = absent) and reports header problems on line 1", () => {
    const { rows, errors } = parseSubscriberCsv(
      "k,impi,impu,opc\n" + `${"00".repeat(16)},a@b,sip:a@b; tel:+4912345,${"11".repeat(16)}\n`,
    );
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      {
        label: "line 2",
        csv: true,
        input: { k: "00".repeat(16), impi: "a@b", impus: ["sip:a@b", "tel:+4912345"], opc: "11".repeat(16) },
      },
    ]);
    const bad = parseSubscriberCsv("impi,kk,impi\n");
    expect(bad.errors).toHaveLength(1);
    expect(bad.errors[0].label).toBe("line 1");
    expect(bad.errors[0].reason).toMatch(/unknown column "kk".*column "impi" appears twice.*no column "k"/);
  });

  it("checks every line: reasons in CSV column names, duplicates within the file and against the store", async () => {
    const store = await openStore(tempData());
    const existing = newSub({ imsi: "001010000000099" });
    await provision(store, existing);
    const k = "00".repeat(16);
    const o = "11".repeat(16);
    const csv = [
      "impi,imsi,msisdn,impu,k,op,opc,amf,sqn,uicc_type",
      `ok1@x,001010000000001,,,${k},,${o},,,GBA`,
      `bad-hex@x,,,,${"g".repeat(32)},,${o},,,`,
      `both@x,,,,${k},${o},${o},,,`,
      `neither@x,,,,${k},,,,,`,
      `ok1@x,,,,${k},,${o},,,`,
      `${existing.impi},,,,${k},,${o},,,`,
      `imsi-taken@x,001010000000099,,,${k},,${o},,,`,
      `uicc@x,,,,${k},,${o},,,USIM`,
      `short@x,,,,${k}`,
      `,,,,${k},,${o},,,`,
      `impu@x,,,bogus,${k},,${o},,,`,
    ].join("\n");
    const parsed = parseSubscriberCsv(csv);
    const checked = await checkRows(parsed.rows, store, CTX);
    const all = [...parsed.errors, ...checked.errors].sort((a, b) => Number(a.label.slice(5)) - Number(b.label.slice(5)));
    expect(checked.valid.map((d) => d.impi)).toEqual(["ok1@x"]);
    const byLine = Object.fromEntries(all.map((e) => [e.label, e.reason]));
    expect(Object.keys(byLine).sort()).toEqual(
      ["line 10", "line 11", "line 12", "line 3", "line 4", "line 5", "line 6", "line 7", "line 8", "line 9"].sort(),
    );
    expect(byLine["line 3"]).toMatch(/^k: .*not a hex digit/);
    expect(byLine["line 4"]).toMatch(/not both/);
    expect(byLine["line 5"]).toMatch(/one of them is required/);
    expect(byLine["line 6"]).toMatch(/impi: ok1@x repeats line 2/);
    expect(byLine["line 7"]).toMatch(/already provisioned/);
    expect(byLine["line 8"]).toMatch(/imsi: 001010000000099 belongs to/);
    expect(byLine["line 9"]).toMatch(/^uicc_type: must be one of GBA, GBA_U/);
    expect(byLine["line 10"]).toMatch(/expected 10 fields, got 5/);
    expect(byLine["line 11"]).toMatch(/^impi: missing/);
    expect(byLine["line 12"]).toMatch(/^impu: /);
    expect(await store.count()).toBe(1);
    expect(await writeRows(store, checked.valid)).toBe(1);
    expect(await store.count()).toBe(2);
  });
});

describe("key cache", () => {
  it("a subscriber enters on its second miss; a one-off subscriber never displaces a cached one", async () => {
    const store = await openStore(tempData());
    const cache = new MilenageCache(store.secrets, 2);
    const subs = [newSub(), newSub(), newSub()];
    for (const s of subs) await provision(store, s);
    const [a, b, c] = await Promise.all(subs.map(async (s) => (await store.get(s.impi))!));
    const a1 = cache.milenageOf(a);
    const a2 = cache.milenageOf(a);
    expect(a2).not.toBe(a1); // first miss: built, not kept
    expect(cache.milenageOf(a)).toBe(a2); // second miss kept it
    cache.milenageOf(b);
    const b2 = cache.milenageOf(b);
    cache.milenageOf(c); // once only: does not evict a or b
    expect(cache.milenageOf(a)).toBe(a2);
    expect(cache.milenageOf(b)).toBe(b2);
  });

  it("an updated subscriber (new rev) is rebuilt from the store, not served from the cache", async () => {
    const store = await openStore(tempData());
    const cache = new MilenageCache(store.secrets);
    const sub = newSub();
    await provision(store, sub);
    cache.milenageOf((await store.get(sub.impi))!);
    const cached = cache.milenageOf((await store.get(sub.impi))!);
    const other = newSub();
    const r = await store.update(sub.impi, () => validateCreate({ ...other, impi: sub.impi }, CTX));
    expect(r.kind).toBe("ok");
    const fresh = cache.milenageOf((await store.get(sub.impi))!);
    expect(fresh).not.toBe(cached);
    const rand = new Uint8Array(16).fill(3);
    const expected = new Milenage(hexToBytes(other.k), hexToBytes(other.opc));
    expect(fresh.f2345(rand)).toEqual(expected.f2345(rand));
  });
});

describe("Lru", () => {
  it("drops the least recently used entry beyond its capacity", () => {
    const l = new Lru<string, number>(2);
    l.set("a", 1);
    l.set("b", 2);
    expect(l.get("a")).toBe(1);
    l.set("c", 3);
    expect(l.get("b")).toBeUndefined();
    expect(l.get("a")).toBe(1);
    expect(l.get("c")).toBe(3);
    expect(l.size).toBe(2);
    expect(() => new Lru(0)).toThrow(RangeError);
  });
});
