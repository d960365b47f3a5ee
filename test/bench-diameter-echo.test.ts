// `gba bench zn --binding diameter` and its baseline: the bare echo answers BIRs with a BIA the
// NAF side can read, the load client counts answers, refusals and latencies, and the benchmark
// runs end to end (well-formed result only: figures on a shared test machine mean nothing).
// The last tests run the compiled CLI: build with `npx tsc -p .` first.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diameterLoad, startDiameterEcho } from "../bench/lib/diameter-echo.js";
import type { BenchResult } from "../bench/lib/result.js";
import { DiameterNode } from "../nf/common/diameter/index.js";
import { APP_ZN, encodeBia, encodeBir, parseBia, parseBir, VENDOR_3GPP } from "../wire/diameter/index.js";
import { runCli } from "./hss-fixtures.js";

/** One second per system, one round, no warm-up, few connections. */
const QUICK = ["--duration", "1", "--rounds", "1", "--warmup", "0", "--connections", "4"];

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

it("the echo answers a Zn-sized BIA and the load client drives it over several connections", async () => {
  const echo = await startDiameterEcho({ clients: 4 });
  closers.push(() => echo.node.close());
  const load = await diameterLoad({ host: echo.host, port: echo.port, connections: 3, pipeline: 4 });
  closers.push(() => load.close());
  const s = await load.run(0.3);
  expect(s.errors.size).toBe(0);
  expect(s.ok).toBeGreaterThan(10);
  expect(s.latency.count).toBe(s.ok);

  const naf = new DiameterNode({
    originHost: "bench-client-3.bench.example.org",
    originRealm: "bench.example.org",
    applications: [APP_ZN],
    peers: [{ originHost: "diameter-echo.bench.example.org", connect: { host: echo.host, port: echo.port } }],
  });
  closers.push(() => naf.close());
  await naf.connectPeer({ originHost: "diameter-echo.bench.example.org", connect: { host: echo.host, port: echo.port } });
  const bia = parseBia(
    await naf.request(APP_ZN, (ids) =>
      encodeBir(
        {
          originHost: naf.origin.originHost,
          originRealm: "bench.example.org",
          sessionId: "s;1;1",
          destinationRealm: "bench.example.org",
          btid: "x@bench.example.org",
          nafId: { fqdn: "naf.bench.example.org", uaId: new Uint8Array([1, 0, 0, 0, 2]) },
        },
        ids,
      ),
    ),
  );
  expect(bia.meKeyMaterial?.length).toBe(32);
  expect(bia.ussList).toHaveLength(1);
});

it("a refusal counts as an error, not a lookup", async () => {
  const echo = await startDiameterEcho({ clients: 1 });
  closers.push(() => echo.node.close());
  // the echo answers every BIR with success: make it refuse instead (5403, unknown B-TID)
  echo.node.onRequest(APP_ZN, 310, (msg) =>
    encodeBia({ ...echo.node.origin, sessionId: parseBir(msg).sessionId, result: { vendorId: VENDOR_3GPP, code: 5403 } }, msg),
  );
  const load = await diameterLoad({ host: echo.host, port: echo.port, connections: 1, pipeline: 1 });
  closers.push(() => load.close());
  const s = await load.run(0.2);
  expect(s.ok).toBe(0);
  expect(s.errors.get("Diameter 5403")).toBeGreaterThan(0);
});

describe("gba bench zn --binding diameter", () => {
  const dir = mkdtempSync(join(tmpdir(), "gba-bench-zn-diameter-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("measures our BSF's Diameter Zn against the echo and the same-run SBI Zn, every lookup answered", async () => {
    const out = join(dir, "zn-diameter.json");
    const r = await runCli(["bench", "zn", "--binding", "diameter", ...QUICK, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, "utf8")) as BenchResult;
    expect(result.bench).toBe("zn-diameter");
    expect(result.comparisons.map((c) => [c.name, c.goal?.value])).toEqual([
      ["zn diameter vs echo", 0.8],
      ["zn diameter vs sbi", undefined],
    ]);
    for (const c of result.comparisons)
      for (const m of [c.subject, c.baseline]) {
        expect(m.ok, m.label).toBeGreaterThan(0);
        expect(m.errors, m.label).toEqual({});
      }
    expect(r.stdout).toContain("zn diameter vs echo: lookups/s ÷ echo answers/s = ");
    // CPU µs per operation of the BSF, the echo and the load generator, in each system's rounds
    const cpu = Object.entries(result.facts ?? {}).filter(([k]) => k.startsWith("CPU µs per"));
    expect(cpu).toHaveLength(6);
    for (const [k, v] of cpu) expect(v, k).toBeGreaterThan(0);
    // the floor answers as many octets as the BSF (same identities, IMPI and USS sizes)
    expect(result.facts?.["BIA octets, BSF"]).toBeGreaterThan(500);
    expect(result.facts?.["BIA octets, bare Diameter echo"]).toBe(result.facts?.["BIA octets, BSF"]);
  }, 120_000);

  it("--binding is refused with another benchmark, an unknown binding and --target", async () => {
    expect((await runCli(["bench", "ub", "--binding", "diameter"])).stderr).toContain("--binding goes with bench zn");
    expect((await runCli(["bench", "zn", "--binding", "x"])).stderr).toContain('--binding: "x" is not sbi or diameter');
    const t = await runCli(["bench", "zn", "--binding", "diameter", "--target", "http://127.0.0.1:1"]);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain("runs against our own BSF only");
  });
});
