// The VehicleMan binding registry (vehicle ID ↔ OBU ID ↔ MSISDN) and its CSV import: checks,
// all-or-nothing batches with every problem reported by line, idempotent re-adds. On the suite's
// store backend (LMDB, or the Redis Cluster in the vitest project "redis").
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseBindingsCsv } from "../nf/eca/bindings-csv.js";
import { normaliseMsisdn } from "../nf/eca/ids.js";
import { BindingError } from "../nf/eca/bindings.js";
import { openEcaStore } from "../nf/eca/store-open.js";
import type { EcaStore } from "../nf/eca/store.js";
import { testStore } from "./helpers/store-backend.js";

const NOW = new Date("2030-01-01T00:00:00Z");
let store: EcaStore;
let data: string;

beforeEach(async () => {
  data = mkdtempSync(join(tmpdir(), "eca-reg-"));
  store = await openEcaStore({ data, store: testStore(data) });
});
afterEach(async () => {
  await store.close();
});

async function refusal(p: Promise<unknown>): Promise<BindingError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BindingError);
  return err as BindingError;
}

describe("binding registry", () => {
  it("adds bindings, normalises the MSISDN, looks an OBU up and lists", async () => {
    expect(
      await store.addBindings(
        [{ vehicleId: "WVWZZZ1JZXW000001", obuId: "OBU-0001", msisdn: "+49 1700000001".replace(" ", "") }],
        NOW,
      ),
    ).toEqual({
      added: 1,
      unchanged: 0,
    });
    expect(await store.bindingOf("OBU-0001")).toEqual({
      vehicleId: "WVWZZZ1JZXW000001",
      obuId: "OBU-0001",
      msisdn: "491700000001",
      createdAt: NOW.toISOString(),
    });
    expect(await store.bindingOf("OBU-0002")).toBeUndefined();
    expect(await store.listBindings()).toHaveLength(1);
  });

  it("re-adding an identical binding changes nothing; moving an OBU or reusing an MSISDN refuses the whole batch", async () => {
    await store.addBindings([{ vehicleId: "V1", obuId: "OBU-1", msisdn: "491700000001" }], NOW);
    expect(await store.addBindings([{ vehicleId: "V1", obuId: "OBU-1", msisdn: "+491700000001" }], NOW)).toEqual({
      added: 0,
      unchanged: 1,
    });
    const err = await refusal(
      store.addBindings(
        [
          { vehicleId: "V2", obuId: "OBU-2", msisdn: "491700000002" },
          { vehicleId: "V9", obuId: "OBU-1", msisdn: "491700000001" },
          { vehicleId: "V3", obuId: "OBU-3", msisdn: "491700000001" },
        ],
        NOW,
        [2, 3, 4],
      ),
    );
    expect(err.problems).toEqual([
      { line: 3, reason: "OBU OBU-1 is already bound to vehicle V1, MSISDN 491700000001" },
      { line: 4, reason: "MSISDN 491700000001 appears again (first at line 3)" },
      { line: 4, reason: "MSISDN 491700000001 is already bound to OBU OBU-1" },
    ]);
    expect(await store.bindingOf("OBU-2")).toBeUndefined();
    const err2 = await refusal(store.addBindings([{ vehicleId: "V3", obuId: "OBU-3", msisdn: "491700000001" }], NOW));
    expect(err2.message).toBe("MSISDN 491700000001 is already bound to OBU OBU-1");
    expect(await store.listBindings()).toHaveLength(1);
  });

  it("refuses malformed IDs and MSISDNs with one reason each", async () => {
    const err = await refusal(store.addBindings([{ vehicleId: "V 1", obuId: "", msisdn: "12ab" }], NOW));
    expect(err.problems.map((p) => p.reason)).toEqual([
      expect.stringMatching(/^vehicle ID "V 1" is not/),
      expect.stringMatching(/^OBU ID "" is not/),
      expect.stringMatching(/^MSISDN "12ab" is not/),
    ]);
    expect(await store.listBindings()).toEqual([]);
  });

  it("normalises MSISDN spellings and refuses others", () => {
    expect(normaliseMsisdn("+491700000001")).toBe("491700000001");
    expect(normaliseMsisdn("tel:+491700000001")).toBe("491700000001");
    expect(normaliseMsisdn("msisdn-491700000001")).toBe("491700000001");
    expect(normaliseMsisdn("1234")).toBeUndefined();
    expect(normaliseMsisdn("1234567890123456")).toBeUndefined();
    expect(normaliseMsisdn("+49-170")).toBeUndefined();
  });
});

describe("bindings CSV", () => {
  it("parses rows with line numbers, skipping blank lines and a BOM", () => {
    const csv = "\uFEFFvehicle_id,obu_id,msisdn\r\nV1,OBU-1,+491700000001\r\n\r\nV2, OBU-2 ,491700000002\n";
    expect(parseBindingsCsv(csv)).toEqual({
      rows: [
        { vehicleId: "V1", obuId: "OBU-1", msisdn: "+491700000001" },
        { vehicleId: "V2", obuId: "OBU-2", msisdn: "491700000002" },
      ],
      lines: [2, 4],
      problems: [],
    });
  });

  it("imports all or nothing, reporting every bad line together with the rows' own problems", async () => {
    const csv = [
      "vehicle_id,obu_id,msisdn",
      "V1,OBU-1,491700000001",
      "V2,OBU-2",
      'V3,"OBU-3",491700000003',
      "V4,OBU-4,notanumber",
      "V5,OBU-1,491700000005",
    ].join("\n");
    const { rows, lines, problems } = parseBindingsCsv(csv);
    const err = await refusal(store.addBindings(rows, NOW, lines, problems));
    expect(err.message.split("\n")).toEqual([
      "line 3: expected 3 fields (vehicle_id,obu_id,msisdn), got 2",
      "line 4: quoted fields are not supported",
      'line 5: MSISDN "notanumber" is not 5..15 digits, optionally with a leading +',
      "line 6: OBU OBU-1 appears again (first at line 2)",
    ]);
    expect(await store.listBindings()).toEqual([]);
  });

  it("refuses a wrong header, an empty file and a header without rows", () => {
    expect(() => parseBindingsCsv("vin,obu,msisdn\nV1,OBU-1,491700000001")).toThrow(
      /line 1: the header must be vehicle_id,obu_id,msisdn/,
    );
    expect(() => parseBindingsCsv("\n\n")).toThrow(/empty/);
    expect(() => parseBindingsCsv("vehicle_id,obu_id,msisdn\n")).toThrow(/no bindings/);
  });

  it("a good file is added in one transaction", async () => {
    const rows = Array.from({ length: 500 }, (_, i) => `VIN-${i},OBU-${i},4917${String(i).padStart(8, "0")}`);
    const parsed = parseBindingsCsv(["vehicle_id,obu_id,msisdn", ...rows].join("\n"));
    expect(await store.addBindings(parsed.rows, NOW, parsed.lines, parsed.problems)).toEqual({ added: 500, unchanged: 0 });
    expect((await store.bindingOf("OBU-499"))?.msisdn).toBe("491700000499");
  });
});
