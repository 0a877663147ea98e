// Waiting for something to happen, with a deadline, instead of sleeping for a guessed time.

/** Resolves once `check` answers a value other than undefined/false; rejects, saying what was awaited, after
 * `deadlineMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  deadlineMs = 5_000,
  everyMs = 10,
): Promise<T> {
  const until = performance.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > until) throw new Error(`gave up waiting, after ${deadlineMs} ms, for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
