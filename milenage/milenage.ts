// MILENAGE algorithm set, 3GPP TS 35.206 §4 (f1, f1*, f2, f3, f4, f5, f5*), TS 35.205.
import { type AesBackend, aes128Encryptor, aes128InPlace, type InPlaceBlockCipher } from "./aes.js";
import { xorOctets } from "./octets.js";

/** Operator constants r1..r5 (rotation in bits, multiple of 8 here) and c1..c5 (16 bytes). */
export interface MilenageConstants {
  r: readonly [number, number, number, number, number];
  c: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
}

function lsbConstant(v: number): Uint8Array {
  const c = new Uint8Array(16);
  c[15] = v;
  return c;
}

/** TS 35.206 §4.1 defaults: r1=64 r2=0 r3=32 r4=64 r5=96; c1=0 c2=1 c3=2 c4=4 c5=8. */
export const DEFAULT_CONSTANTS: MilenageConstants = Object.freeze({
  r: [64, 0, 32, 64, 96] as const,
  c: [lsbConstant(0), lsbConstant(1), lsbConstant(2), lsbConstant(4), lsbConstant(8)] as const,
});

const DEFAULT_C: readonly Uint8Array[] = DEFAULT_CONSTANTS.c.map((c) => c.slice());
const DEFAULT_SHIFT: readonly number[] = DEFAULT_CONSTANTS.r.map((r) => (r / 8) % 16);

/** Dummy AMF used for MAC-S in AUTS (TS 33.102 §6.3.3: AMF* = 0x0000). */
export const RESYNC_AMF: Uint8Array = new Uint8Array(2);

export interface MilenageOptions {
  constants?: MilenageConstants;
  aes?: AesBackend;
}

function validateConstants(c: MilenageConstants): void {
  for (const r of c.r) {
    if (!Number.isInteger(r) || r < 0 || r > 127 || r % 8 !== 0) {
      throw new RangeError(`Milenage r constant ${r} must be a multiple of 8 in 0..120`);
    }
  }
  for (const cc of c.c) if (cc.length !== 16) throw new RangeError("Milenage c constants must be 16 bytes");
}

/** OPc = OP ⊕ E_K(OP) (TS 35.206 §4.1). */
export function computeOpc(k: Uint8Array, op: Uint8Array, backend?: AesBackend): Uint8Array {
  if (k.length !== 16) throw new RangeError(`K must be 16 bytes, got ${k.length}`);
  if (op.length !== 16) throw new RangeError(`OP must be 16 bytes, got ${op.length}`);
  return xorOctets(aes128Encryptor(k, backend)(op), op);
}

export interface F2345 {
  /** f2, RES / XRES (8 bytes) */
  res: Uint8Array;
  /** f3, CK (16 bytes) */
  ck: Uint8Array;
  /** f4, IK (16 bytes) */
  ik: Uint8Array;
  /** f5, AK (6 bytes) */
  ak: Uint8Array;
}

/**
 * One subscriber's MILENAGE instance: K expanded once, OPc fixed.
 * TEMP = E_K(RAND ⊕ OPc); OUT1 = E_K(TEMP ⊕ rot(IN1 ⊕ OPc, r1) ⊕ c1) ⊕ OPc;
 * OUTk = E_K(rot(TEMP ⊕ OPc, rk) ⊕ ck) ⊕ OPc, k = 2..5 (TS 35.206 §4.1).
 * rot(x, r) rotates towards the most significant bit: byte i of the result is byte
 * (i + r/8) mod 16 of x. Intermediate values live in per-instance buffers (every method is
 * synchronous, so calls never interleave); only the returned outputs are allocated.
 */
export class Milenage {
  readonly opc: Uint8Array;
  private readonly aes: InPlaceBlockCipher;
  /** c1..c5, copied so later changes by the caller cannot alter this instance */
  private readonly c: readonly Uint8Array[];
  /** r1..r5 as byte rotations */
  private readonly shift: readonly number[];
  private readonly temp = new Uint8Array(16);
  /** TEMP ⊕ OPc, the input of OUT2..OUT5 before rotation */
  private readonly tempXorOpc = new Uint8Array(16);
  private readonly in1 = new Uint8Array(16);

  constructor(k: Uint8Array, opc: Uint8Array, options: MilenageOptions = {}) {
    if (k.length !== 16) throw new RangeError(`K must be 16 bytes, got ${k.length}`);
    if (opc.length !== 16) throw new RangeError(`OPc must be 16 bytes, got ${opc.length}`);
    const constants = options.constants;
    if (constants) {
      validateConstants(constants);
      this.c = constants.c.map((c) => c.slice());
      this.shift = constants.r.map((r) => (r / 8) % 16);
    } else {
      // read-only here: one copy for every instance (an HSS builds one per key-cache miss)
      this.c = DEFAULT_C;
      this.shift = DEFAULT_SHIFT;
    }
    this.aes = aes128InPlace(k, options.aes);
    this.opc = opc.slice();
  }

  static fromOp(k: Uint8Array, op: Uint8Array, options: MilenageOptions = {}): Milenage {
    return new Milenage(k, computeOpc(k, op, options.aes), options);
  }

