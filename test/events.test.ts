// The dashboard's event bus (nf/common/events.ts): counters per second, event objects only
// while wanted, a bounded ring, B-TID / IMPI queries for the ladder, and no key field ever.
import { describe, expect, it } from "vitest";
import {
  EVENT_FIELDS,
  EventBus,
  type EventInput,
  FORBIDDEN_FIELD_NAMES,
  HISTORY_SECONDS,
  MAX_CAUSES,
} from "../nf/common/events.js";

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const IMPI = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org";
const BTID = "AAECAwQFBgcICQoLDA0ODw==@bsf.mnc001.mcc001.pub.3gppnetwork.org";

function pinned(capacity?: number) {
  const clock = { now: T0 };
  const bus = new EventBus({ capacity, clock: () => clock.now });
  return { bus, clock };
}

/** One bootstrap of IMPI ending in `btid`, then a Zn lookup and a Ua request for it. */
function bootstrap(bus: EventBus, impi: string, btid: string): void {
  bus.emit({ nf: "bsf", kind: "ub", outcome: "challenge", impi, status: 401 });
  bus.emit({ nf: "hss", kind: "zh-av", outcome: "ok", impi });
  bus.emit({ nf: "bsf", kind: "ub", outcome: "ok", impi, btid, status: 200 });
  bus.emit({ nf: "bsf", kind: "zn", outcome: "ok", impi, btid, nafFqdn: "naf.example.org", peer: "naf" });
  bus.emit({ nf: "naf", kind: "ua", outcome: "ok", btid, nafFqdn: "naf.example.org", status: 200 });
}

const normalised = (name: string) => name.toLowerCase().replace(/[_-]/g, "");

