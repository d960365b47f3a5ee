// The UE population as its own process (netns backend: started with `ip netns exec` inside the
// UE namespace). Reads the engine input from the JSON file named on the command line, writes
// one event per line on stdout, stops its arrivals on SIGTERM / SIGINT.
import { readFileSync } from "node:fs";
import { type EngineInput, runEngine } from "./engine.js";
import type { EngineEvent } from "./events.js";

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write("usage: worker.js INPUT.json\n");
  process.exit(2);
}
const input = JSON.parse(readFileSync(file, "utf8")) as EngineInput;
const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());
process.once("SIGINT", () => stop.abort());
const emit = (e: EngineEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);

runEngine(input, emit, stop.signal).then(
  () => {
    process.exitCode = 0;
  },
  (err: unknown) => {
    emit({ t: "error", message: err instanceof Error ? err.message : String(err) });
    process.exitCode = 1;
  },
);
