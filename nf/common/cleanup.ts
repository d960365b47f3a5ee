// One cleanup stack per started NF: every resource pushes its close step as it is acquired, and
// the NF's close() (or a failed start) runs the steps in reverse order, each once. A failing step
// does not stop the others; the first error is thrown after all have run.

export type CleanupStep = () => unknown;

export class CleanupStack {
  private readonly steps: CleanupStep[] = [];

  push(step: CleanupStep): void {
    this.steps.push(step);
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/**
 * Runs an NF's start with a fresh cleanup stack; when the start fails, what it acquired is
 * released (in reverse order) before the error propagates.
 */
export async function startWithCleanup<T>(start: (cleanup: CleanupStack) => Promise<T>): Promise<T> {
  const cleanup = new CleanupStack();
  try {
    return await start(cleanup);
  } catch (err) {
    await cleanup.close().catch(() => {});
    throw err;
  }
}
