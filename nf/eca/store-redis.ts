// The ECA's store on a Redis Cluster, shared by ECA replicas on several hosts. Keys
// (nf/common/store/redis-keys.ts):
//   {obu:<id>}:eca:binding     the VehicleBinding (JSON)
//   {msisdn:<d>}:eca:msisdn    → OBU ID (one SIM bound to one OBU)
//   {eca}:eca:obus             sorted set of OBU IDs (listing)
//   {cert:<serial>}:eca:cert   an issued certificate (JSON), SET NX: a serial is recorded once
//   {eca}:eca:certs            sorted set of serials by issue time (listing)
// A batch of bindings spans slots: its OBU and MSISDN keys are claimed first (SET NX with a
// lease), so a batch with a problem writes nothing; then the bindings are written, the claims
// made permanent and the replicas waited for. A process dying mid-batch may leave part of it
// (its claims expire). The CA's private key is never here: it comes from a file or a Secret
// (nf/eca/ca.ts).
import { randomBytes } from "node:crypto";
import type { RedisStore } from "../common/store/redis.js";
import { type BindingInput, BindingError, checkBatch, type LineProblem, sameBinding, type VehicleBinding } from "./bindings.js";
import type { EcaStore, IssuedCertificate, Page } from "./store.js";

/** a claim's value: neither a binding's JSON nor an OBU ID */
const CLAIM = "\u0000claim:";
const LEASE_MS = 60_000;
const WAIT_MS = 1000;

type Claim = { key: string; value: string };

export class RedisEcaStore implements EcaStore {
  constructor(private readonly redis: RedisStore) {}

  close(): Promise<void> {
    return this.redis.close();
  }

  private bindingKey(obuId: string): string {
    return this.redis.keys.key(`obu:${obuId}`, "eca", "binding");
  }
  private msisdnKey(msisdn: string): string {
    return this.redis.keys.key(`msisdn:${msisdn}`, "eca", "msisdn");
  }
  private certKey(serial: string): string {
    return this.redis.keys.key(`cert:${serial}`, "eca", "cert");
  }
  private index(kind: "obus" | "certs"): string {
    return this.redis.keys.key("eca", "eca", kind);
  }

  private static binding(v: Buffer | null): VehicleBinding | undefined {
    if (v === null) return undefined;
    const text = String(v);
    return text.startsWith(CLAIM) ? undefined : (JSON.parse(text) as VehicleBinding);
  }

  async bindingOf(obuId: string): Promise<VehicleBinding | undefined> {
    return RedisEcaStore.binding(await this.redis.get(this.bindingKey(obuId)));
  }

  async listBindings(): Promise<VehicleBinding[]> {
    const ids = await this.redis.call("ZRANGE", (c) => c.zrange(this.index("obus"), 0, -1));
    const found = await Promise.all(ids.map((id) => this.bindingOf(id)));
    return found.filter((b): b is VehicleBinding => b !== undefined);
  }

  /** The OBU a stored MSISDN key names, if that OBU's binding still holds the MSISDN (keys are hints). */
  /** OBU IDs in order (all scores are 0: the sorted set orders them by bytes), after `after`. */
  async bindingsPage(limit: number, after?: string): Promise<Page<VehicleBinding>> {
    const min = after === undefined ? "-" : `(${after}`;
    const ids = (await this.redis.call("ZRANGE", (c) =>
      c.call("ZRANGE", this.index("obus"), min, "+", "BYLEX", "LIMIT", 0, limit + 1),
    )) as string[];
    const found = await Promise.all(ids.slice(0, limit).map((id) => this.bindingOf(id)));
    const items = found.filter((b): b is VehicleBinding => b !== undefined);
    return ids.length > limit ? { items, next: ids[limit - 1] } : { items };
  }

  private async msisdnHolder(msisdn: string, value: Buffer): Promise<string | undefined> {
    const holder = String(value);
    if (holder.startsWith(CLAIM)) return "another batch being added";
    return (await this.bindingOf(holder))?.msisdn === msisdn ? holder : undefined;
  }