describe("event bus", () => {
  it("has no field named after key material, and forbids every key COMMON names", () => {
    for (const key of ["K", "OP", "OPc", "RES", "XRES", "CK", "IK", "Ks", "Ks_NAF", "Ks_ext_NAF", "Ks_int_NAF", "password"]) {
      expect(FORBIDDEN_FIELD_NAMES as readonly string[]).toContain(normalised(key));
    }
    for (const field of EVENT_FIELDS) {
      const n = normalised(field);
      expect(FORBIDDEN_FIELD_NAMES as readonly string[], field).not.toContain(n);
      for (const word of ["key", "password", "secret", "ksnaf"]) expect(n, field).not.toContain(word);
    }
  });

  it("keeps only the event fields: a key smuggled in by the caller never reaches the ring or a listener", () => {
    const { bus } = pinned();
    bus.record();
    const seen: unknown[] = [];
    bus.subscribe((e) => seen.push(e));
    const smuggled = {
      nf: "bsf",
      kind: "ub",
      outcome: "ok",
      impi: IMPI,
      btid: BTID,
      ks: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      Ks_NAF: "secret",
      ck: "c",
      password: "p",
    } as unknown as EventInput;
    bus.emit(smuggled);
    for (const e of [...bus.query(), ...seen]) {
      for (const field of Object.keys(e as object)) expect(EVENT_FIELDS as readonly string[]).toContain(field);
      expect(JSON.stringify(e)).not.toMatch(/secret|00112233|"p"/);
    }
    expect(seen).toHaveLength(1);
  });

  it("counts always, but builds events only while a recorder or a listener wants them", () => {
    const { bus } = pinned();
    bus.emit({ nf: "bsf", kind: "ub", outcome: "ok", impi: IMPI, btid: BTID });
    expect(bus.wanted).toBe(false);
    expect(bus.lastSeq).toBe(0);
    expect(bus.query()).toEqual([]);
    expect(bus.totals()["ub.ok"]).toBe(1);
    const stop = bus.record();
    bus.emit({ nf: "bsf", kind: "ub", outcome: "ok", impi: IMPI, btid: BTID });
    expect(bus.query()).toHaveLength(1);
    stop();
    stop(); // twice is harmless
    expect(bus.wanted).toBe(false);
    const got: number[] = [];
    const off = bus.subscribe((e) => got.push(e.seq));
    bus.emit({ nf: "naf", kind: "ua", outcome: "ok" });
    off();
    bus.emit({ nf: "naf", kind: "ua", outcome: "ok" });
    expect(got).toEqual([2]);
    expect(bus.totals()["ua.ok"]).toBe(2);
  });

  it("gives back every field it recorded, from the ring and to a listener alike", () => {
    const { bus } = pinned(4);
    const full: EventInput = {
      nf: "naf",
      kind: "ua",
      outcome: "refused",
      impi: IMPI,
      btid: BTID,
      nafFqdn: "naf.example.org",
      cause: "FST_GBA_RESPONSE_MISMATCH",
      status: 403,
      peer: "127.0.0.1",
      latencyMs: 1.23456,
      resync: true,
      auth: "tls-psk",
    };
    const heard: unknown[] = [];
    bus.subscribe((e) => heard.push(e));
    bus.emit(full); // a listener only: no ring
    bus.record();
    bus.emit({ ...full, auth: "digest", resync: false, latencyMs: undefined, status: undefined });
    const kept = { ...full, time: T0, latencyMs: 1.235 };
    expect(heard).toEqual([
      { ...kept, seq: 1 },
      { ...kept, seq: 2, auth: "digest", resync: undefined, latencyMs: undefined, status: undefined },
    ]);
    expect(Object.keys(heard[1] as object)).not.toContain("status");
    expect(bus.query()).toEqual([heard[1]]);
    // a refused event of an unknown NF is counted, never recorded
    bus.emit({ ...full, nf: "pcrf" as never });
    expect(bus.query()).toHaveLength(1);
    expect(bus.totals()["ua.refused"]).toBe(3);
  });

  it("a throwing listener does not stop the others or the emitter", () => {
    const { bus } = pinned();
    const got: string[] = [];
    bus.subscribe(() => {
      throw new Error("boom");
    });
    bus.subscribe((e) => got.push(e.kind));
    expect(() => bus.emit({ nf: "bsf", kind: "zn", outcome: "refused", cause: "BTID_NOT_FOUND" })).not.toThrow();
    expect(got).toEqual(["zn"]);
  });

  it("keeps the newest `capacity` events", () => {
    const { bus } = pinned(5);
    bus.record();
    for (let i = 0; i < 12; i++) bus.emit({ nf: "naf", kind: "ua", outcome: "ok", status: 200 + i });
    const kept = bus.query();
    expect(kept.map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(bus.query({ limit: 2 }).map((e) => e.seq)).toEqual([11, 12]);
    expect(bus.query({ afterSeq: 10 }).map((e) => e.seq)).toEqual([11, 12]);
  });

  it("counts per second, per kind and outcome and per refusal cause, over the last HISTORY_SECONDS", () => {
    const { bus, clock } = pinned();
    bus.emit({ nf: "bsf", kind: "ub", outcome: "ok" });
    bus.emit({ nf: "bsf", kind: "ub", outcome: "ok" });
    clock.now += 1000;
    bus.emit({ nf: "bsf", kind: "ub", outcome: "ok" });
    bus.emit({ nf: "bsf", kind: "ub", outcome: "refused", cause: "AUTHENTICATION_REJECTED" });
    bus.emit({ nf: "bsf", kind: "zn", outcome: "refused", cause: "BTID_NOT_FOUND" });
    clock.now += 1000;
    const s = bus.series(3);
    expect(s.seconds).toEqual([T0 / 1000, T0 / 1000 + 1, T0 / 1000 + 2]);
    expect(s.counts["ub.ok"]).toEqual([2, 1, 0]);
    expect(s.counts["ub.refused"]).toEqual([0, 1, 0]);
    expect(s.refusals).toEqual({ "ub AUTHENTICATION_REJECTED": [0, 1, 0], "zn BTID_NOT_FOUND": [0, 1, 0] });
    // a row reused after the history wrapped holds the new second only
    clock.now += HISTORY_SECONDS * 1000;
    bus.emit({ nf: "bsf", kind: "ub", outcome: "ok" });
    expect(bus.series(1).counts["ub.ok"]).toEqual([1]);
    expect(bus.series(HISTORY_SECONDS).counts["ub.ok"].reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("counts causes beyond MAX_CAUSES as other", () => {
    const { bus } = pinned();
    for (let i = 0; i < MAX_CAUSES + 3; i++) bus.emit({ nf: "naf", kind: "ua", outcome: "refused", cause: `C${i}` });
    const s = bus.series(1);
    expect(Object.keys(s.refusals)).toHaveLength(MAX_CAUSES + 1);
    expect(s.refusals.other).toEqual([3]);
  });

  it("finds the exchanges of one B-TID (with the Ub and Zh that led to it) and of one IMPI", () => {
    const { bus } = pinned();
    bus.record();
    const other = "001010000000002@ims.mnc001.mcc001.3gppnetwork.org";
    const btid1 = BTID.replace("AAEC", "ZZZZ");
    bootstrap(bus, IMPI, btid1);
    bootstrap(bus, other, BTID.replace("AAEC", "YYYY"));
    bootstrap(bus, IMPI, BTID);
    const ladder = bus.query({ btid: BTID });
    expect(ladder.map((e) => `${e.kind}.${e.outcome}`)).toEqual(["ub.challenge", "zh-av.ok", "ub.ok", "zn.ok", "ua.ok"]);
    expect(ladder.every((e) => e.seq > 10)).toBe(true);
    expect(bus.query({ btid: btid1 }).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    const mine = bus.query({ impi: IMPI });
    expect(mine).toHaveLength(10);
    expect(mine.filter((e) => e.kind === "ua")).toHaveLength(2);
    expect(bus.query({ btid: "unknown@x" })).toEqual([]);
  });
});
