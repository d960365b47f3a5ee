// Fault injection for the reliability suites: NFs as `gba <nf>` child processes on fixed
// loopback ports (so a restarted NF is found where the others expect it), killed with SIGKILL,
// paused with SIGSTOP, and file systems that are full or read-only (tmpfs with a size limit,
// read-only bind mounts; the suites run as root, where chmod does not stop writes).
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_SECTIONS, defaultConfig, type GbaConfig } from "../../nf/config.js";

export const MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
export const LOOPBACK = "127.0.0.1";

/** A free loopback port: bound once by the OS, then released for the NF to take. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** A config on fixed free loopback ports, logs at warn, the given data root. */
export async function fixedPortConfig(data: string): Promise<GbaConfig> {
  const cfg = defaultConfig();
  cfg.data = data;
  cfg.logLevel = "warn";
  // every listener of every section (the Diameter ones too)
  for (const l of CONFIG_SECTIONS.flatMap((sec) => sec.listeners(cfg[sec.key] as never))) {
    l.host = LOOPBACK;
    l.port = await freePort();
  }
  cfg.bsf.hssUrl = `http://${LOOPBACK}:${cfg.hss.zh.port}`;
  cfg.naf.bsfUrl = `http://${LOOPBACK}:${cfg.bsf.zn.port}`;
  cfg.eca.bsfUrl = cfg.naf.bsfUrl;
  cfg.bsf.diameter.hss.port = cfg.hss.diameter.listen.port;
  cfg.naf.diameter.peer.port = cfg.bsf.diameter.listen.port;
  cfg.eca.diameter.peer.port = cfg.bsf.diameter.listen.port;
  return cfg;
}

const dirs: string[] = [];

export function tempDir(prefix = "gba-fault-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface NfProcess {
  nf: string;
  child: ChildProcessWithoutNullStreams;
  /** the ready line's entry for this NF: listener → URL */
  urls: Record<string, string>;
  stderr(): string;
  /** resolves with the exit code or signal once the process is gone */
  exited: Promise<number | string | null>;
}

export interface SpawnNfOptions {
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  extraArgs?: string[];
}

/** `gba <nf> --config FILE` with the config written next to the data root; resolves at the ready line. */
export function spawnNf(nf: "hss" | "bsf" | "naf" | "eca", cfg: GbaConfig, o: SpawnNfOptions = {}): Promise<NfProcess> {
  const confDir = tempDir("gba-fault-conf-");
  const file = join(confDir, `${nf}.json`);
  writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
  const child = spawn(process.execPath, [MAIN, nf, "--config", file, ...(o.extraArgs ?? [])], {
    env: { ...process.env, ...o.env },
  });
  let stderr = "";
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  const exited = new Promise<number | string | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gba ${nf}: no ready line within ${o.readyTimeoutMs ?? 20_000} ms; stderr: ${stderr}`));
    }, o.readyTimeoutMs ?? 20_000);
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`gba ${nf} exited (${how}) before its ready line; stderr: ${stderr}`));
    });
    child.stdout.on("data", (c) => {
      out += c;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      const ready = JSON.parse(out.slice(0, nl)) as Record<string, Record<string, string>>;
      resolve({ nf, child, urls: ready[nf], stderr: () => stderr, exited });
    });
  });
}

/** Runs `gba <nf> --config FILE` expecting it to refuse to start; resolves with exit code and stderr. */
export async function expectStartRefused(
  nf: "hss" | "bsf" | "naf" | "eca",
  cfg: GbaConfig,
  o: SpawnNfOptions = {},
): Promise<{ code: number | string | null; stderr: string }> {
  try {
    const p = await spawnNf(nf, cfg, { ...o, readyTimeoutMs: o.readyTimeoutMs ?? 15_000 });
    await kill(p);
    throw new Error(`gba ${nf} started although it should have refused`);
  } catch (err) {
    const m = /exited \((.*?)\) before its ready line; stderr: ([\s\S]*)$/.exec((err as Error).message);
    if (!m) throw err;
    return { code: /^\d+$/.test(m[1]) ? Number(m[1]) : m[1], stderr: m[2] };
  }
}

export async function kill(p: NfProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  await p.exited;
}

/** SIGTERM, SIGKILL after a grace period. */
export async function stop(p: NfProcess, graceMs = 5000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const t = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
  p.child.kill("SIGTERM");
  await p.exited;
  clearTimeout(t);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `probe` resolves true or the deadline passes; returns the ms it took. */
export async function until(probe: () => Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await probe().catch(() => false)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

// ---- file systems ----------------------------------------------------------------------

const mounts: string[] = [];

/** A tmpfs of `size` (e.g. "2m") mounted on a fresh directory. */
export function mountTmpfs(size: string): string {
  const dir = tempDir("gba-fault-tmpfs-");
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir]);
  mounts.push(dir);
  return dir;
}

/** `src` bind-mounted read-only on a fresh directory. */
export function bindReadOnly(src: string): string {
  const dir = tempDir("gba-fault-ro-");
  execFileSync("mount", ["--bind", src, dir]);
  mounts.push(dir);
  execFileSync("mount", ["-o", "remount,bind,ro", dir]);
  return dir;
}

/** Remounts an earlier mount read-only or read-write. */
export function remount(dir: string, mode: "ro" | "rw"): void {
  execFileSync("mount", ["-o", `remount,${mode}`, dir]);
}

export function remountBind(dir: string, mode: "ro" | "rw"): void {
  execFileSync("mount", ["-o", `remount,bind,${mode}`, dir]);
}

/** Unmounts everything mounted here, newest first (lazy, so a process still holding a file cannot block it). */
export function unmountAll(): void {
  for (const dir of mounts.splice(0).reverse()) {
    try {
      execFileSync("umount", ["-l", dir]);
    } catch {
      // already gone
    }
  }
}

export function subdir(root: string, name: string): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
}
