// Test environment for the PC/SC path: pcscd with the vsmartcard vpcd driver, and `gba usim
// serve` attached to a free vpcd slot. Missing tools make the tests FAIL with a message saying
// what to install; nothing is skipped.
//
// What works here (Debian 12: pcscd 1.9.9, vsmartcard-vpcd 3.3): /etc/reader.conf.d/vpcd
// registers readers "Virtual PCD 00 00" and "Virtual PCD 00 01" listening on TCP 35963 and
// 35964. If no pcscd answers, the helper (as root) starts `pcscd -f` itself, detached, and the
// last test process that leaves stops it again. Several test files (and several vitest runs)
// share pcscd: a lock file in $TMPDIR/gba-emu-pcsc serialises the start, and each test file
// reserves one vpcd slot there until stop(), so two card sides never meet in one reader.
// vpcd 3.3 sends the 2-byte length and the payload in two writes, so every APDU waits for the
// card side's delayed ACK (~40 ms); the helper therefore adds (as root, idempotent, left in
// place) `ip route replace local 127.0.0.2/32 dev lo table local quickack 1` and connects the
// card side to 127.0.0.2, which brings a round trip to ~0.1 ms.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listPcscReaders, PcscError } from "../../ue/card/pcsc.js";

const READER_CONF_DIR = "/etc/reader.conf.d";
const SHARED_DIR = join(tmpdir(), "gba-emu-pcsc");
const LOCK = join(SHARED_DIR, "lock");
/** pid of the pcscd a helper started; absent when pcscd was there already */
const DAEMON_PID = join(SHARED_DIR, "pcscd.pid");
export const MAIN = new URL("../../dist/cli/main.js", import.meta.url).pathname;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function onPath(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The vpcd base port from reader.conf (CHANNELID, as vpcd-config prints it), or fail. */
function vpcdBasePort(): number {
  const files = existsSync(READER_CONF_DIR) ? readdirSync(READER_CONF_DIR) : [];
  for (const f of files) {
    const text = readFileSync(join(READER_CONF_DIR, f), "utf8");
    if (!/^\s*LIBPATH\s+\S*libifdvpcd/m.test(text)) continue;
    const id = /^\s*CHANNELID\s+(\S+)/m.exec(text);
    return id ? Number(id[1]) : 35963;
  }
  throw new Error(
    `vpcd is not configured: no file in ${READER_CONF_DIR} loads libifdvpcd (install vsmartcard-vpcd: apt-get install vsmartcard-vpcd)`,
  );
}

async function readersOrUndefined() {
  try {
    return await listPcscReaders();
  } catch (err) {
    if (err instanceof PcscError && err.code === "UNAVAILABLE") return undefined;
    throw err;
  }
}

const hasVpcd = (readers: { name: string }[] | undefined) => readers?.some((r) => r.name.startsWith("Virtual PCD")) === true;

async function waitForVpcdReaders(ms: number, daemon?: ChildProcess) {
  const deadline = Date.now() + ms;
  let readers = await readersOrUndefined();
  while (!hasVpcd(readers) && Date.now() < deadline) {
    if (daemon && daemon.exitCode !== null) throw new Error(`pcscd -f exited with status ${daemon.exitCode}`);
    await sleep(100);
    readers = await readersOrUndefined();
  }
  return readers;
}

/** Runs fn holding the cross-process lock (a file created with O_EXCL; a dead owner's lock is broken). */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(SHARED_DIR, { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let owner = 0;
      try {
        owner = Number(readFileSync(LOCK, "utf8"));
      } catch {
        continue; // released meanwhile
      }
      if (owner > 0 && !alive(owner)) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`the PC/SC test lock ${LOCK} is held by pid ${owner} for too long`);
      else await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
async function killPid(pid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  try {
    process.kill(pid, "SIGTERM");
    while (alive(pid)) {
      if (Date.now() > deadline) process.kill(pid, "SIGKILL");
      await sleep(50);
    }
  } catch {
    // already gone
  }
}

/** Live slot reservations: reader name → owner pid (stale ones are dropped). */
function reservations(): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of readdirSync(SHARED_DIR)) {
    if (!f.startsWith("slot-")) continue;
    const [pid] = readFileSync(join(SHARED_DIR, f), "utf8").split(" ");
    if (alive(Number(pid))) out.set(f.slice("slot-".length).replaceAll("_", " "), Number(pid));
    else rmSync(join(SHARED_DIR, f), { force: true });
  }
  return out;
}

/**
 * vpcd listens on ports inside Linux's ephemeral range. When another socket of the host uses
 * one of them as its local port (a test client, or its TIME_WAIT for 60 s), vpcd cannot bind
 * it and pcscd starts without the Virtual PCD reader. Reserving the ports (root; added to the
 * existing list, left in place until reboot) keeps the kernel from handing them out.
 */
function reserveVpcdPorts(basePort: number): void {
  const file = "/proc/sys/net/ipv4/ip_local_reserved_ports";
  const range = `${basePort}-${basePort + 1}`;
  try {
    const current = readFileSync(file, "utf8").trim();
    if (current.split(",").includes(range)) return;
    writeFileSync(file, current ? `${current},${range}` : range);
  } catch {
    // not root or no such sysctl: the restart loop below still copes with a busy port
  }
}

