// PcscCard when pcscd cannot be reached: one clear line, "PC/SC unavailable: <reason>".
// pcsc-lite clients find the daemon through PCSCLITE_CSOCK_NAME (read once per process), so
// the check runs in a child process pointed at a socket that does not exist.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const PCSC = new URL("../dist/ue/card/pcsc.js", import.meta.url).href;

function inChild(code: string): { stdout: string; status: number | null } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
    env: { ...process.env, PCSCLITE_CSOCK_NAME: "/nonexistent/pcscd.comm" },
    encoding: "utf8",
  });
  return { stdout: r.stdout, status: r.status };
}

describe("PC/SC without a reachable pcscd", () => {
  it.each([
    ["openPcscCard", "m.openPcscCard({ reader: 0 })"],
    ["listPcscReaders", "m.listPcscReaders()"],
  ])("%s fails with one line naming the problem", (_, call) => {
    const r = inChild(
      `const m = await import(${JSON.stringify(PCSC)}); try { await ${call}; console.log("no error"); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`,
    );
    expect(r.status).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e).toMatchObject({ name: "PcscError", code: "UNAVAILABLE" });
    expect(e.message).toMatch(/^PC\/SC unavailable: .*service not running.* \(is pcscd running\?\)$/i);
    expect(e.message).not.toContain("\n");
  });
});
