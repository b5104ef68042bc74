/**
 * Runs async tasks one after another in the order they were handed in: a task starts once every earlier one has
 * settled, whether it succeeded or failed (a failure is its caller's to handle, never the next task's).
 */
export function serialQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
