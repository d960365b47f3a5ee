// MILENAGE authentication-vector throughput against its floor, measured in the same run:
// an AV costs 5 AES-128 block encryptions (TEMP, OUT1..OUT4; TS 35.206 §4.1), so the floor is
// raw single-block AES with each backend (@noble/ciphers unsafe.encryptBlock on an expanded
// key; a reused node:crypto ECB cipher), and the figure of merit is AV/s ÷ (blocks/s ÷ 5).
//
//   node dist/bench/milenage.js [--duration S] [--out FILE]
//
// --duration: timed seconds per measurement, its 5 samples interleaved with the other
// measurements' (default 2); --out: JSON result file
// (default bench/out/milenage.json).
import { createCipheriv } from "node:crypto";
import { parseArgs } from "node:util";
import { unsafe } from "@noble/ciphers/aes.js";
import { type AesBackend, DEFAULT_AES_BACKEND } from "../milenage/aes.js";
import { generateAuthVector } from "../milenage/aka.js";
import { hexToBytes } from "../milenage/bytes.js";
import { Milenage } from "../milenage/milenage.js";
import { sqnToBytes } from "../milenage/sqn.js";
import { machineInfo } from "./lib/machine.js";
import { measureAll, type Throughput } from "./lib/measure.js";
import { formatTable, writeJson } from "./lib/report.js";

const BLOCKS_PER_AV = 5;
const TARGET_RATIO = 0.5;
const BACKENDS: AesBackend[] = ["noble", "node"];

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

/** noble's round function on four words, without encryptBlock's per-call view: what milenage/aes.ts calls. */
function floorNobleWords(): () => unknown {
  const xk = unsafe.expandKeyLE(K);
  const w = new Uint32Array(4);
  return () => {
    const s = unsafe.encrypt(xk, w[0], w[1], w[2], w[3]);
    w[0] = s.s0;
    w[1] = s.s1;
    w[2] = s.s2;
    w[3] = s.s3;
  };
}

function floorNode(): () => unknown {
  const cipher = createCipheriv("aes-128-ecb", K, null);
  cipher.setAutoPadding(false);
  const block = new Uint8Array(16);
  return () => cipher.update(block);
}

function avLoop(backend?: AesBackend): () => unknown {
  const m = new Milenage(K, OPC, backend ? { aes: backend } : {});
  let i = 0;
  return () => {
    i = (i + 1) & (RING - 1);
    return generateAuthVector(m, RANDS[i], SQNS[i], AMF);
  };
}

function usage(message: string): void {
  process.stderr.write(`bench milenage: ${message}\nusage: node dist/bench/milenage.js [--duration S] [--out FILE]\n`);
  process.exitCode = 2;
}

