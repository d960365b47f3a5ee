// Zn over Diameter (TS 29.109 Bootstrapping-Info-Request/Answer, application 16777220): key
// lookups per second at our BSF's Diameter Zn listener, against a bare Diameter echo over the same
// codec and connection code (bench/lib/diameter-echo.ts: decodes and checks each BIR, answers a
// BIA of the BSF's size — same identities, IMPI and USS — with a fresh head before a body encoded
// once, no lookup, no KDF; its own process, like the BSF) — target ≥ 0.8 — and against the
// same-run SBI Zn lookups of the same B-TIDs. Built-in only: `gba hss` + `gba bsf`, SESSIONS subscribers bootstrapped
// first; each load connection is a NAF node of its own, admitted by its Origin-Host in bsf.nafs.
// Besides the ratios, CPU µs per operation of each process involved (the BSF or the echo from
// /proc, utime + stime; the load generator, this process, from process.cpuUsage()), warm-up included.
import { fileURLToPath } from "node:url";
import { parseHostPort } from "../nf/common/diameter/config.js";
import { defaultConfig } from "../nf/config.js";
import { LoadUe } from "../ue/load-ue.js";
import { clientHost, diameterLoad } from "./lib/diameter-echo.js";
import { interleave, runAutocannon, type Sample, toMeasurement } from "./lib/load.js";
import { machineInfo } from "./lib/machine.js";
import { type BenchOptions, BenchSetupError, loadConfig, roundPlan } from "./lib/options.js";
import { type BenchResult, compare } from "./lib/result.js";
import { procCpuMicros } from "./lib/cpu.js";
import { ownStack, Rig } from "./lib/rig.js";
import { str } from "./lib/child.js";
import { benchImpi, benchSubscriber, bootstrapOnce } from "./lib/ue-load.js";
import { BOOTSTRAPS_AT_ONCE, SESSIONS, ZN_TARGET, znLoad } from "./zn.js";

const ECHO = fileURLToPath(new URL("./lib/diameter-echo.js", import.meta.url));

/** A system's runs with the CPU time of its server process and of this process (the load generator) counted. */
function metered(run: (seconds: number) => Promise<Sample>, serverPid: number) {
  const m = { serverMicros: 0, selfMicros: 0, ops: 0 };
  const wrapped = async (seconds: number): Promise<Sample> => {
    const t0 = procCpuMicros(serverPid) ?? 0;
    const u0 = process.cpuUsage();
    const s = await run(seconds);
    const u = process.cpuUsage(u0);
    m.serverMicros += (procCpuMicros(serverPid) ?? 0) - t0;
    m.selfMicros += u.user + u.system;
    m.ops += s.ok;
    return s;
  };
  const perOp = () => ({
    server: m.ops ? Math.round(m.serverMicros / m.ops) : 0,
    load: m.ops ? Math.round(m.selfMicros / m.ops) : 0,
  });
  return { run: wrapped, perOp };
}
/** the NAF FQDN every bench NAF node asks for (NAF_Id = FQDN ‖ Ua security protocol id) */
const NAF_FQDN = "naf.bench.example.org";

