// The one shape of an NF's application causes: a table cause → HTTP status (one line per cause,
// so a correction is one line), and a factory that makes the ProblemDetails error for a cause
// (RFC 9457 / TS 29.571 §5.2.4.1: the cause goes into `cause`, the status comes from the table).
// Each NF's causes.ts holds its table and factory; the route layer is the only caller.
import { ProblemError, type ProblemDetails } from "./problem.js";

/** cause → HTTP status */
export type CauseTable = Readonly<Record<string, number>>;

export type ProblemFactory<T extends CauseTable> = (
  cause: keyof T & string,
  detail: string,
  extra?: Partial<ProblemDetails>,
  headers?: Record<string, string>,
) => ProblemError;

/** The factory of a cause table: `problem(cause, detail)` is a ProblemError with the cause's status. */
export function problemFactory<T extends CauseTable>(table: T): ProblemFactory<T> {
  return (cause, detail, extra = {}, headers = {}) => new ProblemError(table[cause], cause, detail, extra, headers);
}
