// The one base of every failure the UE reports to its user: the card and its reader, the USIM
// and its state file, the identity derived from it, Ub, Ua and TLS-PSK. A subclass's name is its
// class name; its `code` is stable (scripts and scenario reports group by it) and its message is
// one line meant for the user. Programming errors stay plain Errors.
export abstract class UeError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    /** `cause`: the lower-level error behind it (a socket's ECONNREFUSED, an OpenSSL alert) */
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
