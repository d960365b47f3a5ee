// What a scenario run shows on the dashboard (`gba scenario run --dashboard`): its progress while
// it runs and its report once it ended. The runner implements it (scenarios/dashboard-feed.ts);
// the dashboard only reads it.
export interface ScenarioFeed {
  /** changes whenever snapshot() would answer something new */
  readonly version: number;
  /** progress as JSON: phase, per-step counts, flows ok / refused / failed, completions per second */
  snapshot(): unknown;
  /** the final report as an HTML fragment (the same charts and tables as `--report FILE.html`), once the run ended */
  reportHtml(): string | undefined;
}
