// Typed errors for the HTTP Digest header grammar (RFC 7235 §2.1, RFC 7616 §3.3-3.5).

export type DigestParseErrorCode =
  | "EMPTY"
  | "HEADER_TOO_LONG"
  | "SYNTAX"
  | "UNBALANCED_QUOTE"
  | "BAD_CHARACTER"
  | "DUPLICATE_PARAM"
  | "MISSING_PARAM"
  | "BAD_PARAM"
  | "NOT_DIGEST";

/** A malformed Digest header. The message names the problem; it never echoes parameter values. */
export class DigestParseError extends Error {
  constructor(
    readonly code: DigestParseErrorCode,
    message: string,
    /** the (lower-cased) parameter concerned, when there is one */
    readonly param?: string,
  ) {
    super(message);
    this.name = "DigestParseError";
  }
}