export async function benchZnDiameter(o: BenchOptions): Promise<BenchResult> {
  if (o.target) throw new BenchSetupError("bench zn --binding diameter runs against our own BSF only (no --target)");
  if (o.workers > 1)
    throw new BenchSetupError("bench zn --binding diameter: the BSF's Diameter listener runs in one process (no --workers)");
  const machine = machineInfo();
  const rig = new Rig();
  const closers: Array<() => Promise<void>> = [];
  try {
    const clients = o.connections;
    // one bsf.nafs entry per load connection: a Diameter peer is one Origin-Host, one connection
    const benchNafs = Array.from({ length: clients }, (_, i) => ({
      id: `bench-${i}`,
      token: `bench-zn-token-${i}`,
      fqdns: [NAF_FQDN],
      gbaUAware: false,
      originHost: clientHost(i),
    }));
    const stack = await ownStack(rig, {
      subscribers: SESSIONS,
      workers: 1,
      bsf: { nafs: [...defaultConfig().bsf.nafs, ...benchNafs] },
    });
    const bsfDiameter = parseHostPort(str(stack.bsf.info, "bsf", "znDiameter"));
    const bsfHost = str(stack.bsf.info, "diameter", "bsfHost");
    const bsfRealm = str(stack.bsf.info, "diameter", "realm");
    // the floor answers as the BSF does, with the same identities and sizes (bench/lib/diameter-echo.ts)
    const echoChild = await rig.script([
      ECHO,
      ...["--clients", String(clients), "--origin-host", bsfHost, "--origin-realm", bsfRealm, "--impi", benchImpi(0)],
    ]);
    const echo = parseHostPort(str(echoChild.info, "diameter"));
    if (bsfDiameter === undefined || echo === undefined) throw new Error("no Diameter listener in a ready line");

    const ues = Array.from({ length: SESSIONS }, (_, i) => new LoadUe(benchSubscriber(i)));
    o.log(`zn/diameter: bootstrapping ${ues.length} sessions`);
    const btids: string[] = [];
    for (let i = 0; i < ues.length; i += BOOTSTRAPS_AT_ONCE)
      btids.push(
        ...(await Promise.all(ues.slice(i, i + BOOTSTRAPS_AT_ONCE).map((ue) => bootstrapOnce(stack.ub, stack.fqdn, ue)))),
      );

    const common = { connections: clients, pipeline: 1, btids, nafFqdn: NAF_FQDN };
    const toBsf = await diameterLoad({ ...common, ...bsfDiameter, serverHost: bsfHost, destinationRealm: bsfRealm });
    closers.push(() => toBsf.close());
    const toEcho = await diameterLoad({ ...common, ...echo, serverHost: bsfHost, destinationRealm: bsfRealm });
    closers.push(() => toEcho.close());
    const sbi = (seconds: number): Promise<Sample> =>
      runAutocannon({ opts: znLoad(stack.zn, btids, { token: stack.znToken, fqdn: stack.nafFqdn }, o, seconds) });

    o.log(`zn/diameter: BSF Diameter Zn vs bare Diameter echo vs BSF SBI Zn, ${clients} connections, ${o.durationS} s each`);
    const bsfPid = stack.bsf.pid;
    const [md, me, ms] = [metered(toBsf.run, bsfPid), metered(toEcho.run, echoChild.pid), metered(sbi, bsfPid)];
    const [d, e, s] = await interleave([md.run, me.run, ms.run], roundPlan(o));
    const [cd, ce, cs] = [md.perOp(), me.perOp(), ms.perOp()];
    const diameter = toMeasurement("BSF Zn over Diameter (BIR/BIA)", "lookup", d);
    return {
      bench: "zn-diameter",
      title: "Zn over Diameter: NAF key lookups (BIR/BIA, B-TID in LMDB, authorisation by Origin-Host, Ks_NAF derivation)",
      target: "built-in",
      machine,
      config: loadConfig(o, { sessions: btids.length, binding: "diameter", pipeline: 1 }),
      comparisons: [
        compare(
          "zn diameter vs echo",
          diameter,
          toMeasurement("bare Diameter echo, same codec, BIA of the same size", "request", e),
          {
            ratioOf: "lookups/s ÷ echo answers/s",
            goal: { kind: "min", value: ZN_TARGET },
          },
        ),
        compare("zn diameter vs sbi", diameter, toMeasurement("BSF Zn over SBI (same B-TIDs, same connections)", "lookup", s), {
          ratioOf: "Diameter lookups/s ÷ SBI lookups/s",
        }),
      ],
      facts: {
        "CPU µs per lookup, BSF (Diameter Zn)": cd.server,
        "CPU µs per lookup, load generator (Diameter NAF nodes)": cd.load,
        "CPU µs per answer, bare Diameter echo": ce.server,
        "CPU µs per answer, load generator (Diameter NAF nodes, echo)": ce.load,
        "CPU µs per lookup, BSF (SBI Zn)": cs.server,
        "CPU µs per lookup, load generator (autocannon, SBI)": cs.load,
        "BIA octets, BSF": toBsf.answerOctets,
        "BIA octets, bare Diameter echo": toEcho.answerOctets,
      },
      notes: [
        "CPU µs: utime + stime of the BSF and echo processes (/proc, 10 ms ticks) and of the bench process over every round, warm-up included, divided by the answers counted",
        "the Diameter load runs in the bench process (one NAF node per connection, one request outstanding each); the BSF and the echo each in their own process",
        "every connection is a node of one NAF (one bsf.nafs entry each, one NAF FQDN): after a B-TID's first lookup the BSF answers from its Zn answer cache, checking the stored session's version in LMDB on every lookup, as over SBI",
        "the echo is a floor, not a bare socket echo: it decodes and checks each BIR and answers a fresh head before a body encoded once, as many octets as the BSF (BIA octets above)",
      ],
    };
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await rig.close();
  }
}
