// The load phase under autocannon (load.driver: autocannon). The flow crosses two origins and
// one autocannon instance talks to one origin, so two instances run side by side: one against
// the BSF's Ub, each of whose connections bootstraps an idle device of the pool, and one
// against the ECA, whose connections enrol the devices the first has bootstrapped (keygen and
// csr run in between, verify after). The scenario's rate is autocannon's overallRate on the Ub
// instance (2 requests per bootstrap), a concurrency its connections and the flows in flight.
// A device runs one flow at a time, so its SQN sequence stays in order; a connection with no
// device to take waits (gate.ts). autocannon renews each connection's quota every second, so
// a rate's arrivals come in bursts at the top of each second. Arrivals stop at the duration
// or the count; flows still running get a grace period, then both instances stop.
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { loadUsimStateFile } from "../../ue/usim/state-file.js";
import { LoadUe, type UbKeys } from "../../ue/load-ue.js";
import { failureOf, fetchEcaRoot } from "../engine/device.js";
import { buildCsr, generateObuKeys, type ObuKeys, verifyEnrolmentCertificate } from "../engine/enrolment.js";
import type { Emit, Endpoints, FlowFailure, StepRecord } from "../engine/events.js";
import type { PlannedDevice } from "../plan.js";
import { bootstrapConversation } from "./bootstrap-conversation.js";
import { emptyOutcome, type LoadOutcome, type LoadPlan } from "./driver.js";
import { enrolConversation, type NafSpace } from "./enrol-conversation.js";
import { type Admit, type Conversation, gatedConnections } from "./gate.js";

/** Requests of one bootstrap: the first GET and the answer to the 401 (overallRate counts requests). */
const REQUESTS_PER_BOOTSTRAP = 2;
/** seconds autocannon gives an answer before the connection is reset */
const REQUEST_TIMEOUT_S = 10;
/** autocannon's own end of run, never reached: the driver stops both instances */
const NEVER_S = 24 * 3600;

export interface LoadDevice {
  d: PlannedDevice;
  ue: LoadUe;
  /** the ECA's nonce, kept between enrolments as the UE keeps it */
  space?: NafSpace;
}

/** A device of the load pool from its USIM state file (K, OPc, SQN array, GBA_U and AUTN* switches). */
export async function openLoadDevice(d: PlannedDevice, usimFile: string): Promise<LoadDevice> {
  const s = await loadUsimStateFile(usimFile);
  const ue = new LoadUe({ impi: d.impi, k: s.k, opc: s.opc }, { sqn: s.sqn, gbaU: d.uicc === "GBA_U", autnStar: s.autnStar });
  return { d, ue };
}

/**
 * Connections of each instance. Under a rate each connection gets 2·rate/connections requests
 * per second (autocannon spreads overallRate so): the largest divisor of the rate not above the
 * pool makes that a whole number of bootstraps, so no bootstrap waits a second between its two
 * requests.
 */
export function connectionsFor(plan: LoadPlan, pool: number): number {
  if (plan.mode === "concurrency") return Math.max(1, plan.concurrency ?? 1);
  const rate = Math.max(1, Math.round(plan.rate ?? 1));
  for (let c = Math.min(rate, pool); c > 1; c--) if (rate % c === 0) return c;
  return 1;
}

interface Flow {
  dev: LoadDevice;
  /** ms since the phase started */
  startedAt: number;
  steps: StepRecord[];
  failure?: FlowFailure;
  bootstraps: number;
  resyncs: number;
  keys?: UbKeys;
  obuKeys?: ObuKeys;
  csr?: Uint8Array;
  certificate?: Uint8Array;
}

/** Marks when a conversation's first request goes out. */
function timed(c: Conversation, onFirst: (t: number) => void): Conversation {
  let first = true;
  return {
    next: () => {
      if (first) onFirst(performance.now());
      first = false;
      return c.next();
    },
    answer: (status, headers, body) => c.answer(status, headers, body),
    lost: (cause) => c.lost(cause),
  };
}

function startInstance(opts: autocannon.Options, failed: (err: Error) => void): { stop(): Promise<void> } {
  let ended!: () => void;
  const done = new Promise<void>((resolve) => {
    ended = resolve;
  });
  const instance = autocannon({ ...opts, duration: NEVER_S, timeout: REQUEST_TIMEOUT_S, sampleInt: 100 }, (err) => {
    if (err) failed(err);
    ended();
  });
  return {
    stop: () => {
      // an instance whose options autocannon refused has already called back, and has no stop()
      (instance as Partial<autocannon.Instance>).stop?.();
      return done;
    },
  };
}

export interface AutocannonLoad {
  endpoints: Endpoints;
  devices: LoadDevice[];
  plan: LoadPlan;
  emit: Emit;
  signal?: AbortSignal;
}

