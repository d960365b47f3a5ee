// The registry of `gba` subcommands. Each entry loads its module lazily so `gba --help`
// and small commands start fast.
import type { Command } from "./usage.js";

export const commands: Record<string, () => Promise<Command>> = {
  calc: async () => (await import("./calc.js")).calc,
  up: async () => (await import("./up.js")).up,
};
