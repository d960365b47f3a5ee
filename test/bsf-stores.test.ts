// BSF building blocks without HTTP: challenge and session stores on LMDB (including two
// processes sharing one environment), NAF registry, USS filtering, User-Agent product tokens.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bsfConfigSection } from "../nf/bsf/config.js";
import { NafRegistry } from "../nf/bsf/naf-registry.js";
import { relevantUss } from "../nf/bsf/procedures/zn.js";
import type { BsfSession, PendingChallenge } from "../nf/bsf/store.js";
import { LmdbBsfStore } from "../nf/bsf/store-lmdb.js";
import { openNfStore } from "../nf/common/store.js";
import { ConfigError, defaultConfig } from "../nf/config.js";
import { PRODUCT_TOKEN, productTokens } from "../wire/ub.js";
import type { Guss } from "../wire/zh.js";

const checkBsfConfig = bsfConfigSection.check;

const GUSS: Guss = {
  bsfInfo: { uiccType: "GBA" },
  ussList: [
    { uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: "sip:a@example.org" }], nafGroup: "pki" } },
    { uss: { gsId: 2, gsType: 4, ueIds: [{ ueId: "sip:a@example.org" }] } },
    { uss: { gsId: 3, gsType: 1, ueIds: [{ ueId: "sip:a@example.org" }], nafGroup: "other" } },
  ],
};

function challenge(impi: string, expiresAt: number): PendingChallenge {
  return {
    impi,
    rand: new Uint8Array(16).fill(1),
    xres: new Uint8Array(8).fill(2),
    ck: new Uint8Array(16).fill(3),
    ik: new Uint8Array(16).fill(4),
    algorithm: "AKAv1-MD5",
    opaque: "00",
    guss: GUSS,
    expiresAt,
  };
}

