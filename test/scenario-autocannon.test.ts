// The load phase under autocannon (load.driver: autocannon): the load UE against the network
// side's functions, the connection gate on a bare HTTP server, a short load phase against the inprocess topology (counts, per-step percentiles,
// progress), the combinations the scenario loader refuses, and failures counted by cause: a
// device whose USIM key is not the HSS's, and one the ECA refuses.
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import { buildBootstrappingInfo } from "../gba/bootstrapping-info.js";
import {
  buildAkaNonce,
  formatAuthenticationInfo,
  formatChallenge,
  parseDigestCredentials,
  rspauth,
  verifyDigestResponse,
} from "../gba/digest/index.js";
import { toAutnStar } from "../gba/gba-u.js";
import { generateAuthVector, verifyAuts } from "../milenage/aka.js";
import { Milenage } from "../milenage/milenage.js";
import { sqnToBytes } from "../milenage/sqn.js";
import { type LoadUbStep, LoadUe } from "../ue/load-ue.js";
import { type HttpAnswer, ubHeaders } from "../ue/ub/run.js";
import { afterAll, describe, expect, it } from "vitest";
import { runEngine } from "../scenarios/engine/engine.js";
import { connectionsFor } from "../scenarios/load/autocannon-driver.js";
import type { LoadPlan } from "../scenarios/load/driver.js";
import { type Conversation, gatedConnections } from "../scenarios/load/gate.js";
import { loadScenario, parseScenario, ScenarioError } from "../scenarios/load.js";
import { buildPlan } from "../scenarios/plan.js";
import { provisionEca, provisionHss } from "../scenarios/provision.js";
import type { Report } from "../scenarios/report.js";
import { Results } from "../scenarios/results.js";
import { loadPlanOf, runConfig, runScenario } from "../scenarios/run.js";
import { startInprocess } from "../scenarios/topology/inprocess.js";
import { writeUsims } from "../scenarios/usims.js";
import { loadFigures } from "../scenarios/verdict.js";
import { loadUsimStateFile, saveUsimStateFile } from "../ue/usim/state-file.js";

const EXAMPLE = fileURLToPath(new URL("../scenarios/iot04-load-autocannon.yaml", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "scenario-autocannon-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = `name: ac
operator: { mcc: "001", mnc: "01" }
deviceCount: 2
devices:
  - { name: me, uicc: GBA_ME, tunnel: digest }
  - { name: u, uicc: GBA_U, tunnel: digest }
flow: [bootstrap, keygen, csr, enrol, verify]
`;

describe("the autocannon connection gate", () => {
  let server: Server;
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("sends nothing until a conversation is admitted, runs it to its end, and hands over the body octets", async () => {
    const seen: string[] = [];
    const octets = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers["x-step"]}`);
      req.resume();
      req.on("end", () => res.writeHead(req.url === "/two" ? 200 : 401, { "x-answer": "yes" }).end(octets));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;

    const answers: Array<{ status: number; header: string; body: Buffer }> = [];
    let admitLater: ((c: Conversation) => void) | undefined;
    let conversations = 0;
    let finished!: () => void;
    const done = new Promise<void>((r) => {
      finished = r;
    });
    const conversation = (): Conversation => {
      let step = 0;
      return {
        next: () => ({ method: "POST", path: step === 0 ? "/one" : "/two", headers: { "x-step": String(step) }, body: octets }),
        answer(status, headers, body) {
          answers.push({ status, header: headers["x-answer"], body });
          step++;
          if (step === 2) finished();
          return step === 2;
        },
        lost: () => undefined,
      };
    };
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections: 1,
        duration: 30,
        ...gatedConnections((later) => {
          // the first conversation waits to be started; later ones are never admitted
          if (conversations++ === 0) admitLater = later;
          return undefined;
        }),
      },
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
    expect(admitLater).toBeDefined();
    admitLater?.(conversation());
    await done;
    await new Promise((r) => setTimeout(r, 200));
    instance.stop();
    expect(seen).toEqual(["POST /one 0", "POST /two 1"]);
    expect(answers.map((a) => [a.status, a.header])).toEqual([
      [401, "yes"],
      [200, "yes"],
    ]);
    for (const a of answers) expect(a.body.equals(octets)).toBe(true);
    expect(conversations).toBe(2);
  });
});

