// What the multi-host topology checks from the UE host, with clients that are not the scenario's
// UE engine: `gba ue bootstrap` against one BSF replica's Ub (or the load balancer's), curl on Zn
// against one replica, and curl as the Ua Digest client (RFC 7616) whose Authorization header is
// replayed to another NAF replica. Each answer is an HTTP status the caller judges.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Star } from "./netns-star.js";

const exec = promisify(execFile);
/** TS 29.309 §6.1 (Nbsp_GBA BootstrappingInfoRetrieval) */
const ZN_PATH = "/nbsp-gba/v1/bootstrapping-info-retrieval";
/** TS 33.222 §5.2.1.1: Ua security protocol identifier of HTTP Digest (RFC 3310 / 7616) */
const UA_PROT_DIGEST = "0100000002";
const TIMEOUT_MS = 30_000;

export interface ProbeOptions {
  star: Star;
  /** the host the probe's commands run on */
  ueHost: string;
  /** node binary and dist/cli/main.js */
  node: string;
  gbaMain: string;
  usimFile: string;
  bsfFqdn: string;
  nafFqdn: string;
  /** the NAF's Zn bearer token (the BSF's naf entry) */
  znToken: string;
  ports: { ub: number; zn: number; uaHttp: number };
}

export interface Bootstrapped {
  btid: string;
  /** base64(Ks_NAF): the Digest password (TS 33.222 §5.3); kept in memory, never written out */
  password: string;
}

export class MultiHostProbe {
  constructor(readonly o: ProbeOptions) {}

  private async run(argv: string[]): Promise<{ stdout: string; stderr: string }> {
    const cmd = this.o.star.exec(this.o.ueHost, argv);
    // spawns: ip (ip netns exec <ue host> node … | curl …)
    return exec(cmd[0], cmd.slice(1), { timeout: TIMEOUT_MS, maxBuffer: 4 << 20 });
  }

  /** `gba ue bootstrap` against the Ub at `address` (a BSF replica or the load balancer). */
  async bootstrap(address: string): Promise<Bootstrapped> {
    const { o } = this;
    const { stdout } = await this.run([
      o.node,
      o.gbaMain,
      "ue",
      "bootstrap",
      "--bsf",
      `http://${address}:${o.ports.ub}`,
      "--usim",
      o.usimFile,
      "--bsf-fqdn",
      o.bsfFqdn,
      "--naf",
      o.nafFqdn,
      "--trace",
      "--show-keys",
    ]);
    const r = JSON.parse(stdout) as { btid: string; nafKeys: Record<string, { base64: string }> };
    return { btid: r.btid, password: r.nafKeys[o.nafFqdn].base64 };
  }

  /** Zn BootstrappingInfoRetrieval for `btid` at `address` (a BSF replica or the load balancer): the HTTP status. */
  async zn(address: string, btid: string): Promise<number> {
    const { o } = this;
    const body = JSON.stringify({ btId: btid, nafId: { nafFqdn: o.nafFqdn, uaSecProtId: UA_PROT_DIGEST } });
    const { stdout } = await this.run([
      "curl",
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      "content-type: application/json",
      "-H",
      `authorization: Bearer ${o.znToken}`,
      "--data-binary",
      body,
      `http://${address}:${o.ports.zn}${ZN_PATH}`,
    ]);
    return Number(stdout);
  }

  /**
   * GET /whoami on the NAF at `address` with curl's own Digest client: the status, and the
   * Authorization header curl computed (from its verbose output) for a replay.
   */
  async uaDigest(address: string, b: Bootstrapped): Promise<{ status: number; authorization?: string }> {
    const { o } = this;
    const r = await this.run([
      "curl",
      "-sS",
      "-v",
      "-o",
      "/dev/null",
      "--digest",
      "-u",
      `${b.btid}:${b.password}`,
      "--resolve",
      `${o.nafFqdn}:${o.ports.uaHttp}:${address}`,
      "-w",
      "%{http_code}",
      `http://${o.nafFqdn}:${o.ports.uaHttp}/whoami`,
    ]);
    const authorization = /^> authorization: (Digest .*)$/im.exec(r.stderr)?.[1]?.trim();
    return { status: Number(r.stdout.trim()), authorization };
  }

  /** The same Authorization header sent again, to the NAF at `address`: status and body. */
  async uaReplay(address: string, authorization: string): Promise<{ status: number; body: string }> {
    const { o } = this;
    const { stdout } = await this.run([
      "curl",
      "-sS",
      "-H",
      `authorization: ${authorization}`,
      "--resolve",
      `${o.nafFqdn}:${o.ports.uaHttp}:${address}`,
      "-w",
      "\n%{http_code}",
      `http://${o.nafFqdn}:${o.ports.uaHttp}/whoami`,
    ]);
    const lines = stdout.trimEnd().split("\n");
    return { status: Number(lines.at(-1)), body: lines.slice(0, -1).join("\n") };
  }
}
