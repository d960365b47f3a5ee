// The Diameter baseline for Zn over Diameter (TS 29.109 BIR/BIA): a floor, not a bare socket echo.
// A node over the same codec and connection code as the BSF's that decodes and checks each
// Bootstrapping-Info-Request (parseBir) and answers a BIA of the BSF's size without any lookup or
// key derivation: a fresh head (Session-Id, Result-Code, Origin-Host/Realm, Auth-Session-State,
// Vendor-Specific-Application-Id) in front of a body encoded once — what the BSF answers a repeated
// lookup with, from its answer cache — with the same Origin-Host, Origin-Realm, IMPI and USS sizes
// as the BSF's answer (the bench passes them). And the load client: N client nodes (one connection
// each) keeping `pipeline` requests outstanding per connection.
//
//   node dist/bench/lib/diameter-echo.js [--port P] [--clients N] [--origin-host H] [--origin-realm R] [--impi I]
// prints {"diameter":"127.0.0.1:PORT","originHost":...,"clients":N} once listening and
// stops on SIGTERM (the bench child protocol of child.ts).
import { fileURLToPath } from "node:url";
import { DiameterNode } from "../../nf/common/diameter/index.js";
import {
  APP_ZN,
  type BirRequest,
  encodeBia,
  encodeBiaBody,
  encodeBir,
  isSuccess,
  parseBir,
  readResult,
  resultCode,
} from "../../wire/diameter/index.js";
import { causeOf, countError, newSample, type Sample } from "./load.js";

export const ECHO_HOST = "diameter-echo.bench.example.org";
export const BENCH_REALM = "bench.example.org";
export const clientHost = (i: number): string => `bench-client-${i}.${BENCH_REALM}`;

const KEY = new Uint8Array(32);
const T = Date.UTC(2030, 0, 1);

export interface DiameterEchoOptions {
  port?: number;
  /** bench client hosts admitted (clientHost(0..clients-1)) */
  clients?: number;
  /** the identity it answers as (default ECHO_HOST in BENCH_REALM) */
  originHost?: string;
  originRealm?: string;
  /** the IMPI of its answers; the one USS names sip:IMPI, as the HSS's default GUSS does */
  impi?: string;
}

/** The bare Diameter Zn server; admits `clients` bench client hosts. */
export async function startDiameterEcho(o: DiameterEchoOptions = {}): Promise<{
  node: DiameterNode;
  host: string;
  port: number;
}> {
  const clients = o.clients ?? 64;
  const node = new DiameterNode({
    originHost: o.originHost ?? ECHO_HOST,
    originRealm: o.originRealm ?? BENCH_REALM,
    applications: [APP_ZN],
    peers: Array.from({ length: clients }, (_, i) => ({ originHost: clientHost(i) })),
  });
  const impi = o.impi ?? "bench@bench.example.org";
  const body = encodeBiaBody({
    impi,
    meKeyMaterial: KEY,
    keyExpiryTime: T,
    bootstrapInfoCreationTime: T,
    ussList: [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: `sip:${impi}` }] } }],
    gbaType: "3G_GBA",
  });
  node.onRequest(APP_ZN, 310, (msg) => {
    const r = parseBir(msg);
    return encodeBia({ ...node.origin, sessionId: r.sessionId, result: resultCode(2001) }, msg, body);
  });
  const { host, port } = await node.listen(o.port ?? 0);
  return { node, host, port };
}

export interface DiameterLoadOptions {
  host: string;
  port: number;
  /** connections, one client node each */
  connections: number;
  /** requests outstanding per connection */
  pipeline: number;
  seconds: number;
  /** the server's Origin-Host (the peer the clients expect) */
  serverHost?: string;
  /** the B-TIDs to ask for, round robin */
  btids?: string[];
  nafFqdn?: string;
  /** the server's realm: the Destination-Realm of the requests (default the bench realm) */
  destinationRealm?: string;
}

/** Opens the client connections; `run(seconds)` drives the closed loop and returns a Sample. */
export async function diameterLoad(o: Omit<DiameterLoadOptions, "seconds">): Promise<{
  run(seconds: number): Promise<Sample>;
  /** octets of the first successful answer (the first Session-Ids are as long in every run): a baseline answers as many as its subject */
  readonly answerOctets: number;
  close(): Promise<void>;
}> {
  const server = o.serverHost ?? ECHO_HOST;
  const clients = await Promise.all(
    Array.from({ length: o.connections }, async (_, i) => {
      const n = new DiameterNode({
        originHost: clientHost(i),
        originRealm: BENCH_REALM,
        applications: [APP_ZN],
        peers: [{ originHost: server, connect: { host: o.host, port: o.port } }],
      });
      await n.connectPeer({ originHost: server, connect: { host: o.host, port: o.port } });
      return n;
    }),
  );
  const btids = o.btids ?? ["bench@bench.example.org"];
  const base: Omit<BirRequest, "sessionId" | "btid" | "originHost"> = {
    originRealm: BENCH_REALM,
    destinationRealm: o.destinationRealm ?? BENCH_REALM,
    nafId: { fqdn: o.nafFqdn ?? "naf.bench.example.org", uaId: new Uint8Array([1, 0, 0, 0, 2]) },
  };
  let seq = 0;
  let answerOctets = 0;
  return {
    get answerOctets() {
      return answerOctets;
    },
    async run(seconds: number): Promise<Sample> {
      const s = newSample();
      const start = performance.now();
      const end = start + seconds * 1000;
      await Promise.all(
        clients.flatMap((n) =>
          Array.from({ length: o.pipeline }, async () => {
            while (performance.now() < end) {
              const i = seq++;
              const t0 = performance.now();
              try {
                const answer = await n.request(APP_ZN, (ids) =>
                  encodeBir(
                    {
                      ...base,
                      originHost: n.origin.originHost,
                      sessionId: `${n.origin.originHost};1;${i}`,
                      btid: btids[i % btids.length],
                    },
                    ids,
                  ),
                );
                // a refusal (5403 unknown B-TID, 5402 not authorised) is an answer, not a lookup
                const r = readResult(answer.avps);
                if (!isSuccess(r)) {
                  countError(s, `Diameter ${r.code}`);
                  continue;
                }
                if (answerOctets === 0) answerOctets = answer.length;
                s.ok++;
                s.latency.add(performance.now() - t0);
              } catch (err) {
                countError(s, causeOf(err));
                if (performance.now() < end) await new Promise((r) => setTimeout(r, 10));
              }
            }
          }),
        ),
      );
      s.seconds = (performance.now() - start) / 1000;
      return s;
    },
    async close() {
      await Promise.all(clients.map((n) => n.close()));
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i < 0 ? undefined : process.argv[i + 1];
  };
  const clients = Number(arg("--clients") ?? 64);
  const { node, host, port } = await startDiameterEcho({
    port: Number(arg("--port") ?? 0),
    clients,
    originHost: arg("--origin-host"),
    originRealm: arg("--origin-realm"),
    impi: arg("--impi"),
  });
  process.stdout.write(`${JSON.stringify({ diameter: `${host}:${port}`, originHost: node.origin.originHost, clients })}\n`);
  process.once("SIGTERM", () => {
    node.close().finally(() => process.exit(0));
  });
}
