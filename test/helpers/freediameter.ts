// freeDiameter's daemon (Debian freediameterd, an implementation we did not write) as a test
// peer: configured without TLS (SecPort = 0 and No_TLS on each peer, its configuration reference
// freeDiameter.conf.sample), started, its log kept for failure messages.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FD = "/usr/bin/freeDiameterd";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

export async function until(cond: () => boolean, ms: number, what: string, log: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms; freeDiameter said:\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface FreeDiameter {
  proc: ChildProcess;
  port: number;
  log(): string;
  stop(): Promise<void>;
}

export interface FreeDiameterOptions {
  identity: string;
  realm: string;
  port: number;
  /** ConnectPeer lines: the peers it knows (and dials) */
  peers: Array<{ identity: string; port: number }>;
}

/** Starts freeDiameterd (Tw = Tc = 6 s, TCP on 127.0.0.1) and resolves once it is initialised. */
export async function startFreeDiameter(o: FreeDiameterOptions): Promise<FreeDiameter> {
  try {
    execFileSync(FD, ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error(`${FD} is not installed: install the Debian package freediameterd`);
  }
  const dir = mkdtempSync(join(tmpdir(), "gba-freediameter-"));
  const conf = [
    `Identity = "${o.identity}";`,
    `Realm = "${o.realm}";`,
    `Port = ${o.port};`,
    "SecPort = 0;",
    "No_SCTP;",
    "No_IPv6;",
    'ListenOn = "127.0.0.1";',
    "TwTimer = 6;",
    "TcTimer = 6;",
    ...o.peers.map((p) => `ConnectPeer = "${p.identity}" { ConnectTo = "127.0.0.1"; Port = ${p.port}; No_TLS; };`),
  ].join("\n");
  writeFileSync(join(dir, "fd.conf"), `${conf}\n`);
  const proc = spawn(FD, ["-c", join(dir, "fd.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const fd: FreeDiameter = {
    proc,
    port: o.port,
    log: () => log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await until(
    () => log.includes("daemon initialized"),
    10_000,
    "freeDiameter start",
    () => log,
  );
  return fd;
}
