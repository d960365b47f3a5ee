// The NAF's protected space (TS 33.220 §4.5.1, TS 24.109 §5.2.4; RFC 7235 §2.2): the request
// paths whose every request is authenticated before it is routed, so a client without
// credentials gets the bootstrapping 401 whatever it asks for, and only an authenticated one
// learns whether a path exists. Public paths (the ECA's CA certificate) are carved out of it.

/** How the space is given: path prefixes ("/" is the whole origin) and the public paths inside them. */
export interface ProtectedSpaceOptions {
  /** path prefixes under protection (default ["/"]): "/api" covers "/api" and "/api/..." */
  protectedPaths?: readonly string[];
  /** paths served without authentication: exact, or a prefix when it ends in "/" */
  publicPaths?: readonly string[];
}

/** Whether a request target is in the protected space. */
export type InProtectedSpace = (target: string) => boolean;

/** A path setting: absolute, no query, no dot-segments or percent-escapes that could hide another path. */
export function pathSettingProblem(p: unknown): string | undefined {
  if (typeof p !== "string" || !p.startsWith("/")) return "must be an absolute path starting with /";
  if (/[?#\s]/.test(p)) return "must be a path without query, fragment or spaces";
  if (ambiguous(p)) return "must not contain dot-segments, backslashes or percent-escapes";
  return undefined;
}

/**
 * A path whose meaning a proxy or the application behind could read otherwise (RFC 3986 §5.2.4
 * dot-segments, escaped "/" "." "\"): always protected, so neither a public path nor one outside
 * the protected prefixes can be used to reach a protected path unauthenticated.
 */
function ambiguous(path: string): boolean {
  return /(^|\/)\.\.?(\/|$)|\\|%2e|%2f|%5c/i.test(path);
}

function under(path: string, prefix: string): boolean {
  if (prefix === "/" || path === prefix) return true;
  const dir = prefix.endsWith("/") ? prefix : `${prefix}/`;
  return path.startsWith(dir);
}

export function protectedSpace(o: ProtectedSpaceOptions = {}): InProtectedSpace {
  const prefixes = o.protectedPaths ?? ["/"];
  const publics = o.publicPaths ?? [];
  for (const p of [...prefixes, ...publics]) {
    const problem = pathSettingProblem(p);
    if (problem !== undefined) throw new RangeError(`gbaNaf: path "${String(p)}" ${problem}`);
  }
  const wholeOrigin = prefixes.includes("/");
  return (target) => {
    const q = target.indexOf("?");
    const path = q < 0 ? target : target.slice(0, q);
    // a path that could name another one after normalisation is always challenged
    if (ambiguous(path)) return true;
    if (!wholeOrigin && !prefixes.some((p) => under(path, p))) return false;
    return !publics.some((p) => (p.endsWith("/") ? path.startsWith(p) : path === p));
  };
}
