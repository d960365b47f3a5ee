// Ua: authenticated requests/s through the NAF authentication proxy (HTTP Digest, Zn answer
// cached, nc incrementing per connection) against a bare @fastify/http-proxy to the same
// upstream, both sent the same Digest headers. Target: NAF ÷ bare ≥ 0.8.
// Built-in: `gba naf --upstream` with a stub BSF. --target URL: any NAF (the path of the URL is
// the protected resource, default /whoami, the route of our NAF without --upstream); the UE
// bootstraps once with --bsf using --usim, then every connection hammers the NAF with Digest.
// The baseline then proxies to a local upstream (the external NAF's upstream is not known).
import { UA_ID } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";
import { fetchChallenges, nafFqdnOfRealm, type UaChallenge, digestAutocannon } from "./lib/digest-load.js";
import { interleave, metered, runAutocannon, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, loadConfig, roundPlan, workersText } from "./lib/options.js";
import { type BenchResult, compare } from "./lib/result.js";
import { LOAD_GENERATOR, ownNaf, Rig } from "./lib/rig.js";
import { BENCH_BTID, benchKsNaf } from "./lib/stub-bsf.js";
import { bootstrapUe, externalUe } from "./lib/ue-keys.js";

export const UA_TARGET = 0.8;
const BUILT_IN_PATH = "/api/items?id=1";
const DEFAULT_EXTERNAL_PATH = "/whoami";

interface UaSubject {
  url: string;
  path: string;
  btid: string;
  key: Uint8Array;
}

async function externalSubject(o: BenchOptions, target: string): Promise<UaSubject> {
  const ue = await externalUe(o, "ua");
  const u = new URL(target);
  const path = u.pathname === "/" && u.search === "" ? DEFAULT_EXTERNAL_PATH : `${u.pathname}${u.search}`;
  const [first] = await fetchChallenges(`${u.origin}${path}`, 1);
  const nafFqdn = nafFqdnOfRealm(first.realm);
  o.log(`ua: bootstrapping with ${ue.bsf} for NAF ${nafFqdn}`);
  const b = await bootstrapUe({ bsfUrl: ue.bsf, usimFile: ue.usim, nafFqdn, uaIds: [UA_ID.HTTP_DIGEST] });
  return { url: u.origin, path, btid: b.btid, key: b.keys.get(bytesToHex(UA_ID.HTTP_DIGEST)) as Uint8Array };
}

export async function benchUa(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  try {
    const upstream = await rig.target("upstream");
    const bare = await rig.target("bare-proxy", [upstream], "bare proxy");
    let subject: UaSubject;
    if (o.target) subject = await externalSubject(o, o.target);
    else {
      const naf = await ownNaf(rig, { workers: o.workers, upstream });
      subject = { url: naf.http, path: BUILT_IN_PATH, btid: BENCH_BTID, key: benchKsNaf("0100000002", naf.fqdn) };
    }
    // every round asks the NAF for fresh nonces, one per connection, for both systems alike
    const run =
      (url: string) =>
      async (seconds: number): Promise<Sample> => {
        const challenges: UaChallenge[] = await fetchChallenges(`${subject.url}${subject.path}`, o.connections);
        return runAutocannon({
          opts: digestAutocannon({ ...subject, url, challenges, connections: o.connections, seconds, rate: o.rate }),
        });
      };
    o.log(`ua: ${o.target ?? `built-in NAF, ${workersText(o.workers)}`} vs bare proxy, ${o.durationS} s each`);
    const [s, b] = await interleave(
      [
        metered(o.target ? [LOAD_GENERATOR] : rig.cpu("NAF", "upstream"), run(subject.url)),
        metered(rig.cpu("bare proxy", "upstream"), run(bare)),
      ],
      roundPlan(o),
    );
    const who = o.target ? `NAF ${o.target}` : `NAF proxy, ${workersText(o.workers)}`;
    return {
      bench: "ua",
      title: "Ua: HTTP Digest through the NAF authentication proxy (Zn cached)",
      target: o.target ?? "built-in",
      machine,
      config: loadConfig(o, { path: subject.path }),
      comparisons: [
        compare(
          `ua (${workersText(o.workers)})`,
          toMeasurement(`${who} (GBA Digest)`, "request", s),
          toMeasurement("bare @fastify/http-proxy, same upstream", "request", b),
          { ratioOf: "NAF req/s ÷ bare proxy req/s", goal: { kind: "min", value: UA_TARGET } },
        ),
      ],
      notes: o.target
        ? ["baseline: a bare proxy on this machine to a local upstream (the external NAF's upstream is unknown)"]
        : [],
    };
  } finally {
    await rig.close();
  }
}
