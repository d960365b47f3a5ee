// CPU accounting of the benchmarks and load reports (bench/lib/cpu.ts): the /proc reading of a
// child process tree agrees with what the processes measure of themselves (process.cpuUsage,
// getrusage underneath: an independent path through the kernel), descendants count, and the
// arithmetic of deltas and per-operation figures. Linux only (the tool reads /proc).
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { type CpuSnapshot, cpuDelta, cpuFigures, cpuSnapshot, cpuText, procCpuMicros, processTree } from "../bench/lib/cpu.js";

/**
 * A node process that burns `ms` of its own CPU time, then prints its process.cpuUsage() total in
 * µs and waits for stdin to close; with `children`, it first starts that many such burners itself.
 */
const BURNER = `
const { spawn } = require("node:child_process");
const [ms, children] = [Number(process.argv[1]), Number(process.argv[2])];
const kids = [];
for (let i = 0; i < children; i++) {
  const k = spawn(process.execPath, ["-e", process.argv[3], String(ms), "0", process.argv[3]], { stdio: ["pipe", "pipe", "inherit"] });
  kids.push(new Promise((r) => k.stdout.once("data", (d) => r(JSON.parse(d).self))));
}
const end = () => { const u = process.cpuUsage(); return u.user + u.system; };
while (end() < ms * 1000) {}
Promise.all(kids).then((k) => {
  process.stdout.write(JSON.stringify({ self: end(), kids: k }) + "\\n");
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
});
`;

function burner(ms: number, children = 0) {
  const p = spawn(process.execPath, ["-e", BURNER, String(ms), String(children), BURNER], { stdio: ["pipe", "pipe", "inherit"] });
  const report = new Promise<{ self: number; kids: number[] }>((resolve) =>
    p.stdout.once("data", (d: Buffer) => resolve(JSON.parse(d.toString()))),
  );
  const stop = () =>
    new Promise((r) => {
      p.once("exit", r);
      p.stdin.end();
    });
  return { pid: p.pid as number, report, stop };
}

// a tick is 10 ms (CLK_TCK 100); /proc also counts what the process used before and after its own reading
const TICK_US = 10_000;

describe("CPU time of a process tree from /proc", () => {
  it("agrees with the process's own process.cpuUsage within a few clock ticks", async () => {
    const b = burner(300);
    const { self } = await b.report;
    const seen = procCpuMicros(b.pid) as number;
    await b.stop();
    expect(self).toBeGreaterThanOrEqual(300_000);
    expect(seen).toBeGreaterThanOrEqual(self - 2 * TICK_US);
    expect(seen).toBeLessThanOrEqual(self + 5 * TICK_US);
  }, 30_000);

  it("counts descendants (cluster workers): the tree's sum covers parent and children", async () => {
    const b = burner(100, 2);
    const { self, kids } = await b.report;
    const tree = processTree(b.pid);
    expect(tree).toHaveLength(3);
    const snap = cpuSnapshot([{ name: "tree", pid: b.pid }]);
    await b.stop();
    const total = [...(snap.get("tree")?.values() ?? [])].reduce((a, x) => a + x, 0);
    const own = self + kids[0] + kids[1];
    expect(total).toBeGreaterThanOrEqual(own - 6 * TICK_US);
    expect(total).toBeLessThanOrEqual(own + 15 * TICK_US);
  }, 30_000);

  it("a pid that is gone reads as not measured", () => {
    expect(procCpuMicros(2 ** 22 + 1)).toBeUndefined();
  });
});

describe("CPU arithmetic", () => {
  const snap = (entries: Record<string, Array<[number, number]>>): CpuSnapshot =>
    new Map(Object.entries(entries).map(([k, v]) => [k, new Map(v)]));

  it("deltas per pid: a process that appeared counts whole, one that ended is lost, none measurable is undefined", () => {
    const before = snap({
      BSF: [
        [1, 100],
        [2, 50],
        [3, 10],
      ],
      HSS: [[4, 7]],
      gone: [],
    });
    const after = snap({
      BSF: [
        [1, 180],
        [2, 70],
        [5, 30],
      ],
      HSS: [[4, 7]],
      gone: [],
    });
    expect(cpuDelta(before, after)).toEqual({ BSF: 80 + 20 + 30, HSS: 0, gone: undefined });
  });

  it("per operation and cores busy, over summed spans; unmeasurable stays null", () => {
    const f = cpuFigures(
      [
        { us: { BSF: 600_000, "load generator": 200_000, ext: undefined }, wallS: 1 },
        { us: { BSF: 400_000, "load generator": 100_000, ext: 5 }, wallS: 1 },
      ],
      2000,
      "a note",
    );
    expect(f).toEqual({
      usPerOp: { BSF: 500, "load generator": 150, ext: null },
      cores: { BSF: 0.5, "load generator": 0.15, ext: null },
      note: "a note",
    });
    expect(cpuText(f as NonNullable<typeof f>)).toBe("BSF 500 µs, load generator 150 µs, ext n/a (total 650); a note");
    expect(cpuFigures([], 10)).toBeUndefined();
  });
});
