// Ua server nonces (stateless HMAC) and the bounded nonce-count tracker (RFC 7616 §5.4).
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createNonceIssuer } from "../gba/digest/nonce.js";
import { NonceCounter } from "../nf/naf/store-memory.js";

const secret = new Uint8Array(32).fill(3);

function issuer(clock: () => number) {
  let n = 0;
  return createNonceIssuer({
    secret,
    ttlSeconds: 60,
    fqdn: "naf.example.org",
    clock,
    randomBytes: (len) => new Uint8Array(len).fill(++n),
  });
}

describe("nonce issuer", () => {
  it("is base64(timestamp ‖ random ‖ HMAC-SHA-256(secret, timestamp ‖ random ‖ FQDN)[0..16])", () => {
    const t = 1_700_000_000_123;
    const nonce = issuer(() => t).issue();
    const raw = Buffer.from(nonce, "base64");
    expect(raw).toHaveLength(36);
    expect(raw.readBigUInt64BE(0)).toBe(BigInt(t));
    expect(raw.subarray(8, 20)).toEqual(Buffer.alloc(12, 1));
    const mac = createHmac("sha256", secret).update(raw.subarray(0, 20)).update("naf.example.org").digest().subarray(0, 16);
    expect(raw.subarray(20)).toEqual(mac);
  });

  it("accepts its own nonces within the TTL, calls them stale after, and refuses others", () => {
    let now = 1_700_000_000_000;
    const iss = issuer(() => now);
    const nonce = iss.issue();
    expect(iss.check(nonce)).toEqual({ ok: true, issuedAt: 1_700_000_000_000 });
    now += 60_000;
    expect(iss.check(nonce).ok).toBe(true);
    now += 1;
    expect(iss.check(nonce)).toEqual({ ok: false, reason: "stale" });
    const other = createNonceIssuer({
      secret: new Uint8Array(32),
      ttlSeconds: 60,
      fqdn: "naf.example.org",
      clock: () => now,
      randomBytes: (l) => new Uint8Array(l),
    });
    expect(iss.check(other.issue())).toEqual({ ok: false, reason: "invalid" });
    const rebound = createNonceIssuer({
      secret,
      ttlSeconds: 60,
      fqdn: "eca.example",
      clock: () => now,
      randomBytes: (l) => new Uint8Array(l),
    });
    expect(iss.check(rebound.issue())).toEqual({ ok: false, reason: "invalid" });
    for (const junk of ["", "abc", "x".repeat(48), `${nonce}=`, nonce.slice(0, 47)]) expect(iss.check(junk).ok).toBe(false);
  });

  it("refuses a short secret", () => {
    expect(() =>
      createNonceIssuer({
        secret: new Uint8Array(8),
        ttlSeconds: 1,
        fqdn: "a",
        clock: Date.now,
        randomBytes: (l) => new Uint8Array(l),
      }),
    ).toThrow(/16/);
  });
});

describe("nonce-count tracker", () => {
  it("accepts only a nonce-count above the highest seen per nonce", () => {
    const c = new NonceCounter(60_000, 10, () => 1000);
    expect(c.use("n1", 1000, 1)).toBe("ok");
    expect(c.use("n1", 1000, 1)).toBe("replay");
    expect(c.use("n1", 1000, 3)).toBe("ok");
    expect(c.use("n1", 1000, 2)).toBe("replay");
    expect(c.use("n2", 1000, 1)).toBe("ok");
  });

  it("stays bounded: a dropped nonce becomes stale, never replayable", () => {
    let now = 10_000;
    const c = new NonceCounter(60_000, 3, () => now);
    for (let i = 1; i <= 3; i++) expect(c.use(`n${i}`, 1000 + i, 1)).toBe("ok");
    expect(c.use("n4", 1004, 1)).toBe("ok");
    expect(c.size).toBe(3);
    expect(c.use("n1", 1001, 2)).toBe("stale"); // evicted: refused although nc is higher
    expect(c.use("n1", 1001, 1)).toBe("stale");
    expect(c.use("n5", 1000, 1)).toBe("stale"); // issued before the evicted one
    expect(c.use("n3", 1003, 2)).toBe("ok");
    now += 70_000; // everything expired: dropped without raising the floor further
    expect(c.use("n6", 75_000, 1)).toBe("ok");
    expect(c.size).toBe(1);
  });
});
