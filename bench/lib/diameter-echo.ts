// The Diameter baseline for Zn over Diameter (TS 29.109 BIR/BIA): a bare node that decodes each
// Bootstrapping-Info-Request with the same codec and answers a BIA of the real size (a fixed key,
// expiry, creation time and one USS) without any lookup or key derivation; and the load client:
// N client nodes (one connection each) keeping `pipeline` requests outstanding per connection.
//
//   node dist/bench/lib/diameter-echo.js [--port P] [--clients N]
// prints {"diameter":"127.0.0.1:PORT","originHost":...,"clientHosts":[...]} once listening and
// stops on SIGTERM (the bench child protocol of child.ts).
import { fileURLToPath } from "node:url";
import { DiameterNode } from "../../nf/common/diameter/index.js";
import {
  APP_ZN,
  type BirRequest,
  encodeBia,
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
const USS = [{ uss: { gsId: 1, gsType: 1, ueIds: [{ ueId: "sip:bench@bench.example.org" }] } }];

/** The bare Diameter Zn server; admits `clients` bench client hosts. */
export async function startDiameterEcho(o: { port?: number; clients?: number } = {}): Promise<{
  node: DiameterNode;
  host: string;
  port: number;
}> {
  const clients = o.clients ?? 64;
  const node = new DiameterNode({
    originHost: ECHO_HOST,
    originRealm: BENCH_REALM,
    applications: [APP_ZN],
    peers: Array.from({ length: clients }, (_, i) => ({ originHost: clientHost(i) })),
  });
  node.onRequest(APP_ZN, 310, (msg) => {
    const r = parseBir(msg);
    return encodeBia(
      {
        ...node.origin,
        sessionId: r.sessionId,
        result: resultCode(2001),
        impi: "bench@bench.example.org",
        meKeyMaterial: KEY,
        keyExpiryTime: T,
        bootstrapInfoCreationTime: T,
        ussList: USS,
        gbaType: "3G_GBA",
      },
      msg,
    );
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
  return {
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
  const { node, host, port } = await startDiameterEcho({ port: Number(arg("--port") ?? 0), clients });
  process.stdout.write(`${JSON.stringify({ diameter: `${host}:${port}`, originHost: ECHO_HOST, clients })}\n`);
  process.once("SIGTERM", () => {
    node.close().finally(() => process.exit(0));
  });
}
