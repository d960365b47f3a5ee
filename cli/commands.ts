// The registry of `gba` subcommands. Each entry loads its module lazily so `gba --help`
// and small commands start fast.
import type { Command } from "./usage.js";

export const commands: Record<string, () => Promise<Command>> = {
  bench: async () => (await import("./bench.js")).bench,
  bsf: async () => (await import("./bsf.js")).bsf,
  calc: async () => (await import("./calc.js")).calc,
  conformance: async () => (await import("./conformance.js")).conformance,
  dashboard: async () => (await import("./dashboard.js")).dashboard,
  eca: async () => (await import("./eca.js")).eca,
  hss: async () => (await import("./hss.js")).hss,
  naf: async () => (await import("./naf.js")).naf,
  provision: async () => (await import("./provision.js")).provision,
  scenario: async () => (await import("./scenario.js")).scenario,
  ue: async () => (await import("./ue.js")).ue,
  up: async () => (await import("./up.js")).up,
  usim: async () => (await import("./usim.js")).usim,
};
