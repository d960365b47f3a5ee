// TLS-PSK handshakes/s on the NAF's Ua listener (TS 33.222 §5.4: psk_identity lookup, Zn
// answer cached, key per negotiated suite) against plain node:tls with a fixed PSK, in the same
// run, for TLS 1.2 (TLS_PSK_WITH_AES_128_CBC_SHA) and TLS 1.3 (external PSK). Each connection:
// full handshake, then the client closes and waits for the server's close. Target ≥ 0.8.
// --target https://NAF:PORT: any NAF's TLS-PSK listener; the UE bootstraps once (--bsf, --usim)
// and derives the key for NAF_Id = --naf-fqdn (default: the URL's host) ‖ Ua id.
import tls from "node:tls";
import { pskIdentity } from "../gba/btid.js";
import { parseUaId } from "../gba/ua-id.js";
import { interleave, metered, runClosedLoop, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, loadConfig, roundPlan } from "./lib/options.js";
import { type BenchResult, type Comparison, compare } from "./lib/result.js";
import { LOAD_GENERATOR, ownNaf, Rig } from "./lib/rig.js";
import { BENCH_BTID, benchKsNaf } from "./lib/stub-bsf.js";
import { bootstrapUe, externalUe } from "./lib/ue-keys.js";

export const TLS_PSK_TARGET = 0.8;

const VERSIONS = {
  "1.2": { version: "TLSv1.2", ciphers: "PSK-AES128-CBC-SHA", uaId: "010001008c" },
  "1.3": { version: "TLSv1.3", ciphers: "TLS_AES_128_GCM_SHA256", uaId: "0100000007" },
} as const;
type Version = keyof typeof VERSIONS;

function handshake(url: URL, v: Version, psk: Buffer, identity: string): Promise<void> {
  const s = VERSIONS[v];
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: url.hostname,
      port: Number(url.port),
      minVersion: s.version,
      maxVersion: s.version,
      ciphers: s.ciphers,
      checkServerIdentity: () => undefined,
      pskCallback: () => ({ psk, identity }),
    });
    sock.once("secureConnect", () => sock.end());
    sock.once("error", reject);
    sock.once("close", (hadError) => (hadError ? undefined : resolve()));
    sock.resume();
  });
}

interface Keys {
  btid: string;
  key(v: Version): Buffer;
}

async function externalKeys(o: BenchOptions, target: string): Promise<Keys> {
  const ue = externalUe(o, "tls-psk");
  const nafFqdn = o.nafFqdn ?? new URL(target).hostname;
  o.log(`tls-psk: bootstrapping with ${ue.bsf} for NAF ${nafFqdn}`);
  const b = await bootstrapUe({
    bsfUrl: ue.bsf,
    usimFile: ue.usim,
    nafFqdn,
    uaIds: Object.values(VERSIONS).map((v) => parseUaId(v.uaId)),
  });
  return { btid: b.btid, key: (v) => Buffer.from(b.keys.get(VERSIONS[v].uaId) as Uint8Array) };
}

export async function benchTlsPsk(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  try {
    let subjectUrl: string;
    let keys: Keys;
    if (o.target) {
      subjectUrl = o.target;
      keys = await externalKeys(o, o.target);
    } else {
      const naf = await ownNaf(rig, { workers: o.workers });
      subjectUrl = naf.tlsPsk;
      keys = { btid: BENCH_BTID, key: (v) => Buffer.from(benchKsNaf(VERSIONS[v].uaId, naf.fqdn)) };
    }
    const identity = pskIdentity(keys.btid);
    const comparisons: Comparison[] = [];
    for (const v of ["1.2", "1.3"] as const) {
      const plain = await rig.target("tls-plain", [v], `node:tls ${v}`);
      // the plain server's fixed key is the bench subscriber's; an external NAF's key is the UE's
      const plainKey = Buffer.from(benchKsNaf(VERSIONS[v].uaId, "naf.example.org"));
      const loop =
        (url: string, key: Buffer) =>
        (seconds: number): Promise<Sample> =>
          runClosedLoop(() => handshake(new URL(url), v, key, identity), o.connections, seconds, o.rate);
      o.log(`tls-psk: TLS ${v}, ${o.target ?? "built-in NAF"} vs plain node:tls, ${o.durationS} s each`);
      const [s, b] = await interleave(
        [
          metered(o.target ? [LOAD_GENERATOR] : rig.cpu("NAF"), loop(subjectUrl, keys.key(v))),
          metered(rig.cpu(`node:tls ${v}`), loop(plain, plainKey)),
        ],
        roundPlan(o),
      );
      comparisons.push(
        compare(
          `tls-psk TLS ${v}`,
          toMeasurement(`NAF TLS-PSK listener, TLS ${v}`, "handshake", s),
          toMeasurement(`node:tls with a fixed PSK, TLS ${v}`, "handshake", b),
          { ratioOf: "NAF handshakes/s ÷ plain handshakes/s", goal: { kind: "min", value: TLS_PSK_TARGET } },
        ),
      );
    }
    return {
      bench: "tls-psk",
      title: "Ua over TLS-PSK: full handshakes on the NAF listener (Zn cached)",
      target: o.target ?? "built-in",
      machine,
      config: loadConfig(o),
      comparisons,
    };
  } finally {
    await rig.close();
  }
}
