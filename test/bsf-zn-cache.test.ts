// The Zn answer cache behind ZnProcedures, on a real session store (LMDB, or the Redis Cluster in
// the vitest project "redis"): answers are reused only while the session stored under the B-TID is
// unchanged and unexpired, whoever changes the store (here a second handle on the same store, as
// another BSF process or replica would), and the cache stays bounded. Keys are recomputed with node:crypto (TS 33.220 B.2, B.3), independently of gba/keys.
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BSF_CAUSES } from "../nf/bsf/causes.js";
import type { ZnClientConfig } from "../nf/bsf/config.js";
import { NafRegistry } from "../nf/bsf/naf-registry.js";
import { type ZnRefusal, ZnProcedures } from "../nf/bsf/procedures/zn.js";
import type { BsfSession, BsfStore } from "../nf/bsf/store.js";
import { openBsfStore } from "../nf/bsf/store-open.js";
import { ANSWERS_PER_BTID } from "../nf/bsf/zn-answer-cache.js";
import type { Guss } from "../wire/zh.js";
import type { BootstrappingInfoRequest, BootstrappingInfoResponse } from "../wire/zn.js";
import { testStore } from "./helpers/store-backend.js";

const NAF: ZnClientConfig = { id: "naf", token: "naf-token-1", fqdns: ["naf.example.org"] };
const UA = "0100000002";
const T0 = Date.UTC(2030, 0, 1, 12);
const UE_IDS = [{ ueId: "sip:a@example.org" }];
const GUSS: Guss = {
  bsfInfo: { uiccType: "GBA" },
  ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: UE_IDS } }, { uss: { gsId: 2, gsType: 4, ueIds: UE_IDS } }],
};

const btidOf = (n: number) => `${Buffer.alloc(16, n).toString("base64")}@bsf.example.org`;

function session(n: number, impi: string, ksByte: number, expiresAt = T0 + 3_600_000): BsfSession {
  return {
    btid: btidOf(n),
    impi,
    ks: new Uint8Array(32).fill(ksByte),
    rand: new Uint8Array(16).fill(n),
    createdAt: T0,
    expiresAt,
    uiccType: "GBA",
    guss: GUSS,
  };
}

/** TS 33.220 B.3 Ks_NAF written out: HMAC-SHA-256(Ks, 01 ‖ "gba-me" ‖ L ‖ RAND ‖ L ‖ IMPI ‖ L ‖ NAF_Id ‖ L). */
function ksNaf(s: BsfSession, fqdn: string): string {
  const param = (b: Buffer) => Buffer.concat([b, Buffer.from([b.length >> 8, b.length & 0xff])]);
  const input = Buffer.concat([
    Buffer.from([0x01]),
    param(Buffer.from("gba-me")),
    param(Buffer.from(s.rand)),
    param(Buffer.from(s.impi)),
    param(Buffer.concat([Buffer.from(fqdn), Buffer.from(UA, "hex")])),
  ]);
  return createHmac("sha256", s.ks).update(input).digest("hex");
}

const request = (n: number, extra: Partial<BootstrappingInfoRequest> = {}): BootstrappingInfoRequest => ({
  btId: btidOf(n),
  nafId: { nafFqdn: "naf.example.org", uaSecProtId: UA },
  ...extra,
});

const serialize = (r: BootstrappingInfoResponse) => JSON.stringify(r);

let dir: string;
let stores: BsfStore[];
let sessions: BsfStore;
/** the same store through its own handle: what another BSF process or replica sees and writes */
let other: BsfStore;
const clock = { now: T0 };
const open = async () => {
  const store = await openBsfStore({ data: dir, store: testStore(dir) }, 60_000);
  stores.push(store);
  return store;
};
const procedures = (nafs: ZnClientConfig[] = [NAF], capacity?: number) =>
  new ZnProcedures(sessions, new NafRegistry(nafs), () => clock.now, capacity);

/** LMDB readers see another handle's commit from their next read transaction, which lmdb-js starts per event-loop turn: as the next request would. */
const nextTurn = () => new Promise((r) => setTimeout(r, 2));

/** The 200 body of a Zn request. */
async function body(zn: ZnProcedures, naf: ZnClientConfig, req: BootstrappingInfoRequest): Promise<Buffer> {
  const out = await zn.retrieve(naf, req, serialize);
  if (out.kind !== "delivered") throw new Error(`expected an answer, got ${out.cause}`);
  return out.body;
}