export async function driveAutocannon(i: AutocannonLoad): Promise<LoadOutcome> {
  const { plan, emit, endpoints: ep } = i;
  if (i.devices.length === 0) throw new Error("the load phase has no devices");
  const t0 = performance.now();
  const since = () => performance.now() - t0;
  const out = emptyOutcome();
  const idle = [...i.devices];
  const waitingForDevice: Array<{ later: (c: Conversation) => void; since: number }> = [];
  const readyToEnrol: Flow[] = [];
  const waitingForFlow: Array<(c: Conversation) => void> = [];
  let open = true;
  let closedBy: "deadline" | "count" | "abort" | "error" | undefined;
  let closedAt = 0;
  let lastArrivalAt = 0;
  let inFlight = 0;
  let stopped = false;
  let closed!: () => void;
  const whenClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  let settled!: () => void;
  const whenSettled = new Promise<void>((resolve) => {
    settled = resolve;
  });
  const checkSettled = () => {
    if (!open && inFlight === 0) settled();
  };
  const close = (why: NonNullable<typeof closedBy>) => {
    if (!open) return;
    open = false;
    closedBy = why;
    closedAt = since();
    // connections waiting for a device stay parked until the instances stop
    waitingForDevice.length = 0;
    closed();
    checkSettled();
  };

  const record = (f: Flow, step: string, ms: number, ok: boolean) => {
    if (stopped) return;
    f.steps.push({ step, ms, ok });
    emit({ t: "step", phase: "load", obu: f.dev.d.obu, step, ms, ok });
  };
  const finish = (f: Flow) => {
    if (stopped) return;
    const end = since();
    const status = f.failure?.status;
    emit({
      t: "flow",
      result: {
        obu: f.dev.d.obu,
        phase: "load",
        outcome:
          f.failure === undefined ? "success" : status !== undefined && status >= 400 && status < 500 ? "denied" : "failed",
        failure: f.failure,
        steps: f.steps,
        ms: end - f.startedAt,
        bootstraps: f.bootstraps,
        rebootstraps: 0,
        resyncs: f.resyncs,
        startedAt: f.startedAt,
        endedAt: end,
      },
    });
    out.completed++;
    inFlight--;
    idle.push(f.dev);
    wake();
    checkSettled();
  };
  /** Runs a step of the device's own (keygen, csr, verify); a throw ends the flow with its cause. */
  const localStep = async (f: Flow, step: string, run: () => Promise<void>): Promise<boolean> => {
    if (!f.dev.d.flow.includes(step as PlannedDevice["flow"][number])) return true;
    const s0 = performance.now();
    try {
      await run();
      record(f, step, performance.now() - s0, true);
      return true;
    } catch (err) {
      f.failure = failureOf(step, err);
      record(f, step, performance.now() - s0, false);
      finish(f);
      return false;
    }
  };
  let ca: ReturnType<typeof fetchEcaRoot> | undefined;

  const startFlow = (dev: LoadDevice): Conversation => {
    const f: Flow = { dev, startedAt: since(), steps: [], bootstraps: 0, resyncs: 0 };
    let sentAt = performance.now();
    const ub = bootstrapConversation(dev.ue, { realm: ep.bsfFqdn }, (r) => {
      const ms = performance.now() - sentAt;
      f.resyncs = r.resyncs;
      if (!r.ok) {
        f.failure = r.failure;
        record(f, "bootstrap", ms, false);
        return finish(f);
      }
      f.bootstraps = 1;
      f.keys = r.keys;
      record(f, "bootstrap", ms, true);
      void afterBootstrap(f);
    });
    return timed(ub, (t) => {
      sentAt = t;
    });
  };
  const afterBootstrap = async (f: Flow) => {
    const keygen = async () => {
      f.obuKeys = await generateObuKeys();
    };
    const csr = async () => {
      f.csr = await buildCsr(f.dev.d.obu, f.obuKeys as ObuKeys);
    };
    if (!(await localStep(f, "keygen", keygen)) || !(await localStep(f, "csr", csr))) return;
    if (!f.dev.d.flow.includes("enrol")) return finish(f);
    const waiting = waitingForFlow.shift();
    if (waiting) waiting(enrolFlow(f));
    else readyToEnrol.push(f);
  };
  const enrolFlow = (f: Flow): Conversation => {
    const keys = f.keys as UbKeys;
    let sentAt = performance.now();
    const body = Buffer.from(Buffer.from(f.csr as Uint8Array).toString("base64"));
    const ua = enrolConversation(
      { impi: f.dev.d.impi, btid: keys.btid, ks: keys.ks, rand: keys.rand, body, device: f.dev, nafFqdn: ep.ecaFqdn },
      (r) => {
        const ms = performance.now() - sentAt;
        if (!r.ok) {
          f.failure = r.failure;
          record(f, "enrol", ms, false);
          return finish(f);
        }
        f.certificate = r.certificate;
        record(f, "enrol", ms, true);
        void afterEnrol(f);
      },
    );
    return timed(ua, (t) => {
      sentAt = t;
    });
  };
  const afterEnrol = async (f: Flow) => {
    const verified = await localStep(f, "verify", async () => {
      ca ??= fetchEcaRoot(ep.ecaHttp);
      await verifyEnrolmentCertificate(f.certificate as Uint8Array, await ca, {
        obuId: f.dev.d.obu,
        vehicleId: f.dev.d.vehicle,
        spki: (f.obuKeys as ObuKeys).spki,
        now: new Date(),
      });
    });
    if (verified) finish(f);
  };

  /** A new flow on an idle device, when arrivals are open and (concurrency) a slot is free. */
  const tryStart = (): Conversation | undefined => {
    if (plan.durationSeconds !== undefined && since() >= plan.durationSeconds * 1000) close("deadline");
    if (!open) return undefined;
    if (plan.mode === "concurrency" && inFlight >= (plan.concurrency ?? 1)) return undefined;
    const dev = idle.shift();
    if (dev === undefined) return undefined;
    out.arrivalAtMs.push(since());
    out.arrivals++;
    out.started++;
    inFlight++;
    out.maxInFlight = Math.max(out.maxInFlight, inFlight);
    lastArrivalAt = since();
    if (plan.count !== undefined && out.arrivals >= plan.count) close("count");
    return startFlow(dev);
  };
  function wake(): void {
    for (let w = waitingForDevice.shift(); w !== undefined; w = waitingForDevice.shift()) {
      // taken first: reaching the count closes the arrivals, which drops the waiting connections
      const c = tryStart();
      if (c === undefined) {
        if (open) waitingForDevice.unshift(w);
        return;
      }
      out.queueWaitMs.push(since() - w.since);
      w.later(c);
    }
  }
  const admitBootstrap: Admit = (later) => {
    const c = tryStart();
    if (c !== undefined) {
      out.queueWaitMs.push(0);
      return c;
    }
    if (open) waitingForDevice.push({ later, since: since() });
    return undefined;
  };
  const admitEnrol: Admit = (later) => {
    const f = readyToEnrol.shift();
    if (f !== undefined) return enrolFlow(f);
    waitingForFlow.push(later);
    return undefined;
  };

  const failed = (err: Error) => {
    emit({ t: "error", message: `autocannon: ${err.message}` });
    close("error");
  };
  // armed before the instances: it fires before a connection's quota second that starts at the duration
  const deadline =
    plan.durationSeconds === undefined ? undefined : setTimeout(() => close("deadline"), plan.durationSeconds * 1000);
  const connections = connectionsFor(plan, i.devices.length);
  const origin = (url: string) => new URL(url).origin;
  const eca = startInstance({ url: origin(ep.ecaHttp), connections, ...gatedConnections(admitEnrol) }, failed);
  const bsf = startInstance(
    {
      url: origin(ep.bsfUb),
      connections,
      overallRate: plan.mode === "rate" ? REQUESTS_PER_BOOTSTRAP * Math.round(plan.rate ?? 1) : undefined,
      ...gatedConnections(admitBootstrap),
    },
    failed,
  );
  const onAbort = () => close("abort");
  i.signal?.addEventListener("abort", onAbort, { once: true });
  if (i.signal?.aborted) close("abort");
  try {
    await whenClosed;
    const how = await Promise.race([whenSettled.then(() => "done"), sleep(plan.graceSeconds * 1000, "grace", { ref: false })]);
    if (how === "grace") out.unfinished = inFlight;
  } finally {
    stopped = true;
    clearTimeout(deadline);
    i.signal?.removeEventListener("abort", onAbort);
    waitingForFlow.length = 0;
    await Promise.all([bsf.stop(), eca.stop()]);
  }
  out.elapsedMs = since();
  out.arrivalWindowMs = arrivalWindow(plan, closedBy, closedAt, lastArrivalAt, out.elapsedMs);
  if (plan.mode === "rate" && (closedBy === "deadline" || closedBy === "count"))
    out.notStarted = Math.max(0, plannedArrivals(plan) - out.arrivals);
  return out;
}

/**
 * Under a rate autocannon starts each connection's quota at the top of each second, so the
 * arrival window is the whole seconds the arrivals used; under a concurrency with a count it
 * lasts until the last flow ends, as the scheduler's does.
 */
function arrivalWindow(
  plan: LoadPlan,
  closedBy: string | undefined,
  closedAt: number,
  lastArrivalAt: number,
  elapsedMs: number,
): number {
  if (closedBy !== "count") return closedAt;
  if (plan.mode === "concurrency") return elapsedMs;
  const seconds = Math.floor(lastArrivalAt / 1000) + 1;
  return Math.min(seconds * 1000, (plan.durationSeconds ?? Number.POSITIVE_INFINITY) * 1000);
}

/** Arrivals autocannon's quota allows: rate per whole second started before the duration, or the count. */
function plannedArrivals(plan: LoadPlan): number {
  const rate = Math.round(plan.rate ?? 1);
  const byTime = plan.durationSeconds === undefined ? Number.POSITIVE_INFINITY : rate * Math.ceil(plan.durationSeconds);
  return Math.min(byTime, plan.count ?? Number.POSITIVE_INFINITY);
}