async function main(): Promise<void> {
  let values: { duration?: string; out?: string };
  try {
    ({ values } = parseArgs({ options: { duration: { type: "string" }, out: { type: "string" } }, strict: true }));
  } catch (err) {
    return usage((err as Error).message);
  }
  const durationS = values.duration === undefined ? 2 : Number(values.duration);
  if (!Number.isFinite(durationS) || durationS <= 0) return usage("--duration must be a positive number of seconds");
  const out = values.out ?? "bench/out/milenage.json";
  const opts = { durationMs: durationS * 1000 };

  const machine = machineInfo();
  const t = measureAll(
    {
      floorNoble: floorNoble(),
      floorNode: floorNode(),
      floorNobleWords: floorNobleWords(),
      avNoble: avLoop("noble"),
      avNode: avLoop("node"),
      avDefault: avLoop(),
    },
    opts,
  );
  const floor: Record<AesBackend, Throughput> = { noble: t.floorNoble, node: t.floorNode };
  const nobleWords = t.floorNobleWords;
  const av: Record<AesBackend, Throughput> = { noble: t.avNoble, node: t.avNode };
  const avDefault = t.avDefault;

  const floorAv = (b: AesBackend) => floor[b].opsPerSec / BLOCKS_PER_AV;
  const bestFloor = BACKENDS.reduce((a, b) => (floorAv(b) > floorAv(a) ? b : a));
  const fastestAv = BACKENDS.reduce((a, b) => (av[b].opsPerSec > av[a].opsPerSec ? b : a));
  const ratio = avDefault.opsPerSec / floorAv(bestFloor);
  const wordsFloorAv = nobleWords.opsPerSec / BLOCKS_PER_AV;

  const rows = [
    ...BACKENDS.map((b) => ({
      measurement: `floor: AES-128 block (${b === "noble" ? "@noble/ciphers encryptBlock" : "node:crypto ECB update"})`,
      backend: b,
      "ops/s": Math.round(floor[b].opsPerSec),
      "AV-equiv/s": Math.round(floorAv(b)),
      "÷ floor": "",
    })),
    {
      measurement: "(info) @noble/ciphers encrypt on 4 words, as milenage/aes.ts",
      backend: "noble",
      "ops/s": Math.round(nobleWords.opsPerSec),
      "AV-equiv/s": Math.round(wordsFloorAv),
      "÷ floor": "",
    },
    ...BACKENDS.map((b) => ({
      measurement: "generateAuthVector",
      backend: b,
      "ops/s": Math.round(av[b].opsPerSec),
      "AV-equiv/s": Math.round(av[b].opsPerSec),
      "÷ floor":
        b === "noble"
          ? `${(av[b].opsPerSec / floorAv(b)).toFixed(2)} (${(av[b].opsPerSec / wordsFloorAv).toFixed(2)} vs 4-word floor)`
          : (av[b].opsPerSec / floorAv(b)).toFixed(2),
    })),
    {
      measurement: "generateAuthVector (default backend)",
      backend: DEFAULT_AES_BACKEND,
      "ops/s": Math.round(avDefault.opsPerSec),
      "AV-equiv/s": Math.round(avDefault.opsPerSec),
      "÷ floor": `${ratio.toFixed(2)} (vs ${bestFloor} floor)`,
    },
  ];

  process.stdout.write(
    `MILENAGE AV throughput, ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverage.join(" ")}\n\n`,
  );
  process.stdout.write(`${formatTable(rows)}\n\n`);
  process.stdout.write(
    `default backend ${DEFAULT_AES_BACKEND}; fastest for AVs: ${fastestAv}; AV/s ÷ floor = ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO})\n`,
  );

  await writeJson(out, {
    benchmark: "milenage",
    machine,
    config: { durationSPerMeasurement: durationS, samples: 5, blocksPerAv: BLOCKS_PER_AV, subscriber: "TS 35.208 test set 1" },
    results: {
      floor: Object.fromEntries(
        BACKENDS.map((b) => [b, { blocksPerSec: floor[b].opsPerSec, avEquivalentPerSec: floorAv(b), samples: floor[b].samples }]),
      ),
      nobleWordsFloor: {
        blocksPerSec: nobleWords.opsPerSec,
        avEquivalentPerSec: wordsFloorAv,
        samples: nobleWords.samples,
        note: "unsafe.encrypt on four 32-bit words, the call milenage/aes.ts makes; informational, not the headline floor",
      },
      authVectors: Object.fromEntries(
        BACKENDS.map((b) => [
          b,
          { avPerSec: av[b].opsPerSec, ratioToFloor: av[b].opsPerSec / floorAv(b), samples: av[b].samples },
        ]),
      ),
      defaultBackend: {
        backend: DEFAULT_AES_BACKEND,
        avPerSec: avDefault.opsPerSec,
        ratioToNobleWordsFloor: avDefault.opsPerSec / wordsFloorAv,
        samples: avDefault.samples,
      },
      fastestBackendForAvs: fastestAv,
      fastestFloor: bestFloor,
      ratio,
      targetRatio: TARGET_RATIO,
      meetsTarget: ratio >= TARGET_RATIO,
    },
  });
  process.stdout.write(`wrote ${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench milenage: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
