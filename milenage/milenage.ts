// MILENAGE algorithm set, 3GPP TS 35.206 §4 (f1, f1*, f2, f3, f4, f5, f5*), TS 35.205.
import { type AesBackend, aes128Encryptor, type BlockEncryptor } from "./aes.js";
import { xorBytes } from "./bytes.js";

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

export interface MilenageOptions {
  constants?: MilenageConstants;
  aes?: AesBackend;
}

/** Cyclic rotation towards the most significant bit (TS 35.206 §4.1 "rot(x, r)"). */
function rot(x: Uint8Array, bits: number): Uint8Array {
  if (bits % 8 !== 0) throw new RangeError(`rotation ${bits} is not a whole number of bytes`);
  const shift = (bits / 8) % 16;
  if (shift === 0) return x;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = x[(i + shift) % 16];
  return out;
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
  if (op.length !== 16) throw new RangeError(`OP must be 16 bytes, got ${op.length}`);
  return xorBytes(aes128Encryptor(k, backend)(op), op);
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
 */
export class Milenage {
  readonly opc: Uint8Array;
  private readonly enc: BlockEncryptor;
  private readonly constants: MilenageConstants;

  constructor(k: Uint8Array, opc: Uint8Array, options: MilenageOptions = {}) {
    if (k.length !== 16) throw new RangeError(`K must be 16 bytes, got ${k.length}`);
    if (opc.length !== 16) throw new RangeError(`OPc must be 16 bytes, got ${opc.length}`);
    this.constants = options.constants ?? DEFAULT_CONSTANTS;
    if (options.constants) validateConstants(this.constants);
    this.enc = aes128Encryptor(k, options.aes);
    this.opc = opc.slice();
  }

  static fromOp(k: Uint8Array, op: Uint8Array, options: MilenageOptions = {}): Milenage {
    return new Milenage(k, computeOpc(k, op, options.aes), options);
  }

  private temp(rand: Uint8Array): Uint8Array {
    if (rand.length !== 16) throw new RangeError(`RAND must be 16 bytes, got ${rand.length}`);
    return this.enc(xorBytes(rand, this.opc));
  }

  /** OUT1 for f1 / f1*: IN1 = SQN ‖ AMF ‖ SQN ‖ AMF. */
  private out1(temp: Uint8Array, sqn: Uint8Array, amf: Uint8Array): Uint8Array {
    if (sqn.length !== 6) throw new RangeError(`SQN must be 6 bytes, got ${sqn.length}`);
    if (amf.length !== 2) throw new RangeError(`AMF must be 2 bytes, got ${amf.length}`);
    const in1 = new Uint8Array(16);
    in1.set(sqn, 0);
    in1.set(amf, 6);
    in1.set(sqn, 8);
    in1.set(amf, 14);
    const x = rot(xorBytes(in1, this.opc), this.constants.r[0]);
    for (let i = 0; i < 16; i++) x[i] ^= temp[i] ^ this.constants.c[0][i];
    return xorBytes(this.enc(x), this.opc);
  }

  /** OUTk for k = 2..5. */
  private outK(temp: Uint8Array, k: 2 | 3 | 4 | 5): Uint8Array {
    const x = rot(xorBytes(temp, this.opc), this.constants.r[k - 1]);
    const c = this.constants.c[k - 1];
    for (let i = 0; i < 16; i++) x[i] ^= c[i]; // x is a fresh array (xorBytes, rot)
    return xorBytes(this.enc(x), this.opc);
  }

  /** f1 (MAC-A) and f1* (MAC-S): first and second half of OUT1. */
  f1Both(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): { macA: Uint8Array; macS: Uint8Array } {
    const out1 = this.out1(this.temp(rand), sqn, amf);
    return { macA: out1.slice(0, 8), macS: out1.slice(8, 16) };
  }

  /** f1: network authentication code MAC-A. */
  f1(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): Uint8Array {
    return this.f1Both(rand, sqn, amf).macA;
  }

  /** f1*: resynchronisation authentication code MAC-S. */
  f1star(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): Uint8Array {
    return this.f1Both(rand, sqn, amf).macS;
  }

  /** f2 (RES = OUT2[64..127]), f3 (CK = OUT3), f4 (IK = OUT4), f5 (AK = OUT2[0..47]). */
  f2345(rand: Uint8Array): F2345 {
    return this.f2345FromTemp(this.temp(rand));
  }

  /** f5*: resynchronisation anonymity key AK* = OUT5[0..47]. */
  f5star(rand: Uint8Array): Uint8Array {
    return this.outK(this.temp(rand), 5).slice(0, 6);
  }

  /** Everything an authentication vector needs, with TEMP computed once (5 AES blocks). */
  vector(rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): F2345 & { macA: Uint8Array; macS: Uint8Array } {
    const temp = this.temp(rand);
    const out1 = this.out1(temp, sqn, amf);
    return { ...this.f2345FromTemp(temp), macA: out1.slice(0, 8), macS: out1.slice(8, 16) };
  }

  /** f1* and f5* together, as AUTS build and verify need (3 AES blocks). */
  resync(rand: Uint8Array, sqnMs: Uint8Array): { macS: Uint8Array; akStar: Uint8Array } {
    const temp = this.temp(rand);
    const out1 = this.out1(temp, sqnMs, RESYNC_AMF);
    return { macS: out1.slice(8, 16), akStar: this.outK(temp, 5).slice(0, 6) };
  }

  /** f5 alone (AK), as the USIM needs it before it can read SQN (TS 33.102 §6.3.3). */
  f5(rand: Uint8Array): Uint8Array {
    return this.outK(this.temp(rand), 2).slice(0, 6);
  }

  private f2345FromTemp(temp: Uint8Array): F2345 {
    const out2 = this.outK(temp, 2);
    return { res: out2.slice(8, 16), ak: out2.slice(0, 6), ck: this.outK(temp, 3), ik: this.outK(temp, 4) };
  }
}

/** Dummy AMF used for MAC-S in AUTS (TS 33.102 §6.3.3: AMF* = 0x0000). */
export const RESYNC_AMF: Uint8Array = new Uint8Array(2);
