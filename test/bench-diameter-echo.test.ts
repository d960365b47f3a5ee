// The Diameter baseline of `gba bench zn --binding diameter` works: the bare echo answers BIRs
// with a BIA the NAF side can read, and the load client counts answers and latencies.
import { afterAll, expect, it } from "vitest";
import { diameterLoad, startDiameterEcho } from "../bench/lib/diameter-echo.js";
import { DiameterNode } from "../nf/common/diameter/index.js";
import { APP_ZN, encodeBir, parseBia } from "../wire/diameter/index.js";

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
