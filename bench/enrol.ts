// IoT.04 enrolment: POST /enrol (PKCS#10 in, X.509 out) on the ECA behind the GBA NAF plugin
// (HTTP Digest, Zn answer cached) against the very same ECA routes, CA code and store behind a
// stub authentication that hands every request the bench subscriber's identity. Both check the
// CSR, the vehicle binding and the MSISDN, sign a certificate and commit it to the certificate
// log, so the ratio is what GBA authentication costs an enrolment. No fixed target.
// --target ECA_URL: any ECA; the UE bootstraps once (--bsf, --usim) and enrols --obu ID, which
// that ECA must have bound to the subscriber's MSISDN.
import { UA_ID } from "../gba/ua-id.js";
import { bytesToHex } from "../wire/bytes.js";
import { LmdbEcaStore } from "../nf/eca/store-lmdb.js";
import { buildCsr, generateObuKeys } from "../scenarios/engine/enrolment.js";
import { digestAutocannon, fetchChallenges, nafFqdnOfRealm } from "./lib/digest-load.js";
import { interleave, metered, runAutocannon, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, BenchSetupError, loadConfig, roundPlan } from "./lib/options.js";
import { type BenchResult, compare } from "./lib/result.js";
import { LOAD_GENERATOR, ownEca, Rig } from "./lib/rig.js";
import { BENCH_BTID, BENCH_MSISDN, benchKsNaf } from "./lib/stub-bsf.js";
import { bootstrapUe, externalUe } from "./lib/ue-keys.js";

const PATH = "/enrol";
const BENCH_OBU = "OBU-BENCH-0001";
const BENCH_VEHICLE = "VIN-BENCH-0001";
const CSR_TYPE = "application/pkcs10";

/** Binds `obu` to the bench subscriber's MSISDN in the ECA registry under dataRoot. */
async function bindObu(dataRoot: string, obu: string): Promise<void> {
  const store = LmdbEcaStore.open(dataRoot);
  try {
    await store.addBindings([{ vehicleId: BENCH_VEHICLE, obuId: obu, msisdn: BENCH_MSISDN }], new Date());
  } finally {
    await store.close();
  }
}

export async function benchEnrol(o: BenchOptions): Promise<BenchResult> {
  const machine = machineInfo();
  const rig = new Rig();
  try {
    if (o.target && o.obu === undefined)
      throw new BenchSetupError("bench enrol --target needs --obu ID (bound to the subscriber's MSISDN)");
    const obu = o.target ? (o.obu as string) : BENCH_OBU;
    // the baseline's stub identity is the bench subscriber's: the OBU is bound to its MSISDN there
    const stubData = rig.tmp("eca-stub");
    await bindObu(stubData, obu);
    const baseline = await rig.target("eca-stub", [stubData], "ECA, stub auth");
    let url: string;
    let btid: string;
    let key: Uint8Array;
    if (o.target) {
      const ue = externalUe(o, "enrol");
      url = new URL(o.target).origin;
      const [first] = await fetchChallenges(`${url}${PATH}`, 1, { method: "POST" });
      const nafFqdn = nafFqdnOfRealm(first.realm);
      o.log(`enrol: bootstrapping with ${ue.bsf} for ECA ${nafFqdn}`);
      const b = await bootstrapUe({ bsfUrl: ue.bsf, usimFile: ue.usim, nafFqdn, uaIds: [UA_ID.HTTP_DIGEST] });
      btid = b.btid;
      key = b.keys.get(bytesToHex(UA_ID.HTTP_DIGEST)) as Uint8Array;
    } else {
      const eca = await ownEca(rig, (d) => bindObu(d, obu));
      url = eca.url;
      btid = BENCH_BTID;
      key = benchKsNaf("0100000002", "eca.vehicleman.example");
    }
    // one key pair and CSR for the whole run: the ECA issues a new certificate (new serial) each time
    const csr = Buffer.from(await buildCsr(obu, await generateObuKeys()));
    const run =
      (target: string) =>
      async (seconds: number): Promise<Sample> => {
        const challenges = await fetchChallenges(`${url}${PATH}`, o.connections, { method: "POST" });
        return runAutocannon({
          opts: digestAutocannon({
            url: target,
            path: PATH,
            method: "POST",
            body: csr,
            headers: { "content-type": CSR_TYPE },
            btid,
            key,
            challenges,
            connections: o.connections,
            seconds,
            rate: o.rate,
          }),
        });
      };
    o.log(`enrol: ${o.target ?? "built-in ECA"} vs ECA routes behind a stub authentication, ${o.durationS} s each`);
    const [s, b] = await interleave(
      [metered(o.target ? [LOAD_GENERATOR] : rig.cpu("ECA"), run(url)), metered(rig.cpu("ECA, stub auth"), run(baseline))],
      roundPlan(o),
    );
    return {
      bench: "enrol",
      title: "IoT.04 enrolment: GBA Digest + PKCS#10 → X.509 on the ECA (Zn cached)",
      target: o.target ?? "built-in",
      machine,
      config: loadConfig(o, { obu }),
      comparisons: [
        compare(
          "enrol",
          toMeasurement(`ECA ${o.target ?? ""} POST /enrol (GBA Digest)`.replace("  ", " "), "enrolment", s),
          toMeasurement("ECA routes, stub authentication (same CSR, CA, store)", "enrolment", b),
          { ratioOf: "enrolments/s ÷ stub-authenticated enrolments/s" },
        ),
      ],
      notes: [
        "baseline: the ECA's own routes (CSR check, binding, certificate, durable log) behind a stub authentication; the ratio is the cost of GBA Digest + Zn (cached)",
      ],
    };
  } finally {
    await rig.close();
  }
}
