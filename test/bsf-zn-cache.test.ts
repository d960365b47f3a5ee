// The Zn answer cache behind ZnProcedures, on a real LMDB session store: answers are reused only
// while the session stored under the B-TID is unchanged and unexpired, whoever changes the store
// (here a second handle on the same directory, as another BSF process would), and the cache stays
// bounded. Keys are recomputed with node:crypto (TS 33.220 B.2, B.3), independently of gba/keys.
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RootDatabase } from "lmdb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ZnClientConfig } from "../nf/bsf/config.js";
import { ProblemError } from "../nf/common/problem.js";
import { openNfStore } from "../nf/common/store.js";
import { type BootstrapSession, SessionStore } from "../nf/bsf/session-store.js";
import type { Guss } from "../wire/zh.js";
import { ANSWERS_PER_BTID } from "../nf/bsf/zn/answer-cache.js";
import { NafRegistry } from "../nf/bsf/zn/naf-auth.js";
import { ZnProcedures } from "../nf/bsf/zn/procedures.js";
import type { BootstrappingInfoRequest, BootstrappingInfoResponse } from "../wire/zn.js";

const NAF: ZnClientConfig = { id: "naf", token: "naf-token-1", fqdns: ["naf.example.org"] };
const UA = "0100000002";
const T0 = Date.UTC(2030, 0, 1, 12);
const GUSS: Guss = { bsfInfo: { uiccType: "GBA" }, ussList: [{ uss: { gsId: 1, gsType: 1 } }, { uss: { gsId: 2, gsType: 4 } }] };

const btidOf = (n: number) => `${Buffer.alloc(16, n).toString("base64")}@bsf.example.org`;