  /** f1 (MAC-A) and f1* (MAC-S): first and second half of OUT1. */
  f1Both(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): { macA: Uint8Array; macS: Uint8Array } {
    this.computeTemp(rand);
    this.encryptOut1(sqn, amf);
    return { macA: this.take(0, 8), macS: this.take(8, 8) };
  }

  /** f1: network authentication code MAC-A. */
  f1(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): Uint8Array {
    this.computeTemp(rand);
    this.encryptOut1(sqn, amf);
    return this.take(0, 8);
  }

  /** f1*: resynchronisation authentication code MAC-S. */
  f1star(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): Uint8Array {
    this.computeTemp(rand);
    this.encryptOut1(sqn, amf);
    return this.take(8, 8);
  }

  /** f2 (RES = OUT2[64..127]), f3 (CK = OUT3), f4 (IK = OUT4), f5 (AK = OUT2[0..47]). */
  f2345(rand: Uint8Array): F2345 {
    this.computeTemp(rand);
    return this.f2345FromTemp();
  }

  /** f5*: resynchronisation anonymity key AK* = OUT5[0..47]. */
  f5star(rand: Uint8Array): Uint8Array {
    this.computeTemp(rand);
    this.encryptOutK(5);
    return this.take(0, 6);
  }

  /** Everything an authentication vector needs, with TEMP computed once (5 AES blocks). */
  vector(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): F2345 & { macA: Uint8Array; macS: Uint8Array } {
    this.computeTemp(rand);
    this.encryptOut1(sqn, amf);
    const macA = this.take(0, 8);
    const macS = this.take(8, 8);
    const { res, ck, ik, ak } = this.f2345FromTemp();
    return { res, ck, ik, ak, macA, macS };
  }

  /** f1* and f5* together, as AUTS build and verify need (3 AES blocks). */
  resync(rand: Uint8Array, sqnMs: Uint8Array): { macS: Uint8Array; akStar: Uint8Array } {
    this.computeTemp(rand);
    this.encryptOut1(sqnMs, RESYNC_AMF);
    const macS = this.take(8, 8);
    this.encryptOutK(5);
    return { macS, akStar: this.take(0, 6) };
  }

  /** f5 alone (AK), as the USIM needs it before it can read SQN (TS 33.102 §6.3.3). */
  f5(rand: Uint8Array): Uint8Array {
    this.computeTemp(rand);
    this.encryptOutK(2);
    return this.take(0, 6);
  }

  private f2345FromTemp(): F2345 {
    this.encryptOutK(2);
    const res = this.take(8, 8);
    const ak = this.take(0, 6);
    this.encryptOutK(3);
    const ck = this.take(0, 16);
    this.encryptOutK(4);
    return { res, ck, ik: this.take(0, 16), ak };
  }

  /** TEMP = E_K(RAND ⊕ OPc). */
  private computeTemp(rand: Uint8Array): void {
    if (rand.length !== 16) throw new RangeError(`RAND must be 16 bytes, got ${rand.length}`);
    const { block } = this.aes;
    const { opc, temp, tempXorOpc } = this;
    for (let i = 0; i < 16; i++) block[i] = rand[i] ^ opc[i];
    this.aes.encrypt();
    for (let i = 0; i < 16; i++) {
      temp[i] = block[i];
      tempXorOpc[i] = block[i] ^ opc[i];
    }
  }

  /** Leaves E_K(TEMP ⊕ rot(IN1 ⊕ OPc, r1) ⊕ c1) in the cipher block; IN1 = SQN ‖ AMF ‖ SQN ‖ AMF. */
  private encryptOut1(sqn: Uint8Array, amf: Uint8Array): void {
    if (sqn.length !== 6) throw new RangeError(`SQN must be 6 bytes, got ${sqn.length}`);
    if (amf.length !== 2) throw new RangeError(`AMF must be 2 bytes, got ${amf.length}`);
    const in1 = this.in1;
    for (let i = 0; i < 6; i++) in1[i] = in1[i + 8] = sqn[i];
    in1[6] = in1[14] = amf[0];
    in1[7] = in1[15] = amf[1];
    const { block } = this.aes;
    const { opc, temp } = this;
    const c = this.c[0];
    const s = this.shift[0];
    for (let i = 0; i < 16; i++) {
      const j = (i + s) & 15;
      block[i] = in1[j] ^ opc[j] ^ temp[i] ^ c[i];
    }
    this.aes.encrypt();
  }

  /** Leaves E_K(rot(TEMP ⊕ OPc, rk) ⊕ ck) in the cipher block, k = 2..5. */
  private encryptOutK(k: 2 | 3 | 4 | 5): void {
    const { block } = this.aes;
    const x = this.tempXorOpc;
    const c = this.c[k - 1];
    const s = this.shift[k - 1];
    for (let i = 0; i < 16; i++) block[i] = x[(i + s) & 15] ^ c[i];
    this.aes.encrypt();
  }

  /** Bytes from..from+length of OUTk = cipher block ⊕ OPc, as a fresh array. */
  private take(from: number, length: number): Uint8Array {
    const { block } = this.aes;
    const opc = this.opc;
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = block[from + i] ^ opc[from + i];
    return out;
  }
}