const answer = async (zn: ZnProcedures, naf: ZnClientConfig, req: BootstrappingInfoRequest) =>
  JSON.parse((await body(zn, naf, req)).toString("utf8"));

/** The refusal of a Zn request, with the status the route answers it with. */
async function refusal(
  zn: ZnProcedures,
  naf: ZnClientConfig,
  req: BootstrappingInfoRequest,
): Promise<ZnRefusal & { status: number }> {
  const out = await zn.retrieve(naf, req, serialize);
  if (out.kind !== "refused") throw new Error("expected a refusal");
  return { ...out, status: BSF_CAUSES[out.cause] };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "bsf-zn-cache-"));
  stores = [];
  sessions = await open();
  other = await open();
  clock.now = T0;
});
afterEach(async () => {
  for (const s of stores) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ZnProcedures answer cache", () => {
  it("answers a repeated request from the cache, with the keys of the stored session", async () => {
    const s = session(1, "alice@ims.example.org", 7);
    await sessions.createSession(s);
    const zn = procedures();
    const first = await body(zn, NAF, request(1));
    expect(JSON.parse(first.toString("utf8")).meKeyMaterial).toBe(ksNaf(s, "naf.example.org"));
    expect(zn.cachedAnswers).toBe(1);
    // the same bytes, not derived again
    expect(await body(zn, NAF, request(1))).toBe(first);
  });

  it("refuses a cached B-TID once another process's bootstrap of the IMPI supersedes it", async () => {
    await sessions.createSession(session(1, "alice@ims.example.org", 7));
    const zn = procedures();
    await body(zn, NAF, request(1));
    await body(zn, NAF, request(1));
    expect(await other.createSession(session(2, "alice@ims.example.org", 8))).toBe(btidOf(1));
    await nextTurn();
    const r = await refusal(zn, NAF, request(1));
    expect(r.status).toBe(404);
    expect(r.cause).toBe("BTID_NOT_FOUND");
    expect(zn.cachedAnswers).toBe(0);
    const next = await answer(zn, NAF, request(2));
    expect(next.meKeyMaterial).toBe(ksNaf(session(2, "alice@ims.example.org", 8), "naf.example.org"));
  });

  it("reads the store once per lookup: the session with its version when cold, the version when cached", async () => {
    await sessions.createSession(session(1, "alice@ims.example.org", 7));
    const reads: string[] = [];
    // every store method the procedures call, by name (on Redis each is one round trip once the B-TID's IMPI is known)
    const counted = new Proxy(sessions, {
      get(target, name, receiver) {
        const v = Reflect.get(target, name, receiver);
        return typeof v === "function"
          ? (...args: unknown[]) => {
              reads.push(String(name));
              return v.apply(target, args);
            }
          : v;
      },
    });
    const zn = new ZnProcedures(counted, new NafRegistry([NAF]), () => clock.now);
    await body(zn, NAF, request(1));
    expect(reads).toEqual(["versionedSession"]);
    reads.length = 0;
    await body(zn, NAF, request(1));
    expect(reads).toEqual(["isSessionVersion"]);
  });

  it("answers from the new session when another one is stored under the same B-TID (a pinned RAND)", async () => {
    await sessions.createSession(session(1, "alice@ims.example.org", 7));
    const zn = procedures();
    expect((await answer(zn, NAF, request(1))).impi).toBe("alice@ims.example.org");
    const bob = session(1, "bob@ims.example.org", 9);
    await other.createSession(bob);
    await nextTurn();
    const fromBob = await answer(zn, NAF, request(1));
    expect(fromBob.impi).toBe("bob@ims.example.org");
    expect(fromBob.meKeyMaterial).toBe(ksNaf(bob, "naf.example.org"));
  });

  it("refuses a cached B-TID whose lifetime ended (pinned clock)", async () => {
    const s = session(1, "alice@ims.example.org", 7, T0 + 60_000);
    await sessions.createSession(s);
    const zn = procedures();
    const first = await body(zn, NAF, request(1));
    clock.now = s.expiresAt - 1;
    expect(await body(zn, NAF, request(1))).toBe(first);
    clock.now = s.expiresAt;
    expect((await refusal(zn, NAF, request(1))).status).toBe(404);
    expect(zn.cachedAnswers).toBe(0);
  });

  it("keeps answers per NAF, FQDN as sent, Ua protocol and GSID selection apart", async () => {
    const s = session(1, "alice@ims.example.org", 7);
    await sessions.createSession(s);
    const twin: ZnClientConfig = { id: "naf", token: "twin-token-2", fqdns: ["twin.example.org"] };
    const zn = procedures([NAF, twin]);
    const lower = await answer(zn, NAF, request(1));
    // FQDNs are authorised case-insensitively but enter the KDF as sent (TS 33.220 B.3)
    const upper = await answer(zn, NAF, request(1, { nafId: { nafFqdn: "NAF.Example.ORG", uaSecProtId: UA } }));
    expect(lower.meKeyMaterial).toBe(ksNaf(s, "naf.example.org"));
    expect(upper.meKeyMaterial).toBe(ksNaf(s, "NAF.Example.ORG"));
    const one = await answer(zn, NAF, request(1, { gsIds: [2] }));
    expect(one.ussList).toEqual([{ uss: { gsId: 2, gsType: 4, ueIds: UE_IDS } }]);
    expect((await answer(zn, NAF, request(1))).ussList).toHaveLength(2);
    // another NAF configuration with the same id gets no answer meant for the first
    expect((await refusal(zn, twin, request(1))).status).toBe(403);
  });

  it("shares an answer between the configured nodes of one NAF, never with a NAF not allowed its FQDN", async () => {
    const s = session(1, "alice@ims.example.org", 7);
    await sessions.createSession(s);
    // one NAF run as two nodes (two Diameter Origin-Hosts, or two tokens): two bsf.nafs entries
    const nodeA: ZnClientConfig = {
      id: "naf-a",
      token: "naf-token-a",
      fqdns: ["naf.example.org"],
      originHost: "a.naf.example.org",
    };
    const nodeB: ZnClientConfig = {
      id: "naf-b",
      token: "naf-token-b",
      fqdns: ["NAF.example.org"],
      originHost: "b.naf.example.org",
    };
    const grouped: ZnClientConfig = { id: "naf-g", token: "naf-token-g", fqdns: ["naf.example.org"], group: "g1" };
    const aware: ZnClientConfig = { id: "naf-u", token: "naf-token-u", fqdns: ["naf.example.org"], gbaUAware: true };
    const other: ZnClientConfig = { id: "other", token: "other-token", fqdns: ["other.example.org"] };
    const zn = procedures([nodeA, nodeB, grouped, aware, other]);
    const first = await body(zn, nodeA, request(1));
    // the same NAF_Id and settings: the same bytes, derived once (TS 33.220 B.3: Ks_NAF depends on NAF_Id only)
    expect(await body(zn, nodeB, request(1))).toBe(first);
    expect(zn.cachedAnswers).toBe(1);
    expect(JSON.parse(first.toString("utf8")).meKeyMaterial).toBe(ksNaf(s, "naf.example.org"));
    // a NAF not allowed naf.example.org is refused although an answer for it is cached (TS 33.220 §4.4.3)
    const refused = await refusal(zn, other, request(1));
    expect([refused.status, refused.cause]).toEqual([403, "NAF_NOT_AUTHORIZED"]);
    // another NAF group (USS filtering, §4.4.6) or GBA_U awareness (§5.3.3) is an answer of its own
    await body(zn, grouped, request(1));
    await body(zn, aware, request(1, { gbaUAware: true }));
    expect(zn.cachedAnswers).toBe(3);
    // the GBA_U-aware NAF asking without the indicator gets the shared GBA_ME answer
    expect(await body(zn, aware, request(1))).toBe(first);
    expect(zn.cachedAnswers).toBe(3);
  });

  it("stays bounded: oldest B-TIDs first, a few answers per B-TID, nothing for refused requests", async () => {
    for (let n = 1; n <= 10; n++) await sessions.createSession(session(n, `u${n}@ims.example.org`, n));
    const zn = procedures([NAF], 4);
    for (let n = 1; n <= 10; n++) await body(zn, NAF, request(n));
    expect(zn.cachedAnswers).toBe(4);
    // the newest are the ones kept: answered again without deriving (same bytes)
    const kept = await body(zn, NAF, request(10));
    expect(await body(zn, NAF, request(10))).toBe(kept);

    const many = procedures([NAF], 100);
    for (let g = 0; g < 3 * ANSWERS_PER_BTID; g++) await body(many, NAF, request(1, { gsIds: [g] }));
    expect(many.cachedAnswers).toBe(ANSWERS_PER_BTID);
    for (let n = 100; n < 200; n++) expect((await refusal(many, NAF, request(n))).status).toBe(404);
    expect(many.cachedAnswers).toBe(ANSWERS_PER_BTID);
  });
});
