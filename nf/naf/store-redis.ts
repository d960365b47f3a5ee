// The NAF's nonce-counts on a Redis Cluster, shared by NAF replicas on several hosts (RFC 7616
// §3.4, §5.4: each nc above the last one seen with that nonce): the highest nc of a nonce is
// raised in one script on the nonce's own slot ({<nonce>}:naf:nc), and expires with the nonce.
// The replicas also share the HMAC secret of their nonces, so a nonce one replica issued
// verifies on the others: created once per NAF FQDN ({naf:<fqdn>}:naf:nonce-secret, SET NX) and read by every
// replica at start. It only authenticates nonces (a client cannot mint one or stretch its
// lifetime); no key or password derives from it.
import { randomBytes } from "node:crypto";
import type { Clock } from "../../wire/deps.js";
import { StoreError } from "../common/store.js";
import type { RedisStore } from "../common/store/redis.js";
import type { NonceCountStore, NonceUse } from "./store.js";

const SECRET_BYTES = 32;

export class RedisNonceCountStore implements NonceCountStore {
  constructor(
    private readonly redis: RedisStore,
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  async use(nonce: string, issuedAt: number, nc: number): Promise<NonceUse> {
    if (this.clock() - issuedAt > this.ttlMs) return "stale";
    const raised = await this.redis.raiseTo(this.redis.keys.key(nonce, "naf", "nc"), nc, issuedAt + this.ttlMs);
    return raised ? "ok" : "replay";
  }

  /** The nonce HMAC secret every replica of the NAF `fqdn` shares (created by the first one to ask). */
  async sharedNonceSecret(fqdn: string): Promise<Uint8Array> {
    const key = this.redis.keys.key(`naf:${fqdn}`, "naf", "nonce-secret");
    await this.redis.setIfAbsent(key, randomBytes(SECRET_BYTES));
    const secret = await this.redis.get(key);
    if (secret?.length !== SECRET_BYTES) throw new StoreError(`the NAF nonce secret in the Redis store is damaged (${key})`);
    return new Uint8Array(secret);
  }

  close(): Promise<void> {
    return this.redis.close();
  }
}
