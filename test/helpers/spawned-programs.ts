// Which external programs do the sources run? Reads every TypeScript file with the compiler's
// parser and follows the program argument of each child_process call (spawn, spawnSync,
// execFile, execFileSync, exec, execSync, and promisify()'d copies) back to string literals:
// through constants (`process.env.CURL ?? "curl"`), `?? || ?:`, array elements (`cmd[0]` of
// `const cmd = ["ip", ...]`), `join(dir, "tool")`, `onPath("podman")`, and into the callers of
// our own wrappers whose parameter is the program (`run(cmd, args)`, `spawnChild({ command })`,
// `need("tshark")`, `exec(argv[0], ...)`). `sh -c "command -v X"` counts X, `ip netns exec NS X`
// counts X, `executablePath: X` (a browser for playwright-core) counts X.
//
// A program that is only known at run time is declared where it is started, with a comment on
// that line or the comment lines right above it: `// spawns: redis-cli, haproxy`. Anything else
// that cannot be followed to a literal is reported as unresolved, so nothing is missed silently.
import { dirname, join, posix, relative } from "node:path";
import ts from "typescript";

export interface SpawnedProgram {
  program: string;
  /** "file:line" of the call that names it */
  at: string;
}

export interface Unresolved {
  at: string;
  text: string;
}

/** How a spawning function takes its program: argument `index`, its property `prop`, element `element`. */
interface Spawner {
  index: number;
  prop?: string;
  element?: number;
  /** the program is the first word of a shell command line (exec, execSync) */
  shell?: boolean;
}

const CHILD_PROCESS: Record<string, Spawner> = {
  spawn: { index: 0 },
  spawnSync: { index: 0 },
  execFile: { index: 0 },
  execFileSync: { index: 0 },
  exec: { index: 0, shell: true },
  execSync: { index: 0, shell: true },
};

/** Functions that look a program up on PATH: their first argument is a program name. */
const PATH_LOOKUPS = new Set(["onPath", "which"]);
/** Path builders: the program is the last part. */
const PATH_JOINS = new Set(["join", "resolve"]);
const DECLARED = /\/\/\s*spawns:\s*([\w.+-]+(?:\s*,\s*[\w.+-]+)*)/;

type Param = { file: string; fn: string } & Spawner;
type Target = { program: string } | { param: Param } | { unresolved: string };

interface Parsed {
  sf: ts.SourceFile;
  lines: string[];
  /** local name → child_process spawner */
  spawners: Map<string, Spawner>;
  /** local name → [file, exported name] of a relative import */
  imports: Map<string, [string, string]>;
}

function unwrap(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isSatisfiesExpression(e))
    e = e.expression;
  return e;
}

function lineNumber(sf: ts.SourceFile, node: ts.Node): number {
  return sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
}

function functionName(fn: ts.SignatureDeclaration): string | undefined {
  if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)) && fn.name && ts.isIdentifier(fn.name)) return fn.name.text;
  if (ts.isVariableDeclaration(fn.parent) && ts.isIdentifier(fn.parent.name)) return fn.parent.name.text;
  return undefined;
}

/** The function whose parameter `name` is, seen from `node`, with the parameter's position. */
function parameterOf(node: ts.Node, name: string): { fn: ts.SignatureDeclaration; index: number } | undefined {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) {
    if (ts.isFunctionLike(n)) {
      const index = n.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === name);
      if (index >= 0) return { fn: n, index };
    }
  }
  return undefined;
}

function findConst(sf: ts.SourceFile, name: string): ts.Expression | undefined {
  let found: ts.Expression | undefined;
  const visit = (n: ts.Node) => {
    if (found) return;
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === name && n.initializer) found = n.initializer;
    else ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

function isProcessMember(e: ts.Expression, member: string): boolean {
  return (
    ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === "process" && e.name.text === member
  );
}

function isText(e: ts.Node | undefined): e is ts.StringLiteral | ts.NoSubstitutionTemplateLiteral {
  return e !== undefined && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e));
}

function property(obj: ts.Expression | undefined, name: string): ts.Expression | undefined {
  if (!obj) return undefined;
  const o = unwrap(obj);
  if (!ts.isObjectLiteralExpression(o)) return undefined;
  for (const prop of o.properties) {
    if (ts.isPropertyAssignment(prop) && ts.isIdentifier(prop.name) && prop.name.text === name) return prop.initializer;
    if (ts.isShorthandPropertyAssignment(prop) && prop.name.text === name) return prop.name;
  }
  return undefined;
}

/** `// spawns: a, b` on the node's line or on the comment lines right above it. */
function declared(p: Parsed, node: ts.Node): string[] | undefined {
  for (let l = lineNumber(p.sf, node); l >= 0; l--) {
    const m = DECLARED.exec(p.lines[l]);
    if (m) return m[1].split(/\s*,\s*/);
    if (l < lineNumber(p.sf, node) && !p.lines[l].trim().startsWith("//")) return undefined;
  }
  return undefined;
}

