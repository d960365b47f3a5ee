// Which external programs do the sources run? Reads every TypeScript file with the compiler's
// parser and follows the program argument of each child_process call (spawn, spawnSync,
// execFile, execFileSync, exec, execSync, and promisify()'d copies) back to string literals:
// through constants (`process.env.CURL ?? "curl"`), `?? || ?:`, `onPath("podman")`, and into
// the callers of our own wrappers whose parameter is the program (`run(cmd, args)`,
// `spawnChild({ command })`). `sh -c "command -v X"` counts X, `ip netns exec NS X` counts X,
// `executablePath: X` (a browser for playwright-core) counts X. A program argument that cannot
// be followed to a literal is reported as unresolved, so nothing is missed silently.
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

/** Spawning functions: the program is argument `index` (or its property `prop`), arguments after it. */
interface Spawner {
  index: number;
  prop?: string;
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

type Target =
  | { program: string }
  | { param: { file: string; fn: string; index: number; prop?: string } }
  | { unresolved: string };

interface Parsed {
  sf: ts.SourceFile;
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

function lineOf(sf: ts.SourceFile, node: ts.Node): string {
  return `${sf.fileName}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
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

function basename(program: string): string {
  return posix.basename(program);
}

/** Follows an expression naming a program back to literals, parameters, or gives up. */
function resolve(e: ts.Expression, p: Parsed, depth = 0): Target[] {
  e = unwrap(e);
  const sf = p.sf;
  if (depth > 8) return [{ unresolved: e.getText(sf) }];
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return [{ program: basename(e.text) }];
  // Node itself; an environment override always has a literal default beside it
  if (isProcessMember(e, "execPath")) return [];
  if (ts.isPropertyAccessExpression(e) && isProcessMember(e.expression, "env")) return [];
  if (ts.isBinaryExpression(e) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(e.operatorToken.kind))
    return [...resolve(e.left, p, depth + 1), ...resolve(e.right, p, depth + 1)];
  if (ts.isConditionalExpression(e)) return [...resolve(e.whenTrue, p, depth + 1), ...resolve(e.whenFalse, p, depth + 1)];
  if (ts.isCallExpression(e) && ts.isIdentifier(e.expression) && PATH_LOOKUPS.has(e.expression.text) && e.arguments[0])
    return resolve(e.arguments[0], p, depth + 1);
  if (ts.isIdentifier(e)) {
    const param = parameterOf(e, e.text);
    if (param) {
      const fn = functionName(param.fn);
      return fn ? [{ param: { file: sf.fileName, fn, index: param.index } }] : [{ unresolved: e.text }];
    }
    const init = findConst(sf, e.text);
    return init ? resolve(init, p, depth + 1) : [{ unresolved: e.text }];
  }
  if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.expression)) {
    const param = parameterOf(e, e.expression.text);
    const fn = param && functionName(param.fn);
    if (param && fn) return [{ param: { file: sf.fileName, fn, index: param.index, prop: e.name.text } }];
  }
  return [{ unresolved: e.getText(sf) }];
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

function stringAt(arr: ts.ArrayLiteralExpression, i: number): string | undefined {
  const el = arr.elements[i];
  return el && (ts.isStringLiteral(el) || ts.isNoSubstitutionTemplateLiteral(el)) ? el.text : undefined;
}

/** Programs started by a program: `sh -c "... command -v X"`, `ip netns exec NS X`. */
function inner(program: string, args: ts.Expression | undefined, p: Parsed): Target[] {
  const arr = args && unwrap(args);
  if (!arr || !ts.isArrayLiteralExpression(arr)) return [];
  if ((program === "sh" || program === "bash") && stringAt(arr, 0) === "-c") {
    const script = arr.elements[1] && unwrap(arr.elements[1] as ts.Expression);
    if (!script) return [];
    if (ts.isStringLiteral(script) || ts.isNoSubstitutionTemplateLiteral(script))
      return [...script.text.matchAll(/command -v ([\w.+-]+)/g)].map((m) => ({ program: m[1] }));
    if (ts.isTemplateExpression(script)) {
      const out: Target[] = [];
      let before = script.head.text;
      for (const span of script.templateSpans) {
        if (/command -v $/.test(before)) out.push(...resolve(span.expression, p));
        before = span.literal.text;
      }
      return out;
    }
    return [{ unresolved: script.getText(p.sf) }];
  }
  if (program === "ip" && stringAt(arr, 0) === "netns" && stringAt(arr, 1) === "exec") {
    const el = arr.elements[3];
    return el ? resolve(el as ts.Expression, p) : [];
  }
  return [];
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
      if (
        ts.isIdentifier(c.expression) &&
        c.expression.text === "promisify" &&
        c.arguments[0] &&
        ts.isIdentifier(c.arguments[0])
      ) {
        const s = spawners.get(c.arguments[0].text);
        if (s) spawners.set(n.name.text, s);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { sf, spawners, imports };
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
  const programs: SpawnedProgram[] = [];
  const unresolved: Unresolved[] = [];
  const seen = new Set<string>();
  let changed = true;

  const unresolvedAt = (at: string, text: string) => {
    if (!unresolved.some((u) => u.at === at)) unresolved.push({ at, text });
  };

  const spawnerAt = (call: ts.CallExpression, p: Parsed): Spawner | undefined => {
    if (!ts.isIdentifier(call.expression)) return undefined;
    const name = call.expression.text;
    const base = p.spawners.get(name);
    if (base) return base;
    const local = wrappers.get(`${p.sf.fileName}#${name}`);
    if (local) return local;
    const imp = p.imports.get(name);
    return imp ? wrappers.get(`${imp[0]}#${imp[1]}`) : undefined;
  };

  const record = (targets: Target[], at: string, text: string, args: ts.Expression | undefined, p: Parsed) => {
    for (const t of targets) {
      if ("program" in t) {
        const key = `${t.program}@${at}`;
        if (!seen.has(key)) {
          seen.add(key);
          programs.push({ program: t.program, at });
        }
        record(inner(t.program, args, p), at, text, undefined, p);
      } else if ("param" in t) {
        const key = `${t.param.file}#${t.param.fn}`;
        if (!wrappers.has(key)) {
          wrappers.set(key, { index: t.param.index, prop: t.param.prop });
          changed = true;
        }
      } else unresolvedAt(at, t.unresolved || text);
    }
  };

  while (changed) {
    changed = false;
    for (const p of parsed) {
      const visit = (n: ts.Node) => {
        if (ts.isCallExpression(n)) {
          const s = spawnerAt(n, p);
          const arg = s && n.arguments[s.index];
          if (s && arg) {
            const expr = s.prop ? property(arg, s.prop) : arg;
            const args = s.prop ? property(arg, "args") : n.arguments[s.index + 1];
            const at = lineOf(p.sf, n);
            if (!expr) unresolvedAt(at, n.getText(p.sf).slice(0, 80));
            else if (s.shell) {
              const e = unwrap(expr);
              if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e))
                record([{ program: e.text.trim().split(/\s+/)[0] }], at, "", undefined, p);
              else record(resolve(e, p), at, e.getText(p.sf), undefined, p);
            } else record(resolve(expr, p), at, expr.getText(p.sf), args, p);
          }
        }
        // a browser for playwright-core: chromium.launch({ executablePath })
        if (ts.isPropertyAssignment(n) && ts.isIdentifier(n.name) && n.name.text === "executablePath")
          record(resolve(n.initializer, p), lineOf(p.sf, n), n.initializer.getText(p.sf), undefined, p);
        ts.forEachChild(n, visit);
      };
      visit(p.sf);
    }
  }
  return { programs, unresolved };
}