function session(btid: string, impi: string, expiresAt: number): BsfSession {
  return {
    btid,
    impi,
    ks: new Uint8Array(32).fill(9),
    rand: new Uint8Array(16),
    createdAt: 0,
    expiresAt,
    uiccType: "GBA",
    guss: GUSS,
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bsf-stores-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The BSF store over its own LMDB root, which the tests read directly. */
function openStore(keepSpentMs = 60_000) {
  const root = openNfStore(dir, "bsf");
  return { root, store: new LmdbBsfStore(root, keepSpentMs) };
}

describe("BSF store: challenges", () => {
  it("gives a nonce out once; later spends see it spent, without key material", async () => {
    const { root, store } = openStore();
    await store.putChallenge("n1", challenge("a", 10_000));
    expect((await store.challenge("a", "n1")).kind).toBe("pending");
    const first = await store.spendChallenge("a", "n1", 5_000);
    expect(first.kind).toBe("fresh");
    expect(await store.spendChallenge("a", "n1", 5_000)).toEqual({ kind: "spent" });
    expect(await store.challenge("a", "n1")).toEqual({ kind: "spent" });
    expect(await store.spendChallenge("a", "n2", 5_000)).toEqual({ kind: "unknown" });
    const raw = root.openDB({ name: "ub-challenges" }).get("n1") as Record<string, unknown>;
    expect(raw).toEqual({ state: "spent", impi: "a", expiresAt: 10_000 });
    await store.close();
  });

  it("reports an expired nonce as stale, once, and stores no session for it", async () => {
    const { store } = openStore();
    await store.putChallenge("n1", challenge("a", 10_000));
    expect((await store.spendChallenge("a", "n1", 10_000, session("b1@bsf", "a", 20_000))).kind).toBe("stale");
    expect((await store.spendChallenge("a", "n1", 10_001)).kind).toBe("spent");
    expect(await store.session("b1@bsf", 0)).toBeUndefined();
    await store.close();
  });

  it("spending a fresh nonce stores the session given, superseding the IMPI's previous one", async () => {
    const { store } = openStore();
    await store.createSession(session("b1@bsf", "a", 20_000));
    await store.putChallenge("n1", challenge("a", 10_000));
    const spent = await store.spendChallenge("a", "n1", 5_000, session("b2@bsf", "a", 20_000));
    expect(spent).toMatchObject({ kind: "fresh", superseded: "b1@bsf" });
    expect(await store.session("b1@bsf", 0)).toBeUndefined();
    expect((await store.session("b2@bsf", 0))?.impi).toBe("a");
    await store.close();
  });

  it("of many concurrent spends of one nonce exactly one wins", async () => {
    const { store } = openStore();
    await store.putChallenge("n1", challenge("a", 10_000));
    const results = await Promise.all(Array.from({ length: 50 }, () => store.spendChallenge("a", "n1", 1)));
    expect(results.filter((r) => r.kind === "fresh")).toHaveLength(1);
    await store.close();
  });

  it("sweeps expired challenges after their tombstone time", async () => {
    const { store } = openStore(1_000);
    await store.putChallenge("old", challenge("a", 10_000));
    await store.putChallenge("new", challenge("b", 50_000));
    expect((await store.purgeExpired(10_999)).challenges).toBe(0);
    expect((await store.purgeExpired(11_000)).challenges).toBe(1);
    expect(await store.spendChallenge("a", "old", 0)).toEqual({ kind: "unknown" });
    expect((await store.spendChallenge("b", "new", 0)).kind).toBe("fresh");
    await store.close();
  });

  it("two processes sharing the environment never both win a nonce", async () => {
    const modulePath = resolve("dist/nf/bsf/store-lmdb.js");
    expect(existsSync(modulePath), "run `npx tsc -p .` first").toBe(true);
    const n = 1500;
    const { store } = openStore();
    await Promise.all(Array.from({ length: n }, (_, i) => store.putChallenge(`n${i}`, challenge("a", 1e15))));
    // both sides run this walker (the child gets its source), 4 spends in flight, starting together
    const spendAll = async (s: Pick<LmdbBsfStore, "spendChallenge">, count: number): Promise<number[]> => {
      const won: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < count) {
            const i = next++;
            if ((await s.spendChallenge("a", `n${i}`, 1)).kind === "fresh") won.push(i);
          }
        }),
      );
      return won;
    };
    const childCode = `
      const { LmdbBsfStore } = await import(${JSON.stringify(modulePath)});
      const s = LmdbBsfStore.open(${JSON.stringify(dir)}, 60000);
      process.stdout.write("ready\\n");
      await new Promise((r) => process.stdin.once("data", r));
      const won = await (${spendAll.toString()})(s, ${n});
      process.stdout.write(JSON.stringify(won));
      await s.close();
      process.exit(0);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", childCode], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    const ready = new Promise<void>((r) =>
      child.stdout.on("data", (c) => {
        out += c;
        if (out.startsWith("ready\n")) r();
      }),
    );
    await Promise.race([ready, new Promise((_, reject) => child.on("close", (c) => reject(new Error(`child exited ${c}`))))]);
    child.stdin.write("go\n");
    const mine = await spendAll(store, n);
    const watchdog = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await new Promise<number | null>((r) => child.on("close", r));
    clearTimeout(watchdog);
    expect(code).toBe(0);
    const theirs = JSON.parse(out.slice("ready\n".length)) as number[];
    expect(mine.length + theirs.length).toBe(n);
    expect(new Set([...mine, ...theirs]).size).toBe(n);
    console.log(`cross-process spends: this process won ${mine.length}, the other ${theirs.length}`);
    await store.close();
  });
});

describe("BSF store: sessions", () => {
  it("a new bootstrap of the same IMPI supersedes the old B-TID (TS 33.220 §4.5.2)", async () => {
    const { store } = openStore();
    expect(await store.createSession(session("b1@bsf", "alice", 10_000))).toBeUndefined();
    expect(await store.createSession(session("b2@bsf", "bob", 10_000))).toBeUndefined();
    expect(await store.createSession(session("b3@bsf", "alice", 20_000))).toBe("b1@bsf");
    expect(await store.session("b1@bsf", 0)).toBeUndefined();
    expect((await store.session("b3@bsf", 0))?.impi).toBe("alice");
    expect((await store.session("b2@bsf", 0))?.impi).toBe("bob");
    await store.close();
  });

  it("a TMPI resolves to its IMPI past its session's expiry, until the IMPI's next session (TS 33.220 §4.5.2)", async () => {
    const { store } = openStore();
    await store.createSession({ ...session("b1@bsf", "alice", 10_000), tmpi: "t1@tmpi.bsf.3gppnetwork.org" });
    await store.createSession({ ...session("b2@bsf", "bob", 10_000), tmpi: "t2@tmpi.bsf.3gppnetwork.org" });
    expect(await store.impiOfTmpi("t1@tmpi.bsf.3gppnetwork.org")).toBe("alice");
    await store.purgeExpired(20_000);
    expect(await store.session("b1@bsf", 20_000)).toBeUndefined();
    expect(await store.impiOfTmpi("t1@tmpi.bsf.3gppnetwork.org")).toBe("alice");
    // the next session of alice ends her TMPI, with a new one or without any
    await store.createSession({ ...session("b3@bsf", "alice", 30_000), tmpi: "t3@tmpi.bsf.3gppnetwork.org" });
    expect(await store.impiOfTmpi("t1@tmpi.bsf.3gppnetwork.org")).toBeUndefined();
    expect(await store.impiOfTmpi("t3@tmpi.bsf.3gppnetwork.org")).toBe("alice");
    await store.createSession(session("b4@bsf", "alice", 30_000));
    expect(await store.impiOfTmpi("t3@tmpi.bsf.3gppnetwork.org")).toBeUndefined();
    expect(await store.impiOfTmpi("t2@tmpi.bsf.3gppnetwork.org")).toBe("bob");
    await store.close();
  });

  it("expired sessions read as absent and are removed on read", async () => {
    const { root, store } = openStore();
    await store.createSession(session("b1@bsf", "alice", 10_000));
    expect(await store.session("b1@bsf", 9_999)).toBeDefined();
    expect(await store.session("b1@bsf", 10_000)).toBeUndefined();
    await root.committed;
    expect(root.openDB({ name: "sessions" }).get("b1@bsf")).toBeUndefined();
    expect(root.openDB({ name: "sessions-by-impi" }).get("alice")).toBeUndefined();
    await store.close();
  });

  it("the sweep removes exactly the expired sessions", async () => {
    const { root, store } = openStore();
    await store.createSession(session("b1@bsf", "alice", 10_000));
    await store.createSession(session("b2@bsf", "bob", 30_000));
    expect((await store.purgeExpired(9_999)).sessions).toBe(0);
    expect((await store.purgeExpired(20_000)).sessions).toBe(1);
    expect(root.openDB({ name: "sessions" }).get("b1@bsf")).toBeUndefined();
    expect((await store.session("b2@bsf", 20_000))?.impi).toBe("bob");
    expect((await store.purgeExpired(30_000)).sessions).toBe(1);
    expect(root.openDB({ name: "sessions" }).get("b2@bsf")).toBeUndefined();
    await store.close();
  });

  it("a session's version changes when it is replaced, and not otherwise", async () => {
    const { store } = openStore();
    await store.createSession(session("b1@bsf", "alice", 10_000));
    const v1 = (await store.versionedSession("b1@bsf", 0))!;
    expect(v1.session.impi).toBe("alice");
    expect(await store.isSessionVersion("b1@bsf", v1.version)).toBe(true);
    await store.createSession({ ...session("b1@bsf", "alice", 10_000), ks: new Uint8Array(32).fill(7) });
    expect(await store.isSessionVersion("b1@bsf", v1.version)).toBe(false);
    const v2 = (await store.versionedSession("b1@bsf", 0))!;
    expect(Buffer.from(v2.session.ks)).toEqual(Buffer.alloc(32, 7));
    expect(await store.isSessionVersion("b1@bsf", v2.version)).toBe(true);
    expect(await store.versionedSession("nope@bsf", 0)).toBeUndefined();
    // an expired session has no version to cache an answer under
    expect(await store.versionedSession("b1@bsf", 10_000)).toBeUndefined();
    await store.close();
  });
});

describe("NafRegistry", () => {
  const reg = new NafRegistry([
    { id: "a", token: "token-a", fqdns: ["naf.example.org"], gbaUAware: true },
    { id: "b", token: "token-b-longer", fqdns: ["other.example.org"] },
  ]);
  it("finds the NAF by bearer token and refuses anything else", () => {
    expect(reg.authenticate("Bearer token-a")?.id).toBe("a");
    expect(reg.authenticate("bearer   token-b-longer")?.id).toBe("b");
    expect(reg.authenticate(undefined)).toBeUndefined();
    expect(reg.authenticate("Bearer token-c")).toBeUndefined();
    expect(reg.authenticate("Basic dG9rZW4tYQ==")).toBeUndefined();
    expect(reg.authenticate("Bearer")).toBeUndefined();
    expect(reg.authenticate("Bearer token-a extra")).toBeUndefined();
  });
  it("lets a NAF ask only for its own FQDN, case-insensitively", () => {
    const a = reg.authenticate("Bearer token-a")!;
    expect(reg.mayAskFor(a, "naf.example.org")).toBe(true);
    expect(reg.mayAskFor(a, "NAF.Example.ORG")).toBe(true);
    expect(reg.mayAskFor(a, "other.example.org")).toBe(false);
  });
});

describe("relevantUss (TS 33.220 §4.4.6)", () => {
  const naf = (group?: string) => ({ id: "n", token: "t", fqdns: [], group });
  it("filters by requested GSIDs and by NAF group", () => {
    expect(relevantUss(GUSS, naf("pki"), undefined).map((u) => u.uss.gsId)).toEqual([1, 2]);
    expect(relevantUss(GUSS, naf(), undefined).map((u) => u.uss.gsId)).toEqual([2]);
    expect(relevantUss(GUSS, naf("pki"), [1]).map((u) => u.uss.gsId)).toEqual([1]);
    expect(relevantUss(GUSS, naf("pki"), [3]).map((u) => u.uss.gsId)).toEqual([]);
    expect(relevantUss(GUSS, naf("other"), []).map((u) => u.uss.gsId)).toEqual([2, 3]);
  });
});

describe("User-Agent product tokens (TS 24.109 A.3)", () => {
  it("finds 3gpp-gba-tmpi and 3gpp-gba-uicc as whole tokens", () => {
    const UB_TOKENS = [PRODUCT_TOKEN.GBA_TMPI, PRODUCT_TOKEN.GBA_UICC];
    expect(productTokens("Bootstrapping Client Agent; Release-6; 3gpp-gba-tmpi", UB_TOKENS)).toEqual(["3gpp-gba-tmpi"]);
    expect(productTokens("GBA-service; 0.1; 3gpp-gba-uicc", UB_TOKENS)).toEqual(["3gpp-gba-uicc"]);
    expect(productTokens("x 3GPP-GBA-TMPI 3gpp-gba-uicc", UB_TOKENS)).toEqual(["3gpp-gba-tmpi", "3gpp-gba-uicc"]);
    expect(productTokens("3gpp-gba-tmpix", UB_TOKENS)).toEqual([]);
    expect(productTokens(undefined, UB_TOKENS)).toEqual([]);
  });
});

describe("checkBsfConfig", () => {
  const base = () => structuredClone(defaultConfig().bsf);
  it("accepts the defaults", () => expect(() => checkBsfConfig(base())).not.toThrow());
  const cases: Array<[string, (b: ReturnType<typeof base>) => void, RegExp]> = [
    ["bad fqdn", (b) => (b.fqdn = "bsf example"), /bsf\.fqdn/],
    ["hssUrl not a URL", (b) => (b.hssUrl = "localhost:7001x y"), /bsf\.hssUrl/],
    ["hssUrl not http", (b) => (b.hssUrl = "ftp://h/"), /bsf\.hssUrl/],
    ["algorithm", (b) => (b.algorithm = "MD5" as "AKAv1-MD5"), /bsf\.algorithm/],
    ["nonceTtl 0", (b) => (b.nonceTtl = 0), /bsf\.nonceTtl/],
    ["sessionLifetime fractional", (b) => (b.sessionLifetime = 1.5), /bsf\.sessionLifetime/],
    ["short NAF token", (b) => (b.nafs[0].token = "x"), /bsf\.nafs\.0\.token/],
    ["shared NAF token", (b) => (b.nafs[1].token = b.nafs[0].token), /bsf\.nafs\.1\.token/],
    ["NAF without FQDNs", (b) => (b.nafs[0].fqdns = []), /bsf\.nafs\.0\.fqdns/],
  ];
  for (const [name, mutate, message] of cases) {
    it(`refuses ${name}`, () => {
      const b = base();
      mutate(b);
      expect(() => checkBsfConfig(b)).toThrow(ConfigError);
      expect(() => checkBsfConfig(b)).toThrow(message);
    });
  }
});
