// Shared helpers of the HSS suites: temp data roots, an in-process HSS on ephemeral ports, the
// `gba` CLI as a child process, and the USIM side of AKA from milenage/ to check what the HSS
// hands out.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { checkAutn } from "../milenage/aka.js";
import { hexToBytes, xorBytes } from "../wire/bytes.js";
import { Milenage, type MilenageOptions } from "../milenage/milenage.js";
import { bytesToSqn, newSqnArray, type UsimSqnArray } from "../milenage/sqn.js";
import { defaultConfig, type GbaConfig, withEphemeralPorts } from "../nf/config.js";
import type { NfDeps } from "../nf/common/deps.js";
import type { RunningNf } from "../nf/common/nf.js";
import { startHss } from "../nf/hss/index.js";
import type { HssStore } from "../nf/hss/store.js";
import { type HssStoreOptions, openHssStore } from "../nf/hss/store-open.js";
import { testStore, withStoreArgs, withTestStore } from "./helpers/store-backend.js";

export const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));

const created: string[] = [];

/** A fresh data root, removed after the test file (this hook runs after the file's own afterAll). */
export function tempData(): string {
  const dir = mkdtempSync(join(tmpdir(), "gba-hss-test-"));
  created.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function testConfig(data: string, tweak?: (c: GbaConfig) => void): GbaConfig {
  const cfg = withEphemeralPorts(defaultConfig());
  cfg.data = data;
  cfg.logLevel = "silent";
  withTestStore(cfg);
  tweak?.(cfg);
  return cfg;
}

/** The HSS store of a data root on the suite's backend (LMDB, or the test cluster). */
export function openTestHssStore(data: string, opts: HssStoreOptions = {}): Promise<HssStore> {
  return openHssStore({ data, store: testStore(data) }, opts);
}

export async function startTestHss(
  tweak?: (c: GbaConfig) => void,
  deps?: Partial<NfDeps>,
): Promise<{ hss: RunningNf; zh: string; admin: string; data: string; cfg: GbaConfig }> {
  const data = tempData();
  const cfg = testConfig(data, tweak);
  const hss = await startHss(cfg, deps);
  return { hss, zh: hss.urls.zh, admin: hss.urls.admin, data, cfg };
}

/** A subscriber with fresh random keys, as the provisioning API takes it. */
export interface TestSub {
  impi: string;
  k: string;
  opc: string;
  op?: string;
  imsi?: string;
  msisdn?: string;
  impus?: string[];
}

let counter = 0;
export function newSub(extra: Partial<TestSub> = {}): TestSub {
  counter++;
  return {
    impi: `user${counter}-${randomBytes(3).toString("hex")}@ims.mnc001.mcc001.3gppnetwork.org`,
    k: randomBytes(16).toString("hex"),
    opc: randomBytes(16).toString("hex"),
    ...extra,
  };
}

/** The USIM of a subscriber: MILENAGE from its K and OPc (or OP) and the Annex C SQN array. */
export class TestUsim {
  readonly m: Milenage;
  array: UsimSqnArray;

  constructor(sub: { k: string; opc?: string; op?: string }, indBits = 5, initialSqn = 0, options: MilenageOptions = {}) {
    this.m = sub.op
      ? Milenage.fromOp(hexToBytes(sub.k), hexToBytes(sub.op), options)
      : new Milenage(hexToBytes(sub.k), hexToBytes(sub.opc!), options);
    this.array = newSqnArray(indBits, initialSqn);
  }

  /** TS 33.102 §6.3.3 on the card: verifies MAC-A and freshness; updates the array on success. */
  authenticate(av: ZhAv) {
    const { result, array } = checkAutn(this.m, this.array, hexToBytes(av.rand), hexToBytes(av.autn));
    this.array = array;
    return result;
  }

  /** SQN hidden in AUTN: SQN ⊕ AK, AK = f5(RAND) (TS 33.102 §6.3.3). */
  sqnOf(av: ZhAv): number {
    const ak = this.m.f5(hexToBytes(av.rand));
    return bytesToSqn(xorBytes(hexToBytes(av.autn).subarray(0, 6), ak));
  }
}

export interface ZhAv {
  rand: string;
  xres: string;
  autn: string;
  ck: string;
  ik: string;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies field by field and assert on them
export type JsonBody = any;

export async function jsonRequest(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: JsonBody; text: string; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

export function avUrl(zh: string, ueId: string): string {
  return `${zh}/nhss-gba-ueau/v1/${encodeURIComponent(ueId)}/security-information/generate-auth-data`;
}

export function gussUrl(zh: string, ueId: string): string {
  return `${zh}/nhss-gba-sdm/v1/${encodeURIComponent(ueId)}/subscriber-data`;
}

export async function fetchAv(zh: string, ueId: string, body: unknown = {}): Promise<{ status: number; body: JsonBody }> {
  return jsonRequest("POST", avUrl(zh, ueId), body);
}

/**
 * One vector while the HSS may be killed at any moment: undefined once the process is gone
 * (connection error or a non-200), so a load worker stops at the first answer that never
 * arrived whole.
 */
export async function fetchAvUntilGone(zh: string, ueId: string): Promise<ZhAv | undefined> {
  try {
    const res = await fetchAv(zh, ueId);
    return res.status === 200 ? (res.body["3gAkaAv"] as ZhAv) : undefined;
  } catch {
    return undefined;
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/cli/main.js ...args` to completion. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...withStoreArgs(args)], { env: { ...process.env, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

export interface HssProcess {
  child: ChildProcessWithoutNullStreams;
  zh: string;
  admin: string;
  stderr: () => string;
}

/** `gba hss --ephemeral-ports --data DIR` as a child; resolves at its ready line. */
export function spawnHss(data: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []): Promise<HssProcess> {
  const child = spawn(process.execPath, [MAIN, ...withStoreArgs(["hss", "--ephemeral-ports", "--data", data, ...extra])], {
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no ready line within 20 s; stderr: ${stderr}`)), 20_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gba hss exited with ${code} before ready; stderr: ${stderr}`));
    });
    child.stdout.on("data", (c) => {
      out += c;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      const ready = JSON.parse(out.slice(0, nl)) as { ready: boolean; hss: { zh: string; admin: string } };
      resolve({ child, zh: ready.hss.zh, admin: ready.hss.admin, stderr: () => stderr });
    });
  });
}

export function stopProcess(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill(signal);
  });
}
