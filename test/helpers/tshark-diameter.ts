// Dissects Diameter messages with tshark (an implementation we did not write): each message
// goes into its own TCP segment to port 3868 (text2pcap), tshark returns its JSON tree and the
// expert infos it raised.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function need(bin: string, pkg: string): string {
  for (const dir of ["/usr/bin", "/usr/local/bin"]) {
    try {
      execFileSync(join(dir, bin), ["--version"], { stdio: "ignore" });
      return join(dir, bin);
    } catch {}
  }
  throw new Error(`${bin} is not installed: install the Debian package ${pkg}`);
}

function hexdump(msg: Uint8Array): string {
  const lines: string[] = [];
  for (let o = 0; o < msg.length; o += 16) {
    const bytes = Array.from(msg.subarray(o, o + 16), (b) => b.toString(16).padStart(2, "0")).join(" ");
    lines.push(`${o.toString(16).padStart(6, "0")} ${bytes}`);
  }
  return `${lines.join("\n")}\n`;
}

export interface Dissected {
  /** the "diameter" layer of each packet, as tshark -T json gives it */
  diameter: Array<Record<string, unknown>>;
  /** "severity/group: message" of every expert info in a Diameter packet, and malformed marks */
  problems: string[];
  /** tshark -V text, for failure messages */
  text: string;
}

export function dissectDiameter(messages: Uint8Array[]): Dissected {
  const text2pcap = need("text2pcap", "wireshark-common");
  const tshark = need("tshark", "tshark");
  const dir = mkdtempSync(join(tmpdir(), "gba-diameter-"));
  try {
    const dump = join(dir, "in.txt");
    const pcap = join(dir, "out.pcap");
    writeFileSync(dump, messages.map(hexdump).join(""));
    execFileSync(text2pcap, ["-q", "-4", "192.0.2.1,192.0.2.2", "-T", "40000,3868", dump, pcap], { stdio: "pipe" });
    const opts = ["-n", "-r", pcap, "-o", "tcp.analyze_sequence_numbers:FALSE"];
    const json = JSON.parse(
      execFileSync(tshark, [...opts, "-T", "json", "--no-duplicate-keys"], { maxBuffer: 64 << 20 }).toString(),
    ) as Array<{
      _source: { layers: Record<string, unknown> };
    }>;
    const diameter = json.map((p) => (p._source.layers.diameter ?? {}) as Record<string, unknown>);
    const problems = execFileSync(tshark, [
      ...opts,
      "-Y",
      "diameter && (_ws.malformed || _ws.expert)",
      "-T",
      "fields",
      "-e",
      "frame.number",
      "-e",
      "_ws.expert.message",
    ])
      .toString()
      .split("\n")
      .filter((l) => l.trim() !== "");
    const text = execFileSync(tshark, [...opts, "-V", "-O", "diameter"], { maxBuffer: 64 << 20 }).toString();
    return { diameter, problems, text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every value of a field anywhere in a tshark JSON tree (keys like "diameter.Session-Id"). */
export function fieldValues(tree: unknown, field: string): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const [k, v] of Object.entries(node)) {
      if (k === field) {
        if (Array.isArray(v)) for (const x of v) out.push(String(x));
        else if (typeof v !== "object") out.push(String(v));
      }
      walk(v);
    }
  };
  walk(tree);
  return out;
}
