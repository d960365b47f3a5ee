// Shared by the NAF benchmarks and their target processes: one bench subscriber whose bootstrap
// session the targets' stub BSF knows, and the child-process plumbing (the load generator and
// the server under test never share an event loop).
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { makeBtid } from "../gba/btid.js";
import { deriveKsNaf, nafId } from "../gba/keys.js";
import { parseUaId } from "../gba/ua-id.js";

export const BENCH_NAF_FQDN = "naf.example.org";
export const BENCH_ZN_TOKEN = "naf-zn-token";
export const BENCH_IMPI = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org";
const derive = (label: string, n: number) =>
  new Uint8Array(createHash("sha256").update(`naf-bench-${label}`).digest().subarray(0, n));
export const BENCH_KS = derive("ks", 32);
export const BENCH_RAND = derive("rand", 16);
export const BENCH_BTID = makeBtid(BENCH_RAND, "bsf.mnc001.mcc001.pub.3gppnetwork.org");

/** Ks_NAF of the bench subscriber for this NAF and Ua id (TS 33.220 B.3), as the BSF derives it. */
export function benchKsNaf(uaIdHex: string, fqdn = BENCH_NAF_FQDN): Uint8Array {
  return deriveKsNaf(BENCH_KS, BENCH_RAND, BENCH_IMPI, nafId(fqdn, parseUaId(uaIdHex)));
}

export interface Target {
  info: Record<string, string>;
  stop(): Promise<void>;
}

const TARGETS = fileURLToPath(new URL("./naf-targets.js", import.meta.url));

/** Starts `naf-targets.js <kind> [args]` and waits for its one JSON ready line. */
export function startTarget(kind: string, args: string[] = []): Promise<Target> {
  const child: ChildProcess = spawn(process.execPath, [TARGETS, kind, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      child.stdout?.off("data", onData);
      child.removeAllListeners("exit");
      resolve({
        info: JSON.parse(buf.slice(0, nl)) as Record<string, string>,
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null) return r();
            child.once("exit", () => r());
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`bench target ${kind} exited with ${code} before it was ready`)));
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
