// MILENAGE authentication-vector throughput against its floor, measured in the same run: an AV
// costs 5 AES-128 block encryptions (TEMP, OUT1..OUT4; TS 35.206 §4.1), so the floor is raw
// single-block AES with each backend (@noble/ciphers unsafe.encryptBlock on an expanded key; a
// reused node:crypto ECB cipher), and the figure of merit is AV/s ÷ (blocks/s ÷ 5) of the
// fastest floor. Target ≥ 0.5. Each figure is the median of 5 samples interleaved across all
// measurements; --duration is the timed seconds per measurement.
import { createCipheriv } from "node:crypto";
import { unsafe } from "@noble/ciphers/aes.js";
import { type AesBackend, DEFAULT_AES_BACKEND } from "../milenage/aes.js";
import { generateAuthVector } from "../milenage/aka.js";
import { hexToBytes } from "../wire/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { sqnToBytes } from "../milenage/sqn.js";
import { cpuFigures } from "./lib/cpu.js";
import { machineInfo } from "./lib/machine.js";
import { measureAll, type Throughput } from "./lib/measure.js";
import type { BenchOptions } from "./lib/options.js";
import { type BenchResult, compare, type Measurement } from "./lib/result.js";

export const MILENAGE_TARGET = 0.5;
const BLOCKS_PER_AV = 5;
const SAMPLES = 5;

// TS 35.208 test set 1 subscriber; inputs vary per call from a precomputed ring
const K = hexToBytes("465b5ce8b199b49faa5f0a2ee238a6bc");
const OPC = hexToBytes("cd63cb71954a9f4e48a5994e37a02baf");
const AMF = hexToBytes("8000");
const RING = 1024;
const RANDS = Array.from({ length: RING }, (_, i) => {
  const r = new Uint8Array(16);
  for (let j = 0; j < 16; j++) r[j] = (i * 131 + j * 29 + 7) & 0xff;
  return r;
});
const SQNS = Array.from({ length: RING }, (_, i) => sqnToBytes(32 * (i + 1) + (i % 32)));

function floorNoble(): () => unknown {
  const xk = unsafe.expandKeyLE(K);
  const block = new Uint8Array(16);
  return () => unsafe.encryptBlock(xk, block);
}

function floorNode(): () => unknown {
  const cipher = createCipheriv("aes-128-ecb", K, null);
  cipher.setAutoPadding(false);
  const block = new Uint8Array(16);
  return () => cipher.update(block);
}

function avLoop(backend: AesBackend): () => unknown {
  const m = new Milenage(K, OPC, { aes: backend });
  let i = 0;
  return () => {
    i = (i + 1) & (RING - 1);
    return generateAuthVector(m, RANDS[i], SQNS[i], AMF);
  };
}

function measurement(label: string, unit: string, t: Throughput): Measurement {
  return {
    label,
    unit,
    perSec: t.opsPerSec,
    ok: t.operations,
    errors: {},
    seconds: t.seconds,
    cpu: cpuFigures([{ us: { "bench process": t.cpuUs }, wallS: t.seconds }], t.operations, "one thread, synchronous loop"),
  };
}

const FLOOR_LABEL: Record<AesBackend, string> = {
  noble: "AES-128 block, @noble/ciphers encryptBlock",
  node: "AES-128 block, node:crypto ECB update",
};

export async function benchMilenage(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  o.log(`milenage: 4 measurements × ${o.durationS} s`);
  const t = measureAll(
    { floorNoble: floorNoble(), floorNode: floorNode(), avNoble: avLoop("noble"), avNode: avLoop("node") },
    { durationMs: o.durationS * 1000, samples: SAMPLES },
  );
  const floor: Record<AesBackend, Throughput> = { noble: t.floorNoble, node: t.floorNode };
  const av: Record<AesBackend, Throughput> = { noble: t.avNoble, node: t.avNode };
  const best: AesBackend = floor.noble.opsPerSec >= floor.node.opsPerSec ? "noble" : "node";
  const other: AesBackend = DEFAULT_AES_BACKEND === "noble" ? "node" : "noble";
  const ratioOf = `AV/s ÷ (blocks/s ÷ ${BLOCKS_PER_AV})`;
  return {
    bench: "milenage",
    title: "MILENAGE authentication vectors (f1..f5) vs the raw AES-128 blocks an AV needs",
    target: "built-in",
    machine,
    config: {
      durationSPerMeasurement: o.durationS,
      samples: SAMPLES,
      blocksPerAv: BLOCKS_PER_AV,
      subscriber: "TS 35.208 test set 1",
    },
    comparisons: [
      compare(
        "milenage",
        measurement(`generateAuthVector (default backend ${DEFAULT_AES_BACKEND})`, "AV", av[DEFAULT_AES_BACKEND]),
        measurement(`${FLOOR_LABEL[best]} (fastest floor)`, "block", floor[best]),
        { ratioOf, divisor: BLOCKS_PER_AV, goal: { kind: "min", value: MILENAGE_TARGET } },
      ),
      compare(
        `milenage (${other} backend)`,
        measurement(`generateAuthVector (${other} backend)`, "AV", av[other]),
        measurement(FLOOR_LABEL[other], "block", floor[other]),
        { ratioOf, divisor: BLOCKS_PER_AV },
      ),
    ],
  };
}