  async addBindings(
    rows: BindingInput[],
    now: Date,
    lines?: number[],
    earlier: LineProblem[] = [],
  ): Promise<{ added: number; unchanged: number }> {
    const { bindings, lines: bindingLines, problems } = checkBatch(rows, lines, earlier);
    const value = `${CLAIM}${randomBytes(12).toString("hex")}`;
    const lease = () => Date.now() + LEASE_MS;
    const claims: Claim[] = [];
    const fresh: BindingInput[] = [];
    // the store checks run even when the batch is already refused, so every problem is reported
    await Promise.all(
      bindings.map(async (b, i) => {
        const line = bindingLines[i];
        const obuKey = this.bindingKey(b.obuId);
        if (!(await this.redis.setIfAbsent(obuKey, value, lease()))) {
          const raw = await this.redis.get(obuKey);
          // claimed by this batch: an OBU twice in it, which checkBatch reported already
          if (raw !== null && String(raw) === value) return;
          const stored = RedisEcaStore.binding(raw);
          if (stored && sameBinding(stored, b)) return;
          problems.push({
            line,
            reason: stored
              ? `OBU ${b.obuId} is already bound to vehicle ${stored.vehicleId}, MSISDN ${stored.msisdn}`
              : `OBU ${b.obuId} is being bound by another batch`,
          });
          return;
        }
        claims.push({ key: obuKey, value });
        const msisdnKey = this.msisdnKey(b.msisdn);
        if (!(await this.redis.setIfAbsent(msisdnKey, value, lease()))) {
          const cur = await this.redis.get(msisdnKey);
          if (cur !== null && String(cur) === value) return; // an MSISDN twice in this batch (checkBatch)
          const holder = cur === null ? undefined : await this.msisdnHolder(b.msisdn, cur);
          // a key its OBU no longer backs is stale: taken over
          if (holder !== undefined || cur === null || !(await this.redis.compareAndSet(msisdnKey, cur, value, lease())).ok) {
            problems.push({ line, reason: `MSISDN ${b.msisdn} is already bound to OBU ${holder ?? "(changing)"}` });
            return;
          }
        }
        claims.push({ key: msisdnKey, value });
        fresh.push(b);
      }),
    );
    if (problems.length) {
      await Promise.all(claims.map((c) => this.redis.compareAndSet(c.key, c.value, null)));
      throw new BindingError(problems);
    }
    const createdAt = now.toISOString();
    await Promise.all(
      fresh.flatMap((b) => [
        this.redis.compareAndSet(this.bindingKey(b.obuId), value, JSON.stringify({ ...b, createdAt } satisfies VehicleBinding)),
        this.redis.compareAndSet(this.msisdnKey(b.msisdn), value, b.obuId),
      ]),
    );
    if (fresh.length > 0) {
      await this.redis.call("ZADD", (c) => c.zadd(this.index("obus"), ...fresh.flatMap((b) => [0, b.obuId])));
      await this.redis.awaitReplicas(WAIT_MS);
    }
    return { added: fresh.length, unchanged: bindings.length - fresh.length };
  }

  async recordCertificate(cert: IssuedCertificate): Promise<boolean> {
    const key = this.certKey(cert.serial);
    // listed first: a listing skips a serial whose record is missing
    await this.redis.call("ZADD", (c) => c.zadd(this.index("certs"), "NX", Date.parse(cert.issuedAt), cert.serial));
    if (!(await this.redis.setIfAbsent(key, JSON.stringify(cert)))) return false;
    await this.redis.awaitReplicas(WAIT_MS);
    return true;
  }

  /**
   * Newest first: by issue time (the score, ms), then serial, both descending; the cursor is
   * "<issuedAt> <serial>" of the last one shown, as the LMDB store's.
   */
  async certificatesPage(limit: number, after?: string): Promise<Page<IssuedCertificate>> {
    const key = this.index("certs");
    const cut = after?.lastIndexOf(" ") ?? -1;
    const cursor =
      after === undefined || cut < 0 ? undefined : { ms: Date.parse(after.slice(0, cut)), serial: after.slice(cut + 1) };
    const max = cursor === undefined || Number.isNaN(cursor.ms) ? "+inf" : String(cursor.ms);
    // members of the cursor's millisecond at or before the cursor come first in this order: skip them
    const same = max === "+inf" ? 0 : Number(await this.redis.call("ZCOUNT", (c) => c.zcount(key, max, max)));
    const flat = (await this.redis.call("ZRANGE", (c) =>
      c.call("ZRANGE", key, max, "-inf", "BYSCORE", "REV", "LIMIT", 0, same + limit + 1, "WITHSCORES"),
    )) as string[];
    const serials: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const [serial, ms] = [flat[i], Number(flat[i + 1])];
      if (cursor && ms === cursor.ms && serial >= cursor.serial) continue;
      serials.push(serial);
    }
    const found = await Promise.all(serials.slice(0, limit).map((s) => this.redis.get(this.certKey(s))));
    const items = found.filter((v): v is Buffer => v !== null).map((v) => JSON.parse(String(v)) as IssuedCertificate);
    const last = items.at(-1);
    return serials.length > limit && last ? { items, next: `${last.issuedAt} ${last.serial}` } : { items };
  }

  async listCertificates(): Promise<IssuedCertificate[]> {
    const serials = await this.redis.call("ZRANGE", (c) => c.zrange(this.index("certs"), 0, -1));
    const found = await Promise.all(serials.map((s) => this.redis.get(this.certKey(s))));
    const all = found.filter((v): v is Buffer => v !== null).map((v) => JSON.parse(String(v)) as IssuedCertificate);
    return all.sort((a, b) => a.issuedAt.localeCompare(b.issuedAt) || a.serial.localeCompare(b.serial));
  }
}