describe("the load UE (ue/load-ue.ts) against the network side's own functions", () => {
  const k = new Uint8Array(randomBytes(16));
  const opc = new Uint8Array(randomBytes(16));
  const hss = new Milenage(k, opc);
  const impi = "001010000000042@ims.mnc001.mcc001.3gppnetwork.org";
  const realm = "bsf.mnc001.mcc001.pub.3gppnetwork.org";
  const empty = new Uint8Array(0);
  /** a BSF 401 for SQN `sqn`, with AUTN or (GBA_U) AUTN* */
  const challenge = (sqn: number, o: { star?: boolean; algorithm?: string } = {}) => {
    const rand = new Uint8Array(randomBytes(16));
    const av = generateAuthVector(hss, rand, sqnToBytes(sqn), Uint8Array.of(0x80, 0));
    const autn = o.star ? toAutnStar(av.autn, av.ik) : av.autn;
    const nonce = buildAkaNonce(rand, autn);
    const www = formatChallenge({ realm, nonce, algorithm: o.algorithm ?? "AKAv1-MD5", qop: ["auth-int"] });
    return { av, rand, nonce, answer: { status: 401, headers: { "www-authenticate": www }, body: empty } };
  };
  /** the XRES-side check of the Authorization the UE sent (RFC 3310 §3.2, the BSF's computation) */
  const verifies = (authorization: string, password: Uint8Array) => {
    const c = parseDigestCredentials(authorization);
    const input = {
      algorithm: "AKAv1-MD5" as const,
      username: c.username,
      realm: c.realm,
      password,
      nonce: c.nonce,
      nc: c.nc,
      cnonce: c.cnonce,
      qop: "auth-int" as const,
      method: "GET",
      uri: c.uri,
      body: empty,
    };
    return { c, input, ok: verifyDigestResponse(input, c.response) };
  };

  /** a run of `ue` with its first request sent, then the BSF's `answer` to it */
  const answered = (ue: LoadUe, answer: HttpAnswer) => {
    const run = ue.bootstrap(realm);
    run.first();
    return { run, step: run.next(answer) };
  };
  const authorization = (step: LoadUbStep): string => {
    if (step.kind !== "send") throw new Error(`expected a request, got ${step.kind}`);
    return ubHeaders(step.request).authorization;
  };

  it("GBA_ME: answers with RES, takes the 200 only with the BSF's rspauth, and gives Ks = CK ‖ IK", () => {
    const ue = new LoadUe({ impi, k, opc });
    const ch = challenge(32);
    const first = ue.bootstrap(realm).first();
    expect(parseDigestCredentials(ubHeaders(first).authorization)).toMatchObject({
      username: impi,
      realm,
      nonce: "",
      response: "",
    });
    const body = new TextEncoder().encode(buildBootstrappingInfo({ btid: "B-TID@bsf", lifetime: new Date(Date.now() + 3600e3) }));
    const info = (rsp: string, c: { cnonce?: string; nc?: string }) => ({
      status: 200,
      headers: { "authentication-info": formatAuthenticationInfo({ qop: "auth-int", rspauth: rsp, cnonce: c.cnonce, nc: c.nc }) },
      body,
    });
    const refused = answered(ue, ch.answer);
    expect(refused.step).toMatchObject({ kind: "send", usim: "success" });
    const r = verifies(authorization(refused.step), ch.av.xres);
    expect(r.ok).toBe(true);
    expect(r.c.username).toBe(impi);
    const good = rspauth({ ...r.input, uri: "/", responseBody: body });
    expect(
      refused.run.next(
        info(
          good.replace(/^./, (x) => (x === "0" ? "1" : "0")),
          r.c,
        ),
      ),
    ).toMatchObject({
      kind: "failed",
      error: { code: "SERVER_AUTH_FAILED" },
    });

    const ch2 = challenge(64);
    const { run, step } = answered(ue, ch2.answer);
    const c2 = verifies(authorization(step), ch2.av.xres);
    const done = run.next(info(rspauth({ ...c2.input, uri: "/", responseBody: body }), c2.c));
    if (done.kind !== "done") throw new Error(`expected done, got ${done.kind}`);
    expect(done.keys.btid).toBe("B-TID@bsf");
    expect(Buffer.from(done.keys.ks).equals(Buffer.concat([ch2.av.ck, ch2.av.ik]))).toBe(true);
    expect(Buffer.from(done.keys.rand).equals(Buffer.from(ch2.rand))).toBe(true);
  });

  it("an old SQN: AUTS the HSS verifies; a wrong key: MAC failure reported with an empty password", () => {
    const ue = new LoadUe({ impi, k, opc });
    expect(answered(ue, challenge(64).answer).step).toMatchObject({ kind: "send", usim: "success" });
    const old = challenge(32);
    const { run, step } = answered(ue, old.answer);
    expect(step).toMatchObject({ kind: "send", usim: "sync-failure" });
    expect(run.resyncs).toBe(1);
    const auts = parseDigestCredentials(authorization(step)).auts as string;
    const verdict = verifyAuts(hss, old.rand, new Uint8Array(Buffer.from(auts, "base64")));
    expect(verdict.ok).toBe(true);
    expect(Buffer.from(verdict.sqnMs).equals(Buffer.from(sqnToBytes(64)))).toBe(true);
    // TS 24.109 A.4: one resynchronisation per run; a second synchronisation failure ends it
    expect(run.next(challenge(32).answer)).toMatchObject({ kind: "failed", error: { code: "RESYNC_FAILED" } });

    const stranger = new LoadUe({ impi, k: k.map((b) => b ^ 1), opc });
    const refused = answered(stranger, challenge(96).answer);
    expect(refused.step).toMatchObject({ kind: "send", usim: "mac-failure" });
    expect(verifies(authorization(refused.step), empty).ok).toBe(true);
    expect(refused.run.next({ status: 403, headers: {}, body: empty })).toMatchObject({
      kind: "failed",
      error: { code: "NETWORK_AUTH_FAILED" },
    });
  });

  it("GBA_U: AUTN* is opened with the card's IK; AKAv2 is refused because CK and IK stay on the card", () => {
    const card = new LoadUe({ impi, k, opc }, { gbaU: true, autnStar: true });
    expect(card.userAgent).toMatch(/; 3gpp-gba-uicc$/);
    const ch = challenge(32, { star: true });
    const { step } = answered(card, ch.answer);
    expect(step).toMatchObject({ kind: "send", usim: "success" });
    expect(verifies(authorization(step), ch.av.xres).ok).toBe(true);
    expect(answered(new LoadUe({ impi, k, opc }), challenge(64, { star: true }).answer).step).toMatchObject({
      usim: "mac-failure",
    });
    expect(answered(card, challenge(96, { star: true, algorithm: "AKAv2-MD5" }).answer).step).toMatchObject({
      kind: "failed",
      error: { code: "UNSUPPORTED_ALGORITHM" },
    });
  });
});

