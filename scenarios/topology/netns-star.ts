// Network namespaces as "hosts" for topologies with many of them (the multi-host topology: N BSF
// and N NAF replicas, 2 HSS, the Redis Cluster nodes, HAProxy, the UE population): a core
// namespace that forwards, and one leaf namespace per host joined to it by a veth pair on a
// private /30 (the addressing of the netns backend, ./netns.ts: core .1, leaf .2, leaf routes
// via the core). Addresses exist only inside these namespaces, never on the host. Namespaces
// are `gba-<pid>-<star>-<leaf>`; they go on remove(), at exit, and at the next createStar()
// after the creating process was killed (with whatever still runs in them).
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { alive } from "../workdir.js";
import { checkNetnsBackend, linkAddresses } from "./netns.js";
import { TopologyError } from "./types.js";

const exec = promisify(execFile);
const LEAF_NAME = /^[a-z][a-z0-9]{0,11}$/;
const STAR_NAME = /^[a-z][a-z0-9]{0,5}$/;

export interface Star {
  readonly name: string;
  readonly core: string;
  readonly leaves: readonly string[];
  /** the namespace of a leaf (or "core") */
  ns(leaf: string): string;
  /** the leaf's address (its side of the /30) */
  address(leaf: string): string;
  /** argv that runs `argv` inside the leaf's namespace */
  exec(leaf: string, argv: string[]): string[];
  /** kills what still runs inside the namespaces and deletes them */
  remove(): Promise<void>;
}

async function ip(args: string[]): Promise<string> {
  try {
    return (await exec("ip", args, { timeout: 10_000 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new TopologyError(`ip ${args.join(" ")}: ${(e.stderr ?? e.message).trim()}`);
  }
}

async function killInside(ns: string): Promise<number> {
  const pids = await ip(["netns", "pids", ns]).then(
    (out) => out.split("\n").filter(Boolean).map(Number),
    () => [] as number[],
  );
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return pids.length;
}

/** Stars whose creating process is gone: what runs inside is killed, the namespaces deleted. */
export async function sweepStaleStars(info: (line: string) => void = () => {}): Promise<void> {
  for (const line of (await ip(["netns", "list"])).split("\n")) {
    const name = line.split(" ")[0];
    const m = /^gba-(\d+)-[a-z][a-z0-9]*-[a-z][a-z0-9]*$/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const killed = await killInside(name);
    await ip(["netns", "del", name]).catch(() => undefined);
    info(`netns: removed stale namespace ${name}${killed ? ` and its ${killed} orphaned processes` : ""}`);
  }
}

/** Creates the core and one leaf per name, linked and routed; fails (cleaning up) naming the step. */
export async function createStar(o: { name: string; leaves: string[]; info?: (line: string) => void }): Promise<Star> {
  await checkNetnsBackend();
  if (!STAR_NAME.test(o.name)) throw new TopologyError(`star name "${o.name}" must be 1-6 of a-z 0-9, starting with a letter`);
  const bad = o.leaves.find((l) => !LEAF_NAME.test(l) || l === "core");
  if (bad !== undefined)
    throw new TopologyError(`leaf name "${bad}" must be 1-12 of a-z 0-9, starting with a letter, not "core"`);
  if (new Set(o.leaves).size !== o.leaves.length) throw new TopologyError("leaf names repeat");
  if (o.leaves.length > 250) throw new TopologyError(`at most 250 leaves (got ${o.leaves.length})`);
  await sweepStaleStars(o.info);

  const prefix = `gba-${process.pid}-${o.name}`;
  const nsOf = (leaf: string) => `${prefix}-${leaf}`;
  const core = nsOf("core");
  const created: string[] = [];
  const deleteSync = () => {
    for (const n of created) {
      try {
        execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
  };
  process.on("exit", deleteSync);
  const remove = async () => {
    for (const n of [...created].reverse()) {
      await killInside(n);
      await ip(["netns", "del", n]).catch(() => undefined);
    }
    created.length = 0;
    process.off("exit", deleteSync);
  };
  const index = new Map(o.leaves.map((l, i) => [l, i + 1]));
  const linkOf = (leaf: string) => {
    const n = index.get(leaf);
    if (n === undefined) throw new TopologyError(`no leaf "${leaf}" in star ${o.name}`);
    return linkAddresses(n);
  };
  /** a known leaf's namespace, or the core's */
  const knownNs = (leaf: string) => {
    if (leaf === "core") return core;
    linkOf(leaf);
    return nsOf(leaf);
  };

  try {
    for (const n of [core, ...o.leaves.map(nsOf)]) {
      await ip(["netns", "add", n]);
      created.push(n);
      await ip(["-n", n, "link", "set", "lo", "up"]);
    }
    const tag = `${o.name[0]}${process.pid.toString(36)}`;
    for (const [i, leaf] of o.leaves.entries()) {
      const n = i + 1;
      const a = linkAddresses(n);
      const coreIf = `${tag}${n}c`;
      const leafIf = `${tag}${n}l`;
      await ip(["link", "add", coreIf, "type", "veth", "peer", "name", leafIf]);
      await ip(["link", "set", coreIf, "netns", core]);
      await ip(["link", "set", leafIf, "netns", nsOf(leaf)]);
      await ip(["-n", core, "addr", "add", `${a.core}/30`, "dev", coreIf]);
      await ip(["-n", core, "link", "set", coreIf, "up"]);
      await ip(["-n", nsOf(leaf), "addr", "add", `${a.leaf}/30`, "dev", leafIf]);
      await ip(["-n", nsOf(leaf), "link", "set", leafIf, "up"]);
      await ip(["-n", nsOf(leaf), "route", "add", "default", "via", a.core]);
    }
    await exec("ip", ["netns", "exec", core, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  } catch (err) {
    await remove();
    throw err;
  }
  o.info?.(
    `netns: star ${o.name}: ${o.leaves.length} hosts around ${core} (${o.leaves.map((l) => `${l} ${linkOf(l).leaf}`).join(", ")})`,
  );
  return {
    name: o.name,
    core,
    leaves: o.leaves,
    ns: knownNs,
    address: (leaf) => linkOf(leaf).leaf,
    exec: (leaf, argv) => ["ip", "netns", "exec", knownNs(leaf), ...argv],
    remove,
  };
}
