// Errors of a scenario run that the CLI maps to exit codes (kept apart from the modules that
// raise them so `gba --help` does not load the stores).

/** The scenario's subscribers or bindings were refused by the HSS or ECA store (exit 2). */
export class ProvisioningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProvisioningError";
  }
}
