// Authenticated requests/s through the NAF authentication proxy (HTTP Digest on Ua, Zn answer
// cached) against a bare @fastify/http-proxy to the same upstream, in the same run. Every
// autocannon connection answers its own server nonce once, then sends one Digest per request
// with nc incremented (RFC 7616 §3.4); the baseline gets the same headers, so the client does
// the same work in both. Target: NAF / bare ≥ 0.8.
//
//   node dist/bench/naf-ua.js [--duration S] [--connections N] [--out FILE]
//
// --duration: seconds per run, 3 alternating runs each (default 10); --connections (default 32);
// --out (default bench/out/naf-ua.json).
import { createHash } from "node:crypto";
import type autocannon from "autocannon";
import { request } from "undici";
import { parseBenchArgs, runAutocannon } from "./lib/bsf-load.js";
import { machineInfo } from "./lib/machine.js";
import { formatTable, writeJson } from "./lib/report.js";
import { BENCH_BTID, benchKsNaf, median, startTarget } from "./naf-common.js";

const TARGET_RATIO = 0.8;
const ROUNDS = 3;
const PATH = "/api/items?id=1";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

interface Challenge {
  realm: string;
  nonce: string;
}

async function challenges(base: string, n: number): Promise<Challenge[]> {
  const out: Challenge[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request(`${base}${PATH}`);
    await res.body.dump();
    const www = String(res.headers["www-authenticate"] ?? "");
    const realm = /realm="([^"]+)"/.exec(www)?.[1];
    const nonce = /nonce="([^"]+)"/.exec(www)?.[1];
    if (res.statusCode !== 401 || !realm || !nonce)
      throw new Error(`expected a Digest challenge from the NAF, got ${res.statusCode}`);
    out.push({ realm, nonce });
  }
  return out;
}

/** autocannon options: each connection answers its own nonce with nc = 1, 2, 3, ... (qop=auth, MD5). */
function load(url: string, pool: Challenge[], connections: number, durationS: number): autocannon.Options {
  const password = Buffer.from(benchKsNaf("0100000002")).toString("base64");
  const ha2 = md5(`GET:${PATH}`);
  let next = 0;
  return {
    url: `${url}${PATH}`,
    connections,
    duration: durationS,
    pipelining: 1,
    setupClient(client: autocannon.Client) {
      const { realm, nonce } = pool[next++ % pool.length];
      const ha1 = md5(`${BENCH_BTID}:${realm}:${password}`);
      const cnonce = md5(`${nonce}:${next}`).slice(0, 16);
      let nc = 0;
      const authorize = () => {
        nc++;
        const ncHex = nc.toString(16).padStart(8, "0");
        const response = md5(`${ha1}:${nonce}:${ncHex}:${cnonce}:auth:${ha2}`);
        client.setHeaders({
          authorization: `Digest username="${BENCH_BTID}", realm="${realm}", nonce="${nonce}", uri="${PATH}", algorithm=MD5, qop=auth, nc=${ncHex}, cnonce="${cnonce}", response="${response}"`,
        });
      };
      authorize();
      client.on("response", authorize);
    },
  };
}

async function main(): Promise<void> {
  const { durationS, connections, out } = parseBenchArgs("naf-ua", process.argv.slice(2));
  const upstream = await startTarget("upstream");
  const bare = await startTarget("bare-proxy", [upstream.info.url]);
  const naf = await startTarget("naf", [upstream.info.url]);
  try {
    // warm-up: JIT, keep-alive pools, and the Zn answer in the NAF's cache
    await runAutocannon(load(bare.info.url, await challenges(naf.info.http, connections), connections, 2));
    await runAutocannon(load(naf.info.http, await challenges(naf.info.http, connections), connections, 2));
    const runs: { bare: Awaited<ReturnType<typeof runAutocannon>>[]; naf: Awaited<ReturnType<typeof runAutocannon>>[] } = {
      bare: [],
      naf: [],
    };
    for (let r = 0; r < ROUNDS; r++) {
      runs.bare.push(
        await runAutocannon(load(bare.info.url, await challenges(naf.info.http, connections), connections, durationS)),
      );
      runs.naf.push(
        await runAutocannon(load(naf.info.http, await challenges(naf.info.http, connections), connections, durationS)),
      );
    }
    const bareRps = median(runs.bare.map((x) => x.okPerSec));
    const nafRps = median(runs.naf.map((x) => x.okPerSec));
    const ratio = nafRps / bareRps;
    const row = (name: string, xs: typeof runs.bare) => {
      const m = xs.find((x) => x.okPerSec === median(xs.map((y) => y.okPerSec))) ?? xs[0];
      return {
        target: name,
        "ok req/s": Math.round(m.okPerSec),
        "p50 ms": m.latencyMs.p50,
        "p99 ms": m.latencyMs.p99,
        non2xx: m.non2xx,
        errors: m.errors,
      };
    };
    process.stdout.write(
      `${formatTable([row("bare @fastify/http-proxy", runs.bare), row("NAF proxy (GBA Digest)", runs.naf)])}\n`,
    );
    process.stdout.write(`ratio NAF/bare = ${ratio.toFixed(3)} (target >= ${TARGET_RATIO})\n`);
    await writeJson(out, {
      bench: "naf-ua",
      machine: machineInfo(),
      durationS,
      connections,
      rounds: ROUNDS,
      bareRps,
      nafRps,
      ratio,
      target: TARGET_RATIO,
      runs,
    });
    if (runs.naf.some((x) => x.non2xx > 0)) throw new Error("the NAF answered non-2xx during the run: see the JSON report");
  } finally {
    await Promise.all([naf.stop(), bare.stop()]);
    await upstream.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`naf-ua: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
