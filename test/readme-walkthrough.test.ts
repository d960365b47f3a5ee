// Issue 15 item 10: the README's walk-through block, taken from README.md itself (between the
// <!-- walk-through --> markers), runs as written in bash from the checkout: gba up, a
// subscriber and its USIM, bootstrap, /whoami over gba ue fetch, curl --digest and TLS-PSK, stop.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "dist/cli/main.js");
const tmp = mkdtempSync(join(tmpdir(), "readme-walkthrough-"));

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` first`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The sh block between the README's walk-through markers. */
function walkThrough(readme: string): string {
  const m = /<!-- walk-through -->\s*```sh\n([\s\S]*?)```\s*<!-- \/walk-through -->/.exec(readme);
  if (!m) throw new Error("README.md has no ```sh block between <!-- walk-through --> and <!-- /walk-through -->");
  return m[1];
}

async function text(stream: Readable): Promise<string> {
  let all = "";
  for await (const chunk of stream) all += chunk;
  return all;
}

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

interface WhoAmI {
  btid: string;
  impi: string;
  method: string;
  nafId: { nafFqdn: string; uaSecProtId: string };
}

describe("README walk-through", () => {
  it("runs as written and ends with nothing left behind", async () => {
    const script = walkThrough(readFileSync(join(ROOT, "README.md"), "utf8"));
    expect(script).toMatch(/gba up /);
    expect(script).toMatch(/curl .*--digest/);
    // its own process group, so whatever it leaves running can be found (and killed) here
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pgid = child.pid!;
    const output = Promise.all([text(child.stdout), text(child.stderr)]);
    let code: number | null;
    try {
      code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
      await new Promise((r) => setTimeout(r, 200));
      expect(alive(pgid), "gba up (or another process) is still running after the walk-through").toBe(false);
    } finally {
      if (alive(pgid)) process.kill(-pgid, "SIGKILL");
    }
    const [stdout, stderr] = await output;
    expect(code, `stderr:\n${stderr}`).toBe(0);
    expect(stderr).toBe("");

    const impi = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org";
    expect(stdout).toContain(`"impi": "${impi}"`);
    const whoami = stdout
      .split("\n")
      .filter((l) => l.startsWith('{"btid"'))
      .map((l) => JSON.parse(l) as WhoAmI);
    // gba ue fetch (Digest), curl --digest, gba ue fetch --tls-psk
    expect(whoami.map((w) => w.method)).toEqual(["digest", "digest", "tls-psk"]);
    for (const w of whoami) expect(w).toMatchObject({ impi, nafId: { nafFqdn: "naf.example.org" } });
    expect(whoami[2].nafId.uaSecProtId).toMatch(/^010001/);
    // the walk-through removes its directory (data root, card, logs)
    expect(readdirSync(tmp)).toEqual([]);
  }, 180_000);
});
