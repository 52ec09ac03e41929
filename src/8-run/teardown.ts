/** Runs cleanups in reverse order of acquisition; every one runs, the first error wins, the rest go into `cause`. */
export class Teardown implements AsyncDisposable {
  readonly #steps: (() => Promise<unknown> | unknown)[] = [];

  defer(step: () => Promise<unknown> | unknown): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      const [first, ...rest] = errors;
      const error = first instanceof Error ? first : new Error(String(first));
      // Keep the first error's own cause too: nothing a cleanup raised is dropped.
      error.cause = error.cause === undefined && rest.length === 1 ? rest[0] : new AggregateError(error.cause === undefined ? rest : [error.cause, ...rest], 'later cleanup errors');
      throw error;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.run();
  }
}