describe("connections of the autocannon instances", () => {
  const plan = (p: Partial<LoadPlan>): LoadPlan => ({ mode: "rate", poisson: false, rampSeconds: 0, graceSeconds: 1, ...p });
  it("a whole number of bootstraps per connection and second under a rate; the concurrency otherwise", () => {
    expect(connectionsFor(plan({ rate: 8 }), 12)).toBe(8);
    expect(connectionsFor(plan({ rate: 8 }), 5)).toBe(4);
    expect(connectionsFor(plan({ rate: 7 }), 5)).toBe(1);
    expect(connectionsFor(plan({ rate: 1 }), 4)).toBe(1);
    expect(connectionsFor(plan({ mode: "concurrency", concurrency: 3 }), 10)).toBe(3);
  });
});

describe("scenario loader: load.driver", () => {
  const problems = (text: string): string[] => {
    try {
      parseScenario(text, join(dir, "x.yaml"));
    } catch (err) {
      if (err instanceof ScenarioError) return err.problems;
      throw err;
    }
    return [];
  };
  const withLoad = (load: string, flow = "") => `${BASE}${flow}load:\n  driver: autocannon\n${load}`;

  it("accepts the example scenario and a plain autocannon load phase; the scheduler keeps ramp and Poisson", () => {
    const s = loadScenario(EXAMPLE);
    expect(s.load?.driver).toBe("autocannon");
    expect(problems(withLoad("  rate: 4\n  durationSeconds: 2\n  rampSeconds: 0\n"))).toEqual([]);
    expect(problems(withLoad("  mode: concurrency\n  concurrency: 3\n  count: 10\n"))).toEqual([]);
    expect(
      problems(`${BASE}load:\n  driver: scheduler\n  rate: 2.5\n  poisson: true\n  rampSeconds: 1\n  durationSeconds: 2\n`),
    ).toEqual([]);
    expect(buildPlan(loadScenario(EXAMPLE)).loadDevices.every((d) => d.tunnel === "digest")).toBe(true);
  });

  it("refuses Poisson, a ramp, TLS-PSK and a fractional rate, naming line and field", () => {
    expect(problems(withLoad("  rate: 4\n  durationSeconds: 2\n  poisson: true\n"))).toEqual([
      "line 12, column 12: load.poisson: driver autocannon cannot make Poisson arrivals: its overallRate is a fixed quota of requests per connection and second (use driver scheduler)",
    ]);
    expect(problems(withLoad("  rate: 4\n  durationSeconds: 2\n  rampSeconds: 1.5\n"))).toEqual([
      "line 12, column 16: load.rampSeconds: driver autocannon has no ramp: its overallRate is fixed for the whole run (drop rampSeconds or use driver scheduler)",
    ]);
    expect(problems(withLoad("  rate: 4\n  durationSeconds: 2\n  tunnel: tls-psk\n"))).toEqual([
      "line 12, column 11: load.tunnel: driver autocannon speaks HTTP Digest only, it has no TLS-PSK (its pool is all Digest devices; use driver scheduler for TLS-PSK)",
    ]);
    expect(problems(withLoad("  rate: 2.5\n  durationSeconds: 2\n"))).toEqual([
      "line 10, column 9: load.rate: driver autocannon needs a whole number of flows per second: overallRate is a whole number of requests per second, 2 per bootstrap",
    ]);
    expect(problems(`${BASE}load: { driver: cannon, rate: 1, count: 1 }\n`)).toEqual([
      'line 8, column 17: load.driver: must be one of "scheduler", "autocannon"',
    ]);
  });

  it("refuses a load flow autocannon cannot run, at the step, in load.flow or in the scenario's flow", () => {
    expect(problems(withLoad("  rate: 4\n  durationSeconds: 2\n  flow: [bootstrap, { wait: 10 }, tls-psk]\n"))).toEqual([
      'line 12, column 35: load.flow[2]: driver autocannon runs bootstrap, keygen, csr, enrol, verify in this order, or the start of it; "tls-psk" cannot come here',
    ]);
    const fetchFlow = BASE.replace("flow: [bootstrap, keygen, csr, enrol, verify]", "flow: [bootstrap, fetch, keygen]");
    expect(problems(`${fetchFlow}load:\n  driver: autocannon\n  rate: 4\n  durationSeconds: 2\n`)).toEqual([
      `line 7, column 19: flow[1]: driver autocannon runs bootstrap, keygen, csr, enrol, verify in this order, or the start of it; "fetch" cannot come here (the load phase runs the scenario's flow)`,
    ]);
    expect(problems(withLoad("  rate: 4\n  durationSeconds: 2\n  flow: [{ wait: 10 }]\n"))).toEqual([
      "line 12, column 9: load.flow: driver autocannon needs at least the bootstrap step",
    ]);
  });
});

