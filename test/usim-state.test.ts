// The simulated USIM's state file: round trip through the card, atomic 0600 writes, and clear
// errors for malformed files.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toAutnStar } from "../gba/gba-u.js";
import { deriveKsExtNaf, ksFromCkIk, nafId } from "../gba/keys.js";
import { generateAuthVector } from "../milenage/aka.js";
import { hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { joinSqn, sqnToBytes } from "../milenage/sqn.js";
import { SimulatedUsim } from "../ue/usim/simulated-usim.js";
import { loadUsimStateFile, saveUsimStateFile } from "../ue/usim/state-file.js";
import { UsimClient } from "../ue/usim/usim-client.js";
import { newUsimState, stateToJson, UsimStateError } from "../ue/usim/usim-state.js";

const K = hexToBytes("000102030405060708090a0b0c0d0e0f");
const OPC = hexToBytes("f0e0d0c0b0a090807060504030201000");
const m = new Milenage(K, OPC);
const AMF = hexToBytes("8000");
const IMPI = "262011106487504@ims.mnc001.mcc262.3gppnetwork.org";
const NAF = nafId("naf.example.org", hexToBytes("0100000002"));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "usim-state-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("state file round trip", () => {
  it("persists SQN, Ks, RAND and EF contents across card instances", async () => {
    const file = join(dir, "card.json");
    await saveUsimStateFile(file, newUsimState({ k: K, opc: OPC, imsi: "262011106487504", gbaU: true }), { exclusive: true });
    const a = new UsimClient(await SimulatedUsim.fromFile(file));
    const av = generateAuthVector(m, hexToBytes("aa".repeat(16)), sqnToBytes(joinSqn(42, 6)), AMF);
    expect((await a.gbaBootstrap(av.rand, toAutnStar(av.autn, av.ik))).kind).toBe("success");
    await a.writeGbabp({ rand: av.rand, btid: "qqo=@bsf.example", lifetime: "2030-01-01T00:00:00Z" });
    await a.gbaNafDerivation(NAF, IMPI);
    await a.card.close();

    const saved = JSON.parse(await readFile(file, "utf8"));
    expect(saved.sqn.seq[6]).toBe(42);
    expect(saved.gbaUKeys.rand).toBe("aa".repeat(16));

    const b = new UsimClient(await SimulatedUsim.fromFile(file));
    expect(await b.gbaBootstrap(av.rand, toAutnStar(av.autn, av.ik))).toMatchObject({ kind: "sync-failure" }); // SQN kept
    expect(await b.gbaNafDerivation(NAF, IMPI)).toEqual({
      kind: "success",
      ksExtNaf: deriveKsExtNaf(ksFromCkIk(av.ck, av.ik), av.rand, IMPI, NAF),
    });
    expect(await b.readGbabp()).toEqual({ rand: av.rand, btid: "qqo=@bsf.example", lifetime: "2030-01-01T00:00:00Z" });
    expect((await b.readGbanl()).map((r) => r.btid)).toEqual(["qqo=@bsf.example"]);
    await b.card.close();
  });

  it("writes mode 0600 atomically and leaves no temporary file", async () => {
    const file = join(dir, "mode.json");
    await saveUsimStateFile(file, newUsimState({ k: K, opc: OPC, imsi: "001010000000001" }), { exclusive: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const c = new UsimClient(await SimulatedUsim.fromFile(file));
    const av = generateAuthVector(m, hexToBytes("bb".repeat(16)), sqnToBytes(joinSqn(1, 0)), AMF);
    expect((await c.authenticate3g(av.rand, av.autn)).kind).toBe("success");
    await c.card.close();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    await expect(
      saveUsimStateFile(file, newUsimState({ k: K, opc: OPC, imsi: "001010000000001" }), { exclusive: true }),
    ).rejects.toMatchObject({ code: "EEXIST" });
  });

  it("stops answering (card removed) when a change cannot be saved", async () => {
    const card = new SimulatedUsim(newUsimState({ k: K, opc: OPC, imsi: "001010000000001" }), {
      persist: async () => {
        throw new Error("disk full");
      },
    });
    const removed: string[] = [];
    card.onRemoved((r) => removed.push(r));
    const c = new UsimClient(card);
    await c.selectUsim(); // no state change, nothing to save
    const av = generateAuthVector(m, hexToBytes("cc".repeat(16)), sqnToBytes(joinSqn(1, 0)), AMF);
    await expect(c.authenticate3g(av.rand, av.autn)).rejects.toMatchObject({ code: "REMOVED" });
    expect(removed).toEqual(["state not saved: disk full"]);
  });
});

describe("malformed state files", () => {
  const good = () => stateToJson(newUsimState({ k: K, opc: OPC, imsi: "001010000000001", gbaU: true }));
  const cases: [string, (s: Record<string, unknown>) => unknown, RegExp][] = [
    ["not JSON", () => "{ nope", /is not valid JSON/],
    ["not an object", () => [], /field "\(top level\)" must be an object/],
    ["wrong version", (s) => ({ ...s, version: 2 }), /field "version" must be 1/],
    ["K missing", (s) => ({ ...s, k: undefined }), /field "k" must be a hex string/],
    ["K too short", (s) => ({ ...s, k: "0011" }), /field "k" is not valid: k: expected 16 bytes/],
    ["OPc not hex", (s) => ({ ...s, opc: "zz".repeat(16) }), /field "opc" is not valid/],
    ["IMSI with letters", (s) => ({ ...s, imsi: "00101abc" }), /field "imsi" must be 6 to 15 decimal digits/],
    ["MNC length 4", (s) => ({ ...s, mncLength: 4 }), /field "mncLength" must be an integer in 2\.\.3/],
    ["UST without service 68 on a GBA_U card", (s) => ({ ...s, ust: "00".repeat(16) }), /field "ust" must have service n°68/],
    ["SQN array of the wrong size", (s) => ({ ...s, sqn: { indBits: 5, seq: [0] } }), /field "sqn.seq" must be an array of 32/],
    ["negative SEQ", (s) => ({ ...s, sqn: { indBits: 5, seq: [-1, ...new Array(31).fill(0)] } }), /field "sqn.seq\[0\]"/],
    ["Ks of 16 bytes", (s) => ({ ...s, gbaUKeys: { ks: "00".repeat(16), rand: "00".repeat(16) } }), /field "gbaUKeys.ks"/],
    [
      "EF_GBANL slot without key",
      (s) => ({ ...s, gbanl: { recordLength: 255, slots: [{ nafId: "00", btid: "", lastUsed: 1 }] } }),
      /gbanl\.slots\[0\]\.ksIntNaf/,
    ],
    ["autnStar not boolean", (s) => ({ ...s, autnStar: "yes" }), /field "autnStar" must be true or false/],
  ];

  it.each(cases)("%s", async (_, mutate, message) => {
    const file = join(dir, "bad.json");
    const v = mutate(good());
    await writeFile(file, typeof v === "string" ? v : JSON.stringify(v));
    const err = await loadUsimStateFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsimStateError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(file);
  });

  it("says so when the file does not exist", async () => {
    await expect(loadUsimStateFile(join(dir, "none.json"))).rejects.toThrow(
      /cannot read USIM state file .*none\.json: no such file/,
    );
  });
});