/** Starts pcscd (detached) when none answers; restarts it while vpcd could not bind its ports. */
async function ensurePcscd(basePort: number): Promise<{ name: string; cardPresent: boolean }[]> {
  let readers = await readersOrUndefined();
  if (readers) {
    readers = await waitForVpcdReaders(10_000); // a pcscd that may still be starting
    if (hasVpcd(readers) || !existsSync(DAEMON_PID)) return readers ?? [];
    await stopOurDaemon(); // one a helper started, without its reader: start it again below
    readers = undefined;
  }
  if (process.getuid?.() !== 0)
    throw new Error("pcscd is not running and the tests are not root: start pcscd (systemctl start pcscd)");
  reserveVpcdPorts(basePort);
  const deadline = Date.now() + 75_000; // a TIME_WAIT on a vpcd port lasts 60 s
  while (!hasVpcd(readers) && Date.now() < deadline) {
    await stopOurDaemon();
    const d = spawn("pcscd", ["-f"], { stdio: "ignore", detached: true });
    d.unref();
    writeFileSync(DAEMON_PID, String(d.pid));
    readers = await waitForVpcdReaders(3000, d);
  }
  if (!hasVpcd(readers)) await stopOurDaemon();
  return readers ?? [];
}

/** Stops the pcscd a helper started (if any). */
async function stopOurDaemon(): Promise<void> {
  if (!existsSync(DAEMON_PID)) return;
  await killPid(Number(readFileSync(DAEMON_PID, "utf8")));
  rmSync(DAEMON_PID, { force: true });
}

export interface VpcdSlot {
  readerName: string;
  port: number;
  /** releases the slot; the last user stops the pcscd a helper started */
  stop(): Promise<void>;
}

/** Makes sure pcscd runs with vpcd and reserves a vpcd slot (waits while all are taken). */
export async function pcscdWithVpcd(): Promise<VpcdSlot> {
  if (!onPath("pcscd")) throw new Error("pcscd is not installed: apt-get install pcscd vsmartcard-vpcd (CI installs them)");
  const basePort = vpcdBasePort();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const got = await withLock(async () => {
      const readers = await ensurePcscd(basePort);
      const slots = readers.filter((r) => /^Virtual PCD 00 0\d$/.test(r.name));
      if (slots.length === 0) {
        const names = readers.map((r) => r.name).join(", ") || "none";
        throw new Error(
          `pcscd lists no Virtual PCD reader (readers: ${names}): is vsmartcard-vpcd installed, are ports ${basePort}-${basePort + 1} free? restart pcscd`,
        );
      }
      const taken = reservations();
      const free = slots.find((r) => !taken.has(r.name) && !r.cardPresent);
      if (!free) return undefined;
      const file = join(SHARED_DIR, `slot-${free.name.replaceAll(" ", "_")}`);
      writeFileSync(file, `${process.pid} ${randomBytes(4).toString("hex")}`);
      return { name: free.name, file };
    });
    if (got) {
      return {
        readerName: got.name,
        port: basePort + Number(got.name.slice(-2)),
        stop: () =>
          withLock(async () => {
            rmSync(got.file, { force: true });
            if (reservations().size === 0) await stopOurDaemon();
          }),
      };
    }
    if (Date.now() > deadline)
      throw new Error("every Virtual PCD slot stayed taken for 120 s (other card sides are connected to vpcd)");
    await sleep(200);
  }
}

/** The host the card side should dial: 127.0.0.2 with TCP quick ACK when the route can be set. */
export function quickAckHost(): { host: string; quickAck: boolean } {
  const r = spawnSync("ip", ["route", "replace", "local", "127.0.0.2/32", "dev", "lo", "table", "local", "quickack", "1"]);
  return r.status === 0 ? { host: "127.0.0.2", quickAck: true } : { host: "127.0.0.1", quickAck: false };
}

export interface Served {
  child: ChildProcess;
  stderr: () => string;
  /** SIGTERM, resolves with the exit code */
  stop(): Promise<number | null>;
}

/** Runs `gba usim serve` from dist and waits for its "serving" line. */
export async function serveUsim(file: string, host: string, port: number): Promise<Served> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` first`);
  const child = spawn(process.execPath, [MAIN, "usim", "serve", "--usim", file, "--vpcd", `${host}:${port}`]);
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gba usim serve did not connect to vpcd within 10 s: ${stderr}`)), 10_000);
    child.stdout!.on("data", (d) => {
      stdout += d;
      if (stdout.includes('"serving":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("close", (code) => reject(new Error(`gba usim serve exited (${code}): ${stderr}`)));
  });
  return {
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/**
 * A card side for vpcd that answers ATR requests but never answers an APDU: a card that goes
 * mute. close() disconnects it, which pcscd sees as a removal.
 */
export async function muteCardSide(host: string, port: number, atr: Uint8Array): Promise<{ close(): void }> {
  const { createConnection } = await import("node:net");
  const s = createConnection({ host, port });
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("error", reject);
  });
  let buf = Buffer.alloc(0);
  s.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const n = buf.readUInt16BE(0);
      const ctrl = n === 1 ? buf[2] : undefined;
      buf = buf.subarray(2 + n);
      if (ctrl === 4) {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(atr.length);
        s.write(Buffer.concat([len, atr]));
      }
    }
  });
  return { close: () => s.destroy() };
}