describe("load phase under autocannon, inprocess topology", () => {
  // a count and a device per arrival, so the arrivals do not depend on how fast the machine is
  it("makes its arrivals under autocannon's rate, every flow enrolled and verified, percentiles per step, progress per step", async () => {
    const file = join(dir, "short.yaml");
    writeFileSync(file, `${BASE}load:\n  driver: autocannon\n  rate: 4\n  count: 8\n  devices: 8\n`);
    const report = join(dir, "short.json");
    const out: string[] = [];
    const err: string[] = [];
    const code = await runScenario(file, {
      backend: "inprocess",
      report,
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      tty: false,
    });
    expect(code, out.join("") + err.join("")).toBe(0);
    const r = JSON.parse(readFileSync(report, "utf8")) as Report;
    const load = r.load;
    expect(load?.driver).toBe("autocannon");
    expect(load?.arrivals).toBe(8);
    expect(load?.ok).toBe(8);
    expect(load?.failed).toBe(0);
    expect(load?.notStarted).toBe(0);
    expect(load?.unfinished).toBe(0);
    expect(load?.errors).toEqual({});
    expect(load?.enrolmentsPerSecond).toBeGreaterThan(0);
    expect(load?.bootstrapsPerSecond).toBeGreaterThanOrEqual(load?.enrolmentsPerSecond ?? 0);
    for (const step of ["bootstrap", "keygen", "csr", "enrol", "verify"]) {
      const f = load?.steps[step];
      expect(f?.ok, step).toBe(8);
      expect(f?.failed, step).toBe(0);
      expect(f?.p50, step).toBeGreaterThan(0);
      expect(f?.p95, step).toBeGreaterThanOrEqual(f?.p50 ?? 0);
      expect(f?.p99, step).toBeGreaterThanOrEqual(f?.p95 ?? 0);
    }
    expect(out.join("")).toContain("load phase (autocannon): 4/s");
    const loadLines = err
      .join("")
      .split("\n")
      .filter((l) => l.startsWith("load ["));
    expect(loadLines.at(-1)).toMatch(
      /100% .*│ bootstrap 8 {2}keygen 8 {2}csr 8 {2}enrol 8 {2}verify 8 │ flows 8 ok 8 failed 0 │/,
    );
  }, 60_000);

  it("counts a device with the wrong USIM key and one the ECA refuses under their causes, the others enrol", async () => {
    const s = parseScenario(
      `${BASE}load:\n  driver: autocannon\n  mode: concurrency\n  concurrency: 3\n  count: 12\n  devices: 6\n`,
      join(dir, "faults.yaml"),
    );
    const plan = buildPlan(s);
    const [wrongKey, refused] = plan.loadDevices;
    // the ECA's registry binds this OBU to another SIM's MSISDN
    const bindings = plan.bindings.map((b) => (b.obu === refused.obu ? { ...b, msisdn: "491709999999" } : b));
    const work = mkdtempSync(join(dir, "run-"));
    const cfg = runConfig(s, plan, join(work, "data"), "inprocess");
    const usimDir = join(work, "usim");
    await writeUsims(usimDir, plan.loadDevices, plan.subscribers, { indBits: cfg.hss.indBits, autnStar: cfg.gbaU.autnStar });
    const usim = join(usimDir, `${wrongKey.obu}.json`);
    const state = await loadUsimStateFile(usim);
    await saveUsimStateFile(usim, { ...state, k: state.k.map((b) => b ^ 0xff) });
    await provisionHss(cfg, plan.subscribers);
    await provisionEca(cfg, bindings);
    const deployment = await startInprocess({ cfg, workDir: work, latencyMs: 0, info: () => undefined });
    const results = new Results();
    const loadPlan = loadPlanOf(s.load ?? {});
    try {
      await runEngine(
        { endpoints: deployment.endpoints, devices: [], loadDevices: plan.loadDevices, usimDir, parallel: 1, load: loadPlan },
        (e) => results.add(e),
      );
    } finally {
      await deployment.stop();
    }
    const figures = loadFigures(results, loadPlan);
    expect(figures?.arrivals).toBe(12);
    expect(figures?.unfinished).toBe(0);
    expect(figures?.maxInFlight).toBeLessThanOrEqual(3);
    const flows = results.load.flows;
    expect(flows).toHaveLength(12);
    const of = (obu: string) => flows.filter((f) => f.obu === obu);
    expect(of(wrongKey.obu).length).toBeGreaterThan(0);
    expect(of(refused.obu).length).toBeGreaterThan(0);
    for (const f of of(wrongKey.obu)) expect(f.failure).toMatchObject({ step: "bootstrap", cause: "NETWORK_AUTH_FAILED" });
    for (const f of of(refused.obu)) {
      expect(f.outcome).toBe("denied");
      expect(f.failure).toMatchObject({ step: "enrol", cause: "MSISDN_MISMATCH", status: 403 });
    }
    expect(figures?.errors).toEqual({
      "bootstrap: NETWORK_AUTH_FAILED": of(wrongKey.obu).length,
      "enrol: MSISDN_MISMATCH (403)": of(refused.obu).length,
    });
    const others = flows.filter((f) => f.obu !== wrongKey.obu && f.obu !== refused.obu);
    expect(others.length).toBeGreaterThan(0);
    expect(others.every((f) => f.outcome === "success")).toBe(true);
    expect(figures?.ok).toBe(others.length);
    expect(results.errors).toEqual([]);
  }, 60_000);
});
