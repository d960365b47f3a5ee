// TLS-PSK handshakes/s on the NAF's Ua listener (TS 33.222 §5.4: psk_identity lookup, Zn answer
// cached, key per negotiated suite) against plain node:tls with a fixed PSK, in the same run,
// for TLS 1.2 (TLS_PSK_WITH_AES_128_CBC_SHA) and TLS 1.3 (external PSK). Each connection: full
// handshake, then the client closes and waits for the server to close; both servers hand the
// socket to an HTTP server. Target: NAF / plain ≥ 0.8.
//
//   node dist/bench/naf-tls-psk.js [--duration S] [--connections N] [--out FILE]
//
// --duration: seconds per run, 3 alternating runs per version (default 10); --connections:
// concurrent handshakes (default 32); --out (default bench/out/naf-tls-psk.json).
import tls from "node:tls";
import { pskIdentity } from "../gba/btid.js";
import { parseBenchArgs } from "./lib/bsf-load.js";
import { machineInfo } from "./lib/machine.js";
import { formatTable, writeJson } from "./lib/report.js";
import { BENCH_BTID, benchKsNaf, median, startTarget } from "./naf-common.js";

const TARGET_RATIO = 0.8;
const ROUNDS = 3;

interface Run {
  handshakesPerSec: number;
  ok: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

const VERSIONS = {
  "1.2": { maxVersion: "TLSv1.2", ciphers: "PSK-AES128-CBC-SHA", uaId: "010001008c" },
  "1.3": { maxVersion: "TLSv1.3", ciphers: "TLS_AES_128_GCM_SHA256", uaId: "0100000007" },
} as const;

function handshake(url: URL, version: keyof typeof VERSIONS, psk: Buffer, identity: string): Promise<void> {
  const v = VERSIONS[version];
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: url.hostname,
      port: Number(url.port),
      minVersion: v.maxVersion,
      maxVersion: v.maxVersion,
      ciphers: v.ciphers,
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk, identity }),
    });
    sock.once("secureConnect", () => sock.end());
    sock.once("error", reject);
    sock.once("close", (hadError) => (hadError ? undefined : resolve()));
    sock.resume();
  });
}

async function runLoad(url: string, version: keyof typeof VERSIONS, connections: number, durationS: number): Promise<Run> {
  const u = new URL(url);
  const psk = Buffer.from(benchKsNaf(VERSIONS[version].uaId));
  const identity = pskIdentity(BENCH_BTID);
  const end = performance.now() + durationS * 1000;
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await handshake(u, version, psk, identity);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 100) / 100;
  return { handshakesPerSec: latencies.length / elapsed, ok: latencies.length, errors, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

async function main(): Promise<void> {
  const { durationS, connections, out } = parseBenchArgs("naf-tls-psk", process.argv.slice(2));
  const naf = await startTarget("naf");
  const results: Record<string, { plain: Run[]; naf: Run[]; ratio: number }> = {};
  const rows = [];
  try {
    for (const version of ["1.2", "1.3"] as const) {
      const plain = await startTarget("tls-plain", [version]);
      try {
        await runLoad(plain.info.url, version, connections, 1); // warm-up
        await runLoad(naf.info.tlsPsk, version, connections, 1); // warm-up, fills the Zn cache
        const runs = { plain: [] as Run[], naf: [] as Run[] };
        for (let r = 0; r < ROUNDS; r++) {
          runs.plain.push(await runLoad(plain.info.url, version, connections, durationS));
          runs.naf.push(await runLoad(naf.info.tlsPsk, version, connections, durationS));
        }
        const p = median(runs.plain.map((x) => x.handshakesPerSec));
        const n = median(runs.naf.map((x) => x.handshakesPerSec));
        results[version] = { ...runs, ratio: n / p };
        const pick = (xs: Run[], m: number) => xs.find((x) => x.handshakesPerSec === m) ?? xs[0];
        for (const [name, xs, m] of [
          [`plain node:tls PSK, TLS ${version}`, runs.plain, p],
          [`NAF TLS-PSK, TLS ${version}`, runs.naf, n],
        ] as const) {
          const x = pick(xs, m);
          rows.push({
            target: name,
            "handshakes/s": Math.round(x.handshakesPerSec),
            "p50 ms": x.p50Ms,
            "p99 ms": x.p99Ms,
            errors: xs.reduce((a, b) => a + b.errors, 0),
          });
        }
      } finally {
        await plain.stop();
      }
    }
  } finally {
    await naf.stop();
  }
  process.stdout.write(`${formatTable(rows)}\n`);
  for (const [v, r] of Object.entries(results))
    process.stdout.write(`TLS ${v}: ratio NAF/plain = ${r.ratio.toFixed(3)} (target >= ${TARGET_RATIO})\n`);
  await writeJson(out, {
    bench: "naf-tls-psk",
    machine: machineInfo(),
    durationS,
    connections,
    rounds: ROUNDS,
    target: TARGET_RATIO,
    results,
  });
  if (Object.values(results).some((r) => r.naf.some((x) => x.errors > 0)))
    throw new Error("NAF handshakes failed during the run: see the JSON report");
}

main().catch((err: unknown) => {
  process.stderr.write(`naf-tls-psk: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