function parse(file: string, text: string, root: string): Parsed {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const spawners = new Map<string, Spawner>();
  const imports = new Map<string, [string, string]>();
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const spec = st.moduleSpecifier.text;
    const named = st.importClause?.namedBindings;
    if (!named || !ts.isNamedImports(named)) continue;
    for (const el of named.elements) {
      const imported = (el.propertyName ?? el.name).text;
      if (spec === "node:child_process" || spec === "child_process") {
        const s = CHILD_PROCESS[imported];
        if (s) spawners.set(el.name.text, s);
      } else if (spec.startsWith(".")) {
        const target = relative(root, join(root, dirname(file), spec)).replace(/\.js$/, ".ts");
        imports.set(el.name.text, [target, imported]);
      }
    }
  }
  // const exec = promisify(execFile)
  const visit = (n: ts.Node) => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && ts.isCallExpression(n.initializer)) {
      const c = n.initializer;
      const arg = c.arguments[0];
      if (ts.isIdentifier(c.expression) && c.expression.text === "promisify" && arg && ts.isIdentifier(arg)) {
        const s = spawners.get(arg.text);
        if (s) spawners.set(n.name.text, s);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { sf, lines: text.split("\n"), spawners, imports };
}

/** One pass over the sources with the wrappers known so far. */
class Pass {
  readonly programs: SpawnedProgram[] = [];
  readonly unresolved: Unresolved[] = [];
  /** wrappers found in this pass that were not known before it */
  readonly found = new Map<string, Spawner>();
  private readonly seen = new Set<string>();

  constructor(private readonly wrappers: Map<string, Spawner>) {}

  spawnerAt(call: ts.CallExpression, p: Parsed): Spawner | undefined {
    if (!ts.isIdentifier(call.expression)) return undefined;
    const name = call.expression.text;
    const imp = p.imports.get(name);
    return (
      p.spawners.get(name) ??
      this.wrappers.get(`${p.sf.fileName}#${name}`) ??
      (imp ? this.wrappers.get(`${imp[0]}#${imp[1]}`) : undefined)
    );
  }

  /** The programs a spawning call (or a call of a wrapper) runs: its program argument, followed. */
  programOf(call: ts.CallExpression, s: Spawner, p: Parsed, depth = 0): Target[] {
    const arg = call.arguments[s.index];
    const expr = s.prop ? property(arg, s.prop) : arg;
    if (!expr) return [{ unresolved: call.getText(p.sf).slice(0, 80) }];
    if (s.element !== undefined) return this.element(expr, s.element, p, depth);
    if (s.shell) {
      const e = unwrap(expr);
      return isText(e) ? [{ program: e.text.trim().split(/\s+/)[0] }] : this.resolve(e, p, depth);
    }
    return this.resolve(expr, p, depth);
  }

  /** Element `i` of an array expression. */
  private element(arr: ts.Expression, i: number, p: Parsed, depth: number): Target[] {
    const e = unwrap(arr);
    if (ts.isArrayLiteralExpression(e)) {
      const before = e.elements.slice(0, i + 1);
      if (before.some((x) => ts.isSpreadElement(x)) || !e.elements[i]) return [{ unresolved: e.getText(p.sf).slice(0, 80) }];
      return this.resolve(e.elements[i] as ts.Expression, p, depth + 1);
    }
    if (ts.isIdentifier(e) && !parameterOf(e, e.text)) {
      const init = findConst(p.sf, e.text);
      if (init && depth < 8) return this.element(init, i, p, depth + 1);
    }
    return this.resolve(e, p, depth + 1).map((t) => ("param" in t ? { param: { ...t.param, element: i } } : t));
  }

  /** Follows an expression naming a program back to literals, parameters, or gives up. */
  resolve(e: ts.Expression, p: Parsed, depth = 0): Target[] {
    e = unwrap(e);
    const sf = p.sf;
    if (depth > 8) return [{ unresolved: e.getText(sf) }];
    if (isText(e)) return [{ program: posix.basename(e.text) }];
    // Node itself; an environment override always has a literal default beside it
    if (isProcessMember(e, "execPath")) return [];
    if (ts.isPropertyAccessExpression(e) && isProcessMember(e.expression, "env")) return [];
    if (
      ts.isBinaryExpression(e) &&
      [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(e.operatorToken.kind)
    )
      return [...this.resolve(e.left, p, depth + 1), ...this.resolve(e.right, p, depth + 1)];
    if (ts.isConditionalExpression(e))
      return [...this.resolve(e.whenTrue, p, depth + 1), ...this.resolve(e.whenFalse, p, depth + 1)];
    if (ts.isElementAccessExpression(e) && ts.isNumericLiteral(e.argumentExpression))
      return this.element(e.expression, Number(e.argumentExpression.text), p, depth);
    if (ts.isCallExpression(e)) {
      const callee = ts.isIdentifier(e.expression)
        ? e.expression.text
        : ts.isPropertyAccessExpression(e.expression)
          ? e.expression.name.text
          : "";
      if (PATH_LOOKUPS.has(callee) && e.arguments[0]) return this.resolve(e.arguments[0], p, depth + 1);
      const last = e.arguments[e.arguments.length - 1];
      if (PATH_JOINS.has(callee) && last) return this.resolve(last, p, depth + 1);
      // need("tshark"): a wrapper that runs its argument also returns what it ran
      const s = this.spawnerAt(e, p);
      if (s && !s.shell) return this.programOf(e, s, p, depth + 1);
    }
    if (ts.isIdentifier(e)) {
      const param = parameterOf(e, e.text);
      if (param) {
        const fn = functionName(param.fn);
        return fn ? [{ param: { file: sf.fileName, fn, index: param.index } }] : [{ unresolved: e.text }];
      }
      const init = findConst(sf, e.text);
      return init ? this.resolve(init, p, depth + 1) : [{ unresolved: e.text }];
    }
    if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression)) {
      const param = parameterOf(e, e.expression.text);
      const fn = param && functionName(param.fn);
      if (param && fn) return [{ param: { file: sf.fileName, fn, index: param.index, prop: e.name.text } }];
    }
    return [{ unresolved: e.getText(sf).slice(0, 80) }];
  }

  /** Programs started by a program: `sh -c "... command -v X"`, `ip netns exec NS X`. */
  private inner(program: string, args: ts.Expression | undefined, p: Parsed): Target[] {
    const arr = args && unwrap(args);
    if (!arr || !ts.isArrayLiteralExpression(arr)) return [];
    const textAt = (i: number) => {
      const el = arr.elements[i];
      return isText(el) ? el.text : undefined;
    };
    if ((program === "sh" || program === "bash") && textAt(0) === "-c") {
      let script = arr.elements[1] && unwrap(arr.elements[1] as ts.Expression);
      if (script && ts.isIdentifier(script)) script = findConst(p.sf, script.text) ?? script;
      if (!script) return [];
      const probed = (text: string): Target[] => [...text.matchAll(/command -v ([\w.+-]+)/g)].map((m) => ({ program: m[1] }));
      if (isText(script)) return probed(script.text);
      if (ts.isTemplateExpression(script)) {
        const out = probed(script.head.text);
        let before = script.head.text;
        for (const span of script.templateSpans) {
          if (/command -v $/.test(before)) out.push(...this.resolve(span.expression, p));
          out.push(...probed(span.literal.text));
          before = span.literal.text;
        }
        return out;
      }
      return [{ unresolved: script.getText(p.sf).slice(0, 80) }];
    }
    if (program === "ip" && textAt(0) === "netns" && textAt(1) === "exec") {
      const el = arr.elements[3];
      return el ? this.resolve(el as ts.Expression, p) : [];
    }
    return [];
  }

  record(targets: Target[], at: string, args: ts.Expression | undefined, p: Parsed): void {
    for (const t of targets) {
      if ("program" in t) {
        if (!this.seen.has(`${t.program}@${at}`)) {
          this.seen.add(`${t.program}@${at}`);
          this.programs.push({ program: t.program, at });
        }
        this.record(this.inner(t.program, args, p), at, undefined, p);
      } else if ("param" in t) {
        const { file, fn, ...how } = t.param;
        if (!this.wrappers.has(`${file}#${fn}`)) this.found.set(`${file}#${fn}`, how);
      } else if (!this.unresolved.some((u) => u.at === at)) this.unresolved.push({ at, text: t.unresolved });
    }
  }

  visit(p: Parsed): void {
    const at = (n: ts.Node) => `${p.sf.fileName}:${lineNumber(p.sf, n) + 1}`;
    const walk = (n: ts.Node) => {
      const s = ts.isCallExpression(n) ? this.spawnerAt(n, p) : undefined;
      // a browser for playwright-core: chromium.launch({ executablePath })
      const browser = ts.isPropertyAssignment(n) && ts.isIdentifier(n.name) && n.name.text === "executablePath";
      if (s || browser) {
        const names = declared(p, n);
        if (names)
          this.record(
            names.map((program) => ({ program })),
            at(n),
            undefined,
            p,
          );
        else if (s && ts.isCallExpression(n)) {
          const args = s.prop ? property(n.arguments[s.index], "args") : n.arguments[s.index + 1];
          this.record(this.programOf(n, s, p), at(n), s.element === undefined ? args : undefined, p);
        } else if (ts.isPropertyAssignment(n)) this.record(this.resolve(n.initializer, p), at(n), undefined, p);
      }
      ts.forEachChild(n, walk);
    };
    walk(p.sf);
  }
}

/**
 * Scans `files` (path relative to `root` → source text) and returns every program they run
 * and every program argument that could not be followed to a name.
 */
export function spawnedPrograms(
  files: Map<string, string>,
  root = ".",
): { programs: SpawnedProgram[]; unresolved: Unresolved[] } {
  const parsed = [...files].map(([file, text]) => parse(file, text, root));
  /** our own functions that pass a parameter on as the program: "file#name" → how */
  const wrappers = new Map<string, Spawner>();
  for (;;) {
    const pass = new Pass(wrappers);
    for (const p of parsed) pass.visit(p);
    if (pass.found.size === 0) return { programs: pass.programs, unresolved: pass.unresolved };
    for (const [k, v] of pass.found) wrappers.set(k, v);
  }
}
