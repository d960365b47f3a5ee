// Scenario files: YAML validated against scenarios/scenario.schema.json, with errors that
// point at the line and the field, and cross-reference checks, all before anything starts.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject } from "ajv";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { readBindingsCsv, readSubscribersCsv } from "./csv.js";
import type { LoadPhase, Scenario, ScenarioBinding, ScenarioSubscriber } from "./types.js";

/** A validated scenario with the rows of its CSV files (already checked). */
export type LoadedScenario = Scenario & {
  baseDir: string;
  csvSubscribers: ScenarioSubscriber[];
  csvBindings: ScenarioBinding[];
};

export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid scenario\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ScenarioError";
  }
}

/** The package root (where package.json is), from source (vitest) or from dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("package.json not found above the scenario loader");
    dir = up;
  }
  return dir;
}

export const SCENARIO_SCHEMA_PATH = join(packageRoot(), "scenarios", "scenario.schema.json");

let validator: ReturnType<Ajv["compile"]> | undefined;
function validate(data: unknown): ErrorObject[] {
  if (!validator) {
    // verbose: an error carries the schema of its object, so an unknown field can name the known ones
    const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    validator = ajv.compile(JSON.parse(readFileSync(SCENARIO_SCHEMA_PATH, "utf8")));
  }
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

const STEPS = ["bootstrap", "keygen", "csr", "enrol", "verify", "tls-psk", "fetch", "wait"];

function pointerToPath(pointer: string): Array<string | number> {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function fieldName(path: Array<string | number>): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "") || "(top level)";
}

/**
 * Reads and validates a scenario file. Every problem is reported as
 * `line L, column C: <field>: <message>`; nothing is started when any is found.
 */