function session(n: number, impi: string, ksByte: number, expiresAt = T0 + 3_600_000): BootstrapSession {
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
function ksNaf(s: BootstrapSession, fqdn: string): string {
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
let roots: RootDatabase[];
let sessions: SessionStore;
/** the same LMDB directory through its own handle: what another BSF process sees and writes */
let other: SessionStore;
const clock = { now: T0 };
const open = () => {
  const root = openNfStore(dir, "bsf");
  roots.push(root);
  return new SessionStore(root);
};
const procedures = (nafs: ZnClientConfig[] = [NAF], capacity?: number) =>
  new ZnProcedures(sessions, new NafRegistry(nafs), () => clock.now, capacity);

/** LMDB readers see another handle's commit from their next read transaction, which lmdb-js starts per event-loop turn: as the next request would. */
const nextTurn = () => new Promise((r) => setTimeout(r, 2));

function refusal(f: () => unknown): ProblemError {
  try {
    f();
  } catch (err) {
    if (err instanceof ProblemError) return err;
    throw err;
  }
  throw new Error("expected a ProblemError");
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bsf-zn-cache-"));
  roots = [];
  sessions = open();
  other = open();
  clock.now = T0;
});
afterEach(async () => {
  for (const r of roots) await r.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ZnProcedures answer cache", () => {
  it("answers a repeated request from the cache, with the keys of the stored session", async () => {
    const s = session(1, "alice@ims.example.org", 7);
    await sessions.create(s);
    const zn = procedures();
    const first = zn.retrieveBody(NAF, request(1), serialize);
    expect(JSON.parse(first.toString("utf8")).meKeyMaterial).toBe(ksNaf(s, "naf.example.org"));
    expect(zn.cachedAnswers).toBe(1);
    // the same bytes, not derived again
    expect(zn.retrieveBody(NAF, request(1), serialize)).toBe(first);
  });

  it("refuses a cached B-TID once another process's bootstrap of the IMPI supersedes it", async () => {
    await sessions.create(session(1, "alice@ims.example.org", 7));
    const zn = procedures();
    zn.retrieveBody(NAF, request(1), serialize);
    zn.retrieveBody(NAF, request(1), serialize);
    expect(await other.create(session(2, "alice@ims.example.org", 8))).toBe(btidOf(1));
    await nextTurn();
    const r = refusal(() => zn.retrieveBody(NAF, request(1), serialize));
    expect(r.status).toBe(404);
    expect(r.cause_).toBe("BTID_NOT_FOUND");
    expect(zn.cachedAnswers).toBe(0);
    const next = JSON.parse(zn.retrieveBody(NAF, request(2), serialize).toString("utf8"));
    expect(next.meKeyMaterial).toBe(ksNaf(session(2, "alice@ims.example.org", 8), "naf.example.org"));
  });

  it("answers from the new session when another one is stored under the same B-TID (a pinned RAND)", async () => {
    await sessions.create(session(1, "alice@ims.example.org", 7));
    const zn = procedures();
    expect(JSON.parse(zn.retrieveBody(NAF, request(1), serialize).toString("utf8")).impi).toBe("alice@ims.example.org");
    const bob = session(1, "bob@ims.example.org", 9);
    await other.create(bob);
    await nextTurn();
    const answer = JSON.parse(zn.retrieveBody(NAF, request(1), serialize).toString("utf8"));
    expect(answer.impi).toBe("bob@ims.example.org");
    expect(answer.meKeyMaterial).toBe(ksNaf(bob, "naf.example.org"));
  });

  it("refuses a cached B-TID whose lifetime ended (pinned clock)", async () => {
    const s = session(1, "alice@ims.example.org", 7, T0 + 60_000);
    await sessions.create(s);
    const zn = procedures();
    const body = zn.retrieveBody(NAF, request(1), serialize);
    clock.now = s.expiresAt - 1;
    expect(zn.retrieveBody(NAF, request(1), serialize)).toBe(body);
    clock.now = s.expiresAt;
    expect(refusal(() => zn.retrieveBody(NAF, request(1), serialize)).status).toBe(404);
    expect(zn.cachedAnswers).toBe(0);
  });

  it("keeps answers per NAF, FQDN as sent, Ua protocol and GSID selection apart", async () => {
    const s = session(1, "alice@ims.example.org", 7);
    await sessions.create(s);
    const twin: ZnClientConfig = { id: "naf", token: "twin-token-2", fqdns: ["twin.example.org"] };
    const zn = procedures([NAF, twin]);
    const lower = JSON.parse(zn.retrieveBody(NAF, request(1), serialize).toString("utf8"));
    // FQDNs are authorised case-insensitively but enter the KDF as sent (TS 33.220 B.3)
    const upper = JSON.parse(
      zn.retrieveBody(NAF, request(1, { nafId: { nafFqdn: "NAF.Example.ORG", uaSecProtId: UA } }), serialize).toString("utf8"),
    );
    expect(lower.meKeyMaterial).toBe(ksNaf(s, "naf.example.org"));
    expect(upper.meKeyMaterial).toBe(ksNaf(s, "NAF.Example.ORG"));
    const one = JSON.parse(zn.retrieveBody(NAF, request(1, { gsIds: [2] }), serialize).toString("utf8"));
    expect(one.ussList).toEqual([{ uss: { gsId: 2, gsType: 4 } }]);
    expect(JSON.parse(zn.retrieveBody(NAF, request(1), serialize).toString("utf8")).ussList).toHaveLength(2);
    // another NAF configuration with the same id gets no answer meant for the first
    expect(refusal(() => zn.retrieveBody(twin, request(1), serialize)).status).toBe(403);
  });

  it("stays bounded: oldest B-TIDs first, a few answers per B-TID, nothing for refused requests", async () => {
    for (let n = 1; n <= 10; n++) await sessions.create(session(n, `u${n}@ims.example.org`, n));
    const zn = procedures([NAF], 4);
    for (let n = 1; n <= 10; n++) zn.retrieveBody(NAF, request(n), serialize);
    expect(zn.cachedAnswers).toBe(4);
    // the newest are the ones kept: answered again without deriving (same bytes)
    const kept = zn.retrieveBody(NAF, request(10), serialize);
    expect(zn.retrieveBody(NAF, request(10), serialize)).toBe(kept);

    const many = procedures([NAF], 100);
    for (let g = 0; g < 3 * ANSWERS_PER_BTID; g++) many.retrieveBody(NAF, request(1, { gsIds: [g] }), serialize);
    expect(many.cachedAnswers).toBe(ANSWERS_PER_BTID);
    for (let n = 100; n < 200; n++) expect(refusal(() => many.retrieveBody(NAF, request(n), serialize)).status).toBe(404);
    expect(many.cachedAnswers).toBe(ANSWERS_PER_BTID);
  });
});
