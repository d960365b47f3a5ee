// Subscriber secrets at rest: AES-256-GCM (@noble/ciphers) under the master key, a random
// 12-byte nonce per sealed value (NIST SP 800-38D §8.2.2), the IMPI as additional
// authenticated data so a sealed K‖OPc cannot be moved to another subscriber's record.
// Opening uses node:crypto's AES-256-GCM (OpenSSL): the same algorithm and format, ~5× faster
// per record than @noble/ciphers, which matters when the key cache misses on every vector.
// The nonce comes from the OS CSPRNG, never from the injectable deps.randomBytes: a test that
// pins randomness must not make two records share a GCM nonce under one key.
import { createDecipheriv, randomBytes } from "node:crypto";
import { gcm } from "@noble/ciphers/aes.js";
import { concatBytes, constantTimeEqual } from "../../wire/bytes.js";
import { StoreError } from "../common/store.js";
import type { SubscriberData, SubscriberRecord } from "./subscriber.js";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();

export function aadOf(label: string): Uint8Array {
  return utf8.encode(label);
}

/** nonce ‖ ciphertext ‖ tag */
export function seal(masterKey: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
  const ct = gcm(masterKey, nonce, aad).encrypt(plaintext);
  const out = new Uint8Array(NONCE_BYTES + ct.length);
  out.set(nonce, 0);
  out.set(ct, NONCE_BYTES);
  return out;
}

/** The plaintext, or undefined when the tag does not verify (wrong key, wrong AAD, tampering). */
export function unseal(masterKey: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined;
  try {
    const d = createDecipheriv("aes-256-gcm", masterKey, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const head = d.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
    const tail = d.final();
    const plain = tail.length === 0 ? head : Buffer.concat([head, tail]);
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
  } catch {
    return undefined;
  }
}

/** msgpack stores a field that is present but undefined: drop them. */
function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

const KEY_CHECK_AAD = aadOf("gba-emu hss master key check v1");
const KEY_CHECK_PLAIN = utf8.encode("gba-emu hss master key check v1.");

/**
 * A subscriber's K ‖ OPc under the master key (nf/hss/master-key.ts), the IMPI as AAD. No I/O:
 * every store backend seals and opens records the same way.
 */
export class SubscriberSecrets {
  constructor(
    private readonly key: Uint8Array,
    /** where the master key came from, for the start-up log (never the key) */
    readonly source: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A record from validated data: K ‖ OPc sealed with the IMPI as AAD, a fresh rev. */
  seal(d: SubscriberData, prev?: SubscriberRecord): SubscriberRecord {
    const now = new Date(this.clock()).toISOString();
    return stripUndefined({
      impi: d.impi,
      imsi: d.imsi,
      msisdn: d.msisdn,
      impus: d.impus,
      secret: seal(this.key, aadOf(d.impi), concatBytes(d.k, d.opc)),
      keyInput: d.keyInput,
      amf: d.amf,
      milenage: d.milenage,
      uiccType: d.uiccType,
      lifeTime: d.lifeTime,
      guss: d.guss,
      sqnId: prev?.sqnId ?? 0,
      rev: randomBytes(8).toString("hex"),
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    });
  }

  /** K and OPc in the clear; a record that does not decrypt was tampered with or moved. */
  open(r: SubscriberRecord): { k: Uint8Array; opc: Uint8Array } {
    const plain = unseal(this.key, aadOf(r.impi), r.secret);
    if (plain?.length !== 32) throw new StoreError(`the keys of subscriber ${r.impi} do not decrypt: the record was altered`);
    return { k: plain.subarray(0, 16), opc: plain.subarray(16, 32) };
  }

  /** A fresh proof of the master key, stored once with a new store. */
  keyCheck(): Uint8Array {
    return seal(this.key, KEY_CHECK_AAD, KEY_CHECK_PLAIN);
  }

  /** Whether a stored proof was made with this master key. */
  provesKey(check: Uint8Array): boolean {
    const plain = unseal(this.key, KEY_CHECK_AAD, check);
    return plain !== undefined && constantTimeEqual(plain, KEY_CHECK_PLAIN);
  }
}