export function loadScenario(file: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ScenarioError(file, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseScenario(text, file);
}

export function parseScenario(text: string, file = "<scenario>"): LoadedScenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lc.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  // the parser's later errors mostly follow from its first one: show that one
  const yamlError = doc.errors[0];
  if (yamlError) throw new ScenarioError(file, [`${at(yamlError.pos[0])}: YAML: ${yamlError.message.split("\n")[0]}`]);
  let data: unknown;
  try {
    // an alias without its anchor, or too many aliases (YAML "billion laughs"), throws here
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ScenarioError(file, [`YAML: ${(err as Error).message.split("\n")[0]}`]);
  }
  const locate = (path: Array<string | number>): string => {
    for (let p = path; ; p = p.slice(0, -1)) {
      const node = doc.getIn(p, true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return at(node.range[0]);
      if (p.length === 0) return "line 1, column 1";
    }
  };

  const problems: string[] = [];
  // flow steps first: a precise "unknown step" beats the schema's oneOf noise
  const flowPaths: Array<Array<string | number>> = [["flow"]];
  const raw = data as { devices?: Array<{ flow?: unknown }>; load?: { flow?: unknown } };
  if (raw?.load && typeof raw.load === "object" && "flow" in raw.load) flowPaths.push(["load", "flow"]);
  raw?.devices?.forEach?.((d, i) => {
    if (d && typeof d === "object" && "flow" in d) flowPaths.push(["devices", i, "flow"]);
  });
  const badFlow = new Set<string>();
  for (const fp of flowPaths) {
    const flow = doc.getIn(fp) as unknown;
    const items = (flow as { toJSON?: () => unknown })?.toJSON?.() ?? flow;
    if (!Array.isArray(items)) continue;
    items.forEach((step, i) => {
      const name = typeof step === "string" ? step : step && typeof step === "object" ? Object.keys(step)[0] : undefined;
      if (name === undefined || !STEPS.includes(name)) {
        problems.push(
          `${locate([...fp, i])}: ${fieldName([...fp, i])}: unknown step ${JSON.stringify(name ?? step)} (known: ${STEPS.join(", ")})`,
        );
        badFlow.add(`/${[...fp, i].join("/")}`);
      }
    });
  }

  for (const e of validate(data)) {
    if ([...badFlow].some((p) => e.instancePath.startsWith(p))) continue;
    if (e.keyword === "oneOf" || e.keyword === "if") continue;
    const path = pointerToPath(e.instancePath);
    let msg = e.message ?? "invalid";
    let where: string | undefined;
    if (e.keyword === "additionalProperties") {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      // point at the unknown key itself, not at its value
      const parent = doc.getIn(path, true);
      const key = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === extra)?.key : undefined;
      if (isScalar(key) && key.range) where = at(key.range[0]);
      path.push(extra);
      msg = `unknown field${didYouMean(extra, Object.keys((e.parentSchema as { properties?: object })?.properties ?? {}))}`;
    } else if (e.keyword === "enum")
      msg = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    else if (e.keyword === "required")
      msg = `missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
    problems.push(`${where ?? locate(path)}: ${fieldName(path)}: ${msg}`);
  }
  if (problems.length) throw new ScenarioError(file, dedupe(problems));

  const scenario = data as Scenario;
  const baseDir = dirname(resolve(file));
  const csvSubscribers = readCsvOf(
    scenario.subscribers?.csv,
    baseDir,
    ["subscribers", "csv"],
    readSubscribersCsv,
    locate,
    problems,
  );
  const csvBindings = readCsvOf(scenario.bindings?.csv, baseDir, ["bindings", "csv"], readBindingsCsv, locate, problems);
  const ids = new Set<string>();
  const inline = scenario.subscribers?.inline ?? [];
  inline.forEach((s, i) => {
    const at = (f: string) => `${locate(["subscribers", "inline", i, f])}: subscribers.inline[${i}].${f}`;
    if (ids.has(s.id)) problems.push(`${at("id")}: duplicate subscriber "${s.id}"`);
    ids.add(s.id);
    if (s.op !== undefined && s.opc !== undefined) problems.push(`${at("op")}: give op or opc, not both`);
    if (s.k !== undefined && s.op === undefined && s.opc === undefined)
      problems.push(`${at("k")}: a subscriber with k needs op or opc`);
    if (s.k === undefined && (s.op !== undefined || s.opc !== undefined)) problems.push(`${at("k")}: op/opc given without k`);
  });
  for (const s of csvSubscribers) ids.add(s.id);
  scenario.devices.forEach((d, i) => {
    if (d.subscriber !== undefined && !ids.has(d.subscriber)) {
      problems.push(`${locate(["devices", i, "subscriber"])}: devices[${i}].subscriber: unknown subscriber "${d.subscriber}"`);
    }
    if (d.subscriber !== undefined && (d.count ?? 1) !== 1) {
      problems.push(`${locate(["devices", i, "count"])}: devices[${i}].count: a group bound to one subscriber must have count 1`);
    }
  });
  const names = new Set<string>();
  scenario.devices.forEach((d, i) => {
    if (names.has(d.name))
      problems.push(`${locate(["devices", i, "name"])}: devices[${i}].name: duplicate device group "${d.name}"`);
    names.add(d.name);
  });
  const load = scenario.load;
  if (load) {
    if (load.mode === "rate" && load.rate === undefined)
      problems.push(`${locate(["load"])}: load.rate: required when mode is "rate"`);
    if (load.mode === "concurrency" && load.concurrency === undefined)
      problems.push(`${locate(["load"])}: load.concurrency: required when mode is "concurrency"`);
    if (load.durationSeconds === undefined && load.count === undefined)
      problems.push(`${locate(["load"])}: load: give durationSeconds or count`);
    if (load.driver === "autocannon") problems.push(...autocannonProblems(scenario, locate));
  }
  scenario.assertions?.latency?.forEach((l, i) => {
    if (!STEPS.includes(l.step) || l.step === "wait") {
      problems.push(
        `${locate(["assertions", "latency", i, "step"])}: assertions.latency[${i}].step: unknown step ${JSON.stringify(l.step)} (known: ${STEPS.filter((s) => s !== "wait").join(", ")})`,
      );
    }
    if (l.phase === "load" && !load)
      problems.push(
        `${locate(["assertions", "latency", i, "phase"])}: assertions.latency[${i}].phase: the scenario has no load phase`,
      );
  });
  if (problems.length) throw new ScenarioError(file, problems);
  return { ...scenario, baseDir, csvSubscribers, csvBindings };
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** ' (did you mean "count"?)' for the closest known field, else the known fields. */
function didYouMean(field: string, known: string[]): string {
  if (known.length === 0) return "";
  const [best] = known
    .map((k) => ({ k, d: editDistance(field.toLowerCase(), k.toLowerCase()) }))
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k));
  if (best.d <= Math.max(2, Math.floor(best.k.length / 3))) return ` (did you mean "${best.k}"?)`;
  return ` (known here: ${known.join(", ")})`;
}

/** The steps the autocannon load driver runs, in this order; a load flow is the start of it. */
const AUTOCANNON_FLOW = ["bootstrap", "keygen", "csr", "enrol", "verify"] as const;

/** What load.driver: autocannon cannot do (load/autocannon-driver.ts), each naming its field. */
function autocannonProblems(s: Scenario, locate: (path: Array<string | number>) => string): string[] {
  const load = s.load as LoadPhase;
  const out: string[] = [];
  const at = (field: string, why: string) => out.push(`${locate(["load", field])}: load.${field}: ${why}`);
  if (load.poisson === true)
    at(
      "poisson",
      "driver autocannon cannot make Poisson arrivals: its overallRate is a fixed quota of requests per connection and second (use driver scheduler)",
    );
  if ((load.rampSeconds ?? 0) > 0)
    at(
      "rampSeconds",
      "driver autocannon has no ramp: its overallRate is fixed for the whole run (drop rampSeconds or use driver scheduler)",
    );
  for (const field of ["maxInFlight", "workers", "flowTimeoutSeconds"] as const)
    if (load[field] !== undefined)
      at(
        field,
        `driver autocannon bounds its flows by its connections and runs in one thread; ${field} is the scheduler's (use driver scheduler)`,
      );
  if (load.tunnel === "tls-psk")
    at(
      "tunnel",
      "driver autocannon speaks HTTP Digest only, it has no TLS-PSK (its pool is all Digest devices; use driver scheduler for TLS-PSK)",
    );
  const mode = load.mode ?? (load.rate === undefined && load.concurrency !== undefined ? "concurrency" : "rate");
  if (mode === "rate" && load.rate !== undefined && !Number.isInteger(load.rate))
    at(
      "rate",
      "driver autocannon needs a whole number of flows per second: overallRate is a whole number of requests per second, 2 per bootstrap",
    );
  const own = load.flow !== undefined;
  const path: Array<string | number> = own ? ["load", "flow"] : ["flow"];
  let k = 0;
  for (const [i, step] of (load.flow ?? s.flow).entries()) {
    if (typeof step === "object" && "wait" in step) continue;
    const name = typeof step === "string" ? step : "fetch";
    if (name !== AUTOCANNON_FLOW[k]) {
      out.push(
        `${locate([...path, i])}: ${fieldName([...path, i])}: driver autocannon runs ${AUTOCANNON_FLOW.join(", ")} in this order, or the start of it; ` +
          `"${name}" cannot come here${own ? "" : " (the load phase runs the scenario's flow)"}`,
      );
      return out;
    }
    k++;
  }
  if (k === 0) out.push(`${locate(path)}: ${fieldName(path)}: driver autocannon needs at least the bootstrap step`);
  return out;
}

/** Rows of a CSV file named by the scenario (relative to the scenario file); problems carry the YAML line too. */
function readCsvOf<T>(
  name: string | undefined,
  baseDir: string,
  path: Array<string | number>,
  read: (file: string) => { rows: T[]; problems: string[] },
  locate: (path: Array<string | number>) => string,
  problems: string[],
): T[] {
  if (name === undefined) return [];
  const r = read(resolve(baseDir, name));
  for (const p of r.problems) problems.push(`${locate(path)}: ${fieldName(path)}: ${p}`);
  return r.rows;
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}
